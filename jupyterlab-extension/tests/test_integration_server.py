"""The kernel side against the real Cellmark server (node, PGlite in a temp dir): what the
server stores, read back through its API as the web UI does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from cellmark_server import Account, CellmarkServer, free_port
from conftest import eventually, wait_until

import cellmark
import cellmark.kernel as ck
from cellmark.kernel import heartbeat
from cellmark.kernel import session as session_mod

PKG_ROOT = Path(__file__).resolve().parents[1]


def cells_of(account: Account, run_id: str) -> list[dict]:
    return account.get_run(run_id)["cells"]


def complete(account: Account, run_id: str, n: int) -> list[dict]:
    """The run's cells once n of them are stored complete (status other than running)."""

    def check():
        cells = cells_of(account, run_id)
        assert len([c for c in cells if c["status"] != "running"]) >= n, cells
        return cells

    return eventually(check, timeout=30)


def test_cells_config_and_run_details_are_stored(shell, account: Account):
    run_id = account.start_run("dir/train.ipynb")
    ck.activate(account.server.url, account.token, run_id, "dir/train.ipynb")
    shell.run_cell(
        "lr = 0.1\nlayers = [64, 64]\napi_token = 'abc'\ndb_password = 'hunter2'\nloss = float('inf')",
        store_history=True,
    )
    shell.run_cell("1 / 0", store_history=True)
    shell.run_cell("raise KeyboardInterrupt", store_history=True)
    shell.run_cell(
        "import cellmark\nlr = 0.2\ncellmark.config.update({'lr': 0.05, 'optimizer': 'adam'})", store_history=True
    )
    cellmark.run.name = "lr sweep from the kernel"
    cellmark.run.tags.add("sweep", "gpu")
    cellmark.run.tags.remove("gpu")
    cellmark.run.notes = "first try"
    assert ck.flush(30), cellmark.status()

    cells = complete(account, run_id, 4)
    assert [c["status"] for c in cells] == ["ok", "error", "interrupted", "ok"]
    assert [c["executionCount"] for c in cells] == [1, 2, 3, 4]
    assert all(c["capturedBy"] == ["kernel"] and c["endedAt"] for c in cells)
    assert cells[1]["error"]["ename"] == "ZeroDivisionError" and cells[2]["error"]["ename"] == "KeyboardInterrupt"
    assert cells[0]["source"].startswith("lr = 0.1")

    def details():
        got = account.get_run(run_id)
        assert got["run"]["environment"] and got["run"]["tags"] == ["sweep"], got["run"]
        return got

    got = eventually(details)
    run = got["run"]
    # loss = float('inf') is a call's result, not config
    assert run["config"] == {"lr": 0.05, "layers": [64, 64], "optimizer": "adam"}
    history = {(h["key"], json.dumps(h["value"])) for h in got["configHistory"]}
    assert (
        ("lr", "0.1") in history
        and ("lr", "0.05") in history
        and not any(k in ("api_token", "db_password") for k, _ in history)
    )
    assert run["name"] == "lr sweep from the kernel" and run["notes"] == "first try"
    assert run["kernel"] == {
        "language": "python",
        "implementation": session_mod.implementation(),
        "cellmarkVersion": cellmark.__version__,
    }
    assert got["capture"]["kernel"] is True
    env = run["environment"]
    assert env["python"]["version"] and any(p.lower().startswith("ipython==") for p in env["packages"])
    assert env["host"]["cpuCount"] == os.cpu_count() and isinstance(env["gpus"], list)
    assert env["gpus"] or env["gpuError"]
    assert cellmark.status()["pending"] == 0 and cellmark.status()["failed"] == 0


