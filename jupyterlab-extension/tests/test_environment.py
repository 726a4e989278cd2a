"""The environment probes: git around the notebook, packages, host; none may raise."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from cellmark.kernel import environment


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@example.com",
        ),
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "notebooks" / "train.ipynb").write_text("{}")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "remote", "add", "origin", "https://alice:ghp_SECRETSECRETSECRET@github.com/acme/models.git")
    return root


def test_git_clean_repo(repo: Path):
    info = environment.git_info(str(repo / "notebooks"))
    assert info["commit"] == git(repo, "rev-parse", "HEAD")
    assert info["branch"] == "main"
    assert info["remote"] == "https://github.com/acme/models.git"  # credentials stripped
    assert info["dirty"] is False and info["diff"] is None
    assert Path(info["root"]).resolve() == repo.resolve()


def test_git_dirty_repo_with_diff_and_untracked(repo: Path):
    (repo / "train.py").write_text("lr = 0.2\n")
    (repo / "notes.txt").write_text("new")
    info = environment.git_info(str(repo))
    assert info["dirty"] is True
    assert "-lr = 0.1" in info["diff"] and "+lr = 0.2" in info["diff"]
    assert info["untracked"] == ["notes.txt"]


def test_untracked_files_alone_are_not_dirty(repo: Path):
    (repo / "scratch.txt").write_text("x")
    assert environment.git_info(str(repo))["dirty"] is False


def test_git_diff_is_capped(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(environment, "MAX_DIFF_BYTES", 2000)
    (repo / "train.py").write_text("é" * 5000)
    diff = environment.git_info(str(repo))["diff"]
    assert len(diff.encode("utf-8")) <= 2000 and diff.endswith("[cellmark: diff truncated at 1 MiB]\n")


def test_repo_without_commits_and_detached_head(tmp_path: Path, repo: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    info = environment.git_info(str(empty))
    assert info["commit"] is None and info["remote"] is None
    git(repo, "checkout", "-q", "--detach")
    assert environment.git_info(str(repo))["branch"] is None


def test_not_a_repo_and_no_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert environment.git_info(str(plain)) is None
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert environment.git_info(str(plain)) is None


def test_notebook_dir(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "train.ipynb").write_text("{}")
    # the kernel's cwd is normally the notebook's directory
    assert environment.notebook_dir("dir/train.ipynb", str(tmp_path / "dir")) == str(tmp_path / "dir")
    # a kernel started at the Jupyter root
    assert environment.notebook_dir("dir/train.ipynb", str(tmp_path)) == str(tmp_path / "dir")
    assert environment.notebook_dir("", str(tmp_path)) == str(tmp_path)


def test_collect_whole_record(repo: Path):
    env = environment.collect("notebooks/train.ipynb", cwd=str(repo / "notebooks"))
    assert env["python"] == {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }
    assert any(p.lower().startswith("ipython==") for p in env["packages"])
    assert env["packages"] == sorted(env["packages"], key=lambda p: p.split("==")[0].lower().replace("_", "-"))
    assert env["git"]["branch"] == "main"
    host = env["host"]
    assert host["cpuCount"] == os.cpu_count() and host["memoryBytes"] > 0 and host["platform"] == sys.platform
    assert isinstance(env["gpus"], list) and "gpuError" in env


def test_memory_without_psutil(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil → ImportError
    assert environment.memory_bytes() == environment._meminfo_total() > 0


def test_a_failing_probe_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch):
    def boom():
        raise OSError("metadata is broken")

    monkeypatch.setattr(environment, "packages", boom)
    monkeypatch.setattr(environment, "host_info", lambda: 1 / 0)
    env = environment.collect("x.ipynb")
    assert env["packages"] == [] and env["packagesError"] == "OSError: metadata is broken"
    assert env["host"] is None and env["hostError"].startswith("ZeroDivisionError")
    assert env["python"]["version"]


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://alice:ghp_x@github.com/a/b.git", "https://github.com/a/b.git"),
        ("https://oauth2:glpat-x@gitlab.example.com/a/b.git", "https://gitlab.example.com/a/b.git"),
        ("http://token@host:8080/r.git", "http://host:8080/r.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("ssh://git@github.com/a/b.git", "ssh://git@github.com/a/b.git"),
        ("https://github.com/a/b.git", "https://github.com/a/b.git"),
    ],
)
def test_remote_credentials_are_stripped(url, expected):
    assert environment._strip_credentials(url) == expected
