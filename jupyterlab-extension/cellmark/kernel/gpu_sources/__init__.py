"""Where the system sampler reads GPUs from: NVML (nvml.py) when `nvidia-ml-py` loads and
finds a device, else nvidia-smi (smi.py); open_source picks one and, when neither works,
says why.

Every field of every device is read on its own: a field that fails is left out of that
sample (never a made-up 0) and the rest go on. A source returns
{device key: {field: value}} with device keys "0", "1", … and "<gpu>.mig<n>" for MIG
instances (NVML only).
"""

from __future__ import annotations

import shutil
from typing import Any, Callable, Optional

from .nvml import NvmlSource, nvml_inventory
from .readings import error_text as _err
from .smi import SmiSource


def _import_nvml() -> Any:
    import pynvml  # nvidia-ml-py

    return pynvml


def open_source(
    interval_s: float,
    import_nvml: Optional[Callable[[], Any]] = None,
    which: Optional[Callable[[str], Optional[str]]] = None,
) -> tuple[Any, Optional[str]]:
    """(source, None), or (None, "no NVIDIA GPU found (<why NVML and nvidia-smi failed>)")."""
    reasons = []
    which = which or shutil.which
    try:
        return NvmlSource((import_nvml or _import_nvml)()), None
    except ImportError:
        reasons.append("NVML: nvidia-ml-py is not installed")
    except Exception as e:
        reasons.append(
            f"NVML: {e}"
            if type(e).__name__.startswith("NVMLError") or isinstance(e, RuntimeError)
            else f"NVML: {_err(e)}"
        )
    try:
        exe = which("nvidia-smi")
        if not exe:
            reasons.append("nvidia-smi is not on PATH")
        else:
            return SmiSource(exe, interval_s), None
    except Exception as e:
        reasons.append(str(e) if isinstance(e, RuntimeError) else f"nvidia-smi: {_err(e)}")
    return None, "no NVIDIA GPU found (" + "; ".join(reasons) + ")"


__all__ = ["NvmlSource", "SmiSource", "nvml_inventory", "open_source"]
