"""The run's environment (`ingest.environment`): Python, packages, git, host, GPUs.

Every probe runs on its own and turns any failure into text in the result (`<part>Error`),
so collecting the environment can never break the kernel.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

from . import gpus as gpu_probe
from .wire import cap_utf8

GIT_TIMEOUT_S = 10.0
MAX_DIFF_BYTES = 1024 * 1024


def python_info() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def packages() -> list[str]:
    """`name==version` of every installed distribution, sorted, first one on sys.path wins."""
    from importlib import metadata

    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:
            continue
        if not name or not version:
            continue
        seen.setdefault(name.lower().replace("_", "-"), f"{name}=={version}")
    return [seen[name] for name in sorted(seen)]


def _strip_credentials(url: str) -> str:
    """A remote like https://user:token@host/repo must not carry its secret into the record."""
    try:
        parts = urlsplit(url)
        # http(s) remotes carry tokens as user:secret@; ssh's user@ is not a secret
        if parts.scheme in ("http", "https") and "@" in parts.netloc:
            host = parts.netloc.rsplit("@", 1)[1]
            return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    except Exception:
        pass
    return url


def _git(args: list[str], cwd: str) -> Optional[str]:
    """stdout of a git command, or None when it fails (no repo, no commits, no remote)."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        timeout=GIT_TIMEOUT_S,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def notebook_dir(notebook_path: str, cwd: Optional[str] = None) -> str:
    """Where the notebook lives. notebook_path is relative to the Jupyter root, which the
    kernel does not know; its cwd is normally the notebook's own directory."""
    cwd = cwd or os.getcwd()
    name = os.path.basename(notebook_path or "")
    if name and os.path.exists(os.path.join(cwd, name)):
        return cwd
    # Started from the Jupyter root instead (or a notebook-less kernel): try the full path.
    candidate = os.path.dirname(os.path.join(cwd, notebook_path or ""))
    if notebook_path and os.path.isdir(candidate):
        return candidate
    return cwd


def git_info(directory: str) -> Optional[dict[str, Any]]:
    """The repository around directory, or None when it is not in one (or git is missing)."""
    try:
        root = _git(["rev-parse", "--show-toplevel"], directory)
    except FileNotFoundError:
        return None
    if root is None:
        return None
    root = root.strip()
    commit = _git(["rev-parse", "--verify", "-q", "HEAD"], root)
    branch = _git(["symbolic-ref", "--short", "-q", "HEAD"], root)
    remote = _git(["remote", "get-url", "origin"], root)
    if remote is None:
        names = (_git(["remote"], root) or "").split()
        remote = _git(["remote", "get-url", names[0]], root) if names else None
    status = _git(["status", "--porcelain", "--untracked-files=normal"], root)
    diff = (
        _git(["diff", "HEAD", "--no-color", "--no-ext-diff"], root)
        if commit
        else _git(["diff", "--cached", "--no-color"], root)
    )
    info: dict[str, Any] = {
        "commit": commit.strip() if commit else None,
        "branch": branch.strip() if branch else None,
        "remote": _strip_credentials(remote.strip()) if remote else None,
        # Tracked changes only: untracked files (listed below) do not change what HEAD ran.
        "dirty": any(not ln.startswith("?? ") for ln in status.splitlines() if ln.strip())
        if status is not None
        else None,
        "diff": cap_utf8(diff, MAX_DIFF_BYTES, "\n[cellmark: diff truncated at 1 MiB]\n") if diff else None,
        "root": root,
    }
    if status:
        untracked = [ln[3:] for ln in status.splitlines() if ln.startswith("?? ")]
        if untracked:
            info["untracked"] = untracked[:200]
    return info


def _meminfo_total() -> Optional[int]:
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def memory_bytes() -> Optional[int]:
    try:
        import psutil  # optional: installed with ipykernel, but not required

        return int(psutil.virtual_memory().total)
    except Exception:
        return _meminfo_total()


def host_info() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "platform": sys.platform,
        "cpuCount": os.cpu_count(),
        "memoryBytes": memory_bytes(),
    }


def _probe(result: dict[str, Any], key: str, fn: Callable[[], Any], empty: Any) -> None:
    try:
        result[key] = fn()
    except Exception as e:
        result[key] = empty
        result[f"{key}Error"] = f"{type(e).__name__}: {e}"[:1000]


def collect(notebook_path: str = "", cwd: Optional[str] = None) -> dict[str, Any]:
    """The whole environment record; never raises."""
    env: dict[str, Any] = {}
    _probe(env, "python", python_info, None)
    _probe(env, "packages", packages, [])
    _probe(env, "git", lambda: git_info(notebook_dir(notebook_path, cwd)), None)
    _probe(env, "host", host_info, None)
    try:
        env.update(gpu_probe.collect())
    except Exception as e:  # collect() does not raise; this is belt and braces
        env["gpus"], env["gpuError"] = [], f"{type(e).__name__}: {e}"
    return env
