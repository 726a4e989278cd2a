"""Property-based tests (hypothesis) of the kernel side's payload builders: `cellmark.log`
flattening and validation, config capture, the spool round trip and the post-run hook.
Hostile values (unpaired surrogates, NUL, CR/LF, huge and non-finite numbers, objects whose
methods raise) never break the hook, bad input to `cellmark.log` is a ValueError naming the
key, and what is spooled is JSON that the real server accepts."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest
from conftest import wait_until
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cellmark.kernel import config_capture, metrics, wire
from cellmark.kernel.spool import Spool

SPECIAL = ["\ud800", "\udfff", "\x00", "\r\n", "/", "\u202e", "\ufeff", "x" * 300]
text = st.one_of(
    st.text(max_size=30), st.text(st.characters(exclude_categories=()), max_size=30), st.sampled_from(SPECIAL)
)


class Hostile:
    """A user object whose every protocol method raises."""

    def __len__(self) -> int:
        raise RuntimeError("len")

    def __iter__(self):
        raise RuntimeError("iter")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = object.__hash__

    def __float__(self) -> float:
        raise RuntimeError("float")


class HostileFloat(float):
    def __float__(self) -> float:
        raise RuntimeError("float")


class ItemsRaise(dict):
    def items(self):
        raise RuntimeError("items")


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.fractions(),
    st.decimals(allow_nan=True),
    st.complex_numbers(),
)
leaves = st.one_of(
    numbers, text, st.none(), st.builds(Hostile), st.builds(HostileFloat, st.floats()), st.builds(object)
)
keys = st.one_of(text, st.integers(), st.none(), st.tuples(st.integers()), st.just(""))
trees = st.recursive(
    leaves, lambda inner: st.dictionaries(keys, inner, max_size=4) | st.lists(inner, max_size=4), max_leaves=15
)


def names_in(value: Any) -> list[Any]:
    """Every key of every mapping in a tree."""
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *names_in(v)]]
    if isinstance(value, list):
        return [k for v in value for k in names_in(v)]
    return []


# global names (not filtered from text: almost no text is an identifier)
identifiers = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
    st.sampled_from(["λ", "naïve", "x" * 300, "In", "api_key", "lr"]),
)


def server_accepts_key(key: str) -> bool:
    return 1 <= len(key) <= metrics.MAX_KEY_CHARS and "\x00" not in key and not wire._SURROGATE.search(key)


@given(st.one_of(st.dictionaries(keys, trees, max_size=5), leaves))
@example({"a\x00b": 1.0})
@example({"ok": {"\ud800": float("nan")}})
@example({"0": HostileFloat(0.0)})  # found by hypothesis: a RuntimeError escaped cellmark.log
@settings(max_examples=300, deadline=None)
def test_log_flattens_or_names_the_key(values: Any) -> None:
    try:
        flat = metrics.flatten(values)
    except ValueError as e:
        message = str(e)
        assert message.startswith("cellmark.log: ")
        if isinstance(values, dict):
            named = [repr(wire.clean_text(n) if isinstance(n, str) else n)[1:-1][:30] for n in names_in(values)]
            assert any(n in message for n in named), message
        return
    for key, value in flat:
        assert server_accepts_key(key), key
        assert (isinstance(value, float) and math.isfinite(value)) or value in ("NaN", "Infinity", "-Infinity")
    wire.dumps([{"key": k, "value": v} for k, v in flat], cleaned=True)  # no NaN literal, valid UTF-8


@given(st.dictionaries(st.one_of(text, st.integers()), trees, max_size=8))
@settings(max_examples=300, deadline=None)
def test_config_capture_never_raises_and_keeps_only_what_the_server_takes(user_ns: dict) -> None:
    user_ns["evil_mapping"] = ItemsRaise(a=1)
    found = config_capture.capture_globals(user_ns)
    for key, value in found.items():
        assert 1 <= len(key) <= config_capture.MAX_KEY_CHARS
        assert len(wire.dumps(value)) <= config_capture.MAX_JSON_BYTES


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        text,
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_spool_round_trip(tmp_path, payload: Any) -> None:
    spool = Spool("http://127.0.0.1:9", root=str(tmp_path / uuid.uuid4().hex))
    spool.open()
    try:
        spool.append("ingest.environment", {"environment": payload})
        [entry] = spool.pending()
        with open(entry.path, "rb") as f:  # the record's bytes in the log
            f.seek(entry.offset)
            raw = f.read(entry.size)
        assert json.loads(raw.decode("utf-8"))  # strict UTF-8: no lone surrogate got through
        assert spool.load(entry)["input"] == {"environment": wire.clean(payload)}
    finally:
        spool.close()


@pytest.fixture(scope="module")
def server_run(account):
    return account.start_run("props/hypothesis.ipynb")


@given(st.dictionaries(text, st.one_of(numbers, st.dictionaries(text, numbers, max_size=3)), min_size=1, max_size=6))
@example({"\ufeff": 0.0})
@example({"loss": float("inf"), "a/\ud800": 10**400})
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_what_log_builds_the_server_accepts(account, server_run, values: dict) -> None:
    try:
        flat = metrics.flatten(values)
    except ValueError:
        return
    points = [{"key": k, "step": 0, "value": v, "time": wire.now_iso()} for k, v in flat]
    body = json.loads(wire.dumps({"runId": server_run, "points": points}, cleaned=True))
    assert account.ingest("ingest.metrics", body)["accepted"] == len(points)


@given(st.dictionaries(identifiers, trees, max_size=6))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_config_capture_the_server_accepts(account, server_run, user_ns: dict) -> None:
    found = config_capture.capture_globals(user_ns)
    cell = {
        "executionKey": uuid.uuid4().hex,
        "source": "",
        "status": "ok",
        "startedAt": wire.now_iso(),
        "endedAt": wire.now_iso(),
        "config": found,
    }
    body = json.loads(wire.dumps({"runId": server_run, "origin": "kernel", "cells": [cell]}))
    assert account.ingest("ingest.cells", body)["accepted"] == 1


@given(st.dictionaries(identifiers, leaves, min_size=1, max_size=6))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_hostile_globals_never_break_the_hook(shell, fake, spool_root, capfd, user_ns: dict) -> None:
    import cellmark.kernel as ck

    ck.activate(fake.url, "cm_" + "h0st1le" * 6, str(uuid.uuid4()), "h.ipynb")
    try:
        shell.user_ns.update(user_ns)
        result = shell.run_cell("pass", store_history=True)
        assert result.error_in_exec is None and result.error_before_exec is None
        assert ck.flush(10)
        records = wait_until(
            lambda: [c for r in fake.calls("ingest.cells") for c in r["body"]["cells"] if c["status"] != "running"]
        )
        assert records[-1]["source"] == "pass"
        assert "Error in callback" not in capfd.readouterr().err
    finally:
        ck.deactivate()
        for name in user_ns:
            shell.user_ns.pop(name, None)
