"""System metrics: a background thread started with the run samples GPUs (gpu_sources) and
CPU, RAM, disk and network (psutil) every `interval` seconds (default 2, 0.5–60) and hands
each sample to a callback as {"system/…": value}. The session spools them as ordinary
metric points, so they keep flowing with the browser tab closed.

Keys (fixed, the run page charts exactly these): system/gpu.<dev>.<field> with <dev> "0",
"1", … or "<gpu>.mig<n>", fields util, mem_used_mib, mem_total_mib, mem_util, power_w,
power_limit_w, temp_c, sm_clock_mhz, pcie_rx_mbps, pcie_tx_mbps, proc_mem_mib; and
system/cpu.process_pct, system/cpu.system_pct, system/mem.process_rss_mib,
system/mem.system_used_mib, system/mem.system_total_mib, system/disk.read_mbps,
system/disk.write_mbps, system/net.recv_mbps, system/net.sent_mbps. A value that could not
be read is left out of that sample. MB/s are 10^6 bytes per second; MiB 2^20 bytes.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Optional

from . import gpu_sources

DEFAULT_INTERVAL_S = 2.0
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.5, 60.0
ENV_INTERVAL = "CELLMARK_SYSTEM_INTERVAL"
MIB = 1024 * 1024


def check_interval(value: Any, where: str = "cellmark.system.interval") -> float:
    """Seconds between samples, 0.5–60; raises ValueError saying what is allowed."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} must be a number of seconds between {MIN_INTERVAL_S:g} and {MAX_INTERVAL_S:g}, not {value!r}"
        ) from None
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise ValueError(f"{where} must be between {MIN_INTERVAL_S:g} and {MAX_INTERVAL_S:g} seconds, not {value!r}")
    return seconds


