"""Checkpoints (slopelab.checkpoint): an exact round trip, and every corruption is one RunError."""

from __future__ import annotations

import functools
import json
import re
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slopelab.checkpoint import Progress, load_checkpoint, read_progress, save_checkpoint
from slopelab.history import Budget
from slopelab.model import load_model
from slopelab.optim import get_optimizer
from slopelab.problem import make_problem
from slopelab.runs import RunError
from slopelab.train import DescentConfig, DescentState, descend, start_state
from tests.helpers import blobs

X, Y = blobs(seed=2, per_class=20, num_classes=3, num_features=4)
PROBLEM = make_problem("softmax", X[::2].astype(np.float32), Y[::2], X[1::2], Y[1::2])
CONFIG = DescentConfig(reg=1e-3, batch_size=7, patience=5)


def state_after(
    steps: int, optimizer_name: str = "adam"
) -> tuple[DescentState, np.random.Generator]:
    """A run on PROBLEM (seed 4) stopped after ``steps`` updates, as an interrupt leaves it."""
    optimizer = get_optimizer(optimizer_name, learning_rate=0.05)
    rng = np.random.default_rng(4)
    state = start_state(PROBLEM, optimizer, rng)
    descend(PROBLEM, optimizer, CONFIG, Budget(steps=steps), rng, state=state)
    return state, rng


def test_round_trip_is_exact_and_the_rng_continues(tmp_path):
    state, rng = state_after(11)
    save_checkpoint(tmp_path, state, rng)
    fresh = np.random.default_rng(999)
    loaded = load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam", learning_rate=0.05), fresh)
    for item in fields(DescentState):
        saved, restored = getattr(state, item.name), getattr(loaded, item.name)
        if item.name == "opt_state":
            for a, b in zip(saved, restored, strict=True):
                for key in a if isinstance(a, dict) else [None]:
                    left, right = (a[key], b[key]) if key else (a, b)
                    np.testing.assert_array_equal(left, right)
                    assert np.asarray(left).dtype == np.asarray(right).dtype
        elif isinstance(saved, dict):
            assert saved.keys() == restored.keys()
            for key in saved:
                np.testing.assert_array_equal(saved[key], restored[key])
                assert saved[key].dtype == restored[key].dtype
        elif isinstance(saved, np.ndarray):
            np.testing.assert_array_equal(saved, restored)
        else:
            assert saved == restored, item.name
    assert loaded.batch_in_epoch > 0 and loaded.order is not None  # really mid-epoch
    np.testing.assert_array_equal(fresh.random(5), rng.random(5))


def test_a_checkpoint_without_a_status_is_a_running_one(tmp_path):
    """Checkpoints written before the status was saved still load."""
    state, rng = state_after(5)
    save_checkpoint(tmp_path, state, rng)
    arrays = dict(np.load(tmp_path / "checkpoint.npz"))
    del arrays["status"]
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    loaded = load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), np.random.default_rng())
    assert (loaded.status, loaded.message) == ("running", "")


def replaced(document: dict, where: str, value) -> object:
    """``document`` with the entry at path ``where`` ("a/b") set to ``value``; "" replaces all."""
    if not where:
        return value
    *parents, last = where.split("/")
    target = document
    for part in parents:
        target = target[part]
    target[last] = value
    return document


def drop(key):
    return lambda arrays: arrays.pop(key)


def put(key, value):
    return lambda arrays: arrays.__setitem__(key, np.asarray(value))


