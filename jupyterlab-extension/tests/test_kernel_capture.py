"""The kernel side in a real IPython shell against the fake ingest API: what is recorded,
what never is, activation, the public API, privacy of the token."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest
from conftest import spooled, wait_until

import cellmark
import cellmark.kernel as ck
from cellmark.kernel import heartbeat
from cellmark.kernel import session as session_mod

TOKEN = "cm_" + "s3cr3t" * 6


@pytest.fixture
def active(shell, fake, spool_root):
    run_id = str(uuid.uuid4())
    answer = ck.activate(fake.url, TOKEN, run_id, "dir/train.ipynb")
    return {"run_id": run_id, "answer": answer}


def run(shell, code: str):
    return shell.run_cell(code, store_history=True)


def settle(fake, n_executions: int) -> dict:
    """Waits until n executions arrived complete; returns finals(). Running and complete
    records of one execution may arrive as one (the sender coalesces what is pending)."""
    assert ck.flush(10)
    wait_until(lambda: len([c for c in finals(fake).values() if c["status"] != "running"]) >= n_executions)
    return finals(fake)


def finals(fake) -> dict:
    """The last record per execution key, in order of first appearance."""
    out: dict = {}
    for c in fake.cells():
        out[c["executionKey"]] = c
    return out


def test_activate_answers_json_and_says_hello(active, fake):
    answer = active["answer"]
    assert json.loads(answer) == {
        "ok": True,
        "version": cellmark.__version__,
        "implementation": session_mod.implementation(),
    }
    assert repr(answer) == str(answer)  # text/plain of an execute_result is the JSON itself
    ck.flush(10)
    (hello,) = [r["body"] for r in fake.calls("ingest.kernelHello")]
    assert hello == {
        "runId": active["run_id"],
        "language": "python",
        "implementation": session_mod.implementation(),
        "cellmarkVersion": cellmark.__version__,
    }
    env = wait_until(lambda: fake.calls("ingest.environment"))[0]["body"]
    assert env["runId"] == active["run_id"] and env["environment"]["python"]["version"]


def test_running_record_arrives_while_the_cell_runs(shell, active, fake):
    shell.user_ns["_arrived"] = lambda: any(c["status"] == "running" for c in fake.cells())
    run(
        shell,
        "import time\n_t0 = time.monotonic()\nwhile not _arrived() and time.monotonic() - _t0 < 10:\n    time.sleep(0.01)\nok = _arrived()",
    )
    assert shell.user_ns["ok"] is True
    settle(fake, 1)
    running, done = fake.cells()
    assert running["status"] == "running" and running["endedAt"] is None and "config" not in running
    assert done["status"] == "ok" and done["startedAt"] == running["startedAt"] and done["endedAt"] >= done["startedAt"]
    assert running["executionKey"] == done["executionKey"] and running["executionCount"] == done["executionCount"] == 1


def test_the_running_record_is_spooled_before_the_code_runs_and_the_complete_one_follows_in_order(
    shell, active, fake, spool_root
):
    # The running record is in the log before the cell's code runs (a cell that kills the
    # kernel still leaves it); the complete one follows it, in order (in a kernel it is
    # written just after the execute_reply: test_kernel_outputs.py).
    shell.user_ns["_spooled"] = lambda: [
        c["source"] for r in spooled(spool_root) if r["procedure"] == "ingest.cells" for c in r["input"]["cells"]
    ]
    run(shell, "seen = _spooled()")
    assert shell.user_ns["seen"][-1] == "seen = _spooled()"
    for i in range(30):
        run(shell, f"lr = {i}")
    expected = [("seen = _spooled()", "running"), ("seen = _spooled()", "ok")]
    for i in range(30):
        expected += [(f"lr = {i}", "running"), (f"lr = {i}", "ok")]
    records = wait_until(
        lambda: (lambda rs: rs if len(rs) == len(expected) else None)(
            [
                (c["source"], c["status"])
                for r in spooled(spool_root)
                if r["procedure"] == "ingest.cells"
                for c in r["input"]["cells"]
            ]
        )
    )
    assert records == expected
    done = [c for c in settle(fake, 31).values()]
    assert [c.get("config") for c in done[1:]] == [{"lr": i} for i in range(30)]


def test_ok_error_and_interrupted_cells(shell, active, fake):
    run(shell, "x = 1 + 1")
    run(shell, "1 / 0")
    run(shell, "raise KeyboardInterrupt")
    run(shell, "def broken(:\n    pass")  # an error before execution
    records = list(settle(fake, 4).values())
    assert [c["status"] for c in records] == ["ok", "error", "interrupted", "error"]
    assert [c["executionCount"] for c in records] == [1, 2, 3, 4]
    ok, zero, interrupted, syntax = records
    assert ok["source"] == "x = 1 + 1" and ok["error"] is None and ok["endedAt"] >= ok["startedAt"]
    assert "outputs" not in ok and "position" not in ok  # the frontend's part
    assert zero["error"]["ename"] == "ZeroDivisionError" and zero["error"]["evalue"] == "division by zero"
    assert zero["error"]["traceback"][-1] == "ZeroDivisionError: division by zero\n"
    assert not any("interactiveshell.py" in line for line in zero["error"]["traceback"])
    assert interrupted["error"]["ename"] == "KeyboardInterrupt"
    assert syntax["error"]["ename"] == "SyntaxError"
    assert all(
        r["body"]["origin"] == "kernel" and r["body"]["runId"] == active["run_id"] for r in fake.calls("ingest.cells")
    )


def test_config_changes_per_execution(shell, active, fake):
    run(shell, "lr = 0.1\nlayers = [64, 64]\nhf_token = 'abc'\nimport math\nbad = float('nan')\n_hidden = 3")
    run(shell, "lr = 0.1\nepochs = 10")
    run(shell, "import cellmark\ncellmark.config.update({'lr': 0.01, 'batch': 32})\nlr = 5")
    run(shell, "lr = 6")
    run(shell, "# cellmark: config\nbad = float('nan')\nwd = lr / 1000")
    settle(fake, 5)
    configs = [c.get("config") for c in finals(fake).values()]
    # bad = float('nan') is a call's result: config only in a `# cellmark: config` cell
    assert configs == [
        {"lr": 0.1, "layers": [64, 64]},
        {"epochs": 10},
        {"lr": 0.01, "batch": 32},
        {},
        {"bad": "NaN", "wd": 0.006},
    ]
    assert dict(cellmark.config) == {
        "lr": 0.01,
        "layers": [64, 64],
        "bad": "NaN",
        "epochs": 10,
        "batch": 32,
        "wd": 0.006,
    }
    assert cellmark.config["batch"] == 32 and len(cellmark.config) == 6


def test_capture_config_off_still_sends_explicit_config(shell, fake, spool_root):
    ck.activate(fake.url, TOKEN, str(uuid.uuid4()), "nb.ipynb", capture_config=False)
    run(shell, "a = 1\nimport cellmark; cellmark.config.update(b=2)")
    settle(fake, 1)
    assert next(iter(finals(fake).values()))["config"] == {"b": 2}


def test_silent_history_less_and_nested_executions_are_not_recorded(shell, active, fake):
    shell.run_cell("a = 1", silent=True)
    shell.run_cell("b = 2", store_history=False)
    run(shell, "get_ipython().run_cell('c = 3', store_history=True)\nd = 4")
    run(shell, "   ")  # whitespace only: IPython fires post_run_cell without pre_run_cell
    settle(fake, 1)
    keys = finals(fake)
    assert len(keys) == 1
    (only,) = keys.values()
    # config is what the recorded cell's own source sets (not the nested or silent executions)
    assert only["source"].startswith("get_ipython().run_cell") and only["config"] == {"d": 4}


def test_nothing_is_recorded_before_activation(shell, session, fake):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(shell, "import cellmark\nlr = 0.1\ncellmark.config.update({'batch': 2})\ncellmark.run.name = 'x'")
    assert fake.calls() == [] and session.spool is None
    assert [str(w.message) for w in caught if "not active" in str(w.message)]
    assert cellmark.status()["active"] is False


def test_activate_is_idempotent_and_switches_runs(shell, active, fake):
    pre = len(shell.events.callbacks["pre_run_cell"])
    ck.activate(fake.url, TOKEN, active["run_id"], "dir/train.ipynb")
    assert len(shell.events.callbacks["pre_run_cell"]) == pre
    run(shell, "lr = 1")
    second = str(uuid.uuid4())
    ck.activate(fake.url, "cm_other", second, "dir/train.ipynb")
    assert len(shell.events.callbacks["pre_run_cell"]) == pre
    run(shell, "epochs = 2")
    settle(fake, 2)
    hellos = [r["body"]["runId"] for r in fake.calls("ingest.kernelHello")]
    assert hellos == [active["run_id"], second]  # one per run, not per activation
    by_run = {r["body"]["runId"]: r for r in fake.calls("ingest.cells")}
    assert set(by_run) == {active["run_id"], second}
    last = finals(fake)
    # a new run starts with the whole current config
    assert [c["config"] for c in last.values()] == [{"lr": 1}, {"lr": 1, "epochs": 2}]
    assert fake.calls()[-1]["headers"]["authorization"] == "Bearer cm_other"


def test_run_name_tags_and_notes(shell, active, fake):
    state = {"name": "generated-name", "tags": ["from-web"], "notes": ""}

    def update_run(procedure, body):  # what the server does, in short
        if procedure != "ingest.updateRun":
            return {"ok": True}
        state["name"] = body.get("name", state["name"])
        state["notes"] = body.get("notes", state["notes"])
        tags = body.get("tags", state["tags"]) + [t for t in body.get("addTags", []) if t not in state["tags"]]
        state["tags"] = [t for t in tags if t not in body.get("removeTags", [])]
        return dict(state)

    fake.data_for = update_run
    cellmark.run.name = "lr sweep"
    cellmark.run.tags.add("a", "b")
    cellmark.run.tags.remove("b")
    cellmark.run.tags = ["x", "y"]
    cellmark.run.notes = "first try"
    assert cellmark.run.tags == ["x", "y"] and "x" in cellmark.run.tags and cellmark.run.id == active["run_id"]
    cellmark.run.tags.add("z")
    ck.flush(10)
    bodies = [r["body"] for r in fake.calls("ingest.updateRun")]
    rid = active["run_id"]
    assert bodies == [
        {"runId": rid, "name": "lr sweep"},
        {"runId": rid, "addTags": ["a", "b"]},
        {"runId": rid, "removeTags": ["b"]},
        {"runId": rid, "tags": ["x", "y"]},
        {"runId": rid, "notes": "first try"},
        {"runId": rid, "addTags": ["z"]},
    ]
    assert list(cellmark.run.tags) == ["x", "y", "z"]
    assert cellmark.run.name == "lr sweep" and cellmark.run.notes == "first try"
    with pytest.raises(ValueError):
        cellmark.run.name = ""
    with pytest.raises(ValueError):
        cellmark.run.tags.add("t" * 65)
    with pytest.raises(ValueError):
        cellmark.run.notes = "x" * (64 * 1024 + 1)


def test_status_shows_state_and_never_the_token(shell, active, fake):
    run(shell, "x = 1")
    ck.flush(10)
    st = cellmark.status()
    assert st["active"] is True and st["runId"] == active["run_id"] and st["pending"] == 0
    assert st["serverUrl"] == fake.url and st["lastError"] is None and st["recorded"] == 1
    text = repr(st)
    assert "active, run " + active["run_id"] in text and "waiting to be sent: 0" in text
    assert TOKEN not in text and TOKEN not in json.dumps(st)


def test_the_token_is_never_written_anywhere(shell, active, fake, spool_root: Path):
    fake.answer("*", 503, "down", times=1000)  # keep everything in the spool
    run(shell, f"t = {TOKEN!r}\nk = 'prefix {TOKEN} suffix'\nmy_var = 1")
    run(shell, "y = 2")
    wait_until(lambda: any(r["procedure"] == "ingest.environment" for r in spooled(spool_root)))
    files = [p for p in spool_root.rglob("*") if p.is_file()]
    assert any(p.name.startswith("log-") for p in files)
    for p in files:
        assert TOKEN.encode() not in p.read_bytes(), p
    # a token pasted into a cell is redacted in its source; the variables holding it are no config
    sources = [r["input"]["cells"][0] for r in spooled(spool_root) if r["procedure"] == "ingest.cells"]
    first = [c for c in sources if c["source"].startswith("t = ")][-1]
    assert first["source"] == "t = '[redacted]'\nk = 'prefix [redacted] suffix'\nmy_var = 1"
    assert first["config"] == {"my_var": 1}
    history = [line for _, _, line in shell.history_manager.get_range(raw=True)]
    assert not any("activate(" in h for h in history)


def test_heartbeat_every_interval(shell, fake, spool_root, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_INTERVAL_S", 0.1)
    rid = str(uuid.uuid4())
    ck.activate(fake.url, TOKEN, rid, "nb.ipynb")
    beats = wait_until(lambda: len(fake.calls("ingest.heartbeat")) >= 3 and fake.calls("ingest.heartbeat"))
    assert beats[0]["body"]["runId"] == rid and beats[0]["body"]["at"].endswith("Z")
    ck.deactivate()
    n = len(fake.calls("ingest.heartbeat"))
    import time

    time.sleep(0.4)
    assert len(fake.calls("ingest.heartbeat")) <= n + 1


def test_heartbeat_401_stops_sending(shell, fake, spool_root, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_INTERVAL_S", 0.1)
    ck.activate(fake.url, TOKEN, str(uuid.uuid4()), "nb.ipynb")
    ck.flush(10)
    fake.answer("ingest.heartbeat", 401, "revoked")
    wait_until(lambda: cellmark.status()["sendingStopped"])
    assert "revoked" in cellmark.status()["lastError"]


def test_a_broken_hook_never_breaks_the_cell(shell, active, fake, monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(session_mod.KernelSession, "enqueue", broken)
    result = run(shell, "z = 41 + 1")
    assert result.success and shell.user_ns["z"] == 42
    assert "disk full" in cellmark.status()["lastError"]


def test_activate_rejects_bad_arguments(shell, session):
    with pytest.raises(ValueError):
        ck.activate("ftp://x", TOKEN, "r")
    with pytest.raises(ValueError):
        ck.activate("http://x", "", "r")
    with pytest.raises(ValueError):
        ck.activate("http://x", TOKEN, "")


def test_importing_cellmark_stays_light():
    code = (
        "import sys, cellmark, cellmark.kernel; assert cellmark._jupyter_labextension_paths() == "
        "[{'src': 'labextension', 'dest': '@cellmark/jupyterlab'}]; "
        "heavy = [m for m in ('jupyter_server', 'tornado', 'IPython', 'zmq') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "[]"


def test_an_interrupt_landing_in_a_hook_does_not_lose_the_record(shell, active, fake, monkeypatch: pytest.MonkeyPatch):
    # The user interrupts just as the cell ends: the KeyboardInterrupt hits our post_run_cell.
    real_append = session_mod.Spool.append
    hits = {"n": 0}

    def interrupted_once(self, procedure, payload, redact=()):
        cells = payload.get("cells") or [{}]
        if cells[0].get("status") == "ok" and hits["n"] == 0:
            hits["n"] += 1
            raise KeyboardInterrupt
        return real_append(self, procedure, payload, redact)

    monkeypatch.setattr(session_mod.Spool, "append", interrupted_once)
    run(shell, "lr = 0.5")
    (done,) = settle(fake, 1).values()
    assert hits["n"] == 1 and done["status"] == "ok" and done["config"] == {"lr": 0.5}


def test_huge_sources_are_cut_to_the_servers_limit():
    from types import SimpleNamespace

    from cellmark.kernel import executions

    info = SimpleNamespace(raw_cell="x = 1  # é\n" * 150_000, cell_id="c1")
    record = executions.running_record(info, None, 1)
    assert len(record["source"].encode("utf-8")) <= executions.MAX_SOURCE_BYTES
    assert record["source"].endswith("# [cellmark: source truncated at 1 MiB]\n") and record["cellId"] == "c1"
