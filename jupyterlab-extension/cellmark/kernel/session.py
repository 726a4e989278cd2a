"""The kernel side's one session: activation, the IPython hooks, hello, environment and
heartbeat. Everything for the server goes through the spool; nothing here blocks a cell
on the network.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import platform
import sys
import threading
import time
from typing import Any, Optional
from urllib.parse import urlsplit

from .. import autostart
from . import cell_bindings, client, environment, executions, gpu_sources, metrics, run_binding
from . import system_metrics as system
from .config_capture import ConfigTracker
from .output_capture import OutputCapture
from .sender import Sender
from .spool import Spool, default_root
from .wire import dumps, now_iso

# Well below the server's CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS (2 min), which crashes a silent run.
HEARTBEAT_INTERVAL_S = 30.0
HEARTBEAT_ENV = "CELLMARK_HEARTBEAT_INTERVAL_S"
# Jupyter kills a kernel that has not exited 5 s after its shutdown request.
EXIT_FLUSH_S = 3.0


def heartbeat_interval() -> float:
    """CELLMARK_HEARTBEAT_INTERVAL_S (0.2–300 s) when set and valid, else the default."""
    try:
        value = float(os.environ.get(HEARTBEAT_ENV, ""))
    except ValueError:
        return HEARTBEAT_INTERVAL_S
    return value if 0.2 <= value <= 300 else HEARTBEAT_INTERVAL_S


def cellmark_version() -> str:
    try:
        from .._version import __version__

        return __version__
    except Exception:
        return "dev"


def implementation() -> str:
    return f"{sys.implementation.name} {platform.python_version()}"


class JsonText(str):
    """activate()'s answer: its text/plain in an execute_result is the JSON itself, unquoted."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