def interval_from_env() -> tuple[Optional[float], Optional[str]]:
    """(seconds or None for off, error text): CELLMARK_SYSTEM_INTERVAL, "off"/"0" turn sampling off."""
    raw = os.environ.get(ENV_INTERVAL, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S, None
    if raw.lower() in ("off", "0", "false", "no"):
        return None, None
    try:
        return check_interval(raw, ENV_INTERVAL), None
    except ValueError as e:
        return DEFAULT_INTERVAL_S, f"{e}; sampling every {DEFAULT_INTERVAL_S:g} s"


class HostStats:
    """CPU, RAM, disk and network from psutil, as rates between two calls."""

    def __init__(self, psutil: Any = None, pid: Optional[int] = None) -> None:
        if psutil is None:
            import psutil as _psutil

            psutil = _psutil
        self.psutil = psutil
        self.me = psutil.Process(pid or os.getpid())
        self.exclude: set[int] = set()  # our own helpers (the nvidia-smi stream)
        self._procs: dict[int, Any] = {self.me.pid: self.me}
        self._cpu: dict[int, float] = {}
        self._last: Optional[float] = None
        self._disk: Any = None
        self._net: Any = None
        self.tree_pids: list[int] = [self.me.pid]
        psutil.cpu_percent(interval=None)  # the first call only starts the count

    def _tree(self) -> list[Any]:
        """The kernel process and its descendants, Process objects kept between samples
        (psutil needs the same object to keep its state)."""
        procs = [self.me]
        try:
            children = self.me.children(recursive=True)
        except Exception:
            children = []
        seen = {self.me.pid}
        for child in children:
            if child.pid in self.exclude or child.pid in seen:
                continue
            seen.add(child.pid)
            procs.append(self._procs.setdefault(child.pid, child))
        for pid in list(self._procs):
            if pid not in seen:
                del self._procs[pid]
        self.tree_pids = [p.pid for p in procs]
        return procs

    def read(self) -> dict[str, float]:
        ps = self.psutil
        now = time.monotonic()
        out: dict[str, float] = {}
        procs = self._tree()
        cpu: dict[int, float] = {}
        rss = 0.0
        rss_ok = False
        for p in procs:
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
                    rss += p.memory_info().rss
                    rss_ok = True
            except Exception:  # exited between listing and reading, or not ours to read
                continue
        dt = now - self._last if self._last is not None else None
        if dt and dt > 0:
            # time used since the last sample by processes seen both times (a new child counts from 0)
            used = sum(v - self._cpu.get(pid, 0.0) for pid, v in cpu.items())
            out["system/cpu.process_pct"] = round(max(0.0, used) / dt * 100.0, 3)
        self._cpu = cpu
        if rss_ok:
            out["system/mem.process_rss_mib"] = rss / MIB
        try:
            out["system/cpu.system_pct"] = float(ps.cpu_percent(interval=None))
        except Exception:
            pass
        try:
            vm = ps.virtual_memory()
            out["system/mem.system_used_mib"] = (vm.total - vm.available) / MIB
            out["system/mem.system_total_mib"] = vm.total / MIB
        except Exception:
            pass
        for name, fn, fields in (
            (
                "_disk",
                ps.disk_io_counters,
                (("read_bytes", "system/disk.read_mbps"), ("write_bytes", "system/disk.write_mbps")),
            ),
            (
                "_net",
                ps.net_io_counters,
                (("bytes_recv", "system/net.recv_mbps"), ("bytes_sent", "system/net.sent_mbps")),
            ),
        ):
            try:
                counters = fn()
            except Exception:
                counters = None
            before = getattr(self, name)
            if counters is not None and before is not None and dt and dt > 0:
                for attr, key in fields:
                    delta = getattr(counters, attr) - getattr(before, attr)
                    if delta >= 0:  # counters can wrap or reset (a disk removed)
                        out[key] = round(delta / dt / 1e6, 6)
            setattr(self, name, counters)
        self._last = now
        return out


Sink = Callable[[dict[str, float], dict[str, Any]], None]


class SystemSampler:
    """The thread. `sink(values, gpu_view)` gets each sample; gpu_view is what the status
    bar shows: {"devices": [{"id", "util", "memUsedMib", "memTotalMib", "procMemMib"}], "error", "source"}."""

    def __init__(
        self,
        sink: Sink,
        interval_s: float = DEFAULT_INTERVAL_S,
        open_gpus: Callable[[float], tuple[Any, Optional[str]]] = gpu_sources.open_source,
        host: Optional[Callable[[], HostStats]] = None,
    ) -> None:
        self.sink, self.interval_s = sink, interval_s
        self._open_gpus = open_gpus
        self._host_factory = host or HostStats
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.ready = threading.Event()  # set once the GPU source is known
        self.gpu: Any = None
        self.gpu_error: Optional[str] = None  # "no NVIDIA GPU found (…)", said once here
        self.host_error: Optional[str] = None
        self.last_error: Optional[str] = None
        self.samples = 0
        self.cpu_s = 0.0  # the sampler thread's own CPU time, for the overhead figure

    @property
    def source(self) -> Optional[str]:
        return getattr(self.gpu, "name", None)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="cellmark-system", daemon=True)
            self._thread.start()

    def set_interval(self, seconds: float) -> None:
        self.interval_s = seconds
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        host = None
        try:
            try:
                host = self._host_factory()
            except Exception as e:  # psutil missing or unusable: GPUs can still be sampled
                self.host_error = f"{type(e).__name__}: {e}"
            try:
                self.gpu, self.gpu_error = self._open_gpus(self.interval_s)
            except Exception as e:
                self.gpu, self.gpu_error = None, f"no NVIDIA GPU found ({type(e).__name__}: {e})"
            if host is not None and getattr(self.gpu, "pid", None):
                host.exclude.add(self.gpu.pid)
            self.ready.set()
            next_at = time.monotonic()
            while not self._stop.is_set():
                started = time.thread_time()
                try:
                    self._sample(host)
                except Exception as e:
                    self.last_error = f"system sample: {type(e).__name__}: {e}"
                self.cpu_s += time.thread_time() - started
                self.samples += 1
                next_at = max(next_at + self.interval_s, time.monotonic())
                while not self._stop.is_set():
                    left = next_at - time.monotonic()
                    if left <= 0:
                        break
                    if self._wake.wait(left):
                        self._wake.clear()
                        next_at = min(next_at, time.monotonic() + self.interval_s)
        finally:
            self.ready.set()
            if self.gpu is not None:
                self.gpu.close()

    def _sample(self, host: Optional[HostStats]) -> None:
        values: dict[str, float] = {}
        pids = [os.getpid()]
        if host is not None:
            try:
                values.update(host.read())
                pids = host.tree_pids
            except Exception as e:
                self.host_error = f"{type(e).__name__}: {e}"
        view: dict[str, Any] = {"devices": [], "error": self.gpu_error, "source": self.source}
        if self.gpu is not None:
            for dev, fields in self.gpu.read(pids).items():
                for field, value in fields.items():
                    values[f"system/gpu.{dev}.{field}"] = value
                view["devices"].append(
                    {
                        "id": dev,
                        "util": fields.get("util"),
                        "memUsedMib": fields.get("mem_used_mib"),
                        "memTotalMib": fields.get("mem_total_mib"),
                        "procMemMib": fields.get("proc_mem_mib"),
                    }
                )
        self.sink(values, view)

    def state(self) -> dict[str, Any]:
        problems = getattr(self.gpu, "problems", None) or {}
        return {
            "intervalSeconds": self.interval_s,
            "gpuSource": self.source,
            "gpuError": self.gpu_error,
            "fieldErrors": dict(problems),
            "hostError": self.host_error,
            "samples": self.samples,
            "lastError": self.last_error,
            "cpuMsPerSample": round(1000 * self.cpu_s / self.samples, 3) if self.samples else None,
        }
