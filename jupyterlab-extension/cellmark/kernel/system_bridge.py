"""Between the system sampler (system_metrics.py) and the session: the sampler runs while
capture is active, its samples become metric points of the run (metric_buffer.py), and the
latest GPU reading goes to the status bar over the `cellmark.system` comm. Also what the
environment record says about GPU sampling."""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from . import gpu_sources
from . import system_metrics as system
from .metric_buffer import MetricBuffer
from .wire import now_iso

SYSTEM_COMM_TARGET = "cellmark.system"


class SystemBridge:
    def __init__(
        self,
        lock: threading.RLock,
        metrics: MetricBuffer,
        is_active: Callable[[], bool],
        run_id: Callable[[], Optional[str]],
        on_error: Callable[[str, BaseException], None],
    ) -> None:
        self._lock = lock
        self._metrics = metrics
        self._is_active = is_active
        self._run_id = run_id
        self._error = on_error
        self.sampler: Optional[system.SystemSampler] = None
        self.interval: Optional[float] = None  # set from Python; None: CELLMARK_SYSTEM_INTERVAL or the default
        self.error: Optional[str] = None
        self.view: Optional[dict[str, Any]] = None  # the latest reading, as the status bar gets it
        self._comm: Any = None

    def start(self, shell: Any, open_comm: bool = True) -> None:
        """The sampler runs while capture is active; each activation reopens the status comm
        (a reloaded page registers its comm target again before it activates)."""
        if open_comm:
            self._open_comm(shell)
        if self.sampler is not None:
            return
        interval, error = (self.interval, None) if self.interval is not None else system.interval_from_env()
        self.error = error
        if interval is None:  # CELLMARK_SYSTEM_INTERVAL=off
            return
        self.sampler = system.SystemSampler(self._sample, interval)
        self.sampler.start()

    def stop(self) -> Optional[system.SystemSampler]:
        """Tells the sampler to stop (the caller joins it outside the lock) and closes the comm."""
        sampler, self.sampler = self.sampler, None
        if sampler is not None:
            sampler.stop(timeout=0)
        comm, self._comm = self._comm, None
        _drop_comm(comm, stopped=True)
        return sampler

    def set_interval(self, seconds: Any) -> None:
        value = system.check_interval(seconds)
        with self._lock:
            self.interval = value
            if self.sampler is not None:
                self.sampler.set_interval(value)

    @property
    def interval_s(self) -> Optional[float]:
        """Seconds between samples now: the sampler's, else what was set, else the environment's."""
        if self.sampler is not None:
            return self.sampler.interval_s
        if self.interval is not None:
            return self.interval
        return system.interval_from_env()[0]

    def _sample(self, values: dict[str, float], view: dict[str, Any]) -> None:
        """Called by the sampler thread with one sample: metric points, and the status-bar view."""
        when = now_iso()
        with self._lock:
            sampler = self.sampler
            if not self._is_active() or sampler is None or sampler._thread is not threading.current_thread():
                return  # a sampler that was told to stop
            self._metrics.add_system(values, when)
            view = {**view, "time": when, "runId": self._run_id()}
            first = self.view is None
            self.view = view
            comm = self._comm
        # closed: the frontend has no such target (an older extension), or closed it
        if comm is not None and not getattr(comm, "_closed", False) and (view["devices"] or first):
            try:
                comm.send({"type": "sample", **view})
            except Exception as e:
                self._error("system comm", e)

    def _open_comm(self, shell: Any) -> None:
        if getattr(shell, "kernel", None) is None:  # plain IPython (tests): no frontend to push to
            return
        old, self._comm = self._comm, None
        _drop_comm(old, stopped=False)  # the new comm replaces it
        try:
            from comm import create_comm

            view = self.view
            self._comm = create_comm(
                target_name=SYSTEM_COMM_TARGET, data={"type": "sample", **view} if view else {"type": "hello"}
            )
        except Exception as e:
            self._error("system comm", e)

    def add_gpu_sampling(self, env: dict[str, Any]) -> None:
        """The sampler's view of the GPUs joins the environment record: where samples come
        from, and — said once, here — why there are none."""
        sampler = self.sampler
        if sampler is None:
            env["gpuSampling"] = {
                "source": None,
                "intervalSeconds": None,
                "error": self.error or f"off ({system.ENV_INTERVAL})",
            }
            return
        sampler.ready.wait(15.0)
        env["gpuSampling"] = {
            "source": sampler.source,
            "intervalSeconds": sampler.interval_s,
            "error": sampler.gpu_error,
        }
        if sampler.source == "nvml" and not env.get("gpus"):
            try:
                env["gpus"], _ = gpu_sources.nvml_inventory(sampler.gpu.nvml)
                env["gpuError"] = None
            except Exception as e:
                self._error("environment", e)
        if not env.get("gpus") and sampler.gpu_error:
            env["gpuError"] = sampler.gpu_error

    def status(self) -> dict[str, Any]:
        sampler = self.sampler
        state = sampler.state() if sampler is not None else {"intervalSeconds": None}
        state["error"] = self.error
        state["latest"] = self.view
        return state


def _drop_comm(comm: Any, stopped: bool) -> None:
    """Forgets a comm without a comm_close: the frontend may never have known it (a page
    reloaded, a connection handed over at restart) and logs an error for a close of an
    unknown comm, while a message to one is ignored. "stopped" hides the status item."""
    if comm is None:
        return
    try:
        if stopped and not getattr(comm, "_closed", False):
            comm.send({"type": "stopped"})
        comm._closed = True
        from comm import get_comm_manager

        get_comm_manager().unregister_comm(comm)
    except Exception:
        pass
