"""The kernel owns its run, against a real ipykernel (jupyter_client) and the real server:
every frontend that activates the kernel side joins the run the kernel holds (the first
binding wins, also for two activations at once), the kernel ends its run when it shuts down
(the shutdown request, and atexit when it exits by itself), and a restart with no frontend
opens the next run from the kernel, linked to the one before, with the IPython extension
the package enables (`jupyter-config/ipython/ipython_kernel_config.json`)."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from cellmark_server import Account, CellmarkServer
from conftest import eventually, wait_until
from test_real_kernel import PKG_ROOT, execute

SHIPPED_CONFIG = PKG_ROOT / "jupyter-config" / "ipython" / "ipython_kernel_config.json"


@pytest.fixture
def fresh(cellmark_server: CellmarkServer) -> Account:
    """An account of its own: runs.list then holds only this test's runs."""
    return Account(cellmark_server)


@pytest.fixture
def lab_kernel(tmp_path: Path, spool_root: Path):
    """A kernel as Jupyter starts it (connection file kernel-<id>.json), with the shipped
    IPython config in its profile, so cellmark.autostart loads as in an installed environment."""
    from jupyter_client.manager import KernelManager

    ipython_dir = tmp_path / "ipython"
    (ipython_dir / "profile_default").mkdir(parents=True)
    shutil.copy(SHIPPED_CONFIG, ipython_dir / "profile_default" / "ipython_kernel_config.json")
    kernel_id = str(uuid.uuid4())
    km = KernelManager(kernel_name="python3", connection_file=str(tmp_path / f"kernel-{kernel_id}.json"))
    km.start_kernel(
        cwd=str(tmp_path),
        env=dict(os.environ, PYTHONPATH=str(PKG_ROOT), CELLMARK_SPOOL_DIR=str(spool_root), IPYTHONDIR=str(ipython_dir)),
    )
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    state = {"km": km, "kc": kc, "id": kernel_id, "state_file": spool_root / "kernels" / f"{kernel_id}.json"}
    try:
        yield state
    finally:
        state["kc"].stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)


def activation(account: Account, proposal: str, run_id: str | None = None, replaces: str | None = None) -> str:
    """What the frontend sends (src/capture/kernel-activation.ts)."""
    args = [
        f"server_url={json.dumps(account.server.url)}",
        f"token={json.dumps(account.token)}",
        f"run_id={json.dumps(run_id) if run_id else 'None'}",
        'notebook_path="nb/train.ipynb"',
        "capture_config=True",
        f"project={json.dumps(account.project)}",
        f"client_key={json.dumps(proposal)}",
        f"replaces={json.dumps(replaces) if replaces else 'None'}",
        'kernel_name="python3"',
    ]
    return f"import cellmark.kernel as __cellmark; __cellmark_activation = __cellmark.activate({', '.join(args)})"


def answer_of(reply: dict) -> dict:
    assert reply["status"] == "ok", reply
    expression = reply["user_expressions"]["cellmark"]
    assert expression["status"] == "ok", expression
    return json.loads(expression["data"]["text/plain"])["run"]


def activate(kc, account: Account, proposal: str, **kwargs) -> dict:
    _, reply = execute(
        kc,
        activation(account, proposal, **kwargs),
        silent=True,
        store_history=False,
        stop_on_error=False,
        user_expressions={"cellmark": "__cellmark_activation"},
    )
    return answer_of(reply)


