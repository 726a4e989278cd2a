"""Which globals count as config, their JSON form, secrets, and per-execution diffs."""

from __future__ import annotations

import collections
import fractions
import math
import numbers
import os

import pytest

from cellmark.kernel import config_capture as cc


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "hf_token",
        "HF_TOKEN",
        "OPENAI_API_KEY",
        "api_key",
        "apiKey",
        "ApiKey",
        "secret",
        "client_secret",
        "aws_secret_access_key",
        "db_password",
        "dbPassword",
        "PASSWD",
        "my_passwd",
        "credentials",
        "gcp_credential_path",
        "auth",
        "auth_header",
        "Authorization",
        "private_key",
        "session_cookie",
        "bearer",
        "mytoken",
        "SecretSauce",
    ],
)
def test_secret_looking_names(name):
    assert cc.is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "lr",
        "learning_rate",
        "batch_size",
        "layers",
        "epochs",
        "model_name",
        "dropout",
        "seed",
        "optimizer",
        "n_heads",
        "dataset",
    ],
)
def test_ordinary_names(name):
    assert not cc.is_secret_name(name)


def test_substring_match_on_parts_is_deliberately_broad():
    # "case-insensitive substring match on name parts": these are skipped on purpose;
    # cellmark.config.update({...}) still records them when the user wants.
    assert cc.is_secret_name("max_tokens")
    assert cc.is_secret_name("tokenizer_name")
    assert cc.is_secret_name("author")
    assert cc.is_secret_name("num_keys")


def test_scalars_and_non_finite_floats():
    assert cc.to_config_value(3) == 3
    assert cc.to_config_value(0.001) == 0.001
    assert cc.to_config_value(True) is True
    assert cc.to_config_value(None) is None
    assert cc.to_config_value("adam") == "adam"
    assert cc.to_config_value(float("nan")) == "NaN"
    assert cc.to_config_value(float("inf")) == "Infinity"
    assert cc.to_config_value(-math.inf) == "-Infinity"
    assert cc.to_config_value([1.0, float("nan")]) == [1.0, "NaN"]
    assert cc.to_config_value(fractions.Fraction(1, 4)) == 0.25  # numbers.Real, like numpy floats


def test_numpy_like_scalars():
    # numpy's int64 is registered as numbers.Integral, its bool_ is no bool subclass; numpy
    # itself is not installed here, so stand-ins with the same shape.
    class Int64:
        def __int__(self):
            return 7

    numbers.Integral.register(Int64)

    class bool_:
        def __bool__(self):
            return True

    assert cc.to_config_value(Int64()) == 7 and type(cc.to_config_value(Int64())) is int
    assert cc.to_config_value(bool_()) is True


def test_small_containers_kept_big_ones_not():
    assert cc.to_config_value((64, 64)) == [64, 64]
    assert cc.to_config_value({"depth": 4, "widths": [8, 16]}) == {"depth": 4, "widths": [8, 16]}
    assert cc.to_config_value(collections.OrderedDict(a=1)) == {"a": 1}
    assert cc.to_config_value(list(range(100))) == list(range(100))
    with pytest.raises(cc.Unfit, match="100 items"):
        cc.to_config_value(list(range(101)))
    with pytest.raises(cc.Unfit, match="100 items"):  # items are counted through nesting
        cc.to_config_value([[1] * 60, [2] * 60])
    with pytest.raises(cc.Unfit, match="4 KiB"):
        cc.to_config_value(["x" * 100] * 50)
    with pytest.raises(cc.Unfit, match="4 KiB"):
        cc.to_config_value("x" * 5000)
    with pytest.raises(cc.Unfit, match="non-string key"):
        cc.to_config_value({1: "a"})
    with pytest.raises(cc.Unfit):
        cc.to_config_value({1, 2})
    with pytest.raises(cc.Unfit):
        cc.to_config_value(b"bytes")


def test_nested_secret_keys_are_dropped():
    assert cc.to_config_value({"lr": 0.1, "api_key": "abc", "nested": {"password": "x", "n": 1}}) == {
        "lr": 0.1,
        "nested": {"n": 1},
    }


def test_secret_looking_values_are_not_config():
    for value in [
        "cm_0123456789abcdefghijklmnop",
        "sk-proj-abcdefghijklmnopqrstuvwx",
        "ghp_abcdefghijklmnopqrstuvwxyz0123",
        "hf_abcdefghijklmnopqrstuvwxyz",
    ]:
        with pytest.raises(cc.Unfit, match="secret"):
            cc.to_config_value(value)
    with pytest.raises(cc.Unfit, match="secret"):
        cc.to_config_value(["ok", "prefix-THE-TOKEN-suffix"], forbidden=["THE-TOKEN"])
    assert cc.to_config_value("sk") == "sk"


