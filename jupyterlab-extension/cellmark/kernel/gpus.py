"""GPU inventory from nvidia-smi, parsed by column position and tolerant of what real
drivers print: `[N/A]`, `[Not Supported]`, bare `N/A`, units left in, lost GPUs, failures
on stdout with a non-zero exit (see docs/nvidia-smi-formats.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any, Callable, Optional

QUERY = ["--query-gpu=index,name,memory.total,driver_version,uuid", "--format=csv,noheader,nounits"]
TIMEOUT_S = 15.0

_MISSING = re.compile(r"^\[.*\]$|^n/?a$", re.IGNORECASE)
_NUMBER_UNIT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$")
_CUDA = re.compile(r"CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)")
_UNIT_BYTES = {"": 1024**2, "mib": 1024**2, "gib": 1024**3, "kib": 1024, "b": 1}

# (args, timeout) -> (exit status, stdout + stderr); raises FileNotFoundError when absent.
Runner = Callable[[list, float], "tuple[int, str]"]


def _value(field: str) -> Optional[str]:
    field = field.strip()
    return None if not field or _MISSING.match(field) else field


def _memory_bytes(field: str) -> Optional[int]:
    text = _value(field)
    if text is None:
        return None
    m = _NUMBER_UNIT.match(text)
    if not m or m.group(2).lower() not in _UNIT_BYTES:
        return None
    return int(float(m.group(1)) * _UNIT_BYTES[m.group(2).lower()])


def parse_query(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of `--query-gpu=index,name,memory.total,driver_version,uuid` → (gpus, problem lines).

    A line that is not a GPU row (a lost GPU, a driver message) is returned as a problem
    and does not hide the GPUs that did answer. Ordered by index.
    """
    gpus: list[dict[str, Any]] = []
    problems: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        index = _value(parts[0]) if parts else None
        if len(parts) < 5 or index is None or not index.isdigit():
            problems.append(line)
            continue
        # Only the name is free text; keep any comma in it by taking the rest from the end.
        name = ", ".join(parts[1:-3]).strip()
        gpus.append(
            {
                "index": int(index),
                "name": _value(name),
                "memoryTotalBytes": _memory_bytes(parts[-3]),
                "driver": _value(parts[-2]),
                "cuda": None,
                "uuid": _value(parts[-1]),
            }
        )
    gpus.sort(key=lambda g: g["index"])
    return gpus, problems


def parse_cuda_version(text: str) -> Optional[str]:
    """`CUDA Version: 12.4` from the header of plain `nvidia-smi` (absent on old drivers)."""
    m = _CUDA.search(text)
    return m.group(1) if m else None


def run_command(args: list, timeout: float) -> tuple[int, str]:
    proc = subprocess.run(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def _first_lines(text: str, n: int = 3) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:n])[:500]


def collect(runner: Runner = run_command, which: Callable[[str], Optional[str]] = shutil.which) -> dict[str, Any]:
    """{"gpus": [...], "gpuError": str | None}; never raises."""
    try:
        exe = which("nvidia-smi")
        if not exe:
            return {"gpus": [], "gpuError": "no NVIDIA GPU found: nvidia-smi not on PATH"}
        try:
            status, out = runner([exe, *QUERY], TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"gpus": [], "gpuError": f"nvidia-smi did not answer within {TIMEOUT_S:.0f} s"}
        gpus, problems = parse_query(out)
        errors: list[str] = []
        if not gpus:
            why = _first_lines(out) or "no output"
            if status != 0:
                why = f"nvidia-smi failed (exit status {status}): {why}"
            return {"gpus": [], "gpuError": f"no NVIDIA GPU found: {why}" if "No devices" in why else why}
        if problems:
            errors.append(_first_lines("\n".join(problems)))
        if status != 0:
            errors.append(f"nvidia-smi exit status {status}")
        try:
            _, header = runner([exe], TIMEOUT_S)
            cuda = parse_cuda_version(header)
        except Exception as e:  # the inventory stands without the CUDA version
            cuda = None
            errors.append(f"CUDA version unavailable: {e}")
        for gpu in gpus:
            gpu["cuda"] = cuda
        return {"gpus": gpus, "gpuError": "; ".join(errors) or None}
    except Exception as e:
        return {"gpus": [], "gpuError": f"nvidia-smi could not be run: {type(e).__name__}: {e}"}