SYSTEM_COMM_TARGET = "cellmark.system"
SYSTEM_SPOOL_S = 5.0  # system samples alone are spooled at most this often (one spool file and request each)
MAX_UNBOUND = 2000  # payloads held before a run exists (one per execution: a later record replaces the earlier)
MAX_UNBOUND_BYTES = 64 * 1024 * 1024  # … and at most this much of them as JSON (outputs): the oldest go first
MAX_UNBOUND_POINTS = 200_000  # metric points held before a run exists (the oldest go first)
MAX_EARLY_POINTS = 10_000  # … and before capture was ever activated in this kernel


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class KernelSession:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._atexit = False
        self._clear()

    def _clear(self) -> None:
        self.active = False
        # before the first activation (the kernel was still starting when a cell ran), a few
        # logged points are held for the run instead of being lost
        self.ever_activated = False
        self.server_url: Optional[str] = None
        self.run_id: Optional[str] = None
        # the run this kernel holds (run_binding.py); None: none, or a frontend that passed only a run id
        self.binding: Optional[run_binding.RunBinding] = None
        self.kernel_key: Optional[str] = None  # the kernel's id, naming its binding on disk
        self._pruned = False
        self._ended_runs: set[str] = set()
        self._shutdown_watched: Any = None  # the kernel whose do_shutdown tells us of a shutdown request
        self.notebook_path: Optional[str] = None
        self.capture_config = True
        self.shell: Any = None
        self.spool: Optional[Spool] = None
        self.sender: Optional[Sender] = None
        self.config = ConfigTracker()
        self.run_info: dict[str, Any] = {"name": None, "tags": None, "notes": None}
        self.last_error: Optional[str] = None
        self.recorded = 0
        # id(ExecutionInfo) -> [run id, running record, complete record once built], or None: not recorded
        self._inflight: dict[int, Optional[list]] = {}
        # what cells publish (output_capture.py), installed with the hooks
        self.outputs = OutputCapture(self._emit_cell, self._error)
        self._hooks_on: Any = None  # the shell our hooks are registered with
        self._heartbeat_stop: Optional[threading.Event] = None
        self._last_update: Optional[str] = None  # spool entry of the latest ingest.updateRun
        # ingest.cells payloads recorded before the frontend's run exists (activate(run_id=None))
        self._unbound: list[dict] = []
        self._unbound_bytes = 0
        # cellmark.log(): points not yet spooled (for self.run_id), held before the run exists,
        # the next automatic step of this run, and what the kernel saw per key (for summary)
        self._points: list[dict] = []
        self._point_keys: set[str] = set()
        self._points_timer: Optional[threading.Timer] = None
        self._unbound_points: list[dict] = []
        self.next_step = 0
        self._run_steps: dict[str, int] = {}  # run id -> its next automatic step (capture paused and resumed)
        self.logged = 0
        self.metric_stats: dict[str, dict[str, Any]] = {}
        self.summary_set: dict[str, Any] = {}
        self._unbound_summary: set[str] = set()  # keys set or unset before the run exists
        # system metrics (system.py): the sampler thread, its own step per run (sample counter),
        # the interval set from Python (None: CELLMARK_SYSTEM_INTERVAL or the default), and the
        # comm that pushes the latest GPU reading to the status bar
        self._sampler: Optional[system.SystemSampler] = None
        self.system_step = 0
        self._system_steps: dict[str, int] = {}
        self.system_interval: Optional[float] = None
        self.system_error: Optional[str] = None
        self.system_view: Optional[dict[str, Any]] = None
        self._comm: Any = None
        self._system_spool_due = 0.0

    # -- activation ----------------------------------------------------------------------

    def activate(self, server_url: str, token: str, run_id: Optional[str], notebook_path: str = "",
                 capture_config: bool = True, shell: Any = None, project: Optional[str] = None,
                 client_key: Optional[str] = None, replaces: Optional[str] = None,
                 kernel_name: Optional[str] = None) -> JsonText:
        parts = urlsplit(server_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"cellmark: server_url must be an http(s) URL, not {server_url!r}")
        if not isinstance(token, str) or not token.strip():
            raise ValueError("cellmark: token is required")
        if run_id is not None and (not isinstance(run_id, str) or not run_id.strip()):
            raise ValueError("cellmark: run_id must be a run id, or None to bind later")
        if client_key is not None:
            run_binding.check_key(client_key, "client_key", 8)
            run_binding.check_key(project, "project", 3)
            if replaces is not None:
                run_binding.check_key(replaces, "replaces", 8)
            if kernel_name is not None:
                run_binding.check_key(kernel_name, "kernel_name")
        elif project is not None or replaces is not None:
            raise ValueError("cellmark: project and replaces come with client_key")
        if shell is None:
            from IPython import get_ipython

            shell = get_ipython()
        if shell is None:
            raise RuntimeError("cellmark: activate() must run inside IPython (a Jupyter kernel)")
        server_url = server_url.rstrip("/")
        with self._lock:
            self._flush_points()  # what was logged so far belongs to the run (or binding) it was logged in
            self._ensure_sender(server_url)
            if client_key is not None:
                run_id = self._claim(server_url, str(project), client_key, run_id, replaces, notebook_path, kernel_name)
            elif run_id is not None and self.binding is not None and run_id != self.binding.run_id:
                self._release_binding(end=False, forget=True)  # a frontend that names runs itself
            self._bind(server_url, token, run_id, notebook_path, capture_config, shell)
            if self.binding is not None:
                self._save_binding()
            answer: dict[str, Any] = {"ok": True, "version": cellmark_version(), "implementation": implementation()}
            if self.binding is not None:
                answer["run"] = self.binding.answer()
        return JsonText(json.dumps(answer))

    def resume(self, state: dict, shell: Any) -> None:
        """A restarted kernel that held a run (autostart.py): capture goes on at once, in a new
        run linked to that one, which the kernel opens itself (no page may be open)."""
        binding = run_binding.from_state(state)
        token = state.get("token")
        if not isinstance(token, str) or not token:
            return
        with self._lock:
            self._ensure_sender(binding.server_url)
            self.binding = binding
            self._bind(binding.server_url, token, None, binding.notebook_path, bool(state.get("captureConfig", True)),
                       shell, open_comm=False)
            self._save_binding()

        def failed(e: client.CallError) -> None:
            sender = self.sender
            if e.kind == "unauthorized" and sender is not None:
                sender.pause(f"token rejected (401): {e.message}")
            self.last_error = e.message

        run_binding.open_run(
            binding,
            token=lambda: self.sender.token if self.sender is not None else None,
            still_wanted=lambda: self.binding is binding and self.active and binding.run_id is None,
            opened=lambda run_id: self._learn_run_id(binding.client_key, run_id),
            failed=failed,
        )

    def _ensure_sender(self, server_url: str) -> None:
        root = default_root()
        if self.sender is not None and (self.server_url != server_url or self.spool.root != root):
            self._close_sender(EXIT_FLUSH_S)
        if self.sender is None:
            spool = Spool(server_url, root)
            spool.on_deferred_error = lambda e: self._error("spool", e)
            spool.open()
            spool.adopt_leftovers()  # a previous kernel's unsent payloads for this server
            self.spool = spool
            self.sender = Sender(spool, server_url, on_result=self._on_result)
            self.sender.start()

    def _claim(self, server_url: str, project: str, proposal: str, run_id: Optional[str], replaces: Optional[str],
               notebook_path: str, kernel_name: Optional[str]) -> Optional[str]:
        """The kernel decides which run a frontend records into: the first binding wins, a
        proposal replaces it only when it names it (a new run asked for). Returns the run id
        the kernel side records into (None: not created yet)."""
        current = self.binding if self.active else None
        new = run_binding.decide(current, server_url, project, proposal, replaces)
        if new is not None:
            new.notebook_path, new.kernel_name = notebook_path or "", kernel_name
            self._release_binding(end=True, forget=False)
            self._leave_run()
            self.binding = new
        binding = self.binding
        assert binding is not None
        if run_id is not None and proposal == binding.client_key and binding.run_id is None:
            binding.run_id = run_id  # the frontend created it
        return binding.run_id

    def _learn_run_id(self, client_key: str, run_id: str) -> None:
        """The kernel's own ingest.startRun answered: record into that run from now on."""
        with self._lock:
            binding, sender = self.binding, self.sender
            if binding is None or binding.client_key != client_key or not self.active or sender is None or sender.token is None:
                return
            if binding.run_id is None:
                binding.run_id = run_id
            self._bind(self.server_url or binding.server_url, sender.token, binding.run_id, self.notebook_path,
                       self.capture_config, self.shell, open_comm=False)
            self._save_binding()

    def _leave_run(self) -> None:
        """Recording stops belonging to the current run: the next one starts with fresh steps
        and run info; held records go to it."""
        if self.run_id is None:
            return
        self._flush_points()
        self.config.new_run()
        self.next_step = 0
        self.system_step = 0
        self.run_info = {"name": None, "tags": None, "notes": None}
        self.run_id = None

    def _bind(self, server_url: str, token: str, run_id: Optional[str], notebook_path: str, capture_config: bool,
              shell: Any, open_comm: bool = True) -> None:
        """Records into run_id from now on (None: hold what is recorded until it exists)."""
        if run_id is None and self.active and self.run_id is not None:
            run_id = self.run_id  # already bound: keep recording into that run
        # Recording started unbound: the run that now exists continues that recording.
        binding = run_id is not None and self.run_id is None and self.active
        new_run = run_id is not None and run_id != self.run_id
        self.server_url, self.run_id = server_url, run_id
        self.notebook_path, self.capture_config = notebook_path or "", bool(capture_config)
        if new_run and not binding:
            self.config.new_run()
            if self.ever_activated:  # points held from before the first activation keep their steps
                self.next_step = 0
                self.system_step = 0
        if new_run and run_id is not None:
            # resuming a run this kernel logged into before: never step back into its steps
            self.next_step = max(self.next_step, self._run_steps.get(run_id, 0))
            self._run_steps[run_id] = self.next_step
            self.system_step = max(self.system_step, self._system_steps.get(run_id, 0))
            self._system_steps[run_id] = self.system_step
        if new_run:
            self.run_info = {"name": None, "tags": None, "notes": None}
        if run_id is not None and self._unbound:
            held, self._unbound = self._unbound, []
            for payload in held:
                self.enqueue("ingest.cells", {**payload, "runId": run_id})
        if run_id is not None and self._unbound_points:
            held_points, self._unbound_points = self._unbound_points, []
            self._spool_points(run_id, held_points)
        if run_id is not None and self._unbound_summary:
            held_keys, self._unbound_summary = self._unbound_summary, set()
            self._spool_summary(run_id, held_keys)
        self.sender.set_token(token)  # also sends what is pending (flush)
        self._register_hooks(shell)
        self._watch_shutdown(shell)
        self.active = True
        self.ever_activated = True
        self._start_system(shell, open_comm)
        if new_run and run_id is not None:
            self.enqueue("ingest.kernelHello", {
                "runId": run_id, "language": "python",
                "implementation": implementation(), "cellmarkVersion": cellmark_version(),
            })
            threading.Thread(target=self._send_environment, args=(run_id, self.notebook_path),
                             name="cellmark-environment", daemon=True).start()
        if run_id is not None:
            self._start_heartbeat()
        if not self._atexit:
            atexit.register(self.shutdown)
            self._atexit = True

    # -- the held run's end ----------------------------------------------------------------

    def _save_binding(self) -> None:
        if self.kernel_key is None:
            self.kernel_key = autostart.kernel_key(self.shell)
        if self.kernel_key is None or self.binding is None or self.sender is None or self.sender.token is None:
            return
        try:
            run_binding.save(self.kernel_key, self.binding, self.sender.token, self.capture_config)
            if not self._pruned:
                self._pruned = True
                run_binding.prune(keep=self.kernel_key)
        except OSError as e:  # capture goes on; only a restart will not continue it
            self._error("kernel state", e)

    def _end_held_run(self) -> None:
        """The kernel ends the run it holds (`finished`), through the spool: if the server
        cannot be reached now, the next kernel for this server sends it."""
        binding = self.binding
        if binding is None or binding.run_id is None or binding.run_id in self._ended_runs or self.spool is None:
            return
        self._ended_runs.add(binding.run_id)
        try:
            self.enqueue("ingest.endRun", {"runId": binding.run_id, "status": "finished", "endedAt": now_iso()})
        except Exception as e:
            self._error("endRun", e)

    def _release_binding(self, end: bool, forget: bool) -> None:
        """No longer holds its run: ends it (end), and forgets it on disk too (forget: no
        restart is to continue it)."""
        if self.binding is None:
            return
        if end:
            self._end_held_run()
        if forget:
            run_binding.delete(self.kernel_key)
        self.binding = None

    def _watch_shutdown(self, shell: Any) -> None:
        """Hears the kernel's shutdown request (ipykernel calls do_shutdown(restart) with it)."""
        kernel = getattr(shell, "kernel", None)
        if kernel is None or self._shutdown_watched is kernel or not callable(getattr(kernel, "do_shutdown", None)):
            return
        original = kernel.do_shutdown

        def do_shutdown(restart: bool) -> Any:
            try:
                self._on_shutdown_request(bool(restart))
            except Exception as e:
                self._error("shutdown", e)
            return original(restart)

        kernel.do_shutdown = do_shutdown
        self._shutdown_watched = kernel

    def _on_shutdown_request(self, restart: bool) -> None:
        """The run ends now (the end goes out at once; exit waits for it, bounded); the binding
        stays on disk for a restart, which continues it in a new run."""
        with self._lock:
            self._end_held_run()
            if not restart:
                run_binding.delete(self.kernel_key)
            sender = self.sender
        if sender is not None:
            sender.kick()

    def deactivate(self, end_run: bool = True, forget: bool = True) -> None:
        """Stops recording (hooks off, no heartbeat, no system samples) and ends the run the
        kernel held; what is spooled is still sent. `forget`: no restart continues it."""
        sampler = None
        try:
            sampler = self._deactivate(end_run, forget)
        finally:
            if sampler is not None:  # joined outside the lock: its last sample may be waiting for it
                sampler.stop(timeout=3.0)

    def _deactivate(self, end_run: bool, forget: bool) -> Optional[system.SystemSampler]:
        with self._lock:
            try:
                self._flush_points()
            except Exception as e:  # the spool is unwritable: stopping must still work
                self._error("metrics", e)
            self.outputs.flush()  # complete records still waiting for their reply go to this run
            # capture switched off, or the kernel exits: the run it held is over
            self._release_binding(end=end_run and self.active, forget=forget)
            self.active = False
            self.run_id = None  # a later activate(None) starts unbound, not in the old run
            self._unbound = []
            self._unbound_points = []
            self.next_step = 0
            self.system_step = 0
            sampler = self._stop_system()
            self._unregister_hooks()
            if self._heartbeat_stop is not None:
                self._heartbeat_stop.set()
                self._heartbeat_stop = None
            self._inflight.clear()
            return sampler

    def shutdown(self, flush_timeout: float = EXIT_FLUSH_S, end_run: bool = True, forget: bool = False) -> None:
        """Kernel exit (atexit): the held run ends `finished`, last chance to send (bounded);
        what is left stays spooled for the next kernel. The binding stays on disk unless the
        shutdown request said no restart follows (then it is gone already): a kernel Jupyter
        restarts after it exited on its own continues in a linked run."""
        try:
            self.deactivate(end_run, forget)
        except Exception as e:  # e.g. the spool's disk is gone: still stop the sender
            self._error("shutdown", e)
        with self._lock:
            self._close_sender(flush_timeout)

    def reset(self) -> None:
        """Back to a never-activated state (tests); nothing is flushed or ended."""
        self.shutdown(flush_timeout=0, end_run=False, forget=True)
        with self._lock:
            self._clear()

    def _close_sender(self, flush_timeout: float) -> None:
        if self.sender is None:
            return
        try:
            if flush_timeout > 0:
                self.sender.flush(flush_timeout)
        finally:
            self.sender.stop()
            self.spool.close()
            self.sender, self.spool = None, None

    # -- hooks ---------------------------------------------------------------------------

    def _register_hooks(self, shell: Any) -> None:
        if self._hooks_on is shell:
            return
        self._unregister_hooks()
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)
        self.shell = self._hooks_on = shell
        self.outputs.install(shell)

    def _unregister_hooks(self) -> None:
        shell, self._hooks_on = self._hooks_on, None
        if shell is None:
            return
        self.outputs.uninstall()
        for event, fn in (("pre_run_cell", self._pre_run_cell), ("post_run_cell", self._post_run_cell)):
            try:
                shell.events.unregister(event, fn)
            except ValueError:
                pass

    # IPython runs hooks inside the cell's time: an interrupt meant for the cell can land in
    # them, and IPython would swallow it there anyway. Finish the record instead of losing it.
    def _pre_run_cell(self, info: Any) -> None:
        for _ in range(3):
            try:
                return self._pre(info)
            except KeyboardInterrupt:
                continue

    def _post_run_cell(self, result: Any) -> None:
        for _ in range(3):
            try:
                return self._post(result)
            except KeyboardInterrupt:
                continue

    def _pre(self, info: Any) -> None:
        key = id(info)
        try:
            if not self.active or key in self._inflight:  # (a retry after an interrupt)
                return
            parent = executions.parent_message(self.shell)
            # Nested run_cell calls inside a cell are part of that cell's execution.
            if executions.is_silent(info, parent) or any(self._inflight.values()):
                self._inflight[key] = None
                return
            count = getattr(self.shell, "execution_count", None)
            # IPython has already counted this execution when pre_run_cell fires.
            count = count - 1 if isinstance(count, int) and count > 0 else None
            record = executions.running_record(info, parent, count)
            self.enqueue("ingest.cells", {"runId": self.run_id, "origin": "kernel", "cells": [record]})
            self._inflight[key] = [self.run_id, record, None]
            self.outputs.begin(record, self.run_id)
        except Exception as e:
            self._error("pre_run_cell", e)

    def _post(self, result: Any) -> None:
        key = id(getattr(result, "info", None))
        if self._points or self._points_timer is not None:  # (read without the lock: a point added meanwhile has its timer)
            try:
                self._flush_points()
            except Exception as e:
                self._error("metrics", e)
        try:
            pending = self._inflight.get(key)
            if pending is None:
                self._inflight.pop(key, None)
                return
            run_id, record, done = pending
            if done is None:  # kept, so a retry does not take the config changes twice
                count = getattr(result, "execution_count", None)
                done = executions.finish(record, result, count if isinstance(count, int) else None)
                done["config"] = self._config_changes(record["source"])
                pending[2] = done
            # with the outputs once the kernel has published them all (its execute_reply)
            if not self.outputs.finish(done, run_id):
                self._emit_cell(run_id, done, False)
            self._inflight.pop(key, None)
            self.recorded += 1
        except Exception as e:
            self._inflight.pop(key, None)
            self._error("post_run_cell", e)

    def _config_changes(self, source: str) -> dict[str, Any]:
        """The config this execution changed: only the names its source binds are looked up
        (cell_bindings.py), so the cost does not grow with the namespace."""
        bindings = cell_bindings.bindings_of(source)
        if bindings is cell_bindings.NOTHING and ("%" in source or "!" in source):
            try:  # IPython syntax: what actually ran is the transformed cell
                bindings = cell_bindings.bindings_of(self.shell.transform_cell(source))
            except Exception:
                pass
        auto = self.capture_config and self.config.auto
        if bindings.forced:
            names: Any = bindings.assigned + bindings.literal
        elif auto:
            names = bindings.literal
        else:
            names = ()
        if not names and not bindings.computed:
            return self.config.changes(None)
        forbidden = (self.sender.token,) if self.sender is not None and self.sender.token else ()
        hidden = getattr(self.shell, "user_ns_hidden", None)
        drop = bindings.computed.difference(names)
        return self.config.changes(self.shell.user_ns, hidden, forbidden, names=dict.fromkeys(names), drop=drop)

    # -- sending -------------------------------------------------------------------------

    def _emit_cell(self, run_id: Optional[str], record: dict, partial: bool) -> bool:
        """One execution record for the run it started in (or the run bound since); a
        partial record (outputs so far) is not held before the run exists. A complete record
        is deferred (see enqueue)."""
        run_id = run_id if run_id is not None else self.run_id
        if partial and run_id is None:
            return False
        self.enqueue("ingest.cells", {"runId": run_id, "origin": "kernel", "cells": [record]}, defer=not partial)
        return True

    def enqueue(self, procedure: str, payload: Any, defer: bool = False) -> str:
        """Spools a payload; returns its entry name ("" when held for a run not yet bound or
        deferred). defer: on a thread running an event loop (the kernel's shell thread, where
        a complete record is made as the execute_reply goes out) it is serialised and written
        by a callback that runs as soon as the message's handler is done, so that work falls
        into the kernel's idle time instead of delaying the reply; the order of the log is
        kept (spool.defer: at the latest the next cell's running record writes it first).
        Elsewhere it is written now. The running record of a cell is never deferred: it is in the log
        before the cell's code runs, so a cell that crashes the kernel still leaves it."""
        if procedure == "ingest.cells" and payload.get("runId") is None:
            self._hold_unbound(payload)
            return ""
        spool, sender = self.spool, self.sender
        if spool is None or sender is None:
            raise RuntimeError("cellmark capture is not active")
        loop = _running_loop() if defer else None
        if loop is not None:
            spool.defer(procedure, payload, redact=(sender.token,) if sender.token else ())
            loop.call_soon(self._write_deferred, spool, sender)
            return ""
        # metric points are built from cleaned keys, numbers and our own timestamps
        extra = {"cleaned": True} if procedure == "ingest.metrics" else {}
        name = spool.append(procedure, payload, redact=(sender.token,) if sender.token else (), **extra)
        if procedure == "ingest.updateRun":
            self._last_update = name
        sender.wake()
        return name

    def _write_deferred(self, spool: Spool, sender: Sender) -> None:
        try:
            spool.write_deferred()
        except Exception as e:
            self._error("spool", e)
        sender.wake()

    def _hold_unbound(self, payload: dict) -> None:
        """No run yet: hold the record until activate() brings one; a later record of the
        same execution replaces the earlier one. Bounded in count and bytes (outputs)."""
        if not self._unbound:
            self._unbound_bytes = 0  # activate() took what was held
        keys = {cell.get("executionKey") for cell in payload.get("cells", ())}
        kept = []
        for held in self._unbound:
            if keys.intersection(c.get("executionKey") for c in held.get("cells", ())):
                self._unbound_bytes -= self._held_bytes(held)
            else:
                kept.append(held)
        kept.append(payload)
        self._unbound = kept
        self._unbound_bytes += self._held_bytes(payload)
        while len(self._unbound) > MAX_UNBOUND or (self._unbound_bytes > MAX_UNBOUND_BYTES and len(self._unbound) > 1):
            self._unbound_bytes -= self._held_bytes(self._unbound.pop(0))

    @staticmethod
    def _held_bytes(payload: dict) -> int:
        """What a held record weighs: only records with outputs are measured (the rest are small)."""
        return len(dumps(payload)) if any(cell.get("outputs") for cell in payload.get("cells", ())) else 0

    # -- metrics -------------------------------------------------------------------------

    def log(self, values: Any, step: Any = None) -> bool:
        """Validates everything first (ValueError, nothing kept), then buffers the points;
        False when capture is not active (nothing kept; before the first activation up to
        MAX_EARLY_POINTS are held for the run)."""
        flat = metrics.flatten(values)
        if step is not None:
            step = metrics.check_step(step)
        limit = metrics.max_keys_per_batch()
        keys = {k for k, _ in flat}
        if len(keys) > limit:
            raise ValueError(f"cellmark.log: {len(keys)} metrics in one call, over the limit of {limit} "
                             f"(CELLMARK_MAX_METRIC_KEYS_PER_BATCH): log them in several calls")
        if not self.active and (self.ever_activated or len(self._unbound_points) + len(self._points) >= MAX_EARLY_POINTS):
            return False
        when = now_iso()
        with self._lock:
            if step is None:
                step = self.next_step
            self.next_step = max(self.next_step, step + 1)
            if self.run_id is not None:
                self._run_steps[self.run_id] = self.next_step
            if len(self._point_keys) + len(keys) > limit and len(self._point_keys | keys) > limit:
                self._flush_points()
            for key, value in flat:
                self._points.append({"key": key, "step": step, "value": value, "time": when})
                stats = self.metric_stats.get(key)
                if stats is None:
                    stats = self.metric_stats[key] = {"last": value, "step": step, "min": None, "max": None}
                stats["last"], stats["step"] = value, step
                if not isinstance(value, str):
                    stats["min"] = value if stats["min"] is None else min(stats["min"], value)
                    stats["max"] = value if stats["max"] is None else max(stats["max"], value)
            self._point_keys |= keys
            self.logged += len(flat)
            self._buffered()
        return True

    def _buffered(self) -> None:
        """After points were added: spool them when there are many, else within ~1 s."""
        if len(self._points) >= metrics.BUFFER_POINTS:
            self._flush_points()
        elif self._points and self._points_timer is None:
            timer = threading.Timer(metrics.BUFFER_SECONDS, self._timer_flush)
            timer.daemon = True
            timer.name = "cellmark-metrics"
            self._points_timer = timer
            timer.start()

    def _timer_flush(self) -> None:
        try:
            with self._lock:
                self._points_timer = None
                self._flush_points()
        except Exception as e:
            self._error("metrics", e)

    def _flush_points(self) -> None:
        """Buffered points to the spool (or held, before the run exists)."""
        with self._lock:
            timer, self._points_timer = self._points_timer, None
            if timer is not None:
                timer.cancel()
            points, self._points, self._point_keys = self._points, [], set()
            if not points:
                return
            if self.run_id is None or not self.active:
                if self.active or not self.ever_activated:
                    self._unbound_points.extend(points)
                    del self._unbound_points[:-(MAX_UNBOUND_POINTS if self.active else MAX_EARLY_POINTS)]
                return
            self._spool_points(self.run_id, points)

    def sync_summary(self, key: str) -> None:
        """Sends summary_set[key] (or its removal) as ingest.summary; held until the run
        exists when capture started before it; kept in this kernel only when capture is off."""
        with self._lock:
            if not self.active:
                return
            if self.run_id is None:
                self._unbound_summary.add(key)
                return
            self._spool_summary(self.run_id, {key})

    def _spool_summary(self, run_id: str, keys: set[str]) -> None:
        present = {k: metrics.wire_summary(k, self.summary_set[k]) for k in sorted(keys) if k in self.summary_set}
        gone = sorted(k for k in keys if k not in self.summary_set)
        limit = metrics.max_keys_per_batch()
        items = [("set", k, v) for k, v in present.items()] + [("unset", k, None) for k in gone]
        for at in range(0, len(items), limit):
            chunk = items[at:at + limit]
            payload: dict[str, Any] = {"runId": run_id}
            if any(kind == "set" for kind, _, _ in chunk):
                payload["set"] = {k: v for kind, k, v in chunk if kind == "set"}
            if any(kind == "unset" for kind, _, _ in chunk):
                payload["unset"] = [k for kind, k, _ in chunk if kind == "unset"]
            self.enqueue("ingest.summary", payload)

    def _spool_points(self, run_id: str, points: list[dict]) -> None:
        """ingest.metrics payloads within the server's per-batch limits."""
        limit = metrics.max_keys_per_batch()
        chunk: list[dict] = []
        keys: set[str] = set()
        for point in points:
            if len(chunk) >= metrics.MAX_POINTS_PER_PAYLOAD or (point["key"] not in keys and len(keys) >= limit):
                self.enqueue("ingest.metrics", {"runId": run_id, "points": chunk})
                chunk, keys = [], set()
            chunk.append(point)
            keys.add(point["key"])
        if chunk:
            self.enqueue("ingest.metrics", {"runId": run_id, "points": chunk})

    def _error(self, where: str, e: BaseException) -> None:
        self.last_error = f"{where}: {type(e).__name__}: {e}"

    def _on_result(self, procedure: str, payload: Any, result: Any, names: list) -> None:
        # Only the answer to the latest local change is the run's state: an earlier answer
        # arriving late must not undo what the user set since.
        if (procedure == "ingest.updateRun" and isinstance(result, dict) and payload.get("runId") == self.run_id
                and self._last_update in names):
            for key in ("name", "tags", "notes"):
                if key in result:
                    self.run_info[key] = result[key]

    def _send_environment(self, run_id: str, notebook_path: str) -> None:
        try:
            env = environment.collect(notebook_path)
            self._add_gpu_sampling(env)
            with self._lock:
                if self.spool is not None:
                    self.enqueue("ingest.environment", {"runId": run_id, "environment": env})
        except Exception as e:
            self._error("environment", e)

    def _start_heartbeat(self) -> None:
        if self._heartbeat_stop is not None:
            return
        stop = threading.Event()
        self._heartbeat_stop = stop
        threading.Thread(target=self._heartbeat_loop, args=(stop,), name="cellmark-heartbeat", daemon=True).start()

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        interval = heartbeat_interval()
        while not stop.wait(interval):
            run_binding.touch(self.kernel_key if self.binding is not None else None)
            sender, run_id = self.sender, self.run_id
            if not self.active or sender is None or sender.token is None or sender.paused or run_id is None:
                continue
            try:
                # Not spooled: a heartbeat only matters now; a late one says nothing.
                client.call(sender.server_url, sender.token, "ingest.heartbeat", {"runId": run_id, "at": now_iso()})
            except client.CallError as e:
                if e.kind == "unauthorized":
                    sender.pause(f"token rejected (401): {e.message}")
                else:
                    self.last_error = e.message
            except Exception as e:
                self._error("heartbeat", e)

    # -- system metrics ------------------------------------------------------------------

    def _start_system(self, shell: Any, open_comm: bool = True) -> None:
        """The sampler runs while capture is active; each activation reopens the status comm
        (a reloaded page registers its comm target again before it activates)."""
        if open_comm:
            self._open_comm(shell)
        if self._sampler is not None:
            return
        interval, error = (self.system_interval, None) if self.system_interval is not None else system.interval_from_env()
        self.system_error = error
        if interval is None:  # CELLMARK_SYSTEM_INTERVAL=off
            return
        self._sampler = system.SystemSampler(self._system_sample, interval)
        self._sampler.start()

    def _stop_system(self) -> Optional[system.SystemSampler]:
        """Tells the sampler to stop (the caller joins it outside the lock) and closes the comm."""
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop(timeout=0)
        comm, self._comm = self._comm, None
        self._drop_comm(comm, stopped=True)
        return sampler

    def set_system_interval(self, seconds: Any) -> None:
        value = system.check_interval(seconds)
        with self._lock:
            self.system_interval = value
            if self._sampler is not None:
                self._sampler.set_interval(value)

    def _system_sample(self, values: dict[str, float], view: dict[str, Any]) -> None:
        """Called by the sampler thread with one sample: metric points with the run's own
        sample counter as step (never the step of cellmark.log), and the status-bar view."""
        when = now_iso()
        with self._lock:
            sampler = self._sampler
            if not self.active or sampler is None or sampler._thread is not threading.current_thread():
                return  # a sampler that was told to stop
            step = self.system_step
            self.system_step += 1
            if self.run_id is not None:
                self._system_steps[self.run_id] = self.system_step
            keys = set(values)
            limit = metrics.max_keys_per_batch()
            if len(self._point_keys) + len(keys) > limit and len(self._point_keys | keys) > limit:
                self._flush_points()
            for key, value in values.items():
                self._points.append({"key": key, "step": step, "value": metrics.encode(key, value), "time": when})
            self._point_keys |= keys
            now = time.monotonic()
            if now >= self._system_spool_due:  # else they go with the next one (or with cellmark.log's)
                self._system_spool_due = now + SYSTEM_SPOOL_S
                self._buffered()
            view = {**view, "time": when, "runId": self.run_id}
            first = self.system_view is None
            self.system_view = view
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
        self._drop_comm(old, stopped=False)  # the new comm replaces it
        try:
            from comm import create_comm

            view = self.system_view
            self._comm = create_comm(target_name=SYSTEM_COMM_TARGET, data={"type": "sample", **view} if view else {"type": "hello"})
        except Exception as e:
            self._error("system comm", e)

    @staticmethod
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

    def _add_gpu_sampling(self, env: dict[str, Any]) -> None:
        """The sampler's view of the GPUs joins the environment record: where samples come
        from, and — said once, here — why there are none."""
        sampler = self._sampler
        if sampler is None:
            env["gpuSampling"] = {"source": None, "intervalSeconds": None,
                                  "error": self.system_error or f"off ({system.ENV_INTERVAL})"}
            return
        sampler.ready.wait(15.0)
        env["gpuSampling"] = {"source": sampler.source, "intervalSeconds": sampler.interval_s, "error": sampler.gpu_error}
        if sampler.source == "nvml" and not env.get("gpus"):
            try:
                env["gpus"], _ = gpu_sources.nvml_inventory(sampler.gpu.nvml)
                env["gpuError"] = None
            except Exception as e:
                self._error("environment", e)
        if not env.get("gpus") and sampler.gpu_error:
            env["gpuError"] = sampler.gpu_error

    def system_status(self) -> dict[str, Any]:
        sampler = self._sampler
        state = sampler.state() if sampler is not None else {"intervalSeconds": None}
        state["error"] = self.system_error
        state["latest"] = self.system_view
        return state

    # -- state ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        sender, spool = self.sender, self.spool
        errors = [e for e in (sender.paused if sender else None, sender.last_error if sender else None, self.last_error) if e]
        return {
            "active": self.active,
            "serverUrl": self.server_url,
            "runId": self.run_id,
            "run": self.binding.answer() if self.binding is not None else None,
            "notebookPath": self.notebook_path,
            "captureConfig": self.capture_config,
            "recorded": self.recorded,
            "loggedPoints": self.logged,
            "bufferedPoints": len(self._points) + len(self._unbound_points),
            "summary": dict(self.summary_set),
            "pending": spool.count() if spool else 0,
            "failed": spool.failed_count() if spool else 0,
            "failedDir": spool.failed_dir if spool else None,
            "spoolDir": spool.server_dir if spool else default_root(),
            "sendingStopped": sender.paused if sender else None,
            "retryInSeconds": round(sender.backoff_s, 1) if sender and sender.backoff_s else None,
            "lastSentAt": sender.last_sent_at if sender else None,
            "lastError": errors[0] if errors else None,
            "system": self.system_status(),
            "version": cellmark_version(),
        }

    def flush(self, timeout: float = 30.0) -> bool:
        try:
            self._flush_points()
        except Exception as e:
            self._error("metrics", e)
        sender = self.sender
        return True if sender is None else sender.flush(timeout)


SESSION = KernelSession()
