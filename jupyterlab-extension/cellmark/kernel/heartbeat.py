"""The run's heartbeat: while capture is active a thread tells the server every
HEARTBEAT_INTERVAL_S that the kernel lives (`ingest.heartbeat`), so the server can crash a
run whose kernel went silent. Not spooled: a heartbeat only matters now; a late one says
nothing."""

from __future__ import annotations

import os
import threading
from typing import Callable, Optional

from . import client
from .sender import Sender
from .wire import now_iso

# Well below the server's CELLMARK_RUN_HEARTBEAT_TIMEOUT_MS (2 min), which crashes a silent run.
HEARTBEAT_INTERVAL_S = 30.0
HEARTBEAT_ENV = "CELLMARK_HEARTBEAT_INTERVAL_S"


def heartbeat_interval() -> float:
    """CELLMARK_HEARTBEAT_INTERVAL_S (0.2–300 s) when set and valid, else the default."""
    try:
        value = float(os.environ.get(HEARTBEAT_ENV, ""))
    except ValueError:
        return HEARTBEAT_INTERVAL_S
    return value if 0.2 <= value <= 300 else HEARTBEAT_INTERVAL_S


def send(sender: Sender, run_id: str, report: Callable[[str], None]) -> None:
    """One heartbeat; a rejected token stops the sender (as a spooled call's 401 does), any
    other failure is reported as the last error."""
    try:
        client.call(sender.server_url, sender.token, "ingest.heartbeat", {"runId": run_id, "at": now_iso()})
    except client.CallError as e:
        if e.kind == "unauthorized":
            sender.pause(f"token rejected (401): {e.message}")
        else:
            report(e.message)
    except Exception as e:
        report(f"heartbeat: {type(e).__name__}: {e}")


class Heartbeat:
    """A thread calling `beat` every heartbeat_interval() until stopped."""

    def __init__(self, beat: Callable[[], None]) -> None:
        self._beat = beat
        self._stop: Optional[threading.Event] = None

    def start(self) -> None:
        if self._stop is not None:
            return
        stop = self._stop = threading.Event()
        threading.Thread(target=self._loop, args=(stop,), name="cellmark-heartbeat", daemon=True).start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def _loop(self, stop: threading.Event) -> None:
        interval = heartbeat_interval()
        while not stop.wait(interval):
            self._beat()
