"""capture-overhead.py with PROFILE=1 runs this inside the kernel (as module `cellmark_bench_profile`,
so `%reset` leaves it alone) before activation: perf_counter_ns timers around each stage of
capture (the hooks, the spool, the send wrapper, the sender thread) and around ipykernel's
whole execute_request handler, capture on and off. `@bg` marks time spent on other threads."""

import functools
import statistics
import threading
import time

from IPython import get_ipython

import cellmark.kernel.executions as executions
import cellmark.kernel.output_capture as output_capture
import cellmark.kernel.sender as sender
import cellmark.kernel.session as session
import cellmark.kernel.spool as spool

samples: dict = {}


def timed(name, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter_ns()
        try:
            return fn(*args, **kwargs)
        finally:
            where = "" if threading.current_thread() is threading.main_thread() else "@bg"
            samples.setdefault(name + where, []).append(time.perf_counter_ns() - t)
    return wrapper


STAGES = (
    (session.KernelSession, ("_pre", "_post", "enqueue", "_config_changes", "_flush_points", "_emit_cell")),
    (spool.Spool, ("append", "write_deferred", "sync", "remove", "pending", "load")),
    (output_capture.OutputCapture, ("_observe", "begin", "finish", "_send_final")),
    (sender.Sender, ("_send_next", "wake")),
)
for cls, names in STAGES:
    for n in names:
        if hasattr(cls, n):
            setattr(cls, n, timed(f"{cls.__name__}.{n}", getattr(cls, n)))
for mod, names in ((executions, ("running_record", "finish", "parent_message")), (spool, ("dumps",))):
    for n in names:
        if hasattr(mod, n):
            setattr(mod, n, timed(f"{mod.__name__.split('.')[-1]}.{n}", getattr(mod, n)))

kernel = get_ipython().kernel
original_execute = kernel.shell_handlers["execute_request"]


async def execute_request(*args, **kwargs):
    t = time.perf_counter_ns()
    try:
        return await original_execute(*args, **kwargs)
    finally:
        mode = "on" if session.SESSION._hooks_on is not None else "off"
        samples.setdefault(f"execute_request[{mode}]", []).append(time.perf_counter_ns() - t)


kernel.shell_handlers["execute_request"] = execute_request


def thread_cpu() -> dict:
    """CPU seconds per thread name (several threads of one name add up)."""
    import psutil

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict = {}
    for t in psutil.Process().threads():
        name = names.get(t.id, "other")
        out[name] = out.get(name, 0.0) + t.user_time + t.system_time
    return out


cpu_at_last_report = thread_cpu()


def report() -> str:
    global cpu_at_last_report
    now = thread_cpu()
    lines = ["  CPU by thread since the last report: " + ", ".join(
        f"{name} {(now[name] - cpu_at_last_report.get(name, 0.0)) * 1000:.0f} ms" for name in sorted(now))]
    cpu_at_last_report = now
    for name, values in sorted(samples.items()):
        s = sorted(values)
        lines.append(f"  {name:34s} n={len(s):6d} median {statistics.median(s) / 1000:8.1f} µs "
                     f"p95 {s[int(0.95 * len(s))] / 1000:8.1f} µs total {sum(s) / 1e6:8.1f} ms")
    samples.clear()
    return "\n".join(lines)