class Thing:
    pass


def f():
    pass


def test_capture_globals_skips_what_is_not_config():
    ns = {
        "lr": 0.01,
        "layers": [64, 64],
        "name": "resnet",
        "_private": 1,
        "__dunder": 2,
        "os": os,
        "f": f,
        "Thing": Thing,
        "obj": Thing(),
        "lam": lambda: 1,
        "hf_token": "hf_whatever",
        "db_password": "hunter2",
        "In": ["", "x"],
        "Out": {},
        "exit": None,
        "big": list(range(1000)),
        "k" * 251: 1,
    }
    assert cc.capture_globals(ns) == {"lr": 0.01, "layers": [64, 64], "name": "resnet"}


def test_capture_globals_skips_ipython_hidden_names_only_while_unchanged():
    marker = object()
    hidden = {"shell_thing": 5, "other": marker}
    assert cc.capture_globals({"shell_thing": 5}, hidden) == {}
    assert cc.capture_globals({"other": 3}, hidden) == {"other": 3}


def test_capture_globals_survives_hostile_objects():
    class Hostile(list):
        def __iter__(self):
            raise RuntimeError("no")

    assert cc.capture_globals({"h": Hostile([1]), "ok": 1}) == {"ok": 1}


def test_tracker_records_only_changes():
    t = cc.ConfigTracker()
    ns = {"lr": 0.1, "epochs": 3}
    assert t.changes(ns) == {"lr": 0.1, "epochs": 3}
    assert t.changes(ns) == {}
    ns["lr"] = 0.2
    assert t.changes(ns) == {"lr": 0.2}
    ns["epochs"] = 3.0  # same number, different JSON type: a change
    assert t.changes(ns) == {"epochs": 3.0}
    ns["layers"] = [1]
    assert t.changes(ns) == {"layers": [1]}
    ns["layers"].append(2)  # mutated in place
    assert t.changes(ns) == {"layers": [1, 2]}
    del ns["lr"]
    assert t.changes(ns) == {}
    ns["lr"] = 0.2  # back after a del: recorded again, it changed from "absent"
    assert t.changes(ns) == {"lr": 0.2}
    assert t.values() == {"lr": 0.2, "epochs": 3.0, "layers": [1, 2]}


def test_explicit_wins_over_automatic():
    t = cc.ConfigTracker()
    ns = {"lr": 0.1}
    t.update({"lr": 0.5, "batch": 32})
    assert t.changes(ns) == {"lr": 0.5, "batch": 32}
    ns["lr"] = 0.9  # the key belongs to the explicit path now
    assert t.changes(ns) == {}
    t.update({"lr": 0.6})
    assert t.changes(ns) == {"lr": 0.6}
    assert t.values()["lr"] == 0.6


def test_update_validates_everything_before_applying():
    t = cc.ConfigTracker()
    with pytest.raises(TypeError, match="'bad'"):
        t.update({"fine": 1, "bad": object()})
    with pytest.raises(TypeError):
        t.update({3: 1})
    with pytest.raises(ValueError, match="longer than 250"):
        t.update({"k" * 251: 1})
    with pytest.raises(TypeError):
        t.update([("a", 1)])
    assert t.values() == {} and t.changes(None) == {}
    applied, skipped = t.update({"lr": float("inf"), "api_key": "x"})
    assert applied == {"lr": "Infinity"} and skipped == ["api_key"]


def test_new_run_sends_everything_again():
    t = cc.ConfigTracker()
    ns = {"lr": 0.1}
    t.update({"batch": 8})
    assert t.changes(ns) == {"batch": 8, "lr": 0.1}
    t.new_run()
    assert t.changes(ns) == {"batch": 8, "lr": 0.1}
    assert t.changes(ns) == {}


def test_no_more_keys_per_execution_than_the_server_takes():
    t = cc.ConfigTracker()
    ns = {f"v{i}": i for i in range(cc.MAX_KEYS_PER_EXECUTION + 5)}
    first = t.changes(ns)
    assert len(first) == cc.MAX_KEYS_PER_EXECUTION
    assert t.changes(ns) == {f"v{i}": i for i in range(cc.MAX_KEYS_PER_EXECUTION, cc.MAX_KEYS_PER_EXECUTION + 5)}