CORRUPTIONS = {
    "params/W missing": (drop("params/W"), r"params/\* holds \['b'\], expected \['W', 'b'\]"),
    "params extra": (put("params/V", [1.0]), r"params/\* holds \['V', 'W', 'b'\]"),
    "W for other data": (
        put("params/W", np.zeros((5, 3))),
        r"params/W is float64 of shape \(5, 3\); the data needs floats of shape \(4, 3\)",
    ),
    "b for 4 classes": (put("params/b", np.zeros(4)), r"params/b is .* of shape \(4,\)"),
    "W of text": (put("params/W", np.full((4, 3), "x")), r"params/W is <U1 of shape \(4, 3\)"),
    "best/W shape": (put("best/W", np.zeros((4, 2))), r"best/W is float64 of shape \(4, 2\)"),
    "best/b missing": (drop("best/b"), r"best/\* holds \['W'\]"),
    "optimizer key missing": (
        drop("opt/first_moment/W"),
        r"optimizer state is missing key 'first_moment/W' for optimizer 'adam'",
    ),
    "optimizer shape": (
        put("opt/second_moment/b", np.zeros(7)),
        r"optimizer state 'second_moment/b' has shape \(7,\) but the params need \(3,\)",
    ),
    "optimizer of another rule": (put("opt/velocity/W", np.zeros((4, 3))), r"unexpected keys"),
    "order not a permutation": (put("order", np.zeros(30, int)), r"order is int64 of shape \(30"),
    "order too short": (put("order", np.arange(29)), r"a permutation of the 30 training"),
    "order of floats": (put("order", np.arange(30.0)), r"order is float64"),
    "order 2-D": (put("order", np.arange(30).reshape(5, 6)), r"order is int64 of shape \(5, 6\)"),
    "step missing": (drop("step"), r"\(step is missing\)"),
    "step an array": (put("step", [1, 2]), r"step has shape \(2,\), expected a single number"),
    "step negative": (put("step", -1), r"step is array\(-1\), expected a whole number >= 0"),
    "step a float": (put("step", 1.5), r"step is array\(1.5\), expected a whole number"),
    "epochs_done text": (put("epochs_done", "3"), r"epochs_done is array\('3'"),
    "seconds text": (put("seconds", "fast"), r"seconds is array\('fast'.*expected a number"),
    "start_loss missing": (drop("start_loss"), r"start_loss is missing"),
    "rng_state missing": (drop("rng_state"), r"rng_state is missing"),
    "rng_state cut": (put("rng_state", '{"bit_generator": "PCG64", "st'), r"not valid JSON"),
    "rng_state a number": (put("rng_state", 3), r"rng_state is int64, expected JSON text"),
    "rng_state of a dict": (put("rng_state", '{"a": 1}'), r"rng_state is not a PCG64 state"),
    "rng_state of MT19937": (
        put("rng_state", json.dumps(np.random.MT19937(0).state, default=np.ndarray.tolist)),
        r"rng_state is not a PCG64 state",
    ),
    "rng_state with a fraction": (
        put("rng_state", json.dumps(replaced(np.random.PCG64(0).state, "state/state", 0.5))),
        r"rng_state is not a PCG64 state \(numpy reads it as another one\)",
    ),
    "rng_state with true": (
        put("rng_state", json.dumps(replaced(np.random.PCG64(0).state, "has_uint32", True))),
        r"rng_state is not a PCG64 state \(numpy reads it as another one\)",
    ),
    "status cut": (put("status", '{"status": "comp'), r"status is not valid JSON"),
    "status a list": (put("status", "[1]"), r"status is \[1\]; expected"),
    "status unknown": (put("status", '{"status": "done", "message": ""}'), r"one of running, "),
    "status message": (put("status", '{"status": "completed", "message": 3}'), r"'message': 3"),
}


@functools.cache
def _saved() -> dict[str, np.ndarray]:
    state, rng = state_after(11)
    state.best_params = {key: value.copy() for key, value in state.params.items()}
    with tempfile.TemporaryDirectory() as folder:
        save_checkpoint(Path(folder), state, rng)
        with np.load(Path(folder) / "checkpoint.npz") as archive:
            return dict(archive)


def saved_arrays(tmp_path) -> dict[str, np.ndarray]:
    """The arrays of a mid-epoch checkpoint with early-stopping memory (fresh copies)."""
    return {key: value.copy() for key, value in _saved().items()}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_every_corruption_is_one_run_error(tmp_path, name):
    corrupt, message = CORRUPTIONS[name]
    arrays = saved_arrays(tmp_path)
    corrupt(arrays)
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    with pytest.raises(RunError, match=message) as raised:
        load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), np.random.default_rng())
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(f"{tmp_path / 'checkpoint.npz'} is incomplete or corrupt (")
    assert text.endswith("; remove it to train the run again from the start, or start a new run")


def test_a_checkpoint_of_another_dataset_is_refused(tmp_path):
    state, rng = state_after(3)
    save_checkpoint(tmp_path, state, rng)
    wider = make_problem("softmax", np.hstack([X, X]).astype(np.float32), Y)
    with pytest.raises(RunError, match=r"params/W is float32 of shape \(4, 3\); .* \(8, 3\)"):
        load_checkpoint(tmp_path, wider, get_optimizer("adam"), np.random.default_rng())


