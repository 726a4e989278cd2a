"""Shared fixtures: a private spool dir, a clean kernel session, IPython's shell, the fake
ingest API for unit tests and the real Cellmark server for integration tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from cellmark_server import Account, CellmarkServer
from fake_server import FakeServer

import cellmark
from cellmark.kernel.session import SESSION

HERE = Path(__file__).resolve().parent


def pytest_sessionstart(session: Any) -> None:
    # The venv may hold an installed copy of cellmark; these tests are about the working tree.
    expected = HERE.parent / "cellmark"
    actual = Path(cellmark.__file__).resolve().parent
    if actual != expected:
        raise pytest.UsageError(
            f"tests import cellmark from {actual}, expected {expected} (run pytest with this pyproject)"
        )


@pytest.fixture(autouse=True)
def no_system_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """System metrics would add ingest.metrics payloads to every test that activates capture;
    the tests about them switch sampling back on (CELLMARK_SYSTEM_INTERVAL)."""
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "off")


@pytest.fixture
def spool_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "spool"
    monkeypatch.setenv("CELLMARK_SPOOL_DIR", str(root))
    return root


@pytest.fixture
def session(spool_root: Path):
    """The kernel side's singleton, never activated, reset again afterwards."""
    SESSION.reset()
    yield SESSION
    SESSION.reset()


@pytest.fixture(scope="session")
def ipython(tmp_path_factory: pytest.TempPathFactory):
    import os

    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


@pytest.fixture
def shell(ipython, session):
    """IPython's shell with a clean namespace of user variables."""
    ipython.reset(new_session=True)  # also restarts execution counts at 1
    return ipython


@pytest.fixture
def fake():
    server = FakeServer()
    yield server
    server.close()


def eventually(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Retries an assertion until it passes or the deadline; returns check()'s value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Polls until predicate() is truthy; returns its value or fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {predicate}")
        time.sleep(interval)


def spooled(root: Path) -> list[dict]:
    """Every record in the spool logs under root, in the order they were appended (per log)."""
    records = []
    for log in sorted(root.rglob("log-*")):
        lines = log.read_bytes().rstrip(b"\0").split(b"\n")  # a mapped log is preallocated with zeros
        records.extend(json.loads(body) for body in lines[1::2] if body)  # header line, JSON line
    return records


def running_server(data_dir: Path):
    """A started Cellmark server on `data_dir` for a fixture to yield, stopped after it."""
    server = CellmarkServer(data_dir)
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(f"cannot start the Cellmark server: {e}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cellmark_server(tmp_path_factory: pytest.TempPathFactory):
    yield from running_server(tmp_path_factory.mktemp("cellmark-server") / "data")


@pytest.fixture(scope="session")
def account(cellmark_server: CellmarkServer) -> Account:
    return Account(cellmark_server)
