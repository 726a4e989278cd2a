"""cellmark.log / cellmark.summary against the fake ingest API: flattening, steps, the
wire encoding of non-finite values, errors raised in the user's cell, buffering and binding."""

from __future__ import annotations

import math
import uuid
import warnings
from fractions import Fraction

import pytest
from conftest import wait_until

import cellmark
import cellmark.kernel as ck
from cellmark.kernel import api, metric_buffer, metrics
from cellmark.kernel import session as session_mod

TOKEN = "cm_" + "m3tr1c" * 6


@pytest.fixture
def active(shell, fake, spool_root):
    run_id = str(uuid.uuid4())
    ck.activate(fake.url, TOKEN, run_id, "m.ipynb")
    return run_id


def points(fake, run_id=None) -> list[dict]:
    return [
        p
        for r in fake.calls("ingest.metrics")
        if run_id is None or r["body"]["runId"] == run_id
        for p in r["body"]["points"]
    ]


def sent(fake, n: int, run_id=None) -> list[dict]:
    assert ck.flush(10), cellmark.status()
    return wait_until(lambda: len(points(fake, run_id)) >= n and points(fake, run_id))


# -- pure helpers --------------------------------------------------------------------------


def test_flatten_joins_nested_dicts_with_slashes():
    assert metrics.flatten({"train": {"loss": 1, "opt": {"lr": 0.1}}, "acc": 0.5}) == [
        ("train/loss", 1.0),
        ("train/opt/lr", 0.1),
        ("acc", 0.5),
    ]
    assert metrics.flatten({}) == []


def test_values_numbers_bools_and_non_finite_on_the_wire():
    got = dict(
        metrics.flatten(
            {
                "i": 3,
                "f": 2.5,
                "b": True,
                "fr": Fraction(1, 4),
                "nan": float("nan"),
                "inf": math.inf,
                "ninf": -math.inf,
                "big": 10**400,
            }
        )
    )
    assert got == {
        "i": 3.0,
        "f": 2.5,
        "b": 1.0,
        "fr": 0.25,
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "big": "Infinity",
    }
    assert all(type(v) in (float, str) for v in got.values())


def test_numpy_scalars():
    import numpy as np  # a test dependency (.ci/run installs it): never skipped

    got = dict(
        metrics.flatten(
            {
                "f32": np.float32(0.5),
                "i64": np.int64(7),
                "b": np.bool_(True),
                "nan": np.float64("nan"),
                "a0": np.array(2.0),
            }
        )
    )
    assert got == {"f32": 0.5, "i64": 7.0, "b": 1.0, "nan": "NaN", "a0": 2.0}
    with pytest.raises(ValueError, match=r"'v'.*numpy.ndarray"):
        metrics.flatten({"v": np.zeros(3)})


def test_numpy_like_scalars_without_numpy():
    # what numpy.bool_ and 0-d arrays look like to the check (numpy itself may not be installed)
    class FakeDtype:
        def __init__(self, kind):
            self.kind = kind

    class FakeScalar:
        def __init__(self, value, kind, ndim=0):
            self.value, self.dtype, self.ndim = value, FakeDtype(kind), ndim

        def __float__(self):
            return float(self.value)

    FakeScalar.__module__ = "numpy"
    assert metrics.flatten({"b": FakeScalar(True, "b"), "a": FakeScalar(2.5, "f")}) == [("b", 1.0), ("a", 2.5)]
    with pytest.raises(ValueError, match=r"'v'.*numpy.*FakeScalar"):
        metrics.flatten({"v": FakeScalar(1.0, "f", ndim=1)})
    with pytest.raises(ValueError, match=r"'s'"):
        metrics.flatten({"s": FakeScalar("x", "U")})


@pytest.mark.parametrize(
    "values, match",
    [
        ({"loss": "0.3"}, r"'loss'.*not str"),
        ({"train": {"loss": None}}, r"'train/loss'.*not NoneType"),
        ({"x": [1, 2]}, r"'x'.*not list"),
        ({"z": 1j}, r"'z'.*not complex"),
        ({1: 2.0}, r"names are strings, not int"),
        ({"": 1.0}, r"empty metric name"),
        ({"k" * 251: 1.0}, r"251 characters, over the limit of 250"),
        ({"a" * 200: {"b" * 60: 1.0}}, r"261 characters"),
        ([("loss", 1.0)], r"expects a dict"),
    ],
)
def test_wrong_values_raise_naming_the_key(values, match):
    with pytest.raises(ValueError, match=match):
        metrics.flatten(values)


def test_a_key_of_250_characters_is_fine():
    assert metrics.flatten({"k" * 250: 1}) == [("k" * 250, 1.0)]


@pytest.mark.parametrize("step", [-1, 1.5, "3", True, 2**53])
def test_bad_steps(step):
    with pytest.raises(ValueError, match="step"):
        metrics.check_step(step)


# -- in a shell ----------------------------------------------------------------------------


