"""System metrics from a real ipykernel against the real server: with a fake nvidia-smi on
PATH (no GPU here), `system/*` metrics arrive while a cell sleeps (the sampler thread does
not wait for the shell), and the kernel pushes GPU readings to the frontend over the
`cellmark.system` comm."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cellmark_server import Account
from conftest import eventually
from test_real_kernel import PKG_ROOT, execute

FAKE_BIN = Path(__file__).resolve().parent / "fakes" / "bin"


@pytest.fixture
def gpu_kernel(tmp_path: Path, spool_root: Path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(
        cwd=str(tmp_path),
        env=dict(
            os.environ,
            PYTHONPATH=str(PKG_ROOT),
            CELLMARK_SPOOL_DIR=str(spool_root),
            IPYTHONDIR=str(tmp_path / "ipython"),
            PATH=f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}",
            CELLMARK_SYSTEM_INTERVAL="0.5",
            FAKE_NVIDIA_SMI_QUERY="sample-h100.csv",
            FAKE_NVIDIA_SMI_APPS="compute-apps.csv",
            FAKE_NVIDIA_SMI_PID="parent",
        ),
    )
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_system_metrics_arrive_while_a_cell_sleeps(gpu_kernel, account: Account):
    _km, kc = gpu_kernel
    run_id = account.start_run("gpu.ipynb")
    line = (
        f"import cellmark.kernel as __cellmark; __cellmark_activation = __cellmark.activate("
        f'server_url="{account.server.url}", token="{account.token}", run_id="{run_id}", notebook_path="gpu.ipynb")'
    )
    _, reply = execute(kc, line, silent=True, store_history=False, stop_on_error=False)
    assert reply["status"] == "ok", reply

    # a long cell: the shell is busy, samples must still reach the server and the frontend
    sleep_id = kc.execute("import time; time.sleep(8)")
    comm_open, samples = None, []
    deadline = time.monotonic() + 30
    summary = {}
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Exception:
            msg = None
        if msg is not None and msg["msg_type"] == "comm_open" and msg["content"]["target_name"] == "cellmark.system":
            comm_open = msg
        if (
            msg is not None
            and msg["msg_type"] == "comm_msg"
            and comm_open
            and msg["content"]["comm_id"] == comm_open["content"]["comm_id"]
        ):
            samples.append(msg["content"]["data"])
        if (
            msg is not None
            and msg["msg_type"] == "status"
            and msg["parent_header"].get("msg_id") == sleep_id
            and msg["content"]["execution_state"] == "idle"
        ):
            pytest.fail(f"the cell finished before system metrics arrived; summary keys: {sorted(summary)}")
        summary = account.get_run(run_id)["run"]["summary"] or {}
        if "system/gpu.0.util" in summary and "system/cpu.process_pct" in summary and len(samples) >= 2:
            break
    assert summary["system/gpu.0.util"]["last"] == 87.0
    assert summary["system/gpu.0.mem_total_mib"]["last"] == 81559.0
    assert summary["system/gpu.0.proc_mem_mib"]["last"] == 10240.0  # compute-apps joined to the kernel's pid
    assert {"system/mem.process_rss_mib", "system/mem.system_total_mib", "system/cpu.system_pct"} <= set(summary)
    assert samples[-1]["type"] == "sample" and samples[-1]["runId"] == run_id
    assert samples[-1]["devices"] == [
        {"id": "0", "util": 87.0, "memUsedMib": 12595.0, "memTotalMib": 81559.0, "procMemMib": 10240.0}
    ]

    def environment():
        env = account.get_run(run_id)["run"]["environment"]
        assert env
        return env

    env = eventually(environment, timeout=30)
    assert env["gpuSampling"] == {"source": "nvidia-smi", "intervalSeconds": 0.5, "error": None}
    assert env["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3" and env["gpus"][0]["cuda"] == "12.4"

    # capture paused: the frontend hears "stopped" on the comm, and never a comm_close (a
    # frontend that did not know the comm would log "Comm not found" for a close)
    comm_id = comm_open["content"]["comm_id"]
    _, reply = execute(kc, "import cellmark.kernel as __c; __c.deactivate()", silent=True, store_history=False)
    assert reply["status"] == "ok", reply
    seen = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Exception:
            continue
        if msg["msg_type"] in ("comm_msg", "comm_close") and msg["content"]["comm_id"] == comm_id:
            seen.append((msg["msg_type"], msg["content"].get("data", {}).get("type")))
            if seen[-1] == ("comm_msg", "stopped"):
                break
    assert seen and seen[-1] == ("comm_msg", "stopped") and ("comm_close", None) not in seen, seen
