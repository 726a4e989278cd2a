"""JSON as the server accepts it: UTC ISO timestamps, no lone surrogates, no NaN literals."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any

# A Python str holds astral characters as single code points, so any surrogate code point
# in it is unpaired; the server rejects those (400), which would lose the whole record.
_SURROGATE = re.compile("[\ud800-\udfff]")


_second: list = [None, ""]  # the last whole second formatted, and its text up to the seconds


def now_iso() -> str:
    """Current time as ISO 8601 UTC with microseconds (the server keeps microseconds). A
    cell's hooks take several: the date and time up to the second are formatted once a second."""
    us = time.time_ns() // 1000
    second, micro = divmod(us, 1_000_000)
    cached = _second
    if cached[0] != second:
        text = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        cached[0], cached[1] = second, text
    else:
        text = cached[1]
    return f"{text}.{micro:06d}Z"


def clean_text(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def clean(value: Any) -> Any:
    """Replaces unpaired surrogates in every string of a JSON-shaped value (keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def dumps(value: Any, cleaned: bool = False) -> bytes:
    """UTF-8 JSON; raises ValueError on NaN/Infinity (they must be strings by then).
    cleaned=True: the caller already replaced unpaired surrogates (metric points)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")  # fails exactly when a string holds an unpaired surrogate
    except UnicodeEncodeError:
        if cleaned:
            raise
        return json.dumps(clean(value), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def cap_utf8(text: str, max_bytes: int, marker: str) -> str:
    """Cuts text to at most max_bytes UTF-8 bytes (marker included) on a character boundary."""
    if len(text) * 4 <= max_bytes:  # no character takes more than 4 bytes: short text needs no encoding
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    room = max(0, max_bytes - len(marker.encode("utf-8")))
    return data[:room].decode("utf-8", "ignore") + marker