def test_steps_auto_increment_per_call_and_after_the_largest_explicit_step(active, fake):
    cellmark.log({"loss": 1.0, "acc": 0.1})
    cellmark.log({"loss": 0.9})
    cellmark.log({"loss": 0.5}, step=10)
    cellmark.log({"loss": 0.7}, step=3)  # going back does not lower the next step
    cellmark.log({"loss": 0.4, "train": {"lr": 0.01}})
    got = sent(fake, 7, active)
    assert [(p["key"], p["step"], p["value"]) for p in got] == [
        ("loss", 0, 1.0),
        ("acc", 0, 0.1),
        ("loss", 1, 0.9),
        ("loss", 10, 0.5),
        ("loss", 3, 0.7),
        ("loss", 11, 0.4),
        ("train/lr", 11, 0.01),
    ]
    assert got[0]["time"] == got[1]["time"] and got[0]["time"].endswith("Z")
    # consecutive calls were coalesced into one payload
    assert len(fake.calls("ingest.metrics")) == 1
    assert cellmark.status()["loggedPoints"] == 7


def test_non_finite_values_are_sent_as_strings(active, fake):
    cellmark.log({"a": float("nan"), "b": float("inf"), "c": float("-inf"), "d": 2})
    got = sent(fake, 4, active)
    assert [p["value"] for p in got] == ["NaN", "Infinity", "-Infinity", 2.0]
    raw = fake.calls("ingest.metrics")[0]["raw"]
    assert b'"value":"NaN"' in raw and b'"value":"Infinity"' in raw and b'"value":"-Infinity"' in raw


def test_a_bad_value_raises_in_the_cell_and_nothing_of_that_call_is_sent(shell, active, fake):
    result = shell.run_cell("import cellmark\ncellmark.log({'good': 1.0, 'bad': 'x'})", store_history=True)
    assert isinstance(result.error_in_exec, ValueError) and "'bad'" in str(result.error_in_exec)
    result = shell.run_cell("cellmark.log({'ok': 2.0})", store_history=True)
    assert result.success
    got = sent(fake, 1, active)
    assert [(p["key"], p["step"]) for p in got] == [("ok", 0)]  # the failed call used no step either