def test_resending_changes_nothing(shell, account: Account):
    """A crash after the server stored a batch but before the spool entry was deleted."""
    run_id = account.start_run()
    ck.activate(account.server.url, account.token, run_id, "nb.ipynb")
    shell.run_cell("a = 1", store_history=True)
    shell.run_cell("b = 2", store_history=True)
    assert ck.flush(30)
    before = complete(account, run_id, 2)
    spool = session_mod.SESSION.spool
    records = [c for c in before]
    for c in records:  # the same records again, as the spool would resend them
        spool.append(
            "ingest.cells",
            {
                "runId": run_id,
                "origin": "kernel",
                "cells": [
                    {
                        "executionKey": c["executionKey"],
                        "cellId": c["cellId"],
                        "executionCount": c["executionCount"],
                        "source": c["source"],
                        "status": c["status"],
                        "error": c["error"],
                        "startedAt": c["startedAt"],
                        "endedAt": c["endedAt"],
                        "config": {"a": 1} if c["source"] == "a = 1" else {"b": 2},
                    }
                ],
            },
        )
    session_mod.SESSION.sender.wake()
    assert ck.flush(30)
    got = account.get_run(run_id)
    assert [(c["executionKey"], c["status"]) for c in got["cells"]] == [
        (c["executionKey"], c["status"]) for c in before
    ]
    assert len(got["configHistory"]) == 2 and got["run"]["config"] == {"a": 1, "b": 2}


