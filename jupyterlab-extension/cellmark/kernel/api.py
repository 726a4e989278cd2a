"""What notebook code uses: `cellmark.config`, `cellmark.run`, `cellmark.log()`,
`cellmark.summary`, `cellmark.status()`, `cellmark.flush()`. When capture is not active nothing is sent; a warning says so."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional

from .session import SESSION

# The server's limits (server/src/wire.ts); test/integration/wire-limits.test.ts fails when they differ.
MAX_NAME_CHARS = 200
MAX_TAG_CHARS = 64
MAX_TAGS = 50
MAX_NOTES_BYTES = 64 * 1024


class CellmarkWarning(UserWarning):
    pass


def _not_active(what: str) -> None:
    warnings.warn(
        f"cellmark: capture is not active in this kernel (the JupyterLab extension activates it), "
        f"so {what} is not recorded",
        CellmarkWarning,
        stacklevel=3,
    )


class Config(Mapping):
    """The run's config as recorded so far; `update({...})` sets keys explicitly; `auto = False`
    stops automatic config (names set to literals) for this kernel, while `update()` and cells
    with a `# cellmark: config` line still record."""

    @property
    def auto(self) -> bool:
        return SESSION.config.auto and SESSION.capture_config

    @auto.setter
    def auto(self, on: bool) -> None:
        if not isinstance(on, bool):
            raise TypeError(f"cellmark.config.auto is True or False, not {on!r}")
        SESSION.config.auto = on
        if on:
            SESSION.capture_config = True

    def update(self, values: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        merged = dict(values or {}, **kwargs)
        token = SESSION.sender.token if SESSION.sender is not None else None
        _, skipped = SESSION.config.update(merged, forbidden=(token,) if token else ())
        if skipped:
            warnings.warn(
                f"cellmark: not recording {', '.join(map(repr, skipped))}: the name looks secret",
                CellmarkWarning,
                stacklevel=2,
            )
        if not SESSION.active:
            _not_active("this config (it is kept and sent once capture is activated)")

    def __getitem__(self, key: str) -> Any:
        return SESSION.config.values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(SESSION.config.values())

    def __len__(self) -> int:
        return len(SESSION.config.values())

    def __repr__(self) -> str:
        return f"cellmark.config({SESSION.config.values()!r})"


def _check_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    out = []
    for tag in tags:
        if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_TAG_CHARS or "\x00" in tag:
            raise ValueError(f"cellmark: a tag is a string of 1–{MAX_TAG_CHARS} characters without NUL, not {tag!r}")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValueError(f"cellmark: at most {MAX_TAGS} tags")
    return out


def _update_run(change: dict[str, Any], what: str) -> bool:
    if not SESSION.active or SESSION.run_id is None:
        _not_active(what)
        return False
    SESSION.enqueue("ingest.updateRun", {"runId": SESSION.run_id, **change})
    return True


class Tags:
    """The run's tags as this kernel knows them (the server's answer once it has one)."""

    def _known(self) -> list[str]:
        return list(SESSION.run_info.tags or [])

    def add(self, *tags: str) -> None:
        new = _check_tags(tags)
        if _update_run({"addTags": new}, "the tags"):
            SESSION.run_info.tags = self._known() + [t for t in new if t not in self._known()]

    def remove(self, *tags: str) -> None:
        gone = _check_tags(tags)
        if _update_run({"removeTags": gone}, "the tags"):
            SESSION.run_info.tags = [t for t in self._known() if t not in gone]

    def set(self, tags: Iterable[str]) -> None:
        new = _check_tags(tags)
        if _update_run({"tags": new}, "the tags"):
            SESSION.run_info.tags = new

    def __iter__(self) -> Iterator[str]:
        return iter(self._known())

    def __contains__(self, tag: object) -> bool:
        return tag in self._known()

    def __len__(self) -> int:
        return len(self._known())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, Tags)) else NotImplemented

    def __repr__(self) -> str:
        return f"cellmark.run.tags({self._known()!r})"


class Run:
    """`cellmark.run.name = …`, `cellmark.run.tags.add(…)`, `cellmark.run.notes = …`."""

    _tags = Tags()

    @property
    def id(self) -> Optional[str]:
        return SESSION.run_id

    @property
    def name(self) -> Optional[str]:
        return SESSION.run_info.name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME_CHARS or "\x00" in value:
            raise ValueError(f"cellmark: a run name is a string of 1–{MAX_NAME_CHARS} characters without NUL")
        if _update_run({"name": value}, "the run name"):
            SESSION.run_info.name = value

    @property
    def tags(self) -> Tags:
        return self._tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        if value is not self._tags:  # `run.tags += …` style rebinding of the same object
            self._tags.set(value)

    @property
    def notes(self) -> Optional[str]:
        return SESSION.run_info.notes

    @notes.setter
    def notes(self, value: str) -> None:
        if (
            not isinstance(value, str)
            or len(value.encode("utf-8", "surrogatepass")) > MAX_NOTES_BYTES
            or "\x00" in value
        ):
            raise ValueError("cellmark: notes are a string of at most 64 KiB, without NUL")
        if _update_run({"notes": value}, "the notes"):
            SESSION.run_info.notes = value

    def __repr__(self) -> str:
        return f"cellmark.run(id={self.id!r}, name={self.name!r}, tags={list(self.tags)!r})"


class Status(dict):
    """`cellmark.status()`: a dict that prints as a short report."""

    def __repr__(self) -> str:
        if self["active"]:
            head = f"Cellmark capture: active, run {self['runId']} on {self['serverUrl']}"
        else:
            head = "Cellmark capture: not active" + (f" (last run {self['runId']})" if self["runId"] else "")
        lines = [
            head,
            f"  recorded executions: {self['recorded']}",
            f"  logged metric points: {self['loggedPoints']}",
            f"  waiting to be sent: {self['pending']} (spool {self['spoolDir']})",
        ]
        if self["failed"]:
            lines.append(f"  refused by the server: {self['failed']} (kept in {self['failedDir']})")
        if self["sendingStopped"]:
            lines.append(f"  sending stopped: {self['sendingStopped']}")
        if self["retryInSeconds"]:
            lines.append(f"  retrying in about {self['retryInSeconds']} s")
        if self["summary"]:
            lines.append(f"  summary (set by hand): {self['summary']!r}")
        sysinfo = self.get("system") or {}
        if sysinfo.get("intervalSeconds"):
            gpu = sysinfo.get("gpuSource") or sysinfo.get("gpuError") or "GPUs: probing"
            lines.append(f"  system metrics every {sysinfo['intervalSeconds']:g} s ({gpu})")
        if sysinfo.get("error"):
            lines.append(f"  system metrics: {sysinfo['error']}")
        if self["lastError"]:
            lines.append(f"  last error: {self['lastError']}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class Summary:
    """`cellmark.summary["best_acc"] = 0.97`; `cellmark.summary["loss"]` is the value set here,
    else the last value logged for that key in this kernel; `.min(key)` / `.max(key)` are over
    the finite values logged in this kernel. Set values go to the run's summary on the server
    (`ingest.summary`), where they win over the last logged value in the runs table."""

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not 1 <= len(key) <= _metrics().MAX_KEY_CHARS or "\x00" in key:
            raise ValueError(
                f"cellmark.summary: a key is a string of 1–{_metrics().MAX_KEY_CHARS} characters without NUL, not {key!r}"
            )
        m = _metrics()
        wire = m.wire_summary(key, value)  # ValueError (nothing kept) for what the server refuses
        SESSION.metrics.summary_set[key] = value if value is None or isinstance(value, (str, bool)) else m.decode(wire)
        SESSION.metrics.sync_summary(key)

    def __delitem__(self, key: str) -> None:
        del SESSION.metrics.summary_set[key]
        SESSION.metrics.sync_summary(key)

    def __getitem__(self, key: str) -> Any:
        if key in SESSION.metrics.summary_set:
            return SESSION.metrics.summary_set[key]
        stats = SESSION.metrics.stats.get(key)
        if stats is None:
            raise KeyError(key)
        return _metrics().decode(stats.last)

    def _stat(self, key: str, which: str) -> float:
        stats = SESSION.metrics.stats.get(key)
        if stats is None:
            raise KeyError(key)
        value = getattr(stats, which)
        return float("nan") if value is None else value

    def min(self, key: str) -> float:
        """The smallest finite value logged for key in this kernel (NaN if none was finite)."""
        return self._stat(key, "min")

    def max(self, key: str) -> float:
        """The largest finite value logged for key in this kernel (NaN if none was finite)."""
        return self._stat(key, "max")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> list[str]:
        return sorted(set(SESSION.metrics.stats) | set(SESSION.metrics.summary_set))

    def __contains__(self, key: object) -> bool:
        return key in SESSION.metrics.summary_set or key in SESSION.metrics.stats

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"cellmark.summary({ {k: self[k] for k in self.keys()}!r})"


def _metrics():
    from . import metrics

    return metrics


_log_warned = False


def log(values: Mapping[str, Any], step: Optional[int] = None) -> None:
    """Logs metric values at one step: `cellmark.log({"loss": 0.3, "acc": 0.9})`.

    step defaults to the next step after the largest one logged in this run; nested dicts
    become "/"-joined keys. Raises ValueError (nothing logged) for a value that is not a
    number, a key over 250 characters, or more than 1000 keys in one call."""
    global _log_warned
    kept = SESSION.metrics.log(values, step)
    if not SESSION.active and not _log_warned:
        _log_warned = True
        if kept:
            warnings.warn(
                "cellmark: capture is not active in this kernel yet (the JupyterLab extension activates it): "
                "the first metric points are held and go to the run once it is",
                CellmarkWarning,
                stacklevel=2,
            )
        else:
            _not_active("cellmark.log")


class System:
    """`cellmark.system.interval = 5`: seconds between system samples (GPU, CPU, RAM, disk,
    network), 0.5–60, default 2 or CELLMARK_SYSTEM_INTERVAL. Applies at once while sampling."""

    @property
    def interval(self) -> Optional[float]:
        return SESSION.system.interval_s

    @interval.setter
    def interval(self, seconds: float) -> None:
        SESSION.system.set_interval(seconds)

    @property
    def latest(self) -> Optional[dict]:
        """The last GPU reading the status bar got (None before the first sample)."""
        return SESSION.system.view

    def __repr__(self) -> str:
        return f"cellmark.system(interval={self.interval!r})"


config = Config()
run = Run()
summary = Summary()
system = System()


def status() -> Status:
    return Status(SESSION.status())


def flush(timeout: float = 30.0) -> bool:
    """Waits until everything recorded so far reached the server (or timeout); True if so."""
    return SESSION.flush(timeout)
