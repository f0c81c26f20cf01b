"""Tests for slopelab.schedules: hand-computed values, descriptions, round trips, validation,
and properties of every decaying schedule."""

import itertools
import json
import math
import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from slopelab.schedules import (
    SCHEDULES,
    Constant,
    CosineDecay,
    as_schedule,
    constant,
    cosine_decay,
    exponential_decay,
    inverse_time,
    linear_warmup,
    schedule_from_dict,
    step_decay,
)

# (schedule, {step: value computed by hand})
HAND_VALUES = [
    (constant(0.1), {0: 0.1, 1000: 0.1}),
    (step_decay(0.1, step_size=100), {0: 0.1, 99: 0.1, 100: 0.05, 199: 0.05, 250: 0.025}),
    (step_decay(1.0, step_size=3, gamma=0.1), {2: 1.0, 3: 0.1, 6: 0.01}),
    # 0.1 * 0.5 ** (t / 10); at t = 5 that is 0.1 / sqrt(2)
    (
        exponential_decay(0.1, decay_rate=0.5, decay_steps=10),
        {0: 0.1, 5: 0.0707106781186547, 10: 0.05, 30: 0.0125},
    ),
    (exponential_decay(2.0, decay_rate=0.9), {0: 2.0, 1: 1.8, 2: 1.62}),
    # 0.1 / (1 + 1.0 * t / 10)
    (inverse_time(0.1, decay_rate=1.0, decay_steps=10), {0: 0.1, 10: 0.05, 30: 0.025}),
    (inverse_time(1.0, decay_rate=0.5), {0: 1.0, 2: 0.5, 6: 0.25}),
    # 0.01 + 0.09 * (1 + cos(pi t / 100)) / 2; at t = 25: 0.01 + 0.045 * (1 + 0.70710678...)
    (
        cosine_decay(0.1, decay_steps=100, final_value=0.01),
        {0: 0.1, 25: 0.0868198051533946, 50: 0.055, 100: 0.01, 500: 0.01},
    ),
    (cosine_decay(1.0, decay_steps=4), {0: 1.0, 2: 0.5, 4: 0.0, 9: 0.0}),
    # ramp 0 -> 0.1 over 4 steps, then constant 0.1
    (linear_warmup(0.1, warmup_steps=4), {0: 0.0, 1: 0.025, 2: 0.05, 3: 0.075, 4: 0.1, 99: 0.1}),
    # ramp 0.02 -> 0.1 over 4 steps, then step decay shifted by 4: first halving at 4 + 10
    (
        linear_warmup(step_decay(0.1, 10), warmup_steps=4, start_value=0.02),
        {0: 0.02, 2: 0.06, 4: 0.1, 13: 0.1, 14: 0.05, 24: 0.025},
    ),
]


@pytest.mark.parametrize(("schedule", "expected"), HAND_VALUES)
def test_values_computed_by_hand(schedule, expected):
    for step, value in expected.items():
        assert schedule(step) == pytest.approx(value, rel=1e-12, abs=1e-15), step
        assert isinstance(schedule(step), float)


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (constant(0.01), "constant: 0.01"),
        (step_decay(0.1, 100), "step decay: 0.1 x 0.5 every 100 steps"),
        (exponential_decay(0.1, 0.96, 100), "exponential decay: 0.1 x 0.96 ** (step / 100)"),
        (inverse_time(0.1, 0.5, 10), "inverse-time decay: 0.1 / (1 + 0.5 * step / 10)"),
        (cosine_decay(0.1, 1000), "cosine decay: 0.1 to 0 over 1000 steps"),
        (
            linear_warmup(cosine_decay(0.1, 1000), 50),
            "linear warmup from 0 over 50 steps, then cosine decay: 0.1 to 0 over 1000 steps",
        ),
    ],
)
def test_describe(schedule, text):
    assert schedule.describe() == text


@pytest.mark.parametrize("schedule", [schedule for schedule, _ in HAND_VALUES])
def test_round_trip_through_dict_and_json(schedule):
    as_dict = schedule.to_dict()
    assert as_dict["name"] in SCHEDULES
    rebuilt = schedule_from_dict(json.loads(json.dumps(as_dict)))
    assert rebuilt == schedule
    assert [rebuilt(step) for step in range(0, 300, 7)] == [schedule(s) for s in range(0, 300, 7)]


def test_to_dict_is_the_constructor_arguments():
    assert step_decay(0.1, 100).to_dict() == {
        "name": "step",
        "init_value": 0.1,
        "step_size": 100,
        "gamma": 0.5,
    }
    assert linear_warmup(0.1, 5).to_dict() == {
        "name": "warmup",
        "schedule_or_value": {"name": "constant", "value": 0.1},
        "warmup_steps": 5,
        "start_value": 0.0,
    }


def test_registry_names():
    assert list(SCHEDULES) == [
        "constant",
        "step",
        "exponential",
        "inverse-time",
        "cosine",
        "warmup",
    ]
    assert SCHEDULES["cosine"] is cosine_decay


