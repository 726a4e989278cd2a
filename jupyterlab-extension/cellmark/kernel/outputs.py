"""One execution's outputs as the kernel publishes them, in the shape JupyterLab keeps
(nbformat) and within the server's limits. The twin of the extension's
src/capture/outputs.ts and output-budget.ts: the same caps, merging and notes, so the
kernel's record of an execution says what the frontend's would have said.

- consecutive stream chunks of one name merge into one output, "\\r" rewrites the line;
- rich MIME bundles are kept whole (binary values as the base64 strings nbformat uses;
  the server moves binary and large values into blobs);
- clear_output(wait=False) clears at once, wait=True at the next output;
- update_display_data replaces the bundle of this execution's outputs with that display_id;
- at most MAX_OUTPUTS outputs and MAX_EXECUTION_BYTES of JSON (as the server measures):
  beyond that the biggest values become a text/plain note and later outputs are only
  counted, so memory stays within the budget however long a cell prints.

Pure and not thread-safe: the caller serialises access (output_capture.py).
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any, ClassVar, Optional, Union

MAX_TEXT_BYTES = 1024 * 1024  # one stream, evalue or traceback
MAX_EXECUTION_BYTES = 8 * 1024 * 1024  # the server's CELLMARK_MAX_OUTPUT_BYTES
MAX_OUTPUTS = 2000
RESERVE_BYTES = 1024  # room for the closing "N more outputs" note and the list's brackets
STREAM_MARKER_BYTES = 64  # room for the marker a cut stream gets
MIN_DROPPABLE_BYTES = 8 * 1024  # smaller values are never worth a note
KEPT_HEAD_BYTES = 2 * 1024  # what is left of a stream or traceback whose value was dropped

_measure = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]  # the C encoder with ensure_ascii=False


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def json_bytes(value: Any) -> int:
    """UTF-8 bytes of a JSON value the way the server measures outputs (JSON.stringify)."""
    return utf8_len(_measure(value))


def _escaped_len(text: str) -> int:
    """JSON bytes of a string's characters, without the quotes (additive over concatenation)."""
    return utf8_len(_quote(text)) - 2


def format_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


def truncation_marker(omitted: int) -> str:
    return f"\n[… {omitted} more bytes not recorded by Cellmark]"


def dropped_note(what: str, size: int, limit: int) -> str:
    return (
        f"[Cellmark: {what} ({format_bytes(size)}) not recorded: this execution's outputs are over "
        f"the {format_bytes(limit)} limit]"
    )


