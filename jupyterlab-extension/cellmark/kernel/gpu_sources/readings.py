"""What both GPU sources share: a reading is {device key: {field: value}} (see
gpu_sources/__init__.py), with memory utilisation derived and the kernel's own processes'
memory summed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

MIB = 1024 * 1024


def error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def with_mem_util(values: dict[str, float]) -> dict[str, float]:
    used, total = values.get("mem_used_mib"), values.get("mem_total_mib")
    if used is not None and total:
        values["mem_util"] = round(100.0 * used / total, 3)
    return values


def tree_memory(apps: dict[int, Optional[float]], pids: Iterable[int]) -> Optional[float]:
    """MiB used by the given processes; None when the driver gives no per-process memory."""
    pids = set(pids)
    mine = [mib for pid, mib in apps.items() if pid in pids]
    if any(mib is None for mib in mine):
        return None  # Windows/WDDM: [N/A] for every process
    return float(sum(mine))  # type: ignore[arg-type]
