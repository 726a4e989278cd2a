"""Delivery: batches in spool order, running+complete coalesced, backoff on transient
failures, 401 stops until a new token, other 4xx park only the entry at fault in failed/."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import wait_until

from cellmark.kernel import sender as sender_mod
from cellmark.kernel.sender import Sender, merge_cells
from cellmark.kernel.spool import Spool


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sender_mod, "BACKOFF_FIRST_S", 0.05)


@pytest.fixture
def spool(tmp_path: Path, fake):
    s = Spool(fake.url, str(tmp_path / "spool"))
    s.open()
    yield s
    s.close()


@pytest.fixture
def make_sender(spool, fake):
    made = []

    def make(token: str = "cm_test", start: bool = True) -> Sender:
        s = Sender(spool, fake.url)
        made.append(s)
        if start:
            s.start()
        if token:
            s.set_token(token)
        return s

    yield make
    for s in made:
        s.stop()


def cell(key: str, status: str = "ok", **extra) -> dict:
    return {
        "executionKey": key,
        "source": key,
        "status": status,
        "startedAt": "2024-01-01T00:00:00Z",
        "endedAt": None if status == "running" else "2024-01-01T00:00:01Z",
        **extra,
    }


def put(spool: Spool, run: str, *cells: dict) -> None:
    for c in cells:
        spool.append("ingest.cells", {"runId": run, "origin": "kernel", "cells": [c]})


def test_merge_keeps_the_latest_record_of_an_execution():
    merged = merge_cells(
        [
            {"runId": "r", "origin": "kernel", "cells": [cell("a", "running")]},
            {"runId": "r", "origin": "kernel", "cells": [cell("b", "running")]},
            {"runId": "r", "origin": "kernel", "cells": [cell("a", "ok")]},
        ]
    )
    assert [(c["executionKey"], c["status"]) for c in merged["cells"]] == [("b", "running"), ("a", "ok")]
    assert merged["origin"] == "kernel" and merged["runId"] == "r"


def test_pending_entries_go_in_one_batch_per_run_in_order(spool, fake, make_sender):
    put(spool, "run-1", cell("a", "running"), cell("a"), cell("b"))
    put(spool, "run-2", cell("c"))
    spool.append("ingest.updateRun", {"runId": "run-2", "name": "x"})
    put(spool, "run-2", cell("d"))
    s = make_sender()
    assert s.flush(10)
    calls = [
        (r["procedure"], r["body"].get("runId"), [c["executionKey"] for c in r["body"].get("cells", [])])
        for r in fake.calls()
    ]
    assert calls == [
        ("ingest.cells", "run-1", ["a", "b"]),
        ("ingest.cells", "run-2", ["c"]),
        ("ingest.updateRun", "run-2", []),
        ("ingest.cells", "run-2", ["d"]),
    ]
    assert fake.calls()[0]["headers"]["authorization"] == "Bearer cm_test"
    assert spool.count() == 0


def test_batches_are_capped(spool, fake, make_sender, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sender_mod, "MAX_CELLS_PER_BATCH", 4)
    put(spool, "r", *[cell(f"k{i}") for i in range(10)])
    assert make_sender().flush(10)
    assert [len(r["body"]["cells"]) for r in fake.calls()] == [4, 4, 2]


def test_nothing_is_sent_without_a_token(spool, fake, make_sender):
    put(spool, "r", cell("a"))
    s = make_sender(token="")
    time.sleep(0.3)
    assert fake.calls() == [] and spool.count() == 1
    assert s.flush(0.2) is False
    s.set_token("cm_late")
    assert s.flush(10) and fake.calls()[0]["headers"]["authorization"] == "Bearer cm_late"


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_transient_failures_are_retried_with_backoff(spool, fake, make_sender, status):
    fake.answer("ingest.cells", status, "busy", times=3)
    put(spool, "r", cell("a"))
    s = make_sender()
    wait_until(lambda: spool.count() == 0, timeout=10)
    assert len(fake.calls()) == 4 and s.backoff_s == 0 and s.last_error is None


def test_backoff_grows_and_is_capped(spool, fake, make_sender, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sender_mod, "BACKOFF_FIRST_S", 1.0)
    monkeypatch.setattr(sender_mod.random, "uniform", lambda a, b: 1.0)
    waits = []
    s = make_sender(start=False)
    monkeypatch.setattr(s._kick, "wait", lambda delay=None: waits.append(delay))
    from cellmark.kernel.client import CallError

    for _ in range(9):
        s._failed(CallError("transient", "down"), [])
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    s._failed(CallError("transient", "slow down", 429, retry_after=30), [])
    assert waits[-1] == 60
    s.set_token("cm_again")  # a new activation starts over
    s._failed(CallError("transient", "slow down", 429, retry_after=5), [])
    assert waits[-1] == 5


def test_unreachable_server_keeps_everything(tmp_path: Path):
    s_pool = Spool("http://127.0.0.1:9", str(tmp_path))  # nothing listens on port 9
    s_pool.open()
    s_pool.append("ingest.cells", {"runId": "r", "cells": [cell("a")]})
    s = Sender(s_pool, "http://127.0.0.1:9")
    s.start()
    s.set_token("cm_x")
    try:
        wait_until(lambda: s.last_error)
        assert "unreachable" in s.last_error and s_pool.count() == 1 and s.backoff_s > 0
    finally:
        s.stop()


def test_401_stops_sending_until_a_new_token(spool, fake, make_sender, capfd):
    fake.answer("*", 401, "token revoked")
    put(spool, "r", cell("a"), cell("b"))
    s = make_sender(token="cm_old")
    wait_until(lambda: s.paused)
    time.sleep(0.3)
    assert len(fake.calls()) == 1 and spool.count() == 2
    assert "401" in s.paused and "token revoked" in s.paused
    assert s.flush(0.2) is False
    s.set_token("cm_new")
    assert s.flush(10) and spool.count() == 0
    assert fake.calls()[-1]["headers"]["authorization"] == "Bearer cm_new"
    assert capfd.readouterr().err.count("token rejected (401)") == 1


def test_a_refused_entry_goes_to_failed_and_the_rest_gets_through(spool, fake, capfd):
    put(spool, "r", cell("a"), cell("bad"), cell("c"), cell("d"))
    spool.append("ingest.environment", {"runId": "r", "environment": {}})

    calls = []

    def call(url, token, procedure, payload=None, *, body=None):
        # refuses every batch that holds "bad": all or nothing, as the server does
        parsed = json.loads(body)
        keys = [c["executionKey"] for c in parsed.get("cells", [])]
        calls.append(keys or procedure)
        if "bad" in keys:
            from cellmark.kernel.client import CallError

            raise CallError("permanent", "ingest.cells: HTTP 400: invalid input: cells.0.source: too big", 400)
        return {"ok": True}

    s = Sender(spool, fake.url, call=call)
    s.start()
    s.set_token("cm_x")
    try:
        assert s.flush(10)
    finally:
        s.stop()
    assert calls[0] == ["a", "bad", "c", "d"]
    delivered = [k for batch in calls if isinstance(batch, list) and "bad" not in batch for k in batch]
    assert sorted(delivered) == ["a", "c", "d"]
    assert calls[-1] == "ingest.environment"
    (failed,) = Path(spool.failed_dir).glob("*.json")
    saved = json.loads(failed.read_text())
    assert saved["entry"]["input"]["cells"][0]["executionKey"] == "bad"
    assert saved["error"]["status"] == 400 and "cells.0.source" in saved["error"]["message"]
    err = capfd.readouterr().err
    assert err.count("the server refused a payload") == 1 and str(failed) in err


def test_4xx_from_the_server_lands_in_failed(spool, fake, make_sender):
    fake.answer("ingest.updateRun", 404, "no such run")
    spool.append("ingest.updateRun", {"runId": "gone", "name": "x"})
    put(spool, "r", cell("a"))
    s = make_sender()
    assert s.flush(10)
    assert spool.failed_count() == 1 and len(fake.calls("ingest.cells")) == 1


def test_unreadable_entry_is_parked(spool, fake, make_sender):
    put(spool, "r", cell("a"))
    (entry,) = spool.pending()
    with open(entry.path, "r+b") as f:  # its bytes in the log, in place (a disk that lost them)
        f.seek(entry.offset)
        f.write(b"{" + b"x" * (entry.size - 1))
    put(spool, "r", cell("b"))
    assert make_sender().flush(10)
    assert spool.failed_count() == 1 and [c["executionKey"] for c in fake.cells()] == ["b"]


def test_results_reach_the_callback(spool, fake):
    fake.data_for = lambda procedure, body: {"name": "n", "tags": ["a"], "notes": ""}
    seen = []
    name = spool.append("ingest.updateRun", {"runId": "r", "name": "n"})
    s = Sender(spool, fake.url, on_result=lambda p, payload, result, names: seen.append((p, result, names)))
    s.start()
    s.set_token("cm_x")
    try:
        assert s.flush(10)
    finally:
        s.stop()
    assert seen == [("ingest.updateRun", {"name": "n", "tags": ["a"], "notes": ""}, [name])]


def test_appending_never_waits_for_the_network(tmp_path: Path):
    # A server that accepts connections but never answers: appends stay fast.
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sp = Spool(url, str(tmp_path))
    sp.open()
    s = Sender(sp, url)
    s.start()
    s.set_token("cm_x")
    try:
        t0 = time.monotonic()
        for i in range(100):
            sp.append("ingest.cells", {"runId": "r", "cells": [cell(f"k{i}")]})
            s.wake()
        assert time.monotonic() - t0 < 5.0
        assert sp.count() == 100
    finally:
        s._stopping = True
        sock.close()


def _points(keys, steps) -> list[dict]:
    return [{"key": k, "step": s, "value": float(s), "time": "2024-01-01T00:00:00Z"} for s in steps for k in keys]


def test_consecutive_metrics_payloads_of_one_run_go_as_one_request(
    spool, make_sender, fake, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CELLMARK_MAX_METRIC_KEYS_PER_BATCH", "3")
    monkeypatch.setattr(sender_mod, "MAX_POINTS_PER_PAYLOAD", 10)
    spool.append("ingest.metrics", {"runId": "r1", "points": _points(["a"], range(0, 4))})
    spool.append("ingest.metrics", {"runId": "r1", "points": _points(["b"], range(0, 4))})
    spool.append("ingest.metrics", {"runId": "r1", "points": _points(["a"], range(4, 8))})  # 12 > 10 points
    spool.append("ingest.metrics", {"runId": "r1", "points": _points(["c", "d"], range(0, 1))})
    spool.append("ingest.metrics", {"runId": "r1", "points": _points(["e"], range(0, 1))})  # 4 keys > 3
    spool.append("ingest.metrics", {"runId": "r2", "points": _points(["a"], range(0, 1))})
    sender = make_sender()
    assert sender.flush(10)
    bodies = [r["body"] for r in fake.calls("ingest.metrics")]
    assert [(b["runId"], len(b["points"]), sorted({p["key"] for p in b["points"]})) for b in bodies] == [
        ("r1", 8, ["a", "b"]),
        ("r1", 6, ["a", "c", "d"]),
        ("r1", 1, ["e"]),
        ("r2", 1, ["a"]),
    ]