def test_too_many_keys_in_one_call(active, fake, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(
        ValueError, match=r"1001 metrics in one call, over the limit of 1000 \(CELLMARK_MAX_METRIC_KEYS_PER_BATCH\)"
    ):
        cellmark.log({f"k{i}": i for i in range(1001)})
    cellmark.log({f"k{i}": i for i in range(1000)})
    monkeypatch.setenv("CELLMARK_MAX_METRIC_KEYS_PER_BATCH", "5")
    with pytest.raises(ValueError, match="limit of 5"):
        cellmark.log({f"k{i}": i for i in range(6)})


def test_payloads_stay_within_the_key_limit_across_calls(active, fake, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CELLMARK_MAX_METRIC_KEYS_PER_BATCH", "3")
    cellmark.log({"a": 1, "b": 2})
    cellmark.log({"c": 3, "d": 4})
    cellmark.log({"a": 5})
    sent(fake, 5, active)
    bodies = [r["body"] for r in fake.calls("ingest.metrics")]
    assert all(len({p["key"] for p in b["points"]}) <= 3 for b in bodies) and len(bodies) >= 2


def test_buffered_points_go_out_on_their_own_within_a_second(active, fake):
    cellmark.log({"loss": 1.0})
    wait_until(lambda: points(fake, active), timeout=5)


def test_a_full_buffer_is_spooled_at_once(active, fake, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(metrics, "BUFFER_POINTS", 4)
    monkeypatch.setattr(metrics, "BUFFER_SECONDS", 60.0)
    cellmark.log({"a": 1, "b": 2})
    assert session_mod.SESSION.spool.count() <= 2  # hello, environment: no metrics yet
    cellmark.log({"a": 3, "b": 4})
    wait_until(lambda: len(points(fake, active)) == 4, timeout=10)


def test_post_run_cell_spools_what_the_cell_logged(shell, active, fake, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(metrics, "BUFFER_SECONDS", 60.0)
    shell.run_cell("import cellmark\nfor i in range(5): cellmark.log({'x': i})", store_history=True)
    wait_until(lambda: len(points(fake, active)) == 5, timeout=10)


def test_points_logged_before_the_run_exists_are_bound_to_it(shell, fake, spool_root):
    ck.activate(fake.url, TOKEN, None, "early.ipynb")
    cellmark.log({"loss": 2.0})
    shell.run_cell("import cellmark\ncellmark.log({'loss': 1.5, 'acc': 0.2})", store_history=True)
    assert ck.flush(5) and not fake.calls("ingest.metrics")
    assert cellmark.status()["bufferedPoints"] == 3
    run_id = str(uuid.uuid4())
    ck.activate(fake.url, TOKEN, run_id, "early.ipynb")
    cellmark.log({"loss": 1.0})
    got = sent(fake, 4, run_id)
    assert [(p["key"], p["step"]) for p in got] == [("loss", 0), ("loss", 1), ("acc", 1), ("loss", 2)]
    assert {r["body"]["runId"] for r in fake.calls("ingest.metrics")} == {run_id}


def test_a_new_run_starts_at_step_zero(active, fake):
    cellmark.log({"loss": 1.0})
    cellmark.log({"loss": 1.0})
    other = str(uuid.uuid4())
    ck.activate(fake.url, TOKEN, other, "m.ipynb")
    cellmark.log({"loss": 0.5})
    sent(fake, 3)
    assert [(p["step"]) for p in points(fake, active)] == [0, 1]
    assert [(p["step"]) for p in points(fake, other)] == [0]


def test_points_logged_before_the_first_activation_are_held_for_the_run(
    shell, session, fake, spool_root, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(api, "_log_warned", False)
    monkeypatch.setattr(metric_buffer, "MAX_EARLY_POINTS", 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for loss in (4.0, 3.0, 2.5, 2.0):  # the kernel is still starting: the 4th is over the cap
            cellmark.log({"loss": loss})
    assert len(caught) == 1 and "held" in str(caught[0].message)
    run_id = str(uuid.uuid4())
    ck.activate(fake.url, TOKEN, run_id, "early.ipynb")
    cellmark.log({"loss": 1.0})
    got = sent(fake, 4, run_id)
    assert [(p["step"], p["value"]) for p in got] == [(0, 4.0), (1, 3.0), (2, 2.5), (3, 1.0)]


def test_not_active_after_a_deactivation_warns_once_and_keeps_nothing(session, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(api, "_log_warned", False)
    session.ever_activated = True  # capture was on, then paused
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cellmark.log({"loss": 1.0})
        cellmark.log({"loss": 2.0})
    assert len(caught) == 1 and "not active" in str(caught[0].message) and caught[0].filename == __file__
    assert session.metrics.logged == 0 and session.metrics.points == [] and "loss" not in cellmark.summary
    with pytest.raises(ValueError):  # still checked: the same code must work once capture is on
        cellmark.log({"loss": "x"})


def test_summary_reads_logged_values_and_sends_set_values(active, fake):
    for v in (3.0, 1.0, float("nan"), 2.0):
        cellmark.log({"loss": v})
    assert cellmark.summary["loss"] == 2.0
    assert cellmark.summary.min("loss") == 1.0 and cellmark.summary.max("loss") == 3.0
    cellmark.log({"loss": float("inf")})
    assert cellmark.summary["loss"] == math.inf and cellmark.summary.max("loss") == 3.0
    cellmark.summary["best_acc"] = 0.97
    cellmark.summary["loss"] = 0.5  # a set value wins over the logged one
    assert cellmark.summary["best_acc"] == 0.97 and cellmark.summary["loss"] == 0.5
    assert "best_acc" in cellmark.summary and set(cellmark.summary) == {"best_acc", "loss"}
    with pytest.raises(KeyError):
        cellmark.summary["nope"]
    with pytest.raises(KeyError):
        cellmark.summary.min("nope")
    with pytest.raises(ValueError, match="'bad'"):
        cellmark.summary["bad"] = [1]
    with pytest.raises(ValueError, match="over the limit of 1000"):
        cellmark.summary["long"] = "x" * 1001
    cellmark.summary["note"] = "tuned"
    cellmark.summary["worst"] = float("nan")
    del cellmark.summary["note"]
    status = cellmark.status()
    assert status["summary"] == {"best_acc": 0.97, "loss": 0.5, "worst": pytest.approx(float("nan"), nan_ok=True)}
    assert "summary (set by hand)" in repr(status)
    sent(fake, 5, active)
    bodies = wait_until(
        lambda: len(fake.calls("ingest.summary")) >= 5 and [r["body"] for r in fake.calls("ingest.summary")]
    )
    assert bodies == [
        {"runId": active, "set": {"best_acc": 0.97}},
        {"runId": active, "set": {"loss": 0.5}},
        {"runId": active, "set": {"note": "tuned"}},
        {"runId": active, "set": {"worst": "NaN"}},
        {"runId": active, "unset": ["note"]},
    ]


def test_entry_points():
    assert cellmark.log is api.log and cellmark.summary is api.summary
    assert {"log", "summary"} <= set(dir(cellmark))


def test_a_key_with_a_lone_surrogate_is_cleaned(active, fake):
    cellmark.log({"bad\ud800key": 1.0})
    assert [p["key"] for p in sent(fake, 1, active)] == ["bad\ufffdkey"]


def test_capture_paused_and_resumed_into_the_same_run_keeps_counting_steps(active, fake):
    cellmark.log({"loss": 1.0})
    cellmark.log({"loss": 0.9})
    ck.deactivate()  # the frontend pauses capture …
    ck.activate(fake.url, TOKEN, active, "m.ipynb")  # … and resumes it in the same run
    cellmark.log({"loss": 0.8})
    assert [p["step"] for p in sent(fake, 3, active)] == [0, 1, 2]
