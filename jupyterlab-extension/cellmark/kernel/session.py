"""The kernel side's one session: activation and the run it records into (binding, the
held run's end, shutdown), and the one way out for payloads (the spool). The parts hold one
idea each: cell_hooks.py (the IPython hooks), metric_buffer.py (cellmark.log and system
points), held_cells.py (records before the run exists), heartbeat.py, system_bridge.py
(sampler and status comm). Nothing here blocks a cell on the network.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import platform
import sys
import threading
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from .. import autostart
from . import client, environment, heartbeat, run_binding
from .cell_hooks import CellHooks
from .config_capture import ConfigTracker
from .held_cells import HeldCells
from .metric_buffer import MetricBuffer
from .output_capture import OutputCapture
from .sender import Sender
from .spool import Spool, default_root
from .system_bridge import SystemBridge
from .wire import now_iso

# Jupyter kills a kernel that has not exited 5 s after its shutdown request.
EXIT_FLUSH_S = 3.0


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


@dataclass
class RunInfo:
    """The run's name, tags and notes as this kernel knows them (the server's answer to the
    latest ingest.updateRun once it has one)."""

    name: Optional[str] = None
    tags: Optional[list[str]] = None
    notes: Optional[str] = None


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
        self.run_info = RunInfo()
        self.last_error: Optional[str] = None
        self.recorded = 0
        # what cells publish (output_capture.py), installed with the hooks
        self.outputs = OutputCapture(self._emit_cell, self._error)
        self.hooks = CellHooks(self)
        self.heartbeat = heartbeat.Heartbeat(self._beat)
        self._last_update: Optional[str] = None  # spool entry of the latest ingest.updateRun
        self.held = HeldCells()
        self.metrics = MetricBuffer(self, self._lock)
        self.system = SystemBridge(self._lock, self.metrics, lambda: self.active, lambda: self.run_id, self._error)

    # -- activation ----------------------------------------------------------------------

    def activate(
        self,
        server_url: str,
        token: str,
        run_id: Optional[str],
        notebook_path: str = "",
        capture_config: bool = True,
        shell: Any = None,
        project: Optional[str] = None,
        client_key: Optional[str] = None,
        replaces: Optional[str] = None,
        kernel_name: Optional[str] = None,
    ) -> JsonText:
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
            self.metrics.flush()  # what was logged so far belongs to the run (or binding) it was logged in
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
            self._bind(
                binding.server_url,
                token,
                None,
                binding.notebook_path,
                bool(state.get("captureConfig", True)),
                shell,
                open_comm=False,
            )
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

    def _claim(
        self,
        server_url: str,
        project: str,
        proposal: str,
        run_id: Optional[str],
        replaces: Optional[str],
        notebook_path: str,
        kernel_name: Optional[str],
    ) -> Optional[str]:
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
            if (
                binding is None
                or binding.client_key != client_key
                or not self.active
                or sender is None
                or sender.token is None
            ):
                return
            if binding.run_id is None:
                binding.run_id = run_id
            self._bind(
                self.server_url or binding.server_url,
                sender.token,
                binding.run_id,
                self.notebook_path,
                self.capture_config,
                self.shell,
                open_comm=False,
            )
            self._save_binding()

    def _leave_run(self) -> None:
        """Recording stops belonging to the current run: the next one starts with fresh steps
        and run info; held records go to it."""
        if self.run_id is None:
            return
        self.metrics.flush()
        self.config.new_run()
        self.metrics.reset_steps()
        self.run_info = RunInfo()
        self.run_id = None

    def _bind(
        self,
        server_url: str,
        token: str,
        run_id: Optional[str],
        notebook_path: str,
        capture_config: bool,
        shell: Any,
        open_comm: bool = True,
    ) -> None:
        """Records into run_id from now on (None: hold what is recorded until it exists)."""
        if run_id is None and self.active and self.run_id is not None:
            run_id = self.run_id  # already bound: keep recording into that run
        # Recording started unbound: the run that now exists continues that recording.
        binding = run_id is not None and self.run_id is None and self.active
        new_run = run_id is not None and run_id != self.run_id
        self.server_url, self.run_id = server_url, run_id
        self.notebook_path, self.capture_config = notebook_path or "", bool(capture_config)
        if new_run and run_id is not None:
            if not binding:
                self.config.new_run()
            # points held from before the first activation keep their steps
            self.metrics.enter_run(run_id, fresh=not binding and self.ever_activated)
            self.run_info = RunInfo()
        if run_id is not None:
            for payload in self.held.take():
                self.enqueue("ingest.cells", {**payload, "runId": run_id})
            self.metrics.bound(run_id)
        self.sender.set_token(token)  # also sends what is pending (flush)
        self.hooks.register(shell)
        self.shell = shell
        self._watch_shutdown(shell)
        self.active = True
        self.ever_activated = True
        self.system.start(shell, open_comm)
        if new_run and run_id is not None:
            self.enqueue(
                "ingest.kernelHello",
                {
                    "runId": run_id,
                    "language": "python",
                    "implementation": implementation(),
                    "cellmarkVersion": cellmark_version(),
                },
            )
            threading.Thread(
                target=self._send_environment,
                args=(run_id, self.notebook_path),
                name="cellmark-environment",
                daemon=True,
            ).start()
        if run_id is not None:
            self.heartbeat.start()
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

    def _deactivate(self, end_run: bool, forget: bool) -> Any:
        with self._lock:
            try:
                self.metrics.flush()
            except Exception as e:  # the spool is unwritable: stopping must still work
                self._error("metrics", e)
            self.outputs.flush()  # complete records still waiting for their reply go to this run
            # capture switched off, or the kernel exits: the run it held is over
            self._release_binding(end=end_run and self.active, forget=forget)
            self.active = False
            self.run_id = None  # a later activate(None) starts unbound, not in the old run
            self.held.clear()
            self.metrics.stopped()
            sampler = self.system.stop()
            self.hooks.unregister()
            self.heartbeat.stop()
            self.hooks.forget()
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
            self.held.hold(payload)
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

    def _error(self, where: str, e: BaseException) -> None:
        self.last_error = f"{where}: {type(e).__name__}: {e}"

    def _on_result(self, procedure: str, payload: Any, result: Any, names: list) -> None:
        # Only the answer to the latest local change is the run's state: an earlier answer
        # arriving late must not undo what the user set since.
        if (
            procedure == "ingest.updateRun"
            and isinstance(result, dict)
            and payload.get("runId") == self.run_id
            and self._last_update in names
        ):
            for key in ("name", "tags", "notes"):
                if key in result:
                    setattr(self.run_info, key, result[key])

    def _send_environment(self, run_id: str, notebook_path: str) -> None:
        try:
            env = environment.collect(notebook_path)
            self.system.add_gpu_sampling(env)
            with self._lock:
                if self.spool is not None:
                    self.enqueue("ingest.environment", {"runId": run_id, "environment": env})
        except Exception as e:
            self._error("environment", e)

    def _beat(self) -> None:
        """One heartbeat (the heartbeat thread): the binding on disk stays fresh, the server
        hears the run is alive."""
        run_binding.touch(self.kernel_key if self.binding is not None else None)
        sender, run_id = self.sender, self.run_id
        if not self.active or sender is None or sender.token is None or sender.paused or run_id is None:
            return
        heartbeat.send(sender, run_id, self._report)

    def _report(self, message: str) -> None:
        self.last_error = message

    # -- state ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        sender, spool = self.sender, self.spool
        errors = [
            e for e in (sender.paused if sender else None, sender.last_error if sender else None, self.last_error) if e
        ]
        return {
            "active": self.active,
            "serverUrl": self.server_url,
            "runId": self.run_id,
            "run": self.binding.answer() if self.binding is not None else None,
            "notebookPath": self.notebook_path,
            "captureConfig": self.capture_config,
            "recorded": self.recorded,
            "loggedPoints": self.metrics.logged,
            "bufferedPoints": self.metrics.buffered,
            "summary": dict(self.metrics.summary_set),
            "pending": spool.count() if spool else 0,
            "failed": spool.failed_count() if spool else 0,
            "failedDir": spool.failed_dir if spool else None,
            "spoolDir": spool.server_dir if spool else default_root(),
            "sendingStopped": sender.paused if sender else None,
            "retryInSeconds": round(sender.backoff_s, 1) if sender and sender.backoff_s else None,
            "lastSentAt": sender.last_sent_at if sender else None,
            "lastError": errors[0] if errors else None,
            "system": self.system.status(),
            "version": cellmark_version(),
        }

    def flush(self, timeout: float = 30.0) -> bool:
        try:
            self.metrics.flush()
        except Exception as e:
            self._error("metrics", e)
        sender = self.sender
        return True if sender is None else sender.flush(timeout)


SESSION = KernelSession()
