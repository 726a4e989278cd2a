"""`ingest.cells` payloads recorded before the frontend's run exists (activate(run_id=None)),
held in memory until activate() brings the run. A later record of an execution replaces the
earlier one; bounded in count and in bytes (outputs), the oldest go first."""

from __future__ import annotations

from .wire import dumps

MAX_UNBOUND = 2000  # payloads held before a run exists (one per execution: a later record replaces the earlier)
MAX_UNBOUND_BYTES = 64 * 1024 * 1024  # … and at most this much of them as JSON (outputs): the oldest go first


def _weight(payload: dict) -> int:
    """What a held record weighs: only records with outputs are measured (the rest are small)."""
    return len(dumps(payload)) if any(cell.get("outputs") for cell in payload.get("cells", ())) else 0


class HeldCells:
    def __init__(self) -> None:
        self._held: list[dict] = []
        self._bytes = 0

    def __bool__(self) -> bool:
        return bool(self._held)

    def hold(self, payload: dict) -> None:
        keys = {cell.get("executionKey") for cell in payload.get("cells", ())}
        kept = []
        for held in self._held:
            if keys.intersection(c.get("executionKey") for c in held.get("cells", ())):
                self._bytes -= _weight(held)
            else:
                kept.append(held)
        kept.append(payload)
        self._held = kept
        self._bytes += _weight(payload)
        while len(self._held) > MAX_UNBOUND or (self._bytes > MAX_UNBOUND_BYTES and len(self._held) > 1):
            self._bytes -= _weight(self._held.pop(0))

    def take(self) -> list[dict]:
        """Everything held, oldest first; nothing is held afterwards."""
        held, self._held, self._bytes = self._held, [], 0
        return held

    def clear(self) -> None:
        self._held, self._bytes = [], 0
