"""Recovery after an outage: what waited in the spool reaches the server within seconds of
its return, not at the end of a backoff that grew while it was gone. Against the real
Cellmark server (node, PGlite), SIGKILLed and restarted on the same port and data."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cellmark_server import Account, CellmarkServer
from conftest import running_server, wait_until

from cellmark.kernel import client
from cellmark.kernel import sender as sender_mod
from cellmark.kernel.client import CallError
from cellmark.kernel.sender import Sender
from cellmark.kernel.spool import Spool

# start() notices "Cellmark is listening" by reading its log every 0.2 s, so the server was
# healthy up to that long before start() returns; the 5 s are counted from that moment.
START_POLL_S = 0.2
RECOVERY_S = 5.0


def cell(key: str) -> dict:
    return {
        "executionKey": key,
        "source": f"print({key!r})",
        "status": "ok",
        "startedAt": "2024-01-01T00:00:00Z",
        "endedAt": "2024-01-01T00:00:01Z",
    }


def append(spool: Spool, run_id: str, *keys: str) -> None:
    for key in keys:
        spool.append("ingest.cells", {"runId": run_id, "origin": "kernel", "cells": [cell(key)]})


@pytest.fixture
def server(tmp_path: Path):
    # its own server: these tests kill and restart it
    yield from running_server(tmp_path / "data")


def test_a_restarted_server_gets_what_waited_within_5_s_of_being_healthy(
    server: CellmarkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The backoff an 80 s outage grows to, without waiting through 80 s: the first failure
    # already waits 24-36 s.
    monkeypatch.setattr(sender_mod, "BACKOFF_FIRST_S", 30.0)
    account = Account(server)
    run_id = account.start_run()
    spool = Spool(server.url, str(tmp_path / "spool"))
    spool.open()
    sender = Sender(spool, server.url)
    sender.start()
    sender.set_token(account.token)
    try:
        append(spool, run_id, "before")
        sender.wake()
        assert sender.flush(20), sender.last_error

        server.kill()
        append(spool, run_id, "during-1", "during-2")
        sender.wake()
        wait_until(lambda: sender.backoff_s > RECOVERY_S, timeout=20)
        assert "unreachable" in (sender.last_error or "") and spool.count() == 2

        server.start()
        healthy_by = time.monotonic() - START_POLL_S
        wait_until(lambda: spool.count() == 0, timeout=60)
        delivered = time.monotonic() - healthy_by
        keys = [c["executionKey"] for c in account.get_run(run_id)["cells"]]
        assert keys == ["before", "during-1", "during-2"]
        assert delivered <= RECOVERY_S, f"delivered {delivered:.1f} s after the server was healthy"
        assert sender.backoff_s == 0 and sender.last_error is None
        print(f"\nrecovery: spool empty {delivered:.2f} s after the restarted server was healthy")
    finally:
        sender.stop()
        spool.close()


def test_a_server_that_answers_healthz_but_not_ingest_gets_the_ordinary_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A 200 from /healthz ends one wait; when the send then gets no answer again, only a
    failed probe followed by a 200 ends the next one, so sends follow the backoff (here 1.6 s,
    then 3.2 s or more), not the probes (about one a second)."""
    monkeypatch.setattr(sender_mod, "BACKOFF_FIRST_S", 2.0)
    sends: list[float] = []
    probes: list[float] = []

    def call(*_args, **_kwargs):
        sends.append(time.monotonic())
        raise CallError("transient", "ingest.cells: Cellmark server unreachable", unreachable=True)

    def probe(_url: str) -> bool:
        probes.append(time.monotonic())
        return True

    spool = Spool("http://cellmark.test", str(tmp_path / "spool"))
    spool.open()
    append(spool, "run-1", "a")
    sender = Sender(spool, "http://cellmark.test", call=call, probe=probe)
    sender.start()
    sender.set_token("cm_x")
    try:
        wait_until(lambda: len(sends) >= 2, timeout=10)
        first_wait = sends[1] - sends[0]
        assert first_wait <= 1.3 * client.PROBE_INTERVAL_S + 0.3, "the first 200 ends the wait"
        time.sleep(2.5)
        assert len(sends) == 2, "the second wait is not ended by a 200 that follows no failure"
        assert len(probes) >= 3, "it keeps asking meanwhile"
        assert spool.count() == 1
    finally:
        sender.stop()
        spool.close()


def test_answers_that_mean_overloaded_are_not_cut_short_by_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sender_mod, "BACKOFF_FIRST_S", 3.0)
    monkeypatch.setattr(sender_mod.random, "uniform", lambda a, b: 1.0)
    sends: list[float] = []
    probes: list[str] = []

    def call(*_args, **_kwargs):
        sends.append(time.monotonic())
        if len(sends) == 1:
            raise CallError("transient", "ingest.cells: HTTP 503: database unavailable", 503)
        return {"accepted": 1}

    spool = Spool("http://cellmark.test", str(tmp_path / "spool"))
    spool.open()
    append(spool, "run-1", "a")
    sender = Sender(spool, "http://cellmark.test", call=call, probe=lambda url: probes.append(url) or True)
    sender.start()
    sender.set_token("cm_x")
    try:
        wait_until(lambda: spool.count() == 0, timeout=10)
        assert sends[1] - sends[0] >= 2.9 and probes == []
    finally:
        sender.stop()
        spool.close()


def test_the_probe_is_a_bounded_get_of_healthz(server: CellmarkServer):
    assert client.healthy(server.url) is True
    server.kill()
    started = time.monotonic()
    assert client.healthy(server.url) is False
    assert time.monotonic() - started <= client.PROBE_TIMEOUT_S + 0.5