def start_run(account: Account, client_key: str) -> str:
    """ingest.startRun as a frontend sends it, with the key the kernel answered."""
    return account.ingest(
        "ingest.startRun",
        {
            "project": account.project,
            "clientKey": client_key,
            "notebookPath": "nb/train.ipynb",
            "kernelName": "python3",
            "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )["runId"]


def flush(kc) -> None:
    _, reply = execute(
        kc, "import cellmark; assert cellmark.flush(30), cellmark.status()", silent=True, store_history=False
    )
    assert reply["status"] == "ok", reply


def test_every_frontend_joins_the_run_the_kernel_holds(lab_kernel, fresh: Account):
    kc = lab_kernel["kc"]
    first = activate(kc, fresh, "key-page-a")
    assert first == {"clientKey": "key-page-a", "runId": None, "previousRunId": None, "startedAt": first["startedAt"]}
    run_id = start_run(fresh, first["clientKey"])
    assert activate(kc, fresh, "key-page-a", run_id=run_id)["runId"] == run_id
    # a second browser (its own storage, its own proposal) and a stale page naming another run
    assert activate(kc, fresh, "key-page-b") == {**first, "runId": run_id}
    assert activate(kc, fresh, "key-page-c", run_id=str(uuid.uuid4()))["runId"] == run_id
    assert start_run(fresh, "key-page-a") == run_id  # what page b sends next: the same run

    msg_id, reply = execute(kc, "x = 41 + 1")
    assert reply["status"] == "ok"
    flush(kc)
    cells = eventually(lambda: _finished_cells(fresh, run_id, 1), timeout=30)
    assert [c["executionKey"] for c in cells] == [msg_id]
    assert [r["id"] for r in fresh.list_runs()] == [run_id]
    # the binding is on disk for a restart, with the token (0600)
    saved = json.loads(lab_kernel["state_file"].read_text())
    assert (saved["client_key"], saved["run_id"], saved["token"]) == ("key-page-a", run_id, fresh.token)
    assert lab_kernel["state_file"].stat().st_mode & 0o777 == 0o600


def test_two_first_activations_at_once_end_with_one_run(lab_kernel, fresh: Account):
    kc = lab_kernel["kc"]
    # both sent before either is answered, as two pages opening the notebook at once
    ids = [
        kc.execute(
            activation(fresh, key),
            silent=True,
            store_history=False,
            stop_on_error=False,
            user_expressions={"cellmark": "__cellmark_activation"},
        )
        for key in ("key-first", "key-second")
    ]
    answers = {}
    while len(answers) < 2:
        reply = kc.get_shell_msg(timeout=30)
        if reply["parent_header"]["msg_id"] in ids:
            answers[reply["parent_header"]["msg_id"]] = answer_of(reply["content"])
    assert [answers[i]["clientKey"] for i in ids] == ["key-first", "key-first"]


def test_a_new_run_replaces_the_held_one_only_when_asked_by_name(lab_kernel, fresh: Account):
    kc = lab_kernel["kc"]
    activate(kc, fresh, "key-run-1")
    run_1 = start_run(fresh, "key-run-1")
    activate(kc, fresh, "key-run-1", run_id=run_1)
    assert activate(kc, fresh, "key-run-2", replaces="key-unknown")["clientKey"] == "key-run-1"
    second = activate(kc, fresh, "key-run-2", replaces="key-run-1")
    assert (second["clientKey"], second["runId"], second["previousRunId"]) == ("key-run-2", None, run_1)
    flush(kc)
    # the kernel ended the run it gave up
    assert eventually(lambda: _status(fresh, run_1, "finished"), timeout=15)


def test_shutdown_request_ends_the_run_and_forgets_the_binding(lab_kernel, fresh: Account):
    km, kc = lab_kernel["km"], lab_kernel["kc"]
    activate(kc, fresh, "key-shutdown")
    run_id = start_run(fresh, "key-shutdown")
    activate(kc, fresh, "key-shutdown", run_id=run_id)
    execute(kc, "y = 1")
    assert lab_kernel["state_file"].exists()
    started = time.monotonic()
    km.shutdown_kernel(now=False)  # what Jupyter does for "Shut Down Kernel"
    eventually(lambda: _status(fresh, run_id, "finished"), timeout=5)
    assert time.monotonic() - started < 5
    assert not lab_kernel["state_file"].exists()


def test_a_kernel_that_exits_by_itself_ends_its_run_at_exit(lab_kernel, fresh: Account):
    km, kc = lab_kernel["km"], lab_kernel["kc"]
    activate(kc, fresh, "key-exit-0")
    run_id = start_run(fresh, "key-exit-0")
    activate(kc, fresh, "key-exit-0", run_id=run_id)
    kc.execute("exit()")  # no shutdown request: only atexit can end the run
    wait_until(lambda: not km.is_alive(), timeout=30)
    eventually(lambda: _status(fresh, run_id, "finished"), timeout=10)
    # kept: if Jupyter restarts the kernel it continues in a linked run
    assert lab_kernel["state_file"].exists()


def test_a_restart_with_no_frontend_opens_the_next_run_from_the_kernel(lab_kernel, fresh: Account):
    km, kc = lab_kernel["km"], lab_kernel["kc"]
    activate(kc, fresh, "key-before")
    run_1 = start_run(fresh, "key-before")
    activate(kc, fresh, "key-before", run_id=run_1)
    execute(kc, "before = 1")
    flush(kc)

    km.restart_kernel(now=False)  # what POST /api/kernels/<id>/restart does
    kc.stop_channels()
    kc = lab_kernel["kc"] = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    assert eventually(lambda: _status(fresh, run_1, "finished"), timeout=10)

    def next_run():
        runs = [r for r in fresh.list_runs() if r["id"] != run_1]
        assert len(runs) == 1, runs
        return runs[0]["id"]

    run_2 = eventually(next_run, timeout=30)
    detail = fresh.get_run(run_2)
    assert detail["run"]["previous"]["id"] == run_1
    assert detail["run"]["notebookPath"] == "nb/train.ipynb" and detail["run"]["kernelName"] == "python3"
    msg_id, reply = execute(kc, "after = 2")
    assert reply["status"] == "ok"
    flush(kc)
    cells = eventually(lambda: _finished_cells(fresh, run_2, 1), timeout=30)
    assert [(c["executionKey"], c["source"], c["capturedBy"]) for c in cells] == [(msg_id, "after = 2", ["kernel"])]
    assert eventually(lambda: fresh.get_run(run_2)["capture"]["kernel"], timeout=10)
    # a page opening the notebook now joins that run
    assert activate(kc, fresh, "key-page-z")["runId"] == run_2


def test_a_kernel_that_never_captured_starts_as_before(lab_kernel):
    _, reply = execute(
        lab_kernel["kc"], "import sys; print(sorted(m for m in sys.modules if m.startswith('cellmark')))"
    )
    assert reply["status"] == "ok"
    _, reply = execute(
        lab_kernel["kc"],
        "",
        user_expressions={"mods": "sorted(m for m in __import__('sys').modules if m.startswith('cellmark'))"},
    )
    # the extension loaded, and nothing else of cellmark (cellmark.kernel costs ~60 ms to import)
    assert (
        reply["user_expressions"]["mods"]["data"]["text/plain"]
        == "['cellmark', 'cellmark._version', 'cellmark.autostart']"
    )


def _finished_cells(account: Account, run_id: str, n: int) -> list:
    cells = account.get_run(run_id)["cells"]
    assert len(cells) == n and all(c["status"] != "running" for c in cells), cells
    return cells


def _status(account: Account, run_id: str, status: str) -> bool:
    got = account.get_run(run_id)["run"]["status"]
    assert got == status, got
    return True
