"""GPUs through nvidia-smi: one long-lived `nvidia-smi --query-gpu=… -lms <ms>` that streams
rows (spawning nvidia-smi every sample costs far more CPU than reading its stream) plus
`--query-compute-apps` every 30 s for the memory of the kernel's own processes (the last
reading is reported with each sample in between). nvidia-smi's --query-gpu has no
per-instance rows, so no MIG devices here. Formats: docs/nvidia-smi-formats.md; fixtures in
tests/fixtures/nvidia-smi.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable, Optional

from .readings import error_text as _err
from .readings import tree_memory, with_mem_util

_MISSING = re.compile(r"^\[.*\]$|^n/?a$", re.IGNORECASE)
_NUMBER = re.compile(r"^(-?[0-9]+(?:\.[0-9]+)?)\s*[A-Za-z%/]*$")

# What the nvidia-smi stream asks for, in this order (rows are mapped by position: the
# header names differ from the query names, e.g. clocks.sm -> clocks.current.sm).
SMI_FIELDS = [
    "index",
    "uuid",
    "utilization.gpu",
    "memory.used",
    "memory.total",
    "power.draw",
    "power.limit",
    "temperature.gpu",
    "clocks.sm",
]
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


class SmiSource:
    """One `nvidia-smi … -lms` process streaming rows; a reader thread keeps the latest row
    per GPU. Rows older than three intervals are dropped (a GPU that stopped answering)."""

    name = "nvidia-smi"

    def __init__(
        self,
        exe: str,
        interval_s: float,
        popen: Callable[..., Any] = subprocess.Popen,
        runner: Optional[Callable[[list, float], tuple[int, str]]] = None,
    ) -> None:
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
        self.proc = self._popen(
            [self.exe, *SMI_QUERY, "-lms", str(ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            bufsize=1,
            universal_newlines=True,
            errors="replace",
        )
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
            self.problems["nvidia-smi"] = (
                f"stream exited ({self.proc.poll()}): {first_lines(chr(10).join(self._output))}"
            )
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
    proc = subprocess.run(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace")
