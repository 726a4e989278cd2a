"""A fake `pynvml` (nvidia-ml-py) that answers from a JSON fixture (tests/fixtures/nvml),
with the real module's names, units and exception classes (NVMLError subclasses chosen by
error code, e.g. NVMLError_NotSupported). Load a fixture with `load(path)` or the
FAKE_NVML_FIXTURE environment variable (read at nvmlInit)."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any, ClassVar

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25
NVML_ERROR_UNKNOWN = 999
NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
NVML_PCIE_UTIL_TX_BYTES = 0
NVML_PCIE_UTIL_RX_BYTES = 1
NVML_DEVICE_MIG_DISABLE = 0
NVML_DEVICE_MIG_ENABLE = 1
nvmlMemory_v2 = 0x02000028  # sizeof(nvmlMemory_v2_t) | 2 << 24, as the real module has it

_STRINGS = {  # the real module's _errcode_to_string
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH: "Argument version mismatch",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}
_NAMES = {  # fixture names -> codes; class names as the real module builds them
    "Uninitialized": NVML_ERROR_UNINITIALIZED,
    "NotSupported": NVML_ERROR_NOT_SUPPORTED,
    "NoPermission": NVML_ERROR_NO_PERMISSION,
    "NotFound": NVML_ERROR_NOT_FOUND,
    "DriverNotLoaded": NVML_ERROR_DRIVER_NOT_LOADED,
    "LibraryNotFound": NVML_ERROR_LIBRARY_NOT_FOUND,
    "GpuIsLost": NVML_ERROR_GPU_IS_LOST,
    "LibRmVersionMismatch": NVML_ERROR_LIB_RM_VERSION_MISMATCH,
    "FunctionNotFound": NVML_ERROR_FUNCTION_NOT_FOUND,
    "ArgumentVersionMismatch": NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
    "Unknown": NVML_ERROR_UNKNOWN,
}


class NVMLError(Exception):
    _classes: ClassVar[dict] = {}

    def __new__(cls, value: int):
        if cls is NVMLError:
            cls = NVMLError._classes.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        self.value = value

    def __str__(self) -> str:
        return _STRINGS.get(self.value, f"Unknown Error ({self.value})")


for _name, _code in _NAMES.items():
    _cls = type(f"NVMLError_{_name}", (NVMLError,), {})
    NVMLError._classes[_code] = _cls
    globals()[_cls.__name__] = _cls

_data: Any = None
_initialised = 0
calls: list = []  # (function name, device key) for tests that count reads


def load(path_or_data: Any) -> None:
    global _data, _initialised
    if isinstance(path_or_data, (str, os.PathLike)):
        with open(path_or_data) as f:
            path_or_data = json.load(f)
    _data, _initialised = path_or_data, 0
    calls.clear()


def _answer(value: Any) -> Any:
    if isinstance(value, dict) and "error" in value:
        raise NVMLError(_NAMES[value["error"]])
    return value


def nvmlInit() -> None:
    """Reference counted like NVML's: each nvmlInit is paired with one nvmlShutdown."""
    global _initialised
    if _data is None and os.environ.get("FAKE_NVML_FIXTURE"):
        load(os.environ["FAKE_NVML_FIXTURE"])
    if _data is None:
        raise NVMLError(NVML_ERROR_LIBRARY_NOT_FOUND)
    _answer(_data.get("init", None))
    _initialised += 1


def nvmlShutdown() -> None:
    global _initialised
    _check()
    _initialised -= 1


def _check() -> None:
    if not _initialised:
        raise NVMLError(NVML_ERROR_UNINITIALIZED)


class _Handle:
    def __init__(self, key: str, spec: dict) -> None:
        self.key, self.spec = key, spec


def _field(h: _Handle, name: str) -> Any:
    _check()
    calls.append((name, h.key))
    if name not in h.spec:
        raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
    return _answer(h.spec[name])


def nvmlSystemGetDriverVersion() -> str:
    _check()
    return _answer(_data["driver"])


def nvmlSystemGetCudaDriverVersion() -> int:
    _check()
    return _answer(_data["cuda"])


def nvmlDeviceGetCount() -> int:
    _check()
    return len(_data["devices"])


def nvmlDeviceGetHandleByIndex(index: int) -> _Handle:
    _check()
    spec = _data["devices"][index]
    _answer(spec.get("handle"))
    return _Handle(str(index), spec)


def nvmlDeviceGetName(h: _Handle) -> str:
    return _field(h, "name")


def nvmlDeviceGetUUID(h: _Handle) -> str:
    return _field(h, "uuid")


def nvmlDeviceGetUtilizationRates(h: _Handle) -> Any:
    value = _field(h, "utilization")
    return SimpleNamespace(gpu=value["gpu"], memory=value["memory"])


def nvmlDeviceGetMemoryInfo(h: _Handle, version: Any = None) -> Any:
    """As the driver answers: the fixture's `used` is what nvidia-smi shows (v2's used);
    `reserved` (bytes, default 0) is the driver's own share, which v1 counts as used. A
    `memory_v2` error in the fixture is an old driver's answer to the v2 call."""
    if version:
        calls.append(("memory_v2", h.key))
    value = _field(h, "memory")
    total, used, reserved = value["total"], value["used"], value.get("reserved", 0)
    if not version:
        return SimpleNamespace(total=total, used=used + reserved, free=total - used - reserved)
    if version != nvmlMemory_v2:
        raise NVMLError(NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
    _answer(h.spec.get("memory_v2"))
    return SimpleNamespace(version=version, total=total, reserved=reserved, used=used, free=total - used - reserved)


def nvmlDeviceGetPowerUsage(h: _Handle) -> int:
    return _field(h, "power_mw")


def nvmlDeviceGetEnforcedPowerLimit(h: _Handle) -> int:
    return _field(h, "power_limit_mw")


def nvmlDeviceGetTemperature(h: _Handle, sensor: int) -> int:
    assert sensor == NVML_TEMPERATURE_GPU
    return _field(h, "temperature")


def nvmlDeviceGetClockInfo(h: _Handle, clock: int) -> int:
    assert clock == NVML_CLOCK_SM
    return _field(h, "sm_clock")


def nvmlDeviceGetPcieThroughput(h: _Handle, counter: int) -> int:
    return _field(h, "pcie_rx_kbps" if counter == NVML_PCIE_UTIL_RX_BYTES else "pcie_tx_kbps")


def nvmlDeviceGetComputeRunningProcesses(h: _Handle) -> list:
    pid = int(os.environ.get("FAKE_NVML_PID", "4242"))
    return [
        SimpleNamespace(pid=pid if p["pid"] == 4242 else p["pid"], usedGpuMemory=p["usedGpuMemory"])
        for p in _field(h, "processes")
    ]


def nvmlDeviceGetMigMode(h: _Handle) -> list:
    return _field(h, "mig_mode")


def nvmlDeviceGetMaxMigDeviceCount(h: _Handle) -> int:
    return len(_field(h, "mig_devices"))


def nvmlDeviceGetMigDeviceHandleByIndex(h: _Handle, index: int) -> _Handle:
    spec = _field(h, "mig_devices")[index]
    if spec is None:
        raise NVMLError(NVML_ERROR_NOT_FOUND)
    return _Handle(f"{h.key}.mig{index}", spec)
