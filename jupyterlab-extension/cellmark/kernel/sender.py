"""The background sender: drains the spool to the server in order, in batches, with
exponential backoff. Cell execution never waits for it; the hooks only append and wake it,
and this thread fsyncs the log (one fsync per batch, whatever the number of records).

- 5xx, 408, 429 (an answer that says "overloaded"): keep everything, retry after 1 s, 2 s,
  4 s … 60 s (or the server's Retry-After).
- no answer (refused, reset, timeout): the same backoff, but meanwhile ask GET /healthz about
  once a second and send as soon as it answers 200, so what waited reaches the server within
  seconds of its return, however long the outage.
- 401: keep everything, stop sending until `set_token` (the next `activate`).
- other 4xx: the batch is all-or-nothing on the server, so halve it until the entry at
  fault is alone, then park that entry under failed/ with the server's message, log it
  once to the kernel's stderr and go on with the rest.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable, Optional

from . import client
from .metrics import MAX_POINTS_PER_PAYLOAD, max_keys_per_batch
from .spool import Entry, Spool
from .stderr import log_stderr
from .wire import dumps, now_iso

MAX_CELLS_PER_BATCH = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
# After new entries reach an empty spool, wait this long for more before sending (a flush, a
# new token or stop ends the wait): a burst of short cells becomes one request, and this
# thread does not take the GIL from the cell that is running after every append. A backlog
# (entries that were there before the last batch went) follows without it.
LINGER_S = 0.2

# (procedure, payload sent, the server's result, names of the spool entries it carried)
OnResult = Callable[[str, Any, Any, "list[str]"], None]


def merge_cells(inputs: list[dict]) -> dict:
    """One ingest.cells input from several of the same run; for an execution sent twice
    (running, then complete) only the latest record goes, where the latest was queued."""
    cells: dict[str, dict] = {}
    for item in inputs:
        for cell in item.get("cells", []):
            key = cell.get("executionKey")
            cells.pop(key, None)
            cells[key] = cell
    first = inputs[0]
    return {"runId": first["runId"], "origin": first.get("origin", "kernel"), "cells": list(cells.values())}


class Sender:
    def __init__(
        self,
        spool: Spool,
        server_url: str,
        on_result: Optional[OnResult] = None,
        call: Callable[..., Any] = client.call,
        probe: Callable[[str], bool] = client.healthy,
    ):
        self.spool = spool
        self.server_url = server_url.rstrip("/")
        self._call = call
        self._probe = probe
        self._on_result = on_result
        self._token: Optional[str] = None
        self.paused: Optional[str] = None  # why sending stopped (401), until a new token
        self.last_error: Optional[str] = None
        self.last_sent_at: Optional[str] = None
        self.sent_batches = 0
        self.failed_entries = 0
        self.backoff_s = 0.0  # current wait after a transient failure; 0 when healthy
        self._max_files = MAX_CELLS_PER_BATCH
        self._attempt = 0
        # a wait ended because /healthz said 200 and nothing got through since
        self._probe_ended = False
        self._wake = threading.Event()  # new entries
        self._kick = threading.Event()  # new token, flush, stop: also ends a backoff
        self._stopping = False
        self._idle = threading.Condition()
        self._logged: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="cellmark-sender", daemon=True)

    # -- control (any thread) ------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def token(self) -> Optional[str]:
        return self._token

    def set_token(self, token: str) -> None:
        self._token = token
        self.paused = None
        self._attempt = 0
        self._probe_ended = False
        self.backoff_s = 0.0
        self.kick()

    def pause(self, reason: str) -> None:
        """Stops sending until the next set_token (a 401 seen elsewhere, e.g. a heartbeat)."""
        self.paused = reason
        self.last_error = reason
        self._log(reason + " — sending stopped until the extension activates capture with a valid token")

    def wake(self) -> None:
        self._wake.set()

    def kick(self) -> None:
        self._kick.set()
        self._wake.set()

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until the spool is empty; False on timeout or while sending is stopped."""
        deadline = time.monotonic() + timeout
        self.kick()
        with self._idle:
            while True:
                if self.spool.count() == 0:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.paused or self._token is None or not self._thread.is_alive():
                    return False
                self._idle.wait(min(left, 0.5))

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self.kick()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the thread ----------------------------------------------------------------------

    def _notify(self) -> None:
        with self._idle:
            self._idle.notify_all()

    def _log(self, message: str) -> None:
        if message in self._logged:
            return
        self._logged.add(message)
        log_stderr(message)

    def _run(self) -> None:
        lingered = False
        while not self._stopping:
            try:
                if self._token is None or self.paused:
                    self._notify()
                    self._kick.wait()
                    self._kick.clear()
                    continue
                self._wake.clear()
                entries = self.spool.pending()
                if not entries:
                    self._notify()
                    self._wake.wait()
                    continue
                if not lingered and len(entries) < MAX_CELLS_PER_BATCH and not self._kick.is_set():
                    lingered = True
                    self._kick.wait(LINGER_S)
                    continue  # list again, with what came meanwhile
                self._kick.clear()
                # group commit: one fsync for everything the hooks appended since the last one
                self.spool.sync()
                sent = self._send_next(entries)
                # a backlog (what waited through an outage) goes out batch after batch; new
                # entries wait for more as usual
                lingered = 0 < sent < len(entries)
                self._notify()
            except Exception as e:  # never let the thread die; say why and slow down
                self.last_error = f"sender: {type(e).__name__}: {e}"
                self._log(self.last_error)
                self._kick.wait(BACKOFF_FIRST_S)
                self._kick.clear()

    def _batch(self, entries: list[Entry]) -> tuple[list[Entry], str, Any]:
        """The next request: consecutive ingest.cells entries of one run, else one entry."""
        first = self.spool.load(entries[0])
        if first["procedure"] == "ingest.metrics":
            return self._metrics_batch(entries, first)
        if first["procedure"] != "ingest.cells":
            return [entries[0]], first["procedure"], first["input"]
        run_id = first["input"].get("runId")
        taken, inputs = [entries[0]], [first["input"]]
        cells = len(first["input"].get("cells", []))
        size = entries[0].size
        for entry in entries[1:]:
            if len(taken) >= self._max_files or size + entry.size > MAX_BATCH_BYTES:
                break
            try:
                item = self.spool.load(entry)
            except Exception:
                break  # it gets its own turn (and failed/) when it is first
            if item["procedure"] != "ingest.cells" or item["input"].get("runId") != run_id:
                break
            n = len(item["input"].get("cells", []))
            if cells + n > MAX_CELLS_PER_BATCH:
                break
            taken.append(entry)
            inputs.append(item["input"])
            cells += n
            size += entry.size
        return taken, "ingest.cells", merge_cells(inputs)

    def _metrics_batch(self, entries: list[Entry], first: dict) -> tuple[list[Entry], str, Any]:
        """Consecutive ingest.metrics entries of one run as one request, within the server's
        per-batch limits (points, distinct keys) and MAX_BATCH_BYTES."""
        run_id = first["input"].get("runId")
        points = list(first["input"].get("points", []))
        keys = {p.get("key") for p in points}
        taken, size = [entries[0]], entries[0].size
        max_keys = max_keys_per_batch()
        for entry in entries[1:]:
            if len(taken) >= self._max_files or size + entry.size > MAX_BATCH_BYTES:
                break
            try:
                item = self.spool.load(entry)
            except Exception:
                break
            if item["procedure"] != "ingest.metrics" or item["input"].get("runId") != run_id:
                break
            more = item["input"].get("points", [])
            more_keys = keys | {p.get("key") for p in more}
            if len(points) + len(more) > MAX_POINTS_PER_PAYLOAD or len(more_keys) > max_keys:
                break
            taken.append(entry)
            points.extend(more)
            keys = more_keys
            size += entry.size
        return taken, "ingest.metrics", {"runId": run_id, "points": points}

    def _send_next(self, entries: list[Entry]) -> int:
        """Sends the next batch; the number of entries the server took (0 when none)."""
        try:
            taken, procedure, payload = self._batch(entries)
        except FileNotFoundError:
            return 0  # removed meanwhile (adopted elsewhere); list again
        except Exception as e:
            path = self.spool.fail(entries[0], f"unreadable spool entry: {type(e).__name__}: {e}", None)
            self.failed_entries += 1
            self._log(f"unreadable spool entry kept in {path}")
            return 0
        token = self._token
        if token is None:
            return 0
        try:
            result = self._call(self.server_url, token, procedure, body=dumps(payload))
        except client.CallError as e:
            self._failed(e, taken)
            return 0
        self.last_sent_at = now_iso()
        self.sent_batches += 1
        self._attempt = 0
        self._probe_ended = False
        self.backoff_s = 0.0
        self._max_files = min(MAX_CELLS_PER_BATCH, self._max_files * 2)
        if self.last_error and not self.paused:
            self.last_error = None
        self.spool.remove(taken)
        if self._on_result is not None:
            try:
                self._on_result(procedure, payload, result, [e.name for e in taken])
            except Exception:
                pass
        return len(taken)

    def _failed(self, error: client.CallError, taken: list[Entry]) -> None:
        self.last_error = error.message
        if error.kind == "unauthorized":
            self.pause(f"token rejected (401): {error.message}")
            return
        if error.kind == "permanent":
            if len(taken) > 1:
                self._max_files = max(1, len(taken) // 2)  # find the entry at fault
                return
            path = self.spool.fail(taken[0], error.message, error.status)
            self.failed_entries += 1
            self._log(f"the server refused a payload ({error.message}); kept in {path}")
            return
        # transient: wait, unless a new token / flush / stop comes first
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * (2**self._attempt))
        delay *= random.uniform(0.8, 1.2)
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        delay = min(delay, BACKOFF_MAX_S)
        self._attempt = min(self._attempt + 1, 16)
        self.backoff_s = delay
        if error.unreachable:
            back = client.wait_for_server(
                self.server_url, delay, must_see_down=self._probe_ended, sleep=self._sleep, probe=self._probe
            )
            if back == "back":
                self._probe_ended = True
                self.backoff_s = 0.0
            return
        self._kick.wait(delay)
        self._kick.clear()

    def _sleep(self, seconds: float) -> bool:
        """A wait that a new token, a flush or stop ends (True)."""
        if self._kick.wait(seconds):
            self._kick.clear()
            return True
        return self._stopping
