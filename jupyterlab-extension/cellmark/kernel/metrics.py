"""Metric points for `cellmark.log(...)`: validation, flattening and the wire encoding
(pure helpers; the session buffers the points and spools them as `ingest.metrics`)."""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Mapping
from typing import Any, Union

from .wire import clean_text

MAX_KEY_CHARS = 250  # the server's MAX_KEY_CHARS
MAX_POINTS_PER_PAYLOAD = 100_000  # below the server's CELLMARK_MAX_POINTS_PER_BATCH
BUFFER_POINTS = 10_000  # spooled as soon as this many are buffered
BUFFER_SECONDS = 1.0  # … or this long after the first buffered point


def max_keys_per_batch() -> int:
    """The server's CELLMARK_MAX_METRIC_KEYS_PER_BATCH (default 1000), read from the
    environment when set there too, so kernel and server agree on one machine."""
    try:
        value = int(os.environ.get("CELLMARK_MAX_METRIC_KEYS_PER_BATCH", "1000"))
    except ValueError:
        return 1000
    return value if value > 0 else 1000


WireValue = Union[float, str]


def encode(key: str, value: Any) -> WireValue:
    """A number as the server takes it: a float, or "NaN" / "Infinity" / "-Infinity"."""
    ok = isinstance(value, numbers.Real)  # int, float, bool, numpy ints and floats, Fraction
    if not ok and type(value).__module__ == "numpy":  # numpy.bool_ and 0-d arrays
        ok = getattr(value, "ndim", None) == 0 and getattr(getattr(value, "dtype", None), "kind", "") in "biuf"
    if not ok:
        kind = type(value)
        name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        raise ValueError(
            f"cellmark.log: the value of {key!r} must be a number (int, float, bool or a numpy scalar), not {name}"
        )
    try:
        f = float(value)
    except OverflowError:  # an int too large for a float
        f = math.inf if value > 0 else -math.inf
    except Exception as e:  # a number type whose conversion fails: the user's error, named
        raise ValueError(
            f"cellmark.log: the value of {key!r} could not be read as a number ({type(e).__name__}: {e})"
        ) from None
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


MAX_SUMMARY_TEXT = 1000  # the server's MAX_SUMMARY_TEXT


def wire_summary(key: str, value: Any) -> Any:
    """A hand-set summary value as the server takes it: text (≤ 1000 characters), a bool,
    None, or a number in its wire form."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_SUMMARY_TEXT:
            raise ValueError(
                f"cellmark.summary: the text value of {key!r} is {len(value)} characters, over the limit of {MAX_SUMMARY_TEXT}"
            )
        if "\x00" in value:
            raise ValueError(
                f"cellmark.summary: the text value of {key!r} contains NUL (U+0000), which the server refuses"
            )
        return clean_text(value)
    return encode(key, value)


def decode(value: WireValue) -> float:
    return (
        float(value)
        if not isinstance(value, str)
        else {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    )


def flatten(values: Any) -> list[tuple[str, WireValue]]:
    """[(key, wire value)] with nested mappings joined by "/"; raises ValueError naming the key."""
    if not isinstance(values, Mapping):
        raise ValueError(f"cellmark.log: expects a dict of metric names to numbers, not {type(values).__name__}")
    out: list[tuple[str, WireValue]] = []

    def walk(mapping: Mapping, prefix: str) -> None:
        for name, value in mapping.items():
            if not isinstance(name, str):
                raise ValueError(
                    f"cellmark.log: metric names are strings, not {type(name).__name__} ({name!r} under {prefix or 'the top level'!r})"
                )
            key = prefix + clean_text(name)
            if not name:
                raise ValueError(f"cellmark.log: empty metric name {key!r}")
            if "\x00" in name:
                raise ValueError(
                    f"cellmark.log: the metric name {key[:60]!r} contains NUL (U+0000), which the server refuses"
                )
            if isinstance(value, Mapping):
                walk(value, key + "/")
                continue
            if len(key) > MAX_KEY_CHARS:
                raise ValueError(
                    f"cellmark.log: the metric name {key[:60]!r}… is {len(key)} characters, over the limit of {MAX_KEY_CHARS}"
                )
            out.append((key, encode(key, value)))

    walk(values, "")
    return out


def check_step(step: Any) -> int:
    if isinstance(step, bool):
        raise ValueError("cellmark.log: step must be a non-negative integer, not bool")
    try:
        n = operator.index(step)
    except TypeError:
        raise ValueError(f"cellmark.log: step must be a non-negative integer, not {type(step).__name__}") from None
    if n < 0 or n > 2**53 - 1:
        raise ValueError(f"cellmark.log: step must be a non-negative integer below 2**53, not {n}")
    return n