def test_a_missing_checkpoint_is_a_run_error(tmp_path):
    with pytest.raises(RunError, match=r"no checkpoint at .*checkpoint.npz"):
        load_checkpoint(tmp_path, PROBLEM, get_optimizer("sgd"), np.random.default_rng())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def with_json(tmp_path, entry: str, document) -> DescentState:
    arrays = saved_arrays(tmp_path)
    arrays[entry] = np.asarray(json.dumps(document))
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    return load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), np.random.default_rng())


ANY_JSON = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@ANY_JSON
@given(
    value=JSON,
    where=st.sampled_from(["", "bit_generator", "state", "state/state", "state/inc", "has_uint32"]),
)
def test_any_json_as_rng_state_loads_or_is_a_run_error(tmp_path, value, where):
    """Whatever JSON sits in rng_state: a PCG64 state, or one RunError; never a KeyError,
    TypeError or OverflowError from inside numpy."""
    document = replaced(np.random.default_rng(0).bit_generator.state, where, value)
    rng = np.random.default_rng()
    arrays = saved_arrays(tmp_path)
    arrays["rng_state"] = np.asarray(json.dumps(document))
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    try:
        load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), rng)
    except RunError as error:
        assert re.search(r"is incomplete or corrupt \(rng_state is not a PCG64 state", str(error))
    else:
        assert where in ("state/state", "state/inc", "has_uint32")  # a number that fits
        assert rng.bit_generator.state["state"]["state"] == (
            value if where == "state/state" else document["state"]["state"]
        )


@ANY_JSON
@given(value=JSON, where=st.sampled_from(["", "status", "message"]))
def test_any_json_as_status_loads_only_when_it_is_a_status(tmp_path, value, where):
    document = replaced({"status": "completed", "message": "budget spent"}, where, value)
    valid = isinstance(document, dict) and (
        document.get("status")
        in ("running", "completed", "early_stopped", "diverged", "interrupted")
        and isinstance(document.get("message"), str)
    )
    if valid:
        state = with_json(tmp_path, "status", document)
        assert (state.status, state.message) == (document["status"], document["message"])
    else:
        with pytest.raises(RunError, match=r"is incomplete or corrupt \(status is "):
            with_json(tmp_path, "status", document)


# --- what a command can learn without the data: progress, and why a folder has no model ---


def test_read_progress_is_what_the_checkpoint_holds_or_none(tmp_path):
    assert read_progress(tmp_path) is None
    state, rng = state_after(11)
    state.status, state.message = "diverged", "loss diverged at step 11"
    save_checkpoint(tmp_path, state, rng)
    assert read_progress(tmp_path) == Progress(11, state.examples, "diverged", state.message)
    assert state.examples == 2 * 30 + 7  # two epochs of 30 examples, then one batch of 7


@pytest.mark.parametrize(
    "name", ["step missing", "step negative", "status unknown", "status a list"]
)
def test_read_progress_of_a_corrupt_checkpoint_is_one_run_error(tmp_path, name):
    corrupt, message = CORRUPTIONS[name]
    arrays = saved_arrays(tmp_path)
    corrupt(arrays)
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    with pytest.raises(RunError, match=message) as raised:
        read_progress(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / 'checkpoint.npz'} is incomplete or corrupt")


def plan(
    optimizer: str = "adam", batch_size: int | None = 7, sampling: str = "shuffle", seed: int = 4
) -> dict:
    return {"optimizer": optimizer, "batch_size": batch_size, "sampling": sampling, "seed": seed}


def test_a_checkpoint_of_another_update_rule_is_refused_by_name(tmp_path):
    state, rng = state_after(3, "momentum")
    save_checkpoint(tmp_path, state, rng, plan("momentum"))
    with pytest.raises(
        RunError,
        match=r"holds the state of update rule 'momentum', but the run's config.json now says "
        r"'nesterov'; set optimizer.optimizer back to 'momentum', or remove the checkpoint",
    ):  # the same state arrays: without the plan, nesterov would silently take over
        load_checkpoint(
            tmp_path, PROBLEM, get_optimizer("nesterov"), np.random.default_rng(), plan("nesterov")
        )
    load_checkpoint(
        tmp_path, PROBLEM, get_optimizer("momentum"), np.random.default_rng(), plan("momentum")
    )


