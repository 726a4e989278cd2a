"""GPUs through NVML (`nvidia-ml-py`, `import pynvml`): every field of every device read on
its own, MIG instances as devices "<gpu>.mig<n>"; and the environment's GPU list from NVML."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable, Optional

from .readings import MIB, tree_memory, with_mem_util
from .readings import error_text as _err

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
            raise RuntimeError(
                "NVML found no usable devices" + (f" ({'; '.join(self.problems.values())})" if self.problems else "")
            )

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
            put(
                "pcie_rx_mbps",
                lambda: nvml.nvmlDeviceGetPcieThroughput(h, getattr(nvml, "NVML_PCIE_UTIL_RX_BYTES", 1)),
                1e-3,
            )
            put(
                "pcie_tx_mbps",
                lambda: nvml.nvmlDeviceGetPcieThroughput(h, getattr(nvml, "NVML_PCIE_UTIL_TX_BYTES", 0)),
                1e-3,
            )
            procs = self._read(dev, "proc_mem_mib", lambda: nvml.nvmlDeviceGetComputeRunningProcesses(h))
            if procs is not None:
                apps = {
                    int(p.pid): (p.usedGpuMemory / MIB if isinstance(p.usedGpuMemory, int) else None) for p in procs
                }
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
        gpus.append(
            {
                "index": i,
                "name": attempt(lambda: nvml.nvmlDeviceGetName(h)),
                "memoryTotalBytes": getattr(mem, "total", None),
                "driver": driver,
                "cuda": cuda,
                "uuid": attempt(lambda: nvml.nvmlDeviceGetUUID(h)),
            }
        )
    return gpus, None
