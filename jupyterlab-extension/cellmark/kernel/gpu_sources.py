"""Where the system sampler reads GPUs from: NVML through `nvidia-ml-py` (`import pynvml`)
when it loads, else one long-lived `nvidia-smi --query-gpu=… -lms <ms>` that streams rows
(spawning nvidia-smi every sample costs far more CPU than reading its stream) plus
`--query-compute-apps` every 30 s for the memory of the kernel's own processes
(the last reading is reported with each sample in between).

Every field of every device is read on its own: a field that fails is left out of that
sample (never a made-up 0) and the rest go on. A source returns
{device key: {field: value}} with device keys "0", "1", … and "<gpu>.mig<n>" for MIG
instances (NVML only: nvidia-smi's --query-gpu has no per-instance rows).
Formats: docs/nvidia-smi-formats.md; fixtures in tests/fixtures/nvidia-smi.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable, Optional

MIB = 1024 * 1024
_MISSING = re.compile(r"^\[.*\]$|^n/?a$", re.IGNORECASE)
_NUMBER = re.compile(r"^(-?[0-9]+(?:\.[0-9]+)?)\s*[A-Za-z%/]*$")

# What the nvidia-smi stream asks for, in this order (rows are mapped by position: the
# header names differ from the query names, e.g. clocks.sm -> clocks.current.sm).
SMI_FIELDS = ["index", "uuid", "utilization.gpu", "memory.used", "memory.total", "power.draw",
              "power.limit", "temperature.gpu", "clocks.sm"]
SMI_COLUMNS = ["util", "mem_used_mib", "mem_total_mib", "power_w", "power_limit_w", "temp_c", "sm_clock_mhz"]
SMI_QUERY = ["--query-gpu=" + ",".join(SMI_FIELDS), "--format=csv,noheader,nounits"]
SMI_APPS_QUERY = ["--query-compute-apps=gpu_uuid,pid,used_gpu_memory", "--format=csv,noheader,nounits"]
APPS_EVERY_S = 30.0  # compute-apps needs a process each time (~50–150 ms CPU): poll it rarely
START_WAIT_S = 10.0  # how long the first stream rows may take (NVML init on a big machine)


def number(field: str) -> Optional[float]:
    """A CSV value as a number; None for `[N/A]`, `[Not Supported]`, bare `N/A`, text."""
    field = field.strip()
    if not field or _MISSING.match(field):
        return None
    m = _NUMBER.match(field)
    return float(m.group(1)) if m else None


def _text(field: str) -> Optional[str]:
    field = field.strip()
    return None if not field or _MISSING.match(field) else field


def with_mem_util(values: dict[str, float]) -> dict[str, float]:
    used, total = values.get("mem_used_mib"), values.get("mem_total_mib")
    if used is not None and total:
        values["mem_util"] = round(100.0 * used / total, 3)
    return values


def parse_smi_rows(text: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Rows of the SMI_QUERY → ({index: {"uuid": …, field: value}}, problem lines).

    A line that is not a row (a lost GPU, a driver message) is a problem and hides nothing
    else; rows come in any order and are keyed by their index.
    """
    rows: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for raw in text.splitlines():
        row = parse_smi_row(raw)
        if row is None:
            if raw.strip():
                problems.append(raw.strip())
            continue
        rows[row[0]] = row[1]
    return rows, problems


def parse_smi_row(line: str) -> Optional[tuple[str, dict[str, Any]]]:
    parts = [p.strip() for p in line.strip().split(",")]
    if len(parts) != len(SMI_FIELDS) or not parts[0].isdigit():
        return None
    values: dict[str, Any] = {"uuid": _text(parts[1])}
    for name, field in zip(SMI_COLUMNS, parts[2:]):
        value = number(field)
        if value is not None:
            values[name] = value
    return parts[0], values


def parse_compute_apps(text: str) -> tuple[dict[str, dict[int, Optional[float]]], list[str]]:
    """`gpu_uuid, pid, used_gpu_memory` rows → ({gpu uuid: {pid: MiB or None}}, problems)."""
    apps: dict[str, dict[int, Optional[float]]] = {}
    problems: list[str] = []
    for raw in text.splitlines():
        parts = [p.strip() for p in raw.strip().split(",")]
        if len(parts) != 3 or not parts[1].isdigit():
            if raw.strip():
                problems.append(raw.strip())
            continue
        apps.setdefault(parts[0], {})[int(parts[1])] = number(parts[2])
    return apps, problems