def utf8_prefix(text: str, max_bytes: int) -> str:
    """The longest prefix of text within max_bytes of UTF-8, cut on a character boundary."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    cut = max(0, max_bytes)
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # not inside a multi-byte character
        cut -= 1
    return data[:cut].decode("utf-8", "surrogatepass")


def limit_text(text: str, max_bytes: int) -> str:
    total = utf8_len(text)
    if total <= max_bytes:
        return text
    kept = utf8_prefix(text, max_bytes)
    return kept + truncation_marker(total - utf8_len(kept))


def limit_traceback(frames: list[str], max_bytes: int) -> list[str]:
    out: list[str] = []
    used = 0
    for i, frame in enumerate(frames):
        size = utf8_len(frame)
        if used + size > max_bytes:
            rest = sum(utf8_len(f) for f in frames[i:])
            out.append(f"[… {len(frames) - i} more frames, {rest} bytes, not recorded by Cellmark]")
            break
        out.append(frame)
        used += size
    return out


_CR_NEWLINE = re.compile("\r+\n")


def apply_carriage_returns(text: str) -> str:
    """Collapses carriage-return overwrites per line ("10%\\r20%" is "20%"); a trailing
    "\\r" stays, for the next chunk to overwrite."""
    if "\r" not in text:
        return text
    lines = []
    for line in _CR_NEWLINE.sub("\n", text).split("\n"):
        segments = line.split("\r")
        trailing = len(segments) > 1 and segments[-1] == ""
        merged = ""
        for segment in segments[:-1] if trailing else segments:
            merged = segment + merged[len(segment) :]
        lines.append(merged + "\r" if trailing else merged)
    return "\n".join(lines)


def as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(as_string(v) for v in value)
    return "" if value is None else str(value)


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def jsonable(value: Any) -> Any:
    """What JSON.stringify would make of a value (non-finite numbers are null); bytes as
    base64, anything else unknown as its str(). Only used when a value fails to encode."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def normalize_bundle(data: dict) -> dict:
    """A MIME bundle as nbformat stores it: line arrays joined, bytes as base64."""
    out = {}
    for mime, value in data.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "".join(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            value = base64.b64encode(bytes(value)).decode("ascii")
        out[str(mime)] = value
    return out


class _Stream:
    """A stream output held as parts (joined when asked), so a long print loop costs
    O(chunk) per chunk; only the last line is reread, when a "\\r" can rewrite it."""

    __slots__ = ("alive", "body", "name", "omitted", "parts", "size", "tail_cr", "text_bytes")
    _OVERHEAD: ClassVar[dict[str, int]] = {
        n: json_bytes({"output_type": "stream", "name": n, "text": ""}) + 1 for n in ("stdout", "stderr")
    }

    def __init__(self, name: str):
        self.name = name
        self.parts: list[str] = []
        self.text_bytes = 0  # UTF-8 bytes of the text
        self.body = 0  # JSON bytes of the text, quotes excluded
        self.tail_cr = False  # the last line holds a "\r" the next chunk may act on
        self.omitted: Optional[int] = None  # bytes cut off; then later chunks are only counted
        self.size = 0
        self.alive = True

    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def set_text(self, text: str) -> None:
        self.parts = [text] if text else []
        self.text_bytes = utf8_len(text)
        self.body = _escaped_len(text)
        self.tail_cr = "\r" in text[text.rfind("\n") + 1 :]

    def pop_tail(self) -> str:
        """Removes and returns the text after the last newline."""
        tail: list[str] = []
        while self.parts:
            part = self.parts.pop()
            cut = part.rfind("\n") + 1
            if cut:
                if cut < len(part):
                    tail.append(part[cut:])
                self.parts.append(part[:cut])
                break
            tail.append(part)
        return "".join(reversed(tail))

    def measure(self) -> int:
        self.size = self._OVERHEAD[self.name] + self.body + (STREAM_MARKER_BYTES if self.omitted is not None else 0)
        return self.size

    def to_json(self) -> dict:
        text = self.text()
        if self.omitted:
            text += truncation_marker(self.omitted)
        return {"output_type": "stream", "name": self.name, "text": text}


class _Rich:
    """display_data or execute_result, with the JSON size of each MIME value."""

    __slots__ = ("alive", "output", "size", "values")

    def __init__(self, output: dict):
        self.output = output
        self.values: dict[str, int] = {}
        self.size = 0
        self.alive = True

    def measure(self) -> int:
        try:
            self.values = {mime: json_bytes(value) for mime, value in self.output["data"].items()}
            self.size = json_bytes(self.output) + 1
        except (TypeError, ValueError):  # not JSON as it stands (NaN, numpy scalars in metadata)
            self.output = jsonable(self.output)
            return self.measure()
        return self.size

    def to_json(self) -> dict:
        return dict(self.output, data=dict(self.output["data"]))


class _Error:
    __slots__ = ("alive", "output", "size", "traceback")

    def __init__(self, output: dict):
        self.output = output
        self.traceback = 0
        self.size = 0
        self.alive = True

    def measure(self) -> int:
        self.traceback = json_bytes(self.output["traceback"])
        self.size = json_bytes(self.output) + 1
        return self.size

    def to_json(self) -> dict:
        return dict(self.output)


_Output = Union[_Stream, _Rich, _Error]


def error_output(content: dict, max_text_bytes: int) -> dict:
    frames = content.get("traceback")
    return {
        "output_type": "error",
        "ename": limit_text(as_string(content.get("ename")), max_text_bytes),
        "evalue": limit_text(as_string(content.get("evalue")), max_text_bytes),
        "traceback": limit_traceback([as_string(f) for f in frames], max_text_bytes)
        if isinstance(frames, list)
        else [],
    }


class OutputCollector:
    """The outputs of one execution as they arrive; never holds much more than the budget."""

    def __init__(
        self,
        max_text_bytes: int = MAX_TEXT_BYTES,
        max_execution_bytes: int = MAX_EXECUTION_BYTES,
        max_outputs: int = MAX_OUTPUTS,
    ):
        self.max_text_bytes = max_text_bytes
        self.max_execution_bytes = max_execution_bytes
        self.max_outputs = max_outputs
        self._budget = max_execution_bytes - min(RESERVE_BYTES, max_execution_bytes // 8)
        self._outputs: list[_Output] = []
        self._display_ids: dict[str, list[_Rich]] = {}
        self.total = 0  # JSON bytes of the outputs (plus a comma each)
        self.dropped_outputs = 0
        self._clear_on_next = False
        self.version = 0  # changes with every message that changed something

    def add(self, msg_type: str, content: Any) -> None:
        """One iopub message that carries or changes outputs; other types are ignored."""
        content = as_dict(content)
        if msg_type == "stream":
            self._flush_pending_clear()
            self._add_stream("stderr" if content.get("name") == "stderr" else "stdout", as_string(content.get("text")))
        elif msg_type in ("execute_result", "display_data"):
            self._flush_pending_clear()
            output = {
                "output_type": msg_type,
                "data": normalize_bundle(as_dict(content.get("data"))),
                "metadata": as_dict(content.get("metadata")),
            }
            if msg_type == "execute_result":
                count = content.get("execution_count")
                output["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
            rich = _Rich(output)
            display_id = as_dict(content.get("transient")).get("display_id")
            if self._push(rich) and isinstance(display_id, str):
                self._display_ids.setdefault(display_id, []).append(rich)
        elif msg_type == "update_display_data":
            # only displays made by this execution: earlier executions were recorded already
            display_id = as_dict(content.get("transient")).get("display_id")
            for rich in self._display_ids.get(display_id, ()) if isinstance(display_id, str) else ():
                if rich.alive:
                    rich.output = dict(
                        rich.output,
                        data=normalize_bundle(as_dict(content.get("data"))),
                        metadata=as_dict(content.get("metadata")),
                    )
                    self._resize(rich)
            self._enforce_budget()
        elif msg_type == "error":
            self._flush_pending_clear()
            self._push(_Error(error_output(content, self.max_text_bytes)))
        elif msg_type == "clear_output":
            if content.get("wait") is True:
                self._clear_on_next = True
            else:
                self._clear()
        else:
            return
        self.version += 1

    def result(self) -> list[dict]:
        """The outputs in nbformat shape (copies), with notes where something was cut."""
        result = [output.to_json() for output in self._outputs]
        if self.dropped_outputs:
            result.append(
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "text/plain": (
                            f"[Cellmark: {self.dropped_outputs} more outputs not recorded: over {self.max_outputs} outputs or "
                            f"{format_bytes(self.max_execution_bytes)} for one execution]"
                        )
                    },
                }
            )
        return result

    # -- streams -------------------------------------------------------------------------

    def _add_stream(self, name: str, text: str) -> None:
        last = self._outputs[-1] if self._outputs else None
        if isinstance(last, _Stream) and last.name == name:
            self._append(last, text)
            return
        stream = _Stream(name)
        if self._push(stream):
            self._append(stream, text)

    def _append(self, stream: _Stream, chunk: str) -> None:
        if stream.omitted is not None:
            stream.omitted += utf8_len(chunk)
            return
        if not chunk:
            return
        if "\r" not in chunk and not stream.tail_cr:  # the common case: nothing to rewrite
            grown = stream.text_bytes + utf8_len(chunk)
            if grown <= self.max_text_bytes:
                stream.parts.append(chunk)
                delta = _escaped_len(chunk)
                stream.text_bytes, stream.body = grown, stream.body + delta
                stream.size += delta
                self.total += delta
                self._enforce_budget()
                return
            old_tail, new_tail = "", chunk
        else:
            old_tail = stream.pop_tail()
            new_tail = apply_carriage_returns(old_tail + chunk)
        text_bytes = stream.text_bytes - utf8_len(old_tail) + utf8_len(new_tail)
        if text_bytes <= self.max_text_bytes:
            stream.parts.append(new_tail)
            stream.text_bytes = text_bytes
            stream.body += _escaped_len(new_tail) - _escaped_len(old_tail)
            stream.tail_cr = "\r" in new_tail[new_tail.rfind("\n") + 1 :]
        else:
            kept = utf8_prefix(stream.text() + new_tail, self.max_text_bytes)
            stream.set_text(kept)
            stream.omitted = text_bytes - stream.text_bytes
        self._resize(stream)
        self._enforce_budget()

    # -- the budget ----------------------------------------------------------------------

    def _push(self, output: _Output) -> bool:
        """Appends an output if the limits allow; False when it was not kept."""
        if len(self._outputs) >= self.max_outputs:
            self.dropped_outputs += 1
            return False
        self._outputs.append(output)
        self.total += output.measure()
        self._enforce_budget()
        return output.alive

    def _resize(self, output: _Output) -> None:
        old = output.size
        self.total += output.measure() - old

    def _enforce_budget(self) -> None:
        """Over the budget: replace the biggest value by a note, again and again; when only
        small values are left, drop the latest outputs."""
        while self.total > self._budget and self._outputs:
            largest = self._largest()
            if largest is None:
                self._drop_last()
            else:
                self._drop_value(*largest)

    def _largest(self) -> Optional[tuple[_Output, str, int]]:
        best: Optional[tuple[_Output, str, int]] = None
        for output in self._outputs:
            if isinstance(output, _Stream):
                candidates: Any = (("stream", output.body + 2),)
            elif isinstance(output, _Error):
                candidates = (("traceback", output.traceback),)
            else:
                candidates = output.values.items()
            for key, size in candidates:
                if size >= MIN_DROPPABLE_BYTES and (best is None or size > best[2]):
                    best = (output, key, size)
        return best

    def _drop_value(self, output: _Output, key: str, size: int) -> None:
        note = dropped_note("the traceback" if key == "traceback" else key, size, self.max_execution_bytes)
        if isinstance(output, _Stream):
            kept = utf8_prefix(output.text(), KEPT_HEAD_BYTES)
            cut = output.text_bytes - utf8_len(kept)
            output.set_text(kept)
            output.omitted = (output.omitted or 0) + cut
        elif isinstance(output, _Error):
            output.output = dict(
                output.output, traceback=[*limit_traceback(output.output["traceback"], KEPT_HEAD_BYTES), note]
            )
        else:
            data = dict(output.output["data"])
            del data[key]
            plain = data.get("text/plain")
            data["text/plain"] = f"{plain}\n{note}" if isinstance(plain, str) and plain else note
            output.output = dict(output.output, data=data)
        self._resize(output)

    def _drop_last(self) -> None:
        output = self._outputs.pop()
        output.alive = False
        self.total -= output.size
        self.dropped_outputs += 1

    # -- clear_output --------------------------------------------------------------------

    def _flush_pending_clear(self) -> None:
        if self._clear_on_next:
            self._clear_on_next = False
            self._clear()

    def _clear(self) -> None:
        for output in self._outputs:
            output.alive = False
        self._outputs = []
        self._display_ids = {}
        self.total = 0
        self.dropped_outputs = 0
