"""What a cell publishes, seen from inside the kernel: so the kernel's record of an
execution carries its outputs, and a tab closed mid-cell (or never open) loses nothing.

ipykernel sends every message through one `jupyter_client.Session.send`; we wrap that
bound method on the kernel's session and look at the messages whose parent is an execution
being recorded (stream, display_data, update_display_data, execute_result, error,
clear_output), feeding them to that execution's OutputCollector (outputs.py). Streams are
flushed from ipykernel's IOPub thread, everything else from the shell thread: one lock, and
the work per message is a dict lookup plus what the collector does with the chunk.

The complete record waits for the execute_reply: ipykernel flushes stdout/stderr after
post_run_cell but before it replies, so only then has everything been published. A reply we
never see (the session replaced, a kernel without ipykernel's flow) is covered by a grace
period, then the record goes with what was seen. While a cell runs, a thread sends its
outputs so far as a `running` record every few seconds (less often as they grow), so a
kernel killed mid-cell still leaves them; records of one execution are spooled under the
lock in the order they were made, so a partial record never follows the complete one.

An execute_request the kernel aborts without running it (an earlier cell failed and
stop_on_error held) is recorded as `aborted` from its reply.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .executions import MAX_SOURCE_BYTES, cell_id
from .outputs import OutputCollector
from .wire import cap_utf8, now_iso

OUTPUT_TYPES = frozenset({"stream", "display_data", "update_display_data", "execute_result", "error", "clear_output"})
TICK_S = 1.0
PARTIAL_FIRST_S = 5.0  # a cell running this long sends its outputs so far
PARTIAL_MAX_S = 60.0
PARTIAL_BYTES_PER_S = 200 * 1024  # … then again after max(5 s, size / this): big outputs are resent less often
FINAL_GRACE_S = 5.0  # post_run_cell without an execute_reply after this long: send what was seen

# emit(run id at the start, record, partial) -> whether it was sent (a partial is not kept
# before the run exists: the complete record supersedes it)
Emit = Callable[[Optional[str], dict, bool], bool]


@dataclass
class _Execution:
    run_id: Optional[str]
    record: dict  # the running record made at pre_run_cell
    started: float
    collector: OutputCollector = field(default_factory=OutputCollector)
    final: Optional[dict] = None  # the complete record, waiting for the execute_reply
    final_at: float = 0.0
    sent_version: int = 0  # collector.version of the last partial record sent
    next_partial: float = 0.0


class OutputCapture:
    def __init__(self, emit: Emit, on_error: Callable[[str, BaseException], None]):
        self._emit = emit
        self._on_error = on_error
        self._lock = threading.Lock()
        self._executions: dict[str, _Execution] = {}
        self._session: Any = None
        self._wrapper: Any = None
        self._stop: Optional[threading.Event] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def installed(self) -> bool:
        return self._wrapper is not None

    # -- the tap -------------------------------------------------------------------------

    def install(self, shell: Any) -> bool:
        """Wraps the kernel session's send; False without a kernel (plain IPython)."""
        session = getattr(getattr(shell, "kernel", None), "session", None)
        if self._wrapper is not None or session is None or not callable(getattr(session, "send", None)):
            return self._wrapper is not None
        original = session.send
        observe = self._observe

        def send(*args: Any, **kwargs: Any) -> Any:
            msg = original(*args, **kwargs)
            if msg is not None and send.cellmark_on:  # type: ignore[attr-defined]
                try:
                    observe(msg, args, kwargs)
                except Exception as e:  # capture must never break the kernel's messaging
                    self._on_error("outputs", e)
            return msg

        send.cellmark_on = True  # type: ignore[attr-defined]
        session.send = send
        self._session, self._wrapper = session, send
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), name="cellmark-outputs", daemon=True)
        self._thread.start()
        return True

    def uninstall(self) -> None:
        """Sends what is waiting, then takes the wrapper off (left inert if someone wrapped
        send after us: unwrapping would drop their wrapper too)."""
        self.flush()
        session, wrapper, stop = self._session, self._wrapper, self._stop
        self._session = self._wrapper = self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if wrapper is not None:
            wrapper.cellmark_on = False
            if session.__dict__.get("send") is wrapper:
                del session.__dict__["send"]
        with self._lock:
            self._executions.clear()

    # -- per execution (shell thread) ----------------------------------------------------

    def begin(self, record: dict, run_id: Optional[str]) -> None:
        if self._wrapper is None:
            return
        now = time.monotonic()
        with self._lock:
            self._executions[record["executionKey"]] = _Execution(
                run_id, record, now, next_partial=now + PARTIAL_FIRST_S
            )

    def finish(self, done: dict, run_id: Optional[str]) -> bool:
        """post_run_cell: the complete record waits for the execute_reply (then with its
        outputs). False when nothing is being captured for it: the caller sends it now."""
        with self._lock:
            execution = self._executions.get(done["executionKey"])
            if execution is None:
                return False
            if execution.final is None:
                execution.final, execution.final_at, execution.run_id = done, time.monotonic(), run_id
        return True

    def flush(self) -> None:
        """Sends every complete record still waiting (deactivation, exit)."""
        with self._lock:
            for key in [k for k, e in self._executions.items() if e.final is not None]:
                self._send_final(key)

    # -- observing (any thread) ----------------------------------------------------------

    def _observe(self, msg: dict, args: tuple, kwargs: dict) -> None:
        msg_type = msg.get("msg_type")
        if msg_type in OUTPUT_TYPES:
            key = (msg.get("parent_header") or {}).get("msg_id")
            if key in self._executions:
                with self._lock:
                    execution = self._executions.get(key)
                    if execution is not None:
                        execution.collector.add(msg_type, msg.get("content"))
        elif msg_type == "execute_reply":
            key = (msg.get("parent_header") or {}).get("msg_id")
            with self._lock:
                if key in self._executions:
                    if self._executions[key].final is not None:
                        self._send_final(key)
                    else:  # its post_run_cell recorded nothing: nothing will finish it
                        del self._executions[key]
                    return
            if (msg.get("content") or {}).get("status") == "aborted":
                self._aborted(kwargs.get("parent", args[3] if len(args) > 3 else None))

    def _send_final(self, key: str) -> None:
        """Under the lock: the complete record with its outputs, and the execution forgotten."""
        execution = self._executions.pop(key)
        record = dict(execution.final, outputs=execution.collector.result())  # type: ignore[arg-type]
        try:
            self._emit(execution.run_id, record, False)
        except Exception as e:
            self._on_error("outputs", e)

    def _aborted(self, request: Any) -> None:
        """An execute_request the kernel answered `aborted` without running it."""
        if not isinstance(request, dict) or not isinstance(request.get("header"), dict):
            return
        content = request.get("content") or {}
        if content.get("silent") is True or content.get("store_history") is False:
            return
        key = request["header"].get("msg_id")
        if not key:
            return
        now = now_iso()
        record = {
            "executionKey": str(key),
            "cellId": cell_id(None, request),
            "executionCount": None,
            "source": cap_utf8(
                str(content.get("code") or ""), MAX_SOURCE_BYTES, "\n# [cellmark: source truncated at 1 MiB]\n"
            ),
            "outputs": [],
            "status": "aborted",
            "error": None,
            "startedAt": now,
            "endedAt": now,
        }
        self._emit(None, record, False)

    # -- the thread: partial records, late finals ----------------------------------------

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_S):
            try:
                self._tick(time.monotonic())
            except Exception as e:
                self._on_error("outputs", e)

    def _tick(self, now: float) -> None:
        with self._lock:
            for key, execution in list(self._executions.items()):
                if execution.final is not None:
                    if now - execution.final_at >= FINAL_GRACE_S:
                        self._send_final(key)
                    continue
                collector = execution.collector
                if now < execution.next_partial or collector.version == execution.sent_version:
                    continue
                record = dict(execution.record, outputs=collector.result())
                if self._emit(execution.run_id, record, True):
                    execution.sent_version = collector.version
                wait = min(PARTIAL_MAX_S, max(PARTIAL_FIRST_S, collector.total / PARTIAL_BYTES_PER_S))
                execution.next_partial = now + wait