def first_lines(text: str, n: int = 2) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:n])[:300]


def tree_memory(apps: dict[int, Optional[float]], pids: Iterable[int]) -> Optional[float]:
    """MiB used by the given processes; None when the driver gives no per-process memory."""
    pids = set(pids)
    mine = [mib for pid, mib in apps.items() if pid in pids]
    if any(mib is None for mib in mine):
        return None  # Windows/WDDM: [N/A] for every process
    return float(sum(mine))  # type: ignore[arg-type]


# -- NVML -----------------------------------------------------------------------------------

def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


V2_MISSING = {3, 13, 25}  # NVML_ERROR_NOT_SUPPORTED, _FUNCTION_NOT_FOUND, _ARGUMENT_VERSION_MISMATCH


class NvmlSource:
    """Per-field NVML reads. A field that says Not Supported is not asked again."""

    name = "nvml"

    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        nvml.nvmlInit()
        self.problems: dict[str, str] = {}  # "<dev>.<field>" -> the last error text
        self._unsupported: set[tuple[str, str]] = set()
        self.devices: list[tuple[str, Any]] = []
        count = nvml.nvmlDeviceGetCount()
        for i in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
            except Exception as e:  # a lost GPU: the others still count
                self.problems[str(i)] = _err(e)
                continue
            self.devices.append((str(i), handle))
            try:
                current = nvml.nvmlDeviceGetMigMode(handle)[0]
            except Exception:
                continue  # no MIG on this card (Not Supported)
            if current != getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1):
                continue
            try:
                slots = nvml.nvmlDeviceGetMaxMigDeviceCount(handle)
            except Exception as e:
                self.problems[f"{i}.mig"] = _err(e)
                continue
            for n in range(slots):
                try:
                    self.devices.append((f"{i}.mig{n}", nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, n)))
                except Exception:
                    continue  # an empty slot (Not Found)
        if not self.devices:
            raise RuntimeError("NVML found no usable devices" + (f" ({'; '.join(self.problems.values())})" if self.problems else ""))

    def _read(self, dev: str, field: str, fn: Callable[[], Any]) -> Any:
        if (dev, field) in self._unsupported:
            return None
        try:
            return fn()
        except Exception as e:
            if getattr(e, "value", None) == getattr(self.nvml, "NVML_ERROR_NOT_SUPPORTED", 3):
                self._unsupported.add((dev, field))
            self.problems[f"{dev}.{field}"] = _err(e)
            return None

    def _memory(self, dev: str, h: Any) -> Any:
        """Memory as nvidia-smi shows it. NVML's v2 struct leaves the driver's reserved memory
        out of `used`; the v1 struct's `used` is total − free and counts it (an H100, driver 580:
        v1 said 1875 MiB used where nvidia-smi said 1395, the 480 MiB reserved). A driver without v2 (before R510,
        Function Not Found / Not Supported / version mismatch) is read with v1 from then on."""
        nvml = self.nvml
        version = getattr(nvml, "nvmlMemory_v2", None)
        if version is not None and (dev, "memory_v2") not in self._unsupported:
            try:
                return nvml.nvmlDeviceGetMemoryInfo(h, version=version)
            except Exception as e:
                if getattr(e, "value", None) not in V2_MISSING:
                    raise
                self._unsupported.add((dev, "memory_v2"))
        return nvml.nvmlDeviceGetMemoryInfo(h)

    def read(self, pids: Iterable[int]) -> dict[str, dict[str, float]]:
        nvml, pids = self.nvml, set(pids)
        out: dict[str, dict[str, float]] = {}
        for dev, h in self.devices:
            v: dict[str, float] = {}

            def put(field: str, fn: Callable[[], Any], scale: float = 1.0) -> None:
                value = self._read(dev, field, fn)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    v[field] = float(value) * scale

            put("util", lambda: nvml.nvmlDeviceGetUtilizationRates(h).gpu)
            mem = self._read(dev, "memory", lambda: self._memory(dev, h))
            if mem is not None:
                for field, attr in (("mem_used_mib", "used"), ("mem_total_mib", "total")):
                    value = getattr(mem, attr, None)
                    if isinstance(value, int):
                        v[field] = value / MIB
            put("power_w", lambda: nvml.nvmlDeviceGetPowerUsage(h), 1e-3)  # mW
            put("power_limit_w", lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(h), 1e-3)  # mW
            put("temp_c", lambda: nvml.nvmlDeviceGetTemperature(h, getattr(nvml, "NVML_TEMPERATURE_GPU", 0)))
            put("sm_clock_mhz", lambda: nvml.nvmlDeviceGetClockInfo(h, getattr(nvml, "NVML_CLOCK_SM", 1)))
            # KB/s (NVML counts 1000-byte KB over a 20 ms window) -> MB/s
            put("pcie_rx_mbps", lambda: nvml.nvmlDeviceGetPcieThroughput(h, getattr(nvml, "NVML_PCIE_UTIL_RX_BYTES", 1)), 1e-3)
            put("pcie_tx_mbps", lambda: nvml.nvmlDeviceGetPcieThroughput(h, getattr(nvml, "NVML_PCIE_UTIL_TX_BYTES", 0)), 1e-3)
            procs = self._read(dev, "proc_mem_mib", lambda: nvml.nvmlDeviceGetComputeRunningProcesses(h))
            if procs is not None:
                apps = {int(p.pid): (p.usedGpuMemory / MIB if isinstance(p.usedGpuMemory, int) else None) for p in procs}
                mib = tree_memory(apps, pids)
                if mib is not None:
                    v["proc_mem_mib"] = mib
            out[dev] = with_mem_util(v)
        return out

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except Exception:
            pass


