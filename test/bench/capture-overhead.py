"""Capture overhead of the kernel side (issue 13): what Cellmark adds to a short cell.

A real ipykernel driven through the kernel protocol (jupyter_client), activated the way the
frontend does it against a real Cellmark server (node, PGlite in a temp dir), once per
workload; then the recording hooks are switched off and on in alternating blocks of BLOCK
cells (the sender keeps running), so drift of a shared machine hits both alike;
latency is execute_request sent → execute_reply received. Three workloads: a trivial cell,
the same with 200 variables in the namespace, and a cell that prints 10 lines.

    jupyterlab-extension/.venv/bin/python test/bench/capture-overhead.py   (any venv with jupyterlab)

PROFILE=1 adds in-kernel timers per stage of capture and CPU per thread (capture-profile-kernel.py);
PACKAGE=<dir> measures the cellmark package in that dir (e.g. `git archive` of an older commit).

CELLS=1000 per mode and workload, BLOCK=50, WORKLOADS=trivial,vars200,print10; SERVER=down
activates against a port nothing listens on (everything stays in the spool, the sender backs
off), which leaves out the sender's requests and the server's own CPU on this machine.
System sampling is off (CELLMARK_SYSTEM_INTERVAL=off): it is a timer thread, not per-cell work.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "jupyterlab-extension" / "tests"))
# PACKAGE=<dir holding cellmark/>: the kernel side measured (another checkout's, for a before/after)
PKG = Path(os.environ.get("PACKAGE") or REPO / "jupyterlab-extension").resolve()

from cellmark_server import Account, CellmarkServer, free_port  # noqa: E402

CELLS = int(os.environ.get("CELLS", "1000"))
BLOCK = int(os.environ.get("BLOCK", "50"))
WORKLOADS = os.environ.get("WORKLOADS", "trivial,vars200,print10").split(",")
SERVER_DOWN = os.environ.get("SERVER") == "down"
PROFILE = os.environ.get("PROFILE") == "1"

SETUP = {
    "trivial": "",
    "vars200": "\n".join(f"v{i} = {i if i % 3 else [i, i + 1]}" for i in range(200)),
    "print10": "",
}
CELL = {
    "trivial": "x = 1",
    "vars200": "x = 1",
    "print10": "for i in range(10):\n    print(i)",
}


def execute(kc, code: str, **kwargs) -> dict:
    msg_id = kc.execute(code, **kwargs)
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def silent(kc, code: str) -> None:
    content = execute(kc, code, silent=True, store_history=False)
    assert content["status"] == "ok", content


def timed_block(kc, code: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        content = execute(kc, code)
        out.append((time.perf_counter() - t) * 1000)
        assert content["status"] == "ok", content
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (psutil, a dependency of cellmark)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def main() -> None:
    from jupyter_client.manager import KernelManager

    tmp = Path(tempfile.mkdtemp(prefix="cellmark-capture-bench-"))
    server = CellmarkServer(tmp / "server").start()
    try:
        account = Account(server)
        km = KernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(tmp), env=dict(
            os.environ, PYTHONPATH=str(PKG), CELLMARK_SPOOL_DIR=str(tmp / "spool"), IPYTHONDIR=str(tmp / "ipython"),
            CELLMARK_SYSTEM_INTERVAL="off"))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        if PROFILE:
            code = (Path(__file__).parent / "capture-profile-kernel.py").read_text()
            silent(kc, "import sys as __sys, types as __types; __m = __types.ModuleType('cellmark_bench_profile'); "
                       f"exec({code!r}, __m.__dict__); __sys.modules[__m.__name__] = __m")
        try:
            print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}; {CELLS} cells per mode, blocks of {BLOCK}"
                  + ("; server unreachable" if SERVER_DOWN else ""))
            for workload in WORKLOADS:
                run_id = account.start_run(f"bench/{workload}.ipynb")
                url = f"http://127.0.0.1:{free_port()}" if SERVER_DOWN else server.url
                activate = (f'import cellmark.kernel as __cellmark; __cellmark.activate(server_url="{url}", '
                            f'token="{account.token}", run_id="{run_id}", notebook_path="bench/{workload}.ipynb")')
                # Activated once per workload (a new run collects the environment, ~65 ms of CPU);
                # the blocks then switch the recording hooks off and on, the sender staying up.
                hooks_on = "from cellmark.kernel.session import SESSION as __s; __s._register_hooks(get_ipython())"
                hooks_off = "from cellmark.kernel.session import SESSION as __s; __s._unregister_hooks()"
                deactivate = "import cellmark.kernel as __cellmark; __cellmark.deactivate()"
                flush = "import cellmark as __cm; assert __cm.flush(60), __cm.status()" if not SERVER_DOWN else "pass"
                silent(kc, "%reset -f")
                if SETUP[workload]:
                    execute(kc, SETUP[workload])
                off: list[float] = []
                on: list[float] = []
                wall = {"off": 0.0, "on": 0.0}
                cpu = {"off": [0.0, 0.0], "on": [0.0, 0.0]}  # kernel, server
                kernel_pid = km.provisioner.process.pid
                silent(kc, activate)
                silent(kc, flush)  # hello and environment sent before anything is timed
                silent(kc, "import time as __t; __t.sleep(1)")
                timed_block(kc, CELL[workload], 20)  # warm-up
                for block in range(2 * CELLS // BLOCK):
                    mode = "on" if block % 2 else "off"
                    silent(kc, hooks_on if mode == "on" else hooks_off)
                    k0, s0 = cpu_s(kernel_pid), cpu_s(server.proc.pid)
                    t = time.perf_counter()
                    values = timed_block(kc, CELL[workload], BLOCK)
                    wall[mode] += time.perf_counter() - t
                    (on if mode == "on" else off).extend(values)
                    if mode == "on":
                        silent(kc, flush)  # what was sent must not slow the next off block
                    # CPU counted to the block's end, the flush included: all the work its cells caused
                    cpu[mode][0] += cpu_s(kernel_pid) - k0
                    cpu[mode][1] += cpu_s(server.proc.pid) - s0
                silent(kc, deactivate)
                if PROFILE:
                    report = tmp / f"profile-{workload}.txt"
                    silent(kc, f"import cellmark_bench_profile as __p; open({str(report)!r}, 'w').write(__p.report())")
                    print(report.read_text())
                m_off, m_on = statistics.median(off), statistics.median(on)
                p_off, p_on = pct(off, 0.95), pct(on, 0.95)
                print(f"{workload:8s} off: median {m_off:.3f} ms p95 {p_off:.3f} ms | on: median {m_on:.3f} ms "
                      f"p95 {p_on:.3f} ms | added: median {m_on - m_off:+.3f} ms p95 {p_on - p_off:+.3f} ms | "
                      f"wall ratio on/off {wall['on'] / wall['off']:.3f}")
                n = len(on)
                print(f"{'':8s} CPU per cell, off → on: kernel {cpu['off'][0] / n * 1000:.3f} → {cpu['on'][0] / n * 1000:.3f} ms, "
                      f"server {cpu['off'][1] / n * 1000:.3f} → {cpu['on'][1] / n * 1000:.3f} ms")
            print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
