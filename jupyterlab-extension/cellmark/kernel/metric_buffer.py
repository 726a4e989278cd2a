"""The metric points of a kernel on their way to the spool: `cellmark.log()` and system
samples are buffered and spooled as `ingest.metrics` (within the server's per-batch limits)
when there are many or about a second after the first; points logged before the run exists
are held for it. Also the steps (one counter for `cellmark.log`, one for system samples, per
run, never stepping back into a run logged into before), what the kernel saw per key (for
`cellmark.summary`) and the hand-set summary values.

Points stay dicts in the wire's shape ({"key", "step", "value", "time"}): they are spooled
as they are, by the ten thousand.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Protocol

from . import metrics
from .wire import now_iso

MAX_UNBOUND_POINTS = 200_000  # metric points held before a run exists (the oldest go first)
MAX_EARLY_POINTS = 10_000  # … and before capture was ever activated in this kernel
SYSTEM_SPOOL_S = 5.0  # system samples alone are spooled at most this often (one spool file and request each)


class Recording(Protocol):
    """What the buffer asks of the session: where points go now, and the way to the spool."""

    active: bool
    ever_activated: bool
    run_id: Optional[str]

    def enqueue(self, procedure: str, payload: Any, defer: bool = False) -> str: ...

    def _error(self, where: str, e: BaseException) -> None: ...


@dataclass
class MetricStats:
    """What this kernel logged for one key: the last value (wire form) and its step, and the
    smallest and largest finite values (None until one was logged)."""

    last: metrics.WireValue
    step: int
    min: Optional[float] = None
    max: Optional[float] = None


class MetricBuffer:
    def __init__(self, owner: Recording, lock: threading.RLock) -> None:
        self._owner = owner
        self._lock = lock
        self.points: list[dict] = []  # not yet spooled, for owner.run_id
        self._point_keys: set[str] = set()
        self._timer: Optional[threading.Timer] = None
        self.unbound_points: list[dict] = []  # held before the run exists
        self.next_step = 0  # the next automatic step of cellmark.log in this run
        self._run_steps: dict[str, int] = {}  # run id -> its next automatic step (capture paused and resumed)
        self.system_step = 0  # the system samples' own counter in this run
        self._system_steps: dict[str, int] = {}
        self._system_spool_due = 0.0
        self.logged = 0
        self.stats: dict[str, MetricStats] = {}
        self.summary_set: dict[str, Any] = {}
        self._unbound_summary: set[str] = set()  # keys set or unset before the run exists

    # -- runs ------------------------------------------------------------------------------

    def enter_run(self, run_id: str, fresh: bool) -> None:
        """Recording goes to a run it did not go to a moment ago. fresh: its steps start at 0
        (not for points held from before the first activation, which keep theirs); a run this
        kernel logged into before is never stepped back into."""
        if fresh:
            self.next_step = 0
            self.system_step = 0
        self.next_step = max(self.next_step, self._run_steps.get(run_id, 0))
        self._run_steps[run_id] = self.next_step
        self.system_step = max(self.system_step, self._system_steps.get(run_id, 0))
        self._system_steps[run_id] = self.system_step

    def bound(self, run_id: str) -> None:
        """The run exists: what was held for it goes to the spool."""
        if self.unbound_points:
            held, self.unbound_points = self.unbound_points, []
            self.spool_points(run_id, held)
        if self._unbound_summary:
            keys, self._unbound_summary = self._unbound_summary, set()
            self._spool_summary(run_id, keys)

    def reset_steps(self) -> None:
        self.next_step = 0
        self.system_step = 0

    def stopped(self) -> None:
        """Capture stopped: nothing is held for a later run, steps start over."""
        self.unbound_points = []
        self.reset_steps()

    @property
    def buffered(self) -> int:
        return len(self.points) + len(self.unbound_points)

    # -- cellmark.log ------------------------------------------------------------------------

    def log(self, values: Any, step: Any = None) -> bool:
        """Validates everything first (ValueError, nothing kept), then buffers the points;
        False when capture is not active (nothing kept; before the first activation up to
        MAX_EARLY_POINTS are held for the run)."""
        owner = self._owner
        flat = metrics.flatten(values)
        if step is not None:
            step = metrics.check_step(step)
        limit = metrics.max_keys_per_batch()
        keys = {k for k, _ in flat}
        if len(keys) > limit:
            raise ValueError(
                f"cellmark.log: {len(keys)} metrics in one call, over the limit of {limit} "
                f"(CELLMARK_MAX_METRIC_KEYS_PER_BATCH): log them in several calls"
            )
        if not owner.active and (
            owner.ever_activated or len(self.unbound_points) + len(self.points) >= MAX_EARLY_POINTS
        ):
            return False
        when = now_iso()
        with self._lock:
            if step is None:
                step = self.next_step
            self.next_step = max(self.next_step, step + 1)
            if owner.run_id is not None:
                self._run_steps[owner.run_id] = self.next_step
            self._make_room(keys)
            for key, value in flat:
                self.points.append({"key": key, "step": step, "value": value, "time": when})
                stats = self.stats.get(key)
                if stats is None:
                    stats = self.stats[key] = MetricStats(last=value, step=step)
                stats.last, stats.step = value, step
                if not isinstance(value, str):
                    stats.min = value if stats.min is None else min(stats.min, value)
                    stats.max = value if stats.max is None else max(stats.max, value)
            self._point_keys |= keys
            self.logged += len(flat)
            self._buffered()
        return True

    def add_system(self, values: dict[str, float], when: str) -> None:
        """One system sample (under the lock): points with the run's own sample counter as
        step (never the step of cellmark.log), spooled with the next batch or within
        SYSTEM_SPOOL_S."""
        owner = self._owner
        step = self.system_step
        self.system_step += 1
        if owner.run_id is not None:
            self._system_steps[owner.run_id] = self.system_step
        keys = set(values)
        self._make_room(keys)
        for key, value in values.items():
            self.points.append({"key": key, "step": step, "value": metrics.encode(key, value), "time": when})
        self._point_keys |= keys
        now = time.monotonic()
        if now >= self._system_spool_due:  # else they go with the next one (or with cellmark.log's)
            self._system_spool_due = now + SYSTEM_SPOOL_S
            self._buffered()

    def _make_room(self, keys: set[str]) -> None:
        """A payload holds at most max_keys_per_batch keys: spool what is buffered first when
        these keys would go over."""
        limit = metrics.max_keys_per_batch()
        if len(self._point_keys) + len(keys) > limit and len(self._point_keys | keys) > limit:
            self.flush()

    def _buffered(self) -> None:
        """After points were added: spool them when there are many, else within ~1 s."""
        if len(self.points) >= metrics.BUFFER_POINTS:
            self.flush()
        elif self.points and self._timer is None:
            timer = threading.Timer(metrics.BUFFER_SECONDS, self._timer_flush)
            timer.daemon = True
            timer.name = "cellmark-metrics"
            self._timer = timer
            timer.start()

    def _timer_flush(self) -> None:
        try:
            with self._lock:
                self._timer = None
                self.flush()
        except Exception as e:
            self._owner._error("metrics", e)

    @property
    def waiting(self) -> bool:
        """Points are buffered (read without the lock: a point added meanwhile has its timer)."""
        return bool(self.points) or self._timer is not None

    def flush(self) -> None:
        """Buffered points to the spool (or held, before the run exists)."""
        owner = self._owner
        with self._lock:
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
            points, self.points, self._point_keys = self.points, [], set()
            if not points:
                return
            if owner.run_id is None or not owner.active:
                if owner.active or not owner.ever_activated:
                    self.unbound_points.extend(points)
                    del self.unbound_points[: -(MAX_UNBOUND_POINTS if owner.active else MAX_EARLY_POINTS)]
                return
            self.spool_points(owner.run_id, points)

    def spool_points(self, run_id: str, points: list[dict]) -> None:
        """ingest.metrics payloads within the server's per-batch limits."""
        limit = metrics.max_keys_per_batch()
        chunk: list[dict] = []
        keys: set[str] = set()
        for point in points:
            if len(chunk) >= metrics.MAX_POINTS_PER_PAYLOAD or (point["key"] not in keys and len(keys) >= limit):
                self._owner.enqueue("ingest.metrics", {"runId": run_id, "points": chunk})
                chunk, keys = [], set()
            chunk.append(point)
            keys.add(point["key"])
        if chunk:
            self._owner.enqueue("ingest.metrics", {"runId": run_id, "points": chunk})

    # -- cellmark.summary ----------------------------------------------------------------------

    def sync_summary(self, key: str) -> None:
        """Sends summary_set[key] (or its removal) as ingest.summary; held until the run
        exists when capture started before it; kept in this kernel only when capture is off."""
        owner = self._owner
        with self._lock:
            if not owner.active:
                return
            if owner.run_id is None:
                self._unbound_summary.add(key)
                return
            self._spool_summary(owner.run_id, {key})

    def _spool_summary(self, run_id: str, keys: set[str]) -> None:
        present = {k: metrics.wire_summary(k, self.summary_set[k]) for k in sorted(keys) if k in self.summary_set}
        gone = sorted(k for k in keys if k not in self.summary_set)
        limit = metrics.max_keys_per_batch()
        # set and unset keys in one sequence, cut into payloads of at most `limit` keys
        items: list[tuple[str, Any]] = [*present.items(), *((k, _UNSET) for k in gone)]
        for at in range(0, len(items), limit):
            chunk = items[at : at + limit]
            payload: dict[str, Any] = {"runId": run_id}
            set_values = {k: v for k, v in chunk if v is not _UNSET}
            unset = [k for k, v in chunk if v is _UNSET]
            if set_values:
                payload["set"] = set_values
            if unset:
                payload["unset"] = unset
            self._owner.enqueue("ingest.summary", payload)


_UNSET = object()  # a summary key that was deleted