# -- nvidia-smi -----------------------------------------------------------------------------

class SmiSource:
    """One `nvidia-smi … -lms` process streaming rows; a reader thread keeps the latest row
    per GPU. Rows older than three intervals are dropped (a GPU that stopped answering)."""

    name = "nvidia-smi"

    def __init__(self, exe: str, interval_s: float, popen: Callable[..., Any] = subprocess.Popen,
                 runner: Optional[Callable[[list, float], tuple[int, str]]] = None) -> None:
        self.exe, self.interval_s, self._popen = exe, interval_s, popen
        self._runner = runner or _run
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[float, dict[str, Any]]] = {}
        self._output: list[str] = []  # non-row lines (problems, the reason it stopped)
        self._first = threading.Event()
        self._closed = False
        self.problems: dict[str, str] = {}
        self._apps: Optional[dict[str, dict[int, Optional[float]]]] = None
        self._apps_at = 0.0
        self._restart_at = 0.0
        self.proc: Any = None
        self._start()
        if not self._first.wait(START_WAIT_S) or not self._latest:
            why = first_lines("\n".join(self._output)) or "no rows within 10 s"
            try:  # the stream ended: its exit status says why (9: driver down)
                status = self.proc.wait(2.0)
            except Exception:
                status = None
            self.close()
            raise RuntimeError(f"nvidia-smi failed (exit status {status}): {why}" if status else f"nvidia-smi: {why}")

    def _start(self) -> None:
        ms = max(100, round(self.interval_s * 1000))
        self.proc = self._popen([self.exe, *SMI_QUERY, "-lms", str(ms)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, bufsize=1,
                                universal_newlines=True, errors="replace")
        threading.Thread(target=self._reader, args=(self.proc,), name="cellmark-nvidia-smi", daemon=True).start()

    def _reader(self, proc: Any) -> None:
        try:
            for line in proc.stdout:
                row = parse_smi_row(line)
                with self._lock:
                    if row is not None:
                        self._latest[row[0]] = (time.monotonic(), row[1])
                    elif line.strip():
                        self._output.append(line.strip())
                        del self._output[:-20]
                        self.problems["nvidia-smi"] = line.strip()[:300]
                if row is not None:
                    self._first.set()
        except Exception as e:
            self.problems["nvidia-smi"] = _err(e)
        finally:
            self._first.set()

    @property
    def pid(self) -> Optional[int]:
        return getattr(self.proc, "pid", None)

    def read(self, pids: Iterable[int]) -> dict[str, dict[str, float]]:
        now = time.monotonic()
        if self.proc is not None and self.proc.poll() is not None and not self._closed and now >= self._restart_at:
            # the stream died (driver reload, GPU lost): start again, at most once a minute
            self.problems["nvidia-smi"] = f"stream exited ({self.proc.poll()}): {first_lines(chr(10).join(self._output))}"
            self._restart_at = now + 60.0
            self._start()
        stale = now - 3 * self.interval_s - 1.0
        with self._lock:
            rows = {dev: dict(values) for dev, (at, values) in self._latest.items() if at >= stale}
        if now - self._apps_at >= APPS_EVERY_S:
            self._apps_at = now
            self._apps = self._poll_apps()
        pids = set(pids)
        out: dict[str, dict[str, float]] = {}
        for dev, values in sorted(rows.items(), key=lambda kv: int(kv[0])):
            uuid = values.pop("uuid", None)
            if self._apps is not None and uuid:
                mib = tree_memory(self._apps.get(uuid, {}), pids)
                if mib is not None:
                    values["proc_mem_mib"] = mib
            out[dev] = with_mem_util(values)
        return out

    def _poll_apps(self) -> Optional[dict[str, dict[int, Optional[float]]]]:
        try:
            status, text = self._runner([self.exe, *SMI_APPS_QUERY], 10.0)
        except Exception as e:
            self.problems["proc_mem_mib"] = _err(e)
            return None
        apps, problems = parse_compute_apps(text)
        if status != 0 or problems:
            self.problems["proc_mem_mib"] = first_lines("\n".join(problems)) or f"exit status {status}"
            if status != 0:
                return None
        return apps

    def close(self) -> None:
        self._closed = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(2.0)
            except Exception:
                proc.kill()
        if proc is not None and proc.stdout is not None:
            try:
                proc.stdout.close()
            except Exception:
                pass


def _run(args: list, timeout: float) -> tuple[int, str]:
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          timeout=timeout, check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def _import_nvml() -> Any:
    import pynvml  # nvidia-ml-py

    return pynvml


def open_source(interval_s: float, import_nvml: Optional[Callable[[], Any]] = None,
                which: Optional[Callable[[str], Optional[str]]] = None) -> tuple[Any, Optional[str]]:
    """(source, None), or (None, "no NVIDIA GPU found (<why NVML and nvidia-smi failed>)")."""
    reasons = []
    which = which or shutil.which
    try:
        return NvmlSource((import_nvml or _import_nvml)()), None
    except ImportError:
        reasons.append("NVML: nvidia-ml-py is not installed")
    except Exception as e:
        reasons.append(f"NVML: {e}" if type(e).__name__.startswith("NVMLError") or isinstance(e, RuntimeError) else f"NVML: {_err(e)}")
    try:
        exe = which("nvidia-smi")
        if not exe:
            reasons.append("nvidia-smi is not on PATH")
        else:
            return SmiSource(exe, interval_s), None
    except Exception as e:
        reasons.append(str(e) if isinstance(e, RuntimeError) else f"nvidia-smi: {_err(e)}")
    return None, "no NVIDIA GPU found (" + "; ".join(reasons) + ")"


def nvml_inventory(nvml: Any) -> tuple[list[dict[str, Any]], Optional[str]]:
    """The environment's GPU list from NVML (model, memory, driver, CUDA), like gpus.collect."""
    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            value = fn()
            return value.decode() if isinstance(value, bytes) else value
        except Exception:
            return None

    driver = attempt(nvml.nvmlSystemGetDriverVersion)
    cuda_int = attempt(nvml.nvmlSystemGetCudaDriverVersion)
    cuda = f"{cuda_int // 1000}.{(cuda_int % 1000) // 10}" if isinstance(cuda_int, int) and cuda_int > 0 else None
    gpus = []
    for i in range(nvml.nvmlDeviceGetCount()):
        h = attempt(lambda: nvml.nvmlDeviceGetHandleByIndex(i))
        if h is None:
            continue
        mem = attempt(lambda: nvml.nvmlDeviceGetMemoryInfo(h))
        gpus.append({"index": i, "name": attempt(lambda: nvml.nvmlDeviceGetName(h)),
                     "memoryTotalBytes": getattr(mem, "total", None), "driver": driver, "cuda": cuda,
                     "uuid": attempt(lambda: nvml.nvmlDeviceGetUUID(h))})
    return gpus, None