def test_as_schedule():
    assert as_schedule(0.01) == Constant(0.01)
    assert as_schedule(1) == Constant(1.0)
    assert as_schedule(np.float32(0.5)) == Constant(0.5)
    assert type(as_schedule(np.float64(0.5)).value) is float
    schedule = step_decay(0.1, 10)
    assert as_schedule(schedule) is schedule

    def halving(step: int) -> float:
        return 0.5**step

    assert as_schedule(halving) is halving


VALIDATION_CASES = [
    (lambda: as_schedule(0), ValueError, "learning_rate must be > 0; got 0"),
    (lambda: as_schedule(-1e-3), ValueError, "learning_rate must be > 0; got -0.001"),
    (lambda: as_schedule(math.inf), ValueError, "learning_rate must be > 0; got inf"),
    (lambda: as_schedule("fast"), TypeError, "learning_rate must be a number > 0 or a schedule"),
    (lambda: as_schedule(True), TypeError, "learning_rate must be a number > 0 or a schedule"),
    (lambda: as_schedule(None), TypeError, "got None (NoneType)"),
    (lambda: constant(0.0), ValueError, "value must be > 0; got 0.0"),
    (lambda: step_decay(0.1, 0), ValueError, "step_size must be > 0; got 0"),
    (lambda: step_decay(0.1, 2.5), TypeError, "step_size must be an integer; got 2.5 (float)"),
    (
        lambda: step_decay(0.1, 10, gamma=2),
        ValueError,
        "gamma must be in (0, 1] so the rate decays; got 2",
    ),
    (lambda: exponential_decay(-0.1, 0.9), ValueError, "init_value must be > 0; got -0.1"),
    (lambda: exponential_decay(0.1, 0.0), ValueError, "decay_rate must be > 0; got 0.0"),
    (lambda: inverse_time(0.1, -1.0), ValueError, "decay_rate must be >= 0; got -1.0"),
    (lambda: inverse_time(0.1, 1.0, decay_steps=0), ValueError, "decay_steps must be > 0; got 0"),
    (
        lambda: cosine_decay(0.1, 10, final_value=0.2),
        ValueError,
        "final_value must be <= init_value (0.1) for a decay; got 0.2",
    ),
    (lambda: linear_warmup(0.1, 0), ValueError, "warmup_steps must be > 0; got 0"),
    (
        lambda: linear_warmup(lambda step: 0.1, 5),
        TypeError,
        "schedule_or_value must be a number or a slopelab schedule",
    ),
    (
        lambda: schedule_from_dict({"name": "linear"}),
        ValueError,
        "unknown schedule 'linear'; valid choices are 'constant', 'step', 'exponential', "
        "'inverse-time', 'cosine', 'warmup'",
    ),
    (
        lambda: schedule_from_dict({"init_value": 0.1}),
        ValueError,
        "a schedule dict needs a 'name' key; got ['init_value']",
    ),
    (
        lambda: schedule_from_dict({"name": "step", "init_value": 0.1, "step_size": 1, "k": 2}),
        TypeError,
        "unknown argument 'k' for schedule 'step'; valid arguments are 'init_value', "
        "'step_size', 'gamma'",
    ),
    (
        lambda: schedule_from_dict({"name": "step", "init_value": 0.1, "step_size": -1}),
        ValueError,
        "step_size must be > 0; got -1",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), VALIDATION_CASES)
def test_validation_messages(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


init_values = st.floats(1e-6, 10.0)
decay_factors = st.floats(1e-3, 1.0)
step_counts = st.integers(1, 1_000)
decaying_schedules = st.one_of(
    st.builds(constant, init_values),
    st.builds(step_decay, init_values, step_counts, decay_factors),
    st.builds(exponential_decay, init_values, decay_factors, step_counts),
    st.builds(inverse_time, init_values, st.floats(0.0, 10.0), step_counts),
    st.builds(
        lambda init, steps, fraction: cosine_decay(init, steps, init * fraction),
        init_values,
        step_counts,
        st.floats(0.0, 1.0),
    ),
)


@given(decaying_schedules, st.lists(st.integers(0, 5_000), min_size=2, max_size=30))
@example(cosine_decay(0.401673806830982, 102, 0.401673806830982), [0, 67])  # mix rounded below
def test_decaying_schedules_are_non_increasing_and_stay_in_final_init(schedule, steps):
    values = [schedule(step) for step in sorted(steps)]
    init = schedule(0)
    final = schedule.final_value if isinstance(schedule, CosineDecay) else 0.0
    assert all(later <= earlier for earlier, later in itertools.pairwise(values))
    assert all(final <= value <= init for value in values)


@given(
    decaying_schedules,
    st.integers(1, 100),
    st.floats(0.0, 1.0),
    st.lists(st.integers(0, 300), min_size=1, max_size=20),
)
def test_warmup_ramps_up_then_follows_the_shifted_schedule(inner, warmup_steps, fraction, steps):
    schedule = linear_warmup(inner, warmup_steps, start_value=fraction * inner(0))
    ramp = [schedule(step) for step in range(warmup_steps + 1)]
    assert ramp[0] == schedule.start_value
    assert ramp[-1] == inner(0)
    assert all(later >= earlier for earlier, later in itertools.pairwise(ramp))
    for step in steps:
        assert schedule(warmup_steps + step) == inner(step)
