"""Config capture: which values count as configuration, their JSON form, and what changed.

Which names are looked at comes from the cell's source (cell_bindings.py): automatic config is
the names a cell sets to a literal at top level; a name the cell binds any other way (a loop
variable, a call's result, `+=`) stops being tracked until a cell sets it to a literal again.
A `# cellmark: config` line makes every top-level assignment of the cell config, whatever its
value. The value itself is read from the namespace after the cell and must be a JSON scalar
(strings up to 4 KiB) or a small list/dict of them (at most 100 items in all, at most 4 KiB as
JSON); names starting with `_` or looking secret are skipped. `update()` (behind
`cellmark.config.update`) sets keys explicitly; a key set that way belongs to the explicit path
from then on, so automatic capture never overwrites it.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MAX_ITEMS = 100
MAX_JSON_BYTES = 4 * 1024
MAX_KEY_CHARS = 250
MAX_KEYS_PER_EXECUTION = 1000  # the server refuses a record with more (and loses it whole)

# Substrings matched against each part of a name (split at `_`, `-`, `.`, digits-letters and
# camelCase), case-insensitively. Deliberately broad: a false positive only costs a config
# value the user can still send with cellmark.config.update().
SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "key",
    "credential",
    "creds",
    "auth",
    "cookie",
    "private",
    "bearer",
    "apikey",
    "api_key",
)

# Values that are secrets whatever their variable is called (well-known token shapes).
_SECRET_VALUE = re.compile(
    r"^\s*(cm_|sk-|sk_live_|ghp_|gho_|ghs_|github_pat_|hf_|xox[abprs]-|glpat-|AKIA|ASIA|AIza|eyJ)[A-Za-z0-9_\-./+=]{12,}\s*$"
)

# IPython's own names in the user namespace.
_SHELL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^0-9a-zA-Z]+")


def name_parts(name: str) -> list[str]:
    return [p.lower() for p in _SPLIT.split(_CAMEL.sub("_", name)) if p]


@functools.lru_cache(maxsize=8192)  # the same names come back after every cell
def is_secret_name(name: str) -> bool:
    parts = name_parts(name)
    joined = "_".join(parts)
    for word in SECRET_WORDS:
        if "_" in word:
            if word in joined:
                return True
        elif any(word in part for part in parts):
            return True
    return False


def looks_like_secret_value(text: str, forbidden: Iterable[str] = ()) -> bool:
    if any(f and f in text for f in forbidden):
        return True
    return bool(_SECRET_VALUE.match(text))


class Unfit(ValueError):
    """The value is not config (wrong type, too big, or secret); the message says why."""


def _scalar(value: Any, forbidden: Iterable[str]) -> Any:
    """The JSON form of a scalar, or raises Unfit. Non-finite floats become strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_JSON_BYTES or len(value.encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
            raise Unfit("string over 4 KiB")
        if looks_like_secret_value(value, forbidden):
            raise Unfit("value looks like a secret")
        return value
    if type(value).__name__ == "bool_":  # numpy.bool_ is not a bool subclass
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "Infinity" if f > 0 else "-Infinity"
        return f
    raise Unfit(f"{type(value).__name__} is not a JSON value")


def to_config_value(value: Any, *, drop_secret_keys: bool = True, forbidden: Iterable[str] = ()) -> Any:
    """The JSON form of a config value, or raises Unfit.

    Lists/tuples become lists; dicts need string keys. With drop_secret_keys, entries of
    nested dicts whose key looks secret are left out rather than recorded.
    """
    forbidden = tuple(forbidden)
    budget = [MAX_ITEMS]

    def walk(v: Any, depth: int) -> Any:
        if depth > 20:
            raise Unfit("nested too deeply")
        if isinstance(v, (list, tuple)):
            if len(v) > budget[0]:
                raise Unfit(f"more than {MAX_ITEMS} items")
            budget[0] -= len(v)
            return [walk(x, depth + 1) for x in v]
        if isinstance(v, dict):
            if len(v) > budget[0]:
                raise Unfit(f"more than {MAX_ITEMS} items")
            budget[0] -= len(v)
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    raise Unfit("dict with a non-string key")
                if drop_secret_keys and is_secret_name(k):
                    continue
                out[k] = walk(x, depth + 1)
            return out
        return _scalar(v, forbidden)

    result = walk(value, 0)
    if isinstance(result, (list, dict)) and len(canonical(result).encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
        raise Unfit("over 4 KiB as JSON")
    return result


def canonical(value: Any) -> str:
    """Comparable text of a config value (1, 1.0 and True stay different)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _fingerprint(value: Any) -> Any:
    """What changes compare: cheap for scalars (this runs over every global after every cell)."""
    if isinstance(value, (list, dict)):
        return canonical(value)
    return (type(value).__name__, value)


def capture_globals(
    user_ns: Mapping[str, Any],
    hidden: Mapping[str, Any] | None = None,
    forbidden: Iterable[str] = (),
    names: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The globals of user_ns (all of them, or only `names`) that count as config, in their JSON form."""
    hidden = hidden or {}
    forbidden = tuple(forbidden)
    found: dict[str, Any] = {}
    missing = object()
    items = list(user_ns.items()) if names is None else [(n, user_ns.get(n, missing)) for n in names]
    for name, value in items:
        if value is missing:
            continue  # the cell failed before it bound the name
        if not isinstance(name, str) or not name or name.startswith("_") or len(name) > MAX_KEY_CHARS:
            continue
        if name in _SHELL_NAMES or (name in hidden and hidden[name] is value):
            continue
        if is_secret_name(name):
            continue
        kind = type(value)
        if kind is int or kind is bool or value is None or (kind is float and math.isfinite(value)):
            found[name] = value  # the common case, without the general walk
            continue
        try:
            found[name] = to_config_value(value, forbidden=forbidden)
        except Unfit:
            continue
        except Exception:  # a user type whose isinstance/len misbehaves is simply not config
            continue
    return found


class ConfigTracker:
    """The config of the current run: automatic snapshot, explicit keys, pending changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {}  # automatic: name -> fingerprint of the value last recorded
        self._auto: dict[str, Any] = {}  # automatic: name -> the value last recorded, for the next run
        self._values: dict[str, Any] = {}  # everything recorded (or pending) for this run
        self._explicit: dict[str, Any] = {}  # explicit key -> value, for the whole kernel
        self._pending: dict[str, Any] = {}  # explicit changes not yet in an execution record
        self.auto = True  # `cellmark.config.auto = False`: only explicit and `# cellmark: config` cells

    def new_run(self) -> None:
        """A new run starts with no config: the next execution carries everything current."""
        with self._lock:
            # the names tracked so far are still set in this kernel: the new run carries them
            self._snapshot = {name: _fingerprint(value) for name, value in self._auto.items()}
            self._values = {**self._auto, **self._explicit}
            self._pending = {**self._auto, **self._explicit}

    def update(self, mapping: Mapping[str, Any], forbidden: Iterable[str] = ()) -> tuple[dict[str, Any], list[str]]:
        """Validates all of mapping first (nothing applied on error); returns (applied, skipped secret keys)."""
        if not isinstance(mapping, Mapping):
            raise TypeError(f"cellmark.config.update() takes a dict, not {type(mapping).__name__}")
        applied: dict[str, Any] = {}
        skipped: list[str] = []
        for key, value in mapping.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"config keys must be non-empty strings, not {key!r}")
            if len(key) > MAX_KEY_CHARS:
                raise ValueError(f"config key {key[:40]!r}…: longer than {MAX_KEY_CHARS} characters")
            if is_secret_name(key):
                skipped.append(key)
                continue
            try:
                applied[key] = to_config_value(value, drop_secret_keys=False, forbidden=forbidden)
            except Unfit as e:
                raise TypeError(f"config[{key!r}]: {e}") from None
        with self._lock:
            self._explicit.update(applied)
            self._values.update(applied)
            self._pending.update(applied)
        return applied, skipped

    def changes(
        self,
        user_ns: Mapping[str, Any] | None,
        hidden: Mapping[str, Any] | None = None,
        forbidden: Iterable[str] = (),
        names: Iterable[str] | None = None,
        drop: Iterable[str] = (),
    ) -> dict[str, Any]:
        """What changed since the last call: explicit changes, then automatic ones among
        `names` (every global when None). Names in `drop` were rebound by computation: they
        leave the automatic snapshot (their recorded history stays), so setting one to the same
        literal again records it again."""
        names = None if names is None else list(names)
        current = capture_globals(user_ns, hidden, forbidden, names) if user_ns is not None else None
        with self._lock:
            # Explicit changes first; automatic ones over the per-record limit are left out
            # of the snapshot, so the next executions carry them.
            changed: dict[str, Any] = dict(list(self._pending.items())[:MAX_KEYS_PER_EXECUTION])
            for key in changed:
                del self._pending[key]
            if current is not None:
                for name, value in current.items():
                    if name in self._explicit:
                        continue
                    mark = _fingerprint(value)
                    if self._snapshot.get(name) != mark:
                        if len(changed) >= MAX_KEYS_PER_EXECUTION:
                            break
                        self._snapshot[name] = mark
                        self._auto[name] = value
                        changed[name] = value
                looked = set(self._snapshot) if names is None else set(names)
                for gone in looked - set(current):
                    self._snapshot.pop(gone, None)
                    self._auto.pop(gone, None)
            for name in drop:
                self._snapshot.pop(name, None)
                self._auto.pop(name, None)
            self._values.update(changed)
            return changed

    def values(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)