def test_heartbeat_keeps_the_run_alive(shell, account: Account, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_INTERVAL_S", 0.3)
    run_id = account.start_run()
    ck.activate(account.server.url, account.token, run_id, "nb.ipynb")
    assert ck.flush(30)
    wait_until(lambda: account.get_run(run_id)["run"]["environment"])
    first = account.get_run(run_id)["run"]["lastActivityAt"]

    def later():
        now = account.get_run(run_id)["run"]["lastActivityAt"]
        assert now > first, (now, first)

    eventually(later, timeout=10)  # only heartbeats touch the run now
    assert cellmark.status()["lastError"] is None


def test_refused_payloads_are_kept_in_failed_and_the_rest_is_delivered(shell, account: Account, capfd):
    missing_run = str(uuid.uuid4())
    ck.activate(account.server.url, account.token, missing_run, "nb.ipynb")
    shell.run_cell("x = 1", store_history=True)
    wait_until(lambda: cellmark.status()["failed"] >= 3 and cellmark.status()["pending"] == 0, timeout=30)
    good_run = account.start_run()
    ck.activate(account.server.url, account.token, good_run, "nb.ipynb")
    shell.run_cell("y = 2", store_history=True)
    assert ck.flush(30)
    (cell,) = complete(account, good_run, 1)
    assert cell["source"] == "y = 2"
    failed = sorted(Path(cellmark.status()["failedDir"]).glob("*.json"))
    saved = [json.loads(p.read_text()) for p in failed]
    assert {s["entry"]["procedure"] for s in saved} >= {"ingest.kernelHello", "ingest.cells"}
    assert all(s["error"]["status"] in (403, 404) and s["error"]["message"] for s in saved)
    assert "the server refused a payload" in capfd.readouterr().err


def test_a_rejected_token_stops_sending_until_the_next_activation(shell, account: Account):
    run_id = account.start_run()
    ck.activate(account.server.url, "cm_not_a_real_token_0000000000", run_id, "nb.ipynb")
    shell.run_cell("x = 1", store_history=True)
    wait_until(lambda: cellmark.status()["sendingStopped"], timeout=30)
    status = cellmark.status()
    assert "401" in status["sendingStopped"] and status["pending"] >= 2 and status["failed"] == 0
    assert cells_of(account, run_id) == []
    ck.activate(account.server.url, account.token, run_id, "nb.ipynb")  # same run, a valid token
    assert ck.flush(30)
    (cell,) = complete(account, run_id, 1)
    assert cell["source"] == "x = 1" and cellmark.status()["sendingStopped"] is None


def test_spool_delivers_after_the_server_was_down_and_across_kernel_restarts(
    shell, tmp_path: Path, spool_root: Path, monkeypatch: pytest.MonkeyPatch
):
    server = CellmarkServer(tmp_path / "data", port=free_port())
    try:
        server.start()
        account = Account(server)
        run_a, run_b = account.start_run("a.ipynb"), account.start_run("b.ipynb")
    finally:
        server.stop()

    # kernel 1 records into run A while the server is down, then exits (its payloads stay spooled)
    kernel1 = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(PKG_ROOT)!r})
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        c = Config(); c.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=c)
        import cellmark.kernel as ck
        ck.activate({server.url!r}, {account.token!r}, {run_a!r}, "a.ipynb")
        shell.run_cell("lr = 0.3", store_history=True)
        shell.run_cell("1/0", store_history=True)
        import time
        deadline = time.monotonic() + 10
        while ck.status()["lastError"] is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the sender waits a moment for more before its first try
        print(ck.status()["pending"], ck.status()["lastError"])
    """)
    out = subprocess.run(
        [sys.executable, "-c", kernel1],
        env=dict(os.environ, CELLMARK_SPOOL_DIR=str(spool_root)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    pending, _, error = out.stdout.strip().splitlines()[-1].partition(" ")
    assert int(pending) >= 4 and "unreachable" in error
    assert account.token not in "".join(p.read_text() for p in spool_root.rglob("*") if p.is_file())

    # kernel 2 (this process) activates run B, still without a server, and adopts kernel 1's spool
    ck.activate(server.url, account.token, run_b, "b.ipynb")
    shell.run_cell("epochs = 3", store_history=True)
    status = cellmark.status()
    assert status["pending"] >= int(pending) + 3
    assert "unreachable" in (wait_until(lambda: cellmark.status()["lastError"]) or "")

    server.start()
    try:
        assert ck.flush(60), cellmark.status()
        a_cells = complete(account, run_a, 2)
        assert [c["status"] for c in a_cells] == ["ok", "error"]
        assert account.get_run(run_a)["run"]["config"] == {"lr": 0.3}
        (b_cell,) = complete(account, run_b, 1)
        assert b_cell["source"] == "epochs = 3"
        assert account.get_run(run_b)["run"]["config"] == {"epochs": 3}
        assert cellmark.status()["pending"] == 0
    finally:
        ck.deactivate()
        server.stop()


def test_recording_before_the_run_exists_binds_to_the_run_once_it_does(shell, account: Account):
    # The frontend switches the kernel side on as soon as the notebook has a kernel and
    # opens the run only at the first execution: that execution must not be lost.
    ck.activate(account.server.url, account.token, None, "early.ipynb")
    shell.run_cell("lr = 0.3\nprint('before the run existed')", store_history=True)
    assert cellmark.status()["runId"] is None
    run_id = account.start_run("early.ipynb")
    ck.activate(account.server.url, account.token, run_id, "early.ipynb")
    shell.run_cell("epochs = 3", store_history=True)
    # an unbound activation later keeps the binding
    ck.activate(account.server.url, account.token, None, "early.ipynb")
    shell.run_cell("x = 1", store_history=True)
    assert ck.flush(30), cellmark.status()
    cells = complete(account, run_id, 3)
    assert [c["source"].splitlines()[0] for c in cells] == ["lr = 0.3", "epochs = 3", "x = 1"]
    details = account.get_run(run_id)
    assert details["run"]["config"] == {"lr": 0.3, "epochs": 3, "x": 1}
    # a deactivated kernel starts unbound again rather than writing into the old run
    ck.deactivate()
    ck.activate(account.server.url, account.token, None, "early.ipynb")
    shell.run_cell("y = 2", store_history=True)
    assert ck.flush(10)
    assert len(cells_of(account, run_id)) == 3


def _series(account: Account, run_id: str, key: str) -> dict:
    project_id = account.get_run(run_id)["run"]["projectId"]
    (series,) = account.session_get(
        "metrics.series", {"projectId": project_id, "runIds": [run_id], "key": key, "width": 10_000}
    )["series"]
    return series


def test_ten_thousand_logged_steps_arrive_once_with_nan_and_infinity(shell, account: Account):
    run_id = account.start_run("metrics.ipynb")
    ck.activate(account.server.url, account.token, run_id, "metrics.ipynb")
    code = textwrap.dedent("""
        import cellmark, math
        for i in range(10_000):
            loss = float('nan') if i == 1234 else 1.0 / (i + 1)
            acc = float('inf') if i == 4321 else i / 10_000
            cellmark.log({'train': {'loss': loss}, 'acc': acc})
    """)
    result = shell.run_cell(code, store_history=True)
    assert result.success, result.error_in_exec
    assert ck.flush(60), cellmark.status()

    def check():
        for key, special, value in (("train/loss", 1234, "NaN"), ("acc", 4321, "Infinity")):
            s = _series(account, run_id, key)
            assert s["x"] == list(range(10_000)), (key, len(s["x"]))
            assert s["count"] == [1] * 10_000  # every step once
            assert [i for i, n in enumerate(s["nonFinite"]) if n] == [special]
            assert s["last"][special] == value
        assert _series(account, run_id, "train/loss")["last"][:2] == [1.0, 0.5]

    eventually(check, timeout=30)
    summary = account.get_run(run_id)["run"]["summary"]
    assert summary["train/loss"]["step"] == 9999 and summary["train/loss"]["last"] == pytest.approx(1e-4)
    assert summary["train/loss"]["min"] == pytest.approx(1e-4) and summary["train/loss"]["max"] == 1.0
    assert summary["acc"]["max"] == pytest.approx(0.9999) and summary["acc"]["min"] == 0.0
    assert cellmark.summary["acc"] == pytest.approx(0.9999) and cellmark.summary.max("acc") == pytest.approx(0.9999)

    # resending (a crash between the server's commit and the spool's delete) changes nothing
    session = session_mod.SESSION
    session.metrics.spool_points(
        run_id,
        [
            {"key": "acc", "step": i, "value": "Infinity" if i == 4321 else i / 10_000, "time": "2026-01-01T00:00:00Z"}
            for i in range(4000, 5000)
        ],
    )
    assert ck.flush(30)
    s = _series(account, run_id, "acc")
    assert s["count"] == [1] * 10_000 and [i for i, n in enumerate(s["nonFinite"]) if n] == [4321]
    assert account.get_run(run_id)["run"]["summary"] == summary
    assert cellmark.status()["pending"] == 0 and cellmark.status()["failed"] == 0


def test_hand_set_summary_values_reach_the_run_also_when_set_before_it_exists(shell, account: Account):
    ck.activate(account.server.url, account.token, None, "summary.ipynb")
    shell.run_cell("import cellmark\ncellmark.summary['early'] = 'before the run'", store_history=True)
    run_id = account.start_run("summary.ipynb")
    ck.activate(account.server.url, account.token, run_id, "summary.ipynb")
    code = "cellmark.log({'acc': 0.5})\ncellmark.summary['acc'] = 0.97\ncellmark.summary['gone'] = 1\ndel cellmark.summary['gone']"
    assert shell.run_cell(code, store_history=True).success
    assert ck.flush(30), cellmark.status()

    def check():
        summary = account.get_run(run_id)["run"]["summary"]
        assert summary["early"] == {"value": "before the run"}
        assert summary["acc"]["value"] == 0.97 and summary["acc"]["last"] == 0.5
        assert "gone" not in summary

    eventually(check)


def test_metrics_logged_before_the_run_exists_land_in_it(shell, account: Account):
    ck.activate(account.server.url, account.token, None, "early-metrics.ipynb")
    shell.run_cell("import cellmark\nfor i in range(3): cellmark.log({'loss': 3 - i})", store_history=True)
    assert ck.flush(5) and cellmark.status()["bufferedPoints"] == 3
    run_id = account.start_run("early-metrics.ipynb")
    ck.activate(account.server.url, account.token, run_id, "early-metrics.ipynb")
    shell.run_cell("cellmark.log({'loss': 0.5})", store_history=True)
    assert ck.flush(30), cellmark.status()

    def check():
        s = _series(account, run_id, "loss")
        assert s["x"] == [0, 1, 2, 3] and s["last"] == [3, 2, 1, 0.5], s

    eventually(check)
    assert account.get_run(run_id)["run"]["summary"]["loss"] == {
        "last": 0.5,
        "step": 3,
        "first": 0,
        "min": 0.5,
        "max": 3,
        "mean": 1.625,
    }
    assert cellmark.status()["bufferedPoints"] == 0
