"""A real ipykernel (jupyter_client) activated the way the frontend does it, against the
real server: execution keys are the execute_request msg_ids, the activation itself is not
recorded, an interrupt is `interrupted`, and a frontend record of the same execution
merges into the kernel's row instead of adding one."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from cellmark_server import Account
from conftest import eventually

PKG_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def kernel(tmp_path: Path, spool_root: Path):
    from jupyter_client.manager import KernelManager

    # a notebook in a git repository; Jupyter starts the kernel in the notebook's directory
    repo = tmp_path / "project"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "notebooks" / "train.ipynb").write_text("{}")
    env_git = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e.x", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e.x"
    )
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "nb"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env_git)

    km = KernelManager(kernel_name="python3")
    km.start_kernel(
        cwd=str(repo / "notebooks"),
        env=dict(
            os.environ,
            PYTHONPATH=str(PKG_ROOT),
            CELLMARK_SPOOL_DIR=str(spool_root),
            IPYTHONDIR=str(tmp_path / "ipython"),
        ),
    )
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        yield km, kc, repo
    finally:
        kc.stop_channels()
        if km.is_alive():  # a test may have killed it
            km.shutdown_kernel(now=False)


def execute(kc, code: str, timeout: float = 60, **kwargs) -> tuple[str, dict]:
    msg_id = kc.execute(code, **kwargs)
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return msg_id, reply["content"]


def iopub_until(kc, msg_id: str, msg_type: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == msg_type:
            return msg


def test_real_kernel_records_by_msg_id(kernel, account: Account):
    km, kc, repo = kernel
    run_id = account.start_run("notebooks/train.ipynb")

    # what the frontend sends (src/capture/kernel-activation.ts): silent, not in history,
    # the answer read back through user_expressions since silent requests have no execute_result
    line = (
        f"import cellmark.kernel as __cellmark; __cellmark_activation = __cellmark.activate("
        f'server_url="{account.server.url}", token="{account.token}", run_id="{run_id}", '
        f'notebook_path="notebooks/train.ipynb", capture_config=True)'
    )
    _, reply = execute(
        kc,
        line,
        silent=True,
        store_history=False,
        stop_on_error=False,
        user_expressions={"cellmark": "__cellmark_activation"},
    )
    assert reply["status"] == "ok", reply
    answer = reply["user_expressions"]["cellmark"]
    assert answer["status"] == "ok" and json.loads(answer["data"]["text/plain"]) == {
        "ok": True,
        "version": answer_version(),
        "implementation": answer_implementation(kc),
    }

    ok_id, reply = execute(kc, "lr = 0.001\nbatch_size = 64\nprint('hi')")
    assert reply["status"] == "ok"
    # stop_on_error=False: otherwise the kernel aborts a request that arrives right after
    # the error (an `aborted` reply, never executed), and this test races with that
    err_id, reply = execute(kc, "raise ValueError('bad lr')", stop_on_error=False)
    assert reply["status"] == "error"

    sleep_id = kc.execute("import time\ntime.sleep(60)")
    iopub_until(kc, sleep_id, "execute_input")
    time.sleep(0.5)
    km.interrupt_kernel()
    while True:
        reply = kc.get_shell_msg(timeout=30)
        if reply["parent_header"]["msg_id"] == sleep_id:
            break
    assert reply["content"]["ename"] == "KeyboardInterrupt"

    _, reply = execute(
        kc, "import cellmark; assert cellmark.flush(30), cellmark.status()", silent=True, store_history=False
    )
    assert reply["status"] == "ok", reply

    def stored():
        cells = account.get_run(run_id)["cells"]
        assert len([c for c in cells if c["status"] != "running"]) == 3, cells
        return cells

    cells = eventually(stored, timeout=30)
    assert [c["executionKey"] for c in cells] == [ok_id, err_id, sleep_id]
    assert [c["status"] for c in cells] == ["ok", "error", "interrupted"]
    assert [c["executionCount"] for c in cells] == [1, 2, 3]
    assert cells[1]["error"]["evalue"] == "bad lr"
    assert all(c["capturedBy"] == ["kernel"] for c in cells)

    got = account.get_run(run_id)
    assert got["run"]["config"] == {"lr": 0.001, "batch_size": 64}
    env = eventually(lambda: _environment(account, run_id), timeout=30)
    assert Path(env["git"]["root"]).resolve() == repo.resolve() and env["git"]["branch"] == "main"
    assert env["git"]["dirty"] is False

    # the frontend's record of the same execution merges into the kernel's row
    account.ingest(
        "ingest.cells",
        {
            "runId": run_id,
            "origin": "frontend",
            "cells": [
                {
                    "executionKey": ok_id,
                    "cellId": "c-1",
                    "executionCount": 1,
                    "position": 0,
                    "source": "lr = 0.001\nbatch_size = 64\nprint('hi')",
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi\n"}],
                    "status": "ok",
                    "startedAt": cells[0]["startedAt"],
                    "endedAt": cells[0]["endedAt"],
                }
            ],
        },
    )
    merged = account.get_run(run_id)["cells"]
    assert account.token not in json.dumps(merged)
    assert len(merged) == 3
    row = next(c for c in merged if c["executionKey"] == ok_id)
    assert row["capturedBy"] == ["frontend", "kernel"] and row["position"] == 0
    assert row["outputs"][0]["text"] == "hi\n" and row["startedAt"] == cells[0]["startedAt"]

    # the frontend's deactivation (capture paused): later cells are not recorded
    deactivate = (
        'import sys as __cm_sys\n__cm_kernel = __cm_sys.modules.get("cellmark.kernel")\n'
        'if __cm_kernel is not None and hasattr(__cm_kernel, "deactivate"):\n    __cm_kernel.deactivate()\n'
        "del __cm_sys, __cm_kernel"
    )
    _, reply = execute(kc, deactivate, silent=True, store_history=False)
    assert reply["status"] == "ok"
    execute(kc, "after = 1")
    _, reply = execute(
        kc,
        "import cellmark; assert cellmark.flush(30); assert not cellmark.status()['active']",
        silent=True,
        store_history=False,
    )
    assert reply["status"] == "ok", reply
    assert len(account.get_run(run_id)["cells"]) == 3


def answer_version() -> str:
    import cellmark

    return cellmark.__version__


def answer_implementation(kc) -> str:
    _, reply = execute(
        kc,
        "",
        silent=True,
        store_history=False,
        user_expressions={
            "impl": "__import__('sys').implementation.name + ' ' + __import__('platform').python_version()"
        },
    )
    return reply["user_expressions"]["impl"]["data"]["text/plain"].strip("'")


def _environment(account: Account, run_id: str) -> dict:
    env = account.get_run(run_id)["run"]["environment"]
    assert env, "no environment yet"
    return env


DIGITS = [
    "import time\nlr = 0.1\nepochs = 10\nhidden = [64, 32]\nt0 = time.time()",
    "class MLP:\n    def __init__(self, hidden, lr):\n        self.hidden, self.lr = hidden, lr\n"
    "    def fit_step(self, step):\n        return 1.0 / (step + 1)\n    def score(self):\n        return 0.93",
    "model = MLP(hidden, lr)\nbest = None",
    "for step in range(epochs):\n    loss = model.fit_step(step)",
    "acc = model.score()\nelapsed = time.time() - t0",
    "seed = 0",
    "# cellmark: config\nbatch = 16 * 2",
    "lr = lr * 0.5  # a schedule: computed, so lr is no longer tracked",
    "step = 3\nepochs = 12",
]


def test_real_kernel_config_is_the_literal_hyperparameters(kernel, account: Account):
    _km, kc, _repo = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    line = (
        f"import cellmark.kernel as __cellmark; __cellmark_activation = __cellmark.activate("
        f'server_url="{account.server.url}", token="{account.token}", run_id="{run_id}", '
        f'notebook_path="notebooks/train.ipynb", capture_config=True)'
    )
    _, reply = execute(
        kc, line, silent=True, store_history=False, user_expressions={"cellmark": "__cellmark_activation"}
    )
    assert reply["status"] == "ok" and reply["user_expressions"]["cellmark"]["status"] == "ok", reply
    ids = []
    for code in DIGITS:
        msg_id, reply = execute(kc, code)
        assert reply["status"] == "ok", reply
        ids.append(msg_id)
    _, reply = execute(
        kc, "import cellmark; assert cellmark.flush(30), cellmark.status()", silent=True, store_history=False
    )
    assert reply["status"] == "ok", reply

    def stored():
        got = account.get_run(run_id)
        assert len([c for c in got["cells"] if c["status"] == "ok"]) == len(DIGITS), got["cells"]
        return got

    got = eventually(stored, timeout=30)
    assert [c["executionCount"] for c in got["cells"]] == list(range(1, len(DIGITS) + 1))
    # results, models, loop variables and timestamps are not config; best = None is a literal
    assert got["run"]["config"] == {
        "lr": 0.1,
        "epochs": 12,
        "hidden": [64, 32],
        "best": None,
        "seed": 0,
        "batch": 32,
        "step": 3,
    }
    # "set in [n]": each change names the execution that made it
    history = sorted((h["key"], h["value"], h["executionCount"]) for h in got["configHistory"])
    assert history == sorted(
        [
            ("lr", 0.1, 1),
            ("epochs", 10, 1),
            ("hidden", [64, 32], 1),
            ("best", None, 3),
            ("seed", 0, 6),
            ("batch", 32, 7),
            ("epochs", 12, 9),
            ("step", 3, 9),
        ]
    )
    assert {h["executionKey"] for h in got["configHistory"] if h["key"] == "seed"} == {ids[5]}


def test_real_kernel_auto_config_off(kernel, account: Account):
    _km, kc, _repo = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    line = (
        f'import cellmark.kernel as __cellmark; __cellmark.activate(server_url="{account.server.url}", '
        f'token="{account.token}", run_id="{run_id}", notebook_path="notebooks/train.ipynb", capture_config=False)'
    )
    _, reply = execute(kc, line, silent=True, store_history=False)
    assert reply["status"] == "ok", reply
    for code in (
        "lr = 0.1",
        "# cellmark: config\nepochs = 3",
        "import cellmark\ncellmark.config.update(optimizer='adam')",
        "cellmark.config.auto = True\nwarmup = 5",
        "cellmark.config.auto = False\nbeta = 0.9",
    ):
        _, reply = execute(kc, code)
        assert reply["status"] == "ok", reply
    _, reply = execute(
        kc, "import cellmark; assert cellmark.flush(30), cellmark.status()", silent=True, store_history=False
    )
    assert reply["status"] == "ok", reply
    got = eventually(lambda: _config_of(account, run_id), timeout=30)
    assert got == {"epochs": 3, "optimizer": "adam", "warmup": 5}


def _config_of(account: Account, run_id: str) -> dict:
    config = account.get_run(run_id)["run"]["config"]
    assert "warmup" in config, config
    return config