@pytest.mark.parametrize("steps", [3, 5])  # in the middle of an epoch, and at its end
def test_a_checkpoint_of_another_seed_is_refused(tmp_path, steps):
    """The saved random stream continues: a new seed in config.json would be silently
    ignored."""
    state, rng = state_after(steps)
    save_checkpoint(tmp_path, state, rng, plan())
    with pytest.raises(
        RunError,
        match=r"continues the random numbers of seed 4, but the run's config.json now says 5; "
        r"set training.seed back to 4, or remove the checkpoint",
    ):
        load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), rng, plan(seed=5))


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"batch_size": 61}, r"with batch_size 7, but the run's config.json now says 61; set "),
        ({"batch_size": None}, r"with batch_size 7, but .* now says the full batch; set training"),
        ({"sampling": "replacement"}, r"with sampling 'shuffle', but .* now says 'replacement'"),
    ],
)
def test_other_batches_in_the_middle_of_an_epoch_are_refused(tmp_path, changed, message):
    """An epoch's position counts batches of the saved size: other batches would take an
    empty slice of the permutation (a NaN loss, reported as divergence) or skip examples."""
    state, rng = state_after(3)  # mid-epoch: 3 of 5 batches
    save_checkpoint(tmp_path, state, rng, plan())
    with pytest.raises(RunError, match=rf"stopped in the middle of an epoch {message}"):
        load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), rng, plan(**changed))


@pytest.mark.parametrize("changed", [{"batch_size": 61}, {"sampling": "replacement"}, {}])
def test_batches_may_change_at_the_end_of_an_epoch(tmp_path, changed):
    state, rng = state_after(5)  # one whole epoch of 5 batches
    assert state.batch_in_epoch == 0
    save_checkpoint(tmp_path, state, rng, plan())
    loaded = load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), rng, plan(**changed))
    assert loaded.step == 5


@pytest.mark.parametrize("saved", ['{"optimizer": "adam"}', "[]", '"adam"', "{"])
def test_a_damaged_plan_is_a_run_error(tmp_path, saved):
    arrays = saved_arrays(tmp_path)
    arrays["plan"] = np.asarray(saved)
    np.savez(tmp_path / "checkpoint.npz", **arrays)
    with pytest.raises(RunError, match=r"checkpoint.npz is incomplete or corrupt \(plan is "):
        load_checkpoint(tmp_path, PROBLEM, get_optimizer("adam"), np.random.default_rng(), plan())


def train_folder(folder: Path, command: str = "train", status: str | None = None) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"command": command}))
    if status is not None:
        state, rng = state_after(4)
        state.status, state.message = status, f"{status} at step 4 (how it went)"
        save_checkpoint(folder, state, rng)
    return folder


MISSING_MODELS = {
    "diverged": (
        lambda d: train_folder(d, status="diverged"),
        r"{d} diverged at step 4, so it saved no model: start a new run \(diverged at step 4 "
        r"\(how it went\)\)",
    ),
    "interrupted": (
        lambda d: train_folder(d, status="interrupted"),
        r"{d} has not finished \(its checkpoint is at step 4\) and saved no model yet; finish "
        r"it with slopelab train --resume {d}",
    ),
    "killed in its first epoch": (
        lambda d: train_folder(d),
        r"{d} stopped before its first epoch ended and saved no model; train it with slopelab "
        r"train --resume {d}",
    ),
    "a compare run": (
        lambda d: train_folder(d, "compare"),
        r"{d} is a compare run; only train runs save a model \(model.npz\)",
    ),
    "any folder": (
        lambda d: d.mkdir(),
        r"{d} holds no model.npz and no readable config.json; give the folder of a train run, "
        "or a model.npz file",
    ),
    "a broken checkpoint": (
        lambda d: (train_folder(d), (d / "checkpoint.npz").write_bytes(b"PK\x03\x04")),
        r"{d} saved no model, and {d}/checkpoint.npz is not a readable checkpoint: .*; "
        "remove it to train the run again from the start",
    ),
}


@pytest.mark.parametrize("case", sorted(MISSING_MODELS))
def test_a_run_folder_without_a_model_says_why(tmp_path, case):
    make, message = MISSING_MODELS[case]
    run_dir = tmp_path / "run"
    make(run_dir)
    expected = message.format(d=re.escape(str(run_dir)))
    with pytest.raises(RunError, match=f"^{expected}$"):
        load_model(run_dir)
