"""The IPython hooks that record executions: pre_run_cell spools the `running` record
before the cell's code runs (a cell that crashes the kernel still leaves it), post_run_cell
builds the complete record with the config the cell changed, and sends it once the kernel
has published all its outputs (output_capture.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from . import cell_bindings, executions

if TYPE_CHECKING:
    from .session import KernelSession


@dataclass
class InFlight:
    """An execution being recorded: the run it started in, its running record, and its
    complete record once built (kept, so a retry after an interrupt does not take the config
    changes twice)."""

    run_id: Optional[str]
    running: dict
    complete: Optional[dict] = None


class CellHooks:
    def __init__(self, session: KernelSession) -> None:
        self._session = session
        self._on: Any = None  # the shell our hooks are registered with
        # id(ExecutionInfo) -> the execution, or None: not recorded (silent, or nested in a cell)
        self._inflight: dict[int, Optional[InFlight]] = {}

    def register(self, shell: Any) -> None:
        if self._on is shell:
            return
        self.unregister()
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)
        self._on = shell
        self._session.outputs.install(shell)

    def unregister(self) -> None:
        shell, self._on = self._on, None
        if shell is None:
            return
        self._session.outputs.uninstall()
        for event, fn in (("pre_run_cell", self._pre_run_cell), ("post_run_cell", self._post_run_cell)):
            try:
                shell.events.unregister(event, fn)
            except ValueError:
                pass

    def forget(self) -> None:
        """Capture stopped: executions still in flight are not recorded."""
        self._inflight.clear()

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
        session = self._session
        key = id(info)
        try:
            if not session.active or key in self._inflight:  # (a retry after an interrupt)
                return
            parent = executions.parent_message(session.shell)
            # Nested run_cell calls inside a cell are part of that cell's execution.
            if executions.is_silent(info, parent) or any(self._inflight.values()):
                self._inflight[key] = None
                return
            count = getattr(session.shell, "execution_count", None)
            # IPython has already counted this execution when pre_run_cell fires.
            count = count - 1 if isinstance(count, int) and count > 0 else None
            record = executions.running_record(info, parent, count)
            session.enqueue("ingest.cells", {"runId": session.run_id, "origin": "kernel", "cells": [record]})
            self._inflight[key] = InFlight(session.run_id, record)
            session.outputs.begin(record, session.run_id)
        except Exception as e:
            session._error("pre_run_cell", e)

    def _post(self, result: Any) -> None:
        session = self._session
        key = id(getattr(result, "info", None))
        if session.metrics.waiting:
            try:
                session.metrics.flush()
            except Exception as e:
                session._error("metrics", e)
        try:
            pending = self._inflight.get(key)
            if pending is None:
                self._inflight.pop(key, None)
                return
            if pending.complete is None:
                count = getattr(result, "execution_count", None)
                done = executions.finish(pending.running, result, count if isinstance(count, int) else None)
                done["config"] = self._config_changes(pending.running["source"])
                pending.complete = done
            # with the outputs once the kernel has published them all (its execute_reply)
            if not session.outputs.finish(pending.complete, pending.run_id):
                session._emit_cell(pending.run_id, pending.complete, False)
            self._inflight.pop(key, None)
            session.recorded += 1
        except Exception as e:
            self._inflight.pop(key, None)
            session._error("post_run_cell", e)

    def _config_changes(self, source: str) -> dict[str, Any]:
        """The config this execution changed: only the names its source binds are looked up
        (cell_bindings.py), so the cost does not grow with the namespace."""
        session = self._session
        shell = session.shell
        bindings = cell_bindings.bindings_of(source)
        if bindings is cell_bindings.NOTHING and ("%" in source or "!" in source):
            try:  # IPython syntax: what actually ran is the transformed cell
                bindings = cell_bindings.bindings_of(shell.transform_cell(source))
            except Exception:
                pass
        auto = session.capture_config and session.config.auto
        if bindings.forced:
            names: Any = bindings.assigned + bindings.literal
        elif auto:
            names = bindings.literal
        else:
            names = ()
        if not names and not bindings.computed:
            return session.config.changes(None)
        sender = session.sender
        forbidden = (sender.token,) if sender is not None and sender.token else ()
        hidden = getattr(shell, "user_ns_hidden", None)
        drop = bindings.computed.difference(names)
        return session.config.changes(shell.user_ns, hidden, forbidden, names=dict.fromkeys(names), drop=drop)
