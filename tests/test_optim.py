"""Tests for slopelab.optim.

1. CS231n's reference vectors (FullyConnectedNets notebook) for momentum, RMSProp and Adam.
2. PyTorch's ``torch.optim`` as an independent oracle for every rule, with and without a
   schedule, and CS231n's lr-inside momentum/Nesterov forms for a constant learning rate.
3. One table of optimizers run over shared objectives (quadratic bowl, Rosenbrock, softmax).
4. Purity, dtypes, how schedules are consumed, checkpoints, validation messages.
"""

import math
import re

import numpy as np
import pytest
import torch

from slopelab.errors import InvalidTypeError, InvalidValueError, SlopelabError
from slopelab.losses import get_loss
from slopelab.optim import (
    DEFAULTS,
    OPTIMIZERS,
    AdamState,
    MomentumState,
    RmspropState,
    apply_updates,
    get_optimizer,
    state_from_arrays,
    state_to_arrays,
)
from slopelab.schedules import cosine_decay, step_decay


def run(optimizer, grad_fn, params, steps):
    """``steps`` updates of ``optimizer`` from ``params``; returns the iterates, start included."""
    state = optimizer.init(params)
    iterates = [params]
    for _ in range(steps):
        updates, state = optimizer.update(grad_fn(params), state, params)
        params = apply_updates(params, updates)
        iterates.append(params)
    return iterates


# ---------------------------------------------------------------------------------------------
# 1. CS231n reference vectors
# ---------------------------------------------------------------------------------------------

N, D = 4, 5
W_START = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
DW = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)


def rel_error(x, y):
    """The notebook's measure: ``max |x - y| / max(1e-8, |x| + |y|)``."""
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def cs231n_linspace(start, stop):
    return np.linspace(start, stop, num=N * D).reshape(N, D)


def one_reference_step(optimizer, state):
    updates, state = optimizer.update({"w": DW}, state, {"w": W_START})
    return apply_updates({"w": W_START}, updates)["w"], state


def cs231n_momentum():
    learning_rate = 1e-3
    optimizer = get_optimizer("momentum", learning_rate=learning_rate, momentum=0.9)
    v = cs231n_linspace(0.6, 0.9)
    state = MomentumState(np.array(0), {"w": -v / learning_rate})  # CS231n's v = -lr * b
    next_w, state = one_reference_step(optimizer, state)
    return {"next_w": next_w, "velocity": -learning_rate * state.velocity["w"]}


def cs231n_rmsprop():
    optimizer = get_optimizer("rmsprop", learning_rate=1e-2, decay=0.99, eps=1e-8)
    state = RmspropState(np.array(0), {"w": cs231n_linspace(0.6, 0.9)})
    next_w, state = one_reference_step(optimizer, state)
    return {"next_w": next_w, "cache": state.mean_square["w"]}


def cs231n_adam():
    optimizer = get_optimizer("adam", learning_rate=1e-2)
    m, v = cs231n_linspace(0.6, 0.9), cs231n_linspace(0.7, 0.5)
    state = AdamState(np.array(5), {"w": m}, {"w": v})  # CS231n's t = 5, used as t = 6
    next_w, state = one_reference_step(optimizer, state)
    assert int(state.count) == 6
    return {"next_w": next_w, "m": state.first_moment["w"], "v": state.second_moment["w"]}


# Expected arrays of the FullyConnectedNets notebook, printed with 8 decimals. Rounding to 8
# decimals alone allows rel_error up to 5e-9 / (2 |x|); for Adam's next_w entry [1, 3] =
# 0.01971428 (exactly 0.0197142755...) that is 1.27e-7, and the notebook itself prints
# "next_w error: 1.1395691798535431e-07" there. So that row gets 1.2e-7; all others 1e-7.
# The second check, |ours - expected| <= 5e-9, is the exact meaning of "printed with 8 decimals".
CS231N_REFERENCE = [
    (
        cs231n_momentum,
        "next_w",
        1e-7,
        [[0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
         [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
         [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
         [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]],
    ),
    (
        cs231n_momentum,
        "velocity",
        1e-7,
        [[0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
         [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
         [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
         [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]],
    ),
    (
        cs231n_rmsprop,
        "next_w",
        1e-7,
        [[-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
         [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
         [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
         [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]],
    ),
    (
        cs231n_rmsprop,
        "cache",
        1e-7,
        [[0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
         [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
         [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
         [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]],
    ),
    (
        cs231n_adam,
        "next_w",
        1.2e-7,
        [[-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
         [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
         [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
         [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]],
    ),
    (
        cs231n_adam,
        "v",
        1e-7,
        [[0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
         [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
         [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
         [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]],
    ),
    (
        cs231n_adam,
        "m",
        1e-7,
        [[0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
         [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
         [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
         [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("compute", "field", "tolerance", "expected"), CS231N_REFERENCE)
def test_matches_cs231n_reference_vectors(compute, field, tolerance, expected):
    ours = compute()[field]
    expected = np.array(expected)
    assert rel_error(ours, expected) <= tolerance
    assert np.max(np.abs(ours - expected)) <= 5e-9 + 1e-15


# ---------------------------------------------------------------------------------------------
# 2. PyTorch as the oracle; CS231n's lr-inside forms
# ---------------------------------------------------------------------------------------------

TORCH_OPTIMIZERS = {
    "sgd": lambda groups, lr: torch.optim.SGD(groups, lr=lr, momentum=0.0),
    "momentum": lambda groups, lr: torch.optim.SGD(groups, lr=lr, momentum=0.9),
    "nesterov": lambda groups, lr: torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True),
    "adagrad": lambda groups, lr: torch.optim.Adagrad(groups, lr=lr, eps=1e-10),
    "rmsprop": lambda groups, lr: torch.optim.RMSprop(groups, lr=lr, alpha=0.99, eps=1e-8),
    "adam": lambda groups, lr: torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8),
    "adamw": lambda groups, lr: torch.optim.AdamW(
        groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2
    ),
}
TORCH_STEPS, TORCH_LEARNING_RATE, TORCH_REG = 25, 0.1, 1e-2


def small_softmax_problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, size=30)
    params = {"W": 0.1 * rng.normal(size=(4, 3)), "b": 0.1 * rng.normal(size=3)}
    return X, y, params


def torch_iterates(name, X, y, params, schedule_step_size):
    """The same run in PyTorch, its gradient from autograd (an independent gradient too)."""
    W = torch.tensor(params["W"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(params["b"], dtype=torch.float64, requires_grad=True)
    X_t, y_t = torch.tensor(X), torch.tensor(y)
    # The bias gets its own group without weight decay, mirroring our no_decay=("b",).
    groups = [{"params": [W]}, {"params": [b], "weight_decay": 0.0}]
    optimizer = TORCH_OPTIMIZERS[name](groups, TORCH_LEARNING_RATE)
    scheduler = None
    if schedule_step_size is not None:
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, schedule_step_size, gamma=0.5)
    iterates = []
    for _ in range(TORCH_STEPS):
        optimizer.zero_grad()
        scores = X_t @ W + b
        loss = torch.nn.functional.cross_entropy(scores, y_t) + TORCH_REG * (W * W).sum()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        iterates.append({"W": W.detach().numpy().copy(), "b": b.detach().numpy().copy()})
    return iterates


@pytest.mark.parametrize("schedule_step_size", [None, 5], ids=["constant-lr", "step-decay"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_iterates_match_pytorch(name, schedule_step_size):
    """Float64, 25 steps, rtol 1e-10: both sides evaluate the same formulas, only in a different
    order (e.g. PyTorch divides by sqrt(1 - beta2^t) separately) and with autograd's gradient
    instead of ours, so they differ by a few ulps per step (~1e-15 relative after 25 steps on
    this smooth problem). A real mismatch (eps placement, bias correction, decay, lr applied to
    the wrong step) shows up at 1e-8 or more."""
    X, y, start = small_softmax_problem()
    loss = get_loss("softmax")
    learning_rate = TORCH_LEARNING_RATE
    if schedule_step_size is not None:
        learning_rate = step_decay(TORCH_LEARNING_RATE, schedule_step_size, gamma=0.5)
    optimizer = get_optimizer(name, learning_rate=learning_rate)
    ours = run(optimizer, lambda p: loss.parts(p, X, y, TORCH_REG).grads, start, TORCH_STEPS)[1:]
    theirs = torch_iterates(name, X, y, start, schedule_step_size)
    for step, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        for key in ("W", "b"):
            np.testing.assert_allclose(
                mine[key], reference[key], rtol=1e-10, atol=1e-13, err_msg=f"{key} step {step}"
            )
    assert np.max(np.abs(ours[-1]["W"] - start["W"])) > 0.05  # the run really went somewhere


H = np.array([1.0, 4.0, 25.0])  # curvatures of the quadratic bowl f(x) = sum(H x^2) / 2


def bowl_grads(params):
    return {"x": H * params["x"]}


def cs231n_momentum_iterates(x, learning_rate, mu, steps):
    """CS231n's lr-inside form: ``v = mu * v - lr * dx;  x += v``."""
    v, iterates = np.zeros_like(x), []
    for step in range(steps):
        v = mu * v - learning_rate(step) * H * x
        x = x + v
        iterates.append(x)
    return iterates


def cs231n_nesterov_iterates(x, learning_rate, mu, steps):
    """``v_prev = v;  v = mu * v - lr * dx;  x += -mu * v_prev + (1 + mu) * v``."""
    v, iterates = np.zeros_like(x), []
    for step in range(steps):
        v_prev = v
        v = mu * v - learning_rate(step) * H * x
        x = x - mu * v_prev + (1 + mu) * v
        iterates.append(x)
    return iterates


CS231N_FORMS = {"momentum": cs231n_momentum_iterates, "nesterov": cs231n_nesterov_iterates}


@pytest.mark.parametrize("name", CS231N_FORMS)
def test_cs231n_lr_inside_form_gives_the_same_iterates_for_a_constant_lr(name):
    start = np.array([1.0, -2.0, 0.5])
    ours = run(get_optimizer(name, learning_rate=0.03), bowl_grads, {"x": start}, 25)[1:]
    theirs = CS231N_FORMS[name](start, lambda step: 0.03, 0.9, 25)
    np.testing.assert_allclose([p["x"] for p in ours], theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", CS231N_FORMS)
def test_cs231n_lr_inside_form_differs_once_the_lr_is_scheduled(name):
    schedule = step_decay(0.03, step_size=5, gamma=0.5)
    start = np.array([1.0, -2.0, 0.5])
    ours = run(get_optimizer(name, learning_rate=schedule), bowl_grads, {"x": start}, 10)[-1]
    theirs = CS231N_FORMS[name](start, schedule, 0.9, 10)[-1]
    assert np.max(np.abs(ours["x"] - theirs)) > 1e-3


# ---------------------------------------------------------------------------------------------
# 3. One table of optimizers over shared objectives
# ---------------------------------------------------------------------------------------------


def rosenbrock_grads(params):
    """``f(a, b) = (1 - a)^2 + 100 (b - a^2)^2``, minimum 0 at (1, 1)."""
    a, b = params["x"]
    return {"x": np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])}


def gaussian_blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]])  # 3 classes, radius 3
    y = np.repeat(np.arange(3), 50)
    X = centers[y] + rng.normal(size=(150, 2))
    return X, y


BLOBS_X, BLOBS_Y = gaussian_blobs()
SOFTMAX_REG = 1e-3


def softmax_parts(params):
    return get_loss("softmax").parts(params, BLOBS_X, BLOBS_Y, SOFTMAX_REG)


def bowl_reached(params):
    return np.max(np.abs(params["x"])) <= 1e-4  # minimum at 0


def rosenbrock_reached(params):
    return np.max(np.abs(params["x"] - 1.0)) <= 1e-3  # minimum at (1, 1)


def softmax_reached(params):
    """Loss from log(3) = 1.10 at W = 0 down to <= 0.1 (the optimum is ~0.036), accuracy >= 0.95."""
    accuracy = np.mean(np.argmax(BLOBS_X @ params["W"] + params["b"], axis=1) == BLOBS_Y)
    return softmax_parts(params).total <= 0.1 and accuracy >= 0.95


OBJECTIVES = {
    # name: (start, grad_fn, reached)
    "bowl": ({"x": np.array([1.0, 1.0, 1.0])}, bowl_grads, bowl_reached),
    "rosenbrock": ({"x": np.array([-1.2, 1.0])}, rosenbrock_grads, rosenbrock_reached),
    "softmax": (
        {"W": np.zeros((2, 3)), "b": np.zeros(3)},
        lambda params: softmax_parts(params).grads,
        softmax_reached,
    ),
}

# (objective, rule, learning rate, steps): the rule must reach the objective's tolerance within
# that many steps. The adaptive rules oscillate at the scale of lr in Rosenbrock's curved valley,
# so they get a cosine decay; AdamW's weight decay pulls away from (1, 1), so it decays longest.
CONVERGENCE_TABLE = [
    ("bowl", "sgd", 0.07, 200),
    ("bowl", "momentum", 0.03, 200),
    ("bowl", "nesterov", 0.03, 200),
    ("bowl", "adagrad", 0.3, 200),
    ("bowl", "rmsprop", 0.01, 200),
    ("bowl", "adam", 0.1, 200),
    ("bowl", "adamw", 0.1, 200),
    ("rosenbrock", "sgd", 1.5e-3, 20_000),
    ("rosenbrock", "momentum", 1e-3, 3_000),
    ("rosenbrock", "nesterov", 1e-3, 3_000),
    ("rosenbrock", "adagrad", 0.5, 15_000),
    ("rosenbrock", "rmsprop", cosine_decay(3e-3, 10_000), 10_000),
    ("rosenbrock", "adam", cosine_decay(0.03, 5_000), 5_000),
    ("rosenbrock", "adamw", cosine_decay(0.01, 20_000), 20_000),
    ("softmax", "sgd", 1.0, 50),
    ("softmax", "momentum", 0.1, 50),
    ("softmax", "nesterov", 0.1, 50),
    ("softmax", "adagrad", 1.0, 50),
    ("softmax", "rmsprop", 0.1, 50),
    ("softmax", "adam", 0.1, 50),
    ("softmax", "adamw", 0.1, 50),
]


def test_convergence_table_covers_every_rule_on_every_objective():
    covered = {(objective, name) for objective, name, _, _ in CONVERGENCE_TABLE}
    assert covered == {(objective, name) for objective in OBJECTIVES for name in OPTIMIZERS}


@pytest.mark.parametrize(("objective", "name", "learning_rate", "steps"), CONVERGENCE_TABLE)
def test_reaches_the_minimum(objective, name, learning_rate, steps):
    start, grad_fn, reached = OBJECTIVES[objective]
    assert not reached(start)
    optimizer = get_optimizer(name, learning_rate=learning_rate)
    final = run(optimizer, grad_fn, start, steps)[-1]
    assert reached(final)


# ---------------------------------------------------------------------------------------------
# 4. Purity, dtypes, schedules, checkpoints, validation
# ---------------------------------------------------------------------------------------------


def linear_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(3, 2)).astype(dtype), "b": rng.normal(size=2).astype(dtype)}


def warm_state(optimizer, params, steps=2):
    """A state with non-zero moments, after ``steps`` updates."""
    state = optimizer.init(params)
    for step in range(steps):
        grads = linear_params(params["W"].dtype, seed=10 + step)
        _, state = optimizer.update(grads, state, params)
    return state


def state_arrays(state):
    return list(state_to_arrays(state).values())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_init_and_update_are_pure(name):
    optimizer = get_optimizer(name)
    params, grads = linear_params(seed=1), linear_params(seed=2)
    state = warm_state(optimizer, params)
    before = [a.copy() for a in [*params.values(), *grads.values(), *state_arrays(state)]]
    updates, new_state = optimizer.update(grads, state, params)
    optimizer.init(params)
    after = [*params.values(), *grads.values(), *state_arrays(state)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    again, _ = optimizer.update(grads, state, params)
    assert all(np.array_equal(again[key], updates[key]) for key in updates)
    outputs = [*updates.values(), *state_arrays(new_state)]
    assert not any(np.shares_memory(out, inp) for out in outputs for inp in after)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_stays_float32(name):
    # numpy float64 hyperparameters and a schedule returning a numpy float64 must not upcast
    hyperparams = {
        key: np.float64(value)
        for key, value in DEFAULTS[name].items()
        if key not in ("learning_rate", "no_decay")
    }
    optimizer = get_optimizer(name, learning_rate=lambda step: np.float64(0.01), **hyperparams)
    params = linear_params(np.float32)
    state = warm_state(optimizer, params)
    updates, state = optimizer.update(linear_params(np.float32, seed=3), state, params)
    new_params = apply_updates(params, updates)
    arrays = state_to_arrays(state)
    assert arrays.pop("count").dtype == np.int64
    assert all(a.dtype == np.float32 for a in [*updates.values(), *new_params.values()])
    assert all(a.dtype == np.float32 for a in arrays.values())


def test_apply_updates_keeps_the_params_dtype():
    params = {"x": np.ones(3, dtype=np.float32)}
    new_params = apply_updates(params, {"x": np.full(3, 0.5)})  # float64 updates
    assert new_params["x"].dtype == np.float32
    np.testing.assert_array_equal(new_params["x"], 1.5)
    assert params["x"][0] == 1.0


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_counts_updates_as_a_0d_int64(name):
    optimizer = get_optimizer(name)
    params = linear_params()
    assert optimizer.init(params).count.shape == ()
    state = warm_state(optimizer, params, steps=3)
    assert state.count.shape == () and state.count.dtype == np.int64 and int(state.count) == 3


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_k_uses_learning_rate_of_k(name):
    steps_seen = []

    def recording_schedule(step):
        steps_seen.append(step)
        return 0.01

    warm_state(get_optimizer(name, learning_rate=recording_schedule), linear_params(), steps=3)
    assert steps_seen == [0, 1, 2]


def test_sgd_with_step_decay_by_hand():
    # f(x) = x^2 / 2, so x <- (1 - lr_k) x with lr_k = 0.1, 0.1, 0.05, 0.05, 0.025 for k = 0..4
    schedule = step_decay(0.1, step_size=2, gamma=0.5)
    optimizer = get_optimizer("sgd", learning_rate=schedule)
    iterates = run(optimizer, lambda p: p, {"x": np.array(1.0)}, 5)
    expected = [1.0, 0.9, 0.81, 0.7695, 0.731025, 0.712749375]
    np.testing.assert_allclose([float(p["x"]) for p in iterates], expected, rtol=1e-15)


def test_adamw_decays_weights_but_not_the_bias():
    # With zero gradients the Adam direction is 0 / (0 + eps) = 0, so only the decay acts:
    # W <- W - lr * wd * W = 2 - 0.1 * 0.01 * 2 = 1.998; b is in no_decay and stays.
    params = {"W": np.full((2, 2), 2.0), "b": np.full(2, 2.0)}
    zeros = {key: np.zeros_like(p) for key, p in params.items()}
    optimizer = get_optimizer("adamw", learning_rate=0.1)
    updates, _ = optimizer.update(zeros, optimizer.init(params), params)
    np.testing.assert_allclose(apply_updates(params, updates)["W"], 1.998, rtol=1e-15)
    np.testing.assert_array_equal(updates["b"], 0.0)
    decay_all = get_optimizer("adamw", learning_rate=0.1, no_decay=())
    updates, _ = decay_all.update(zeros, decay_all.init(params), params)
    np.testing.assert_allclose(apply_updates(params, updates)["b"], 1.998, rtol=1e-15)


def test_defaults_follow_cs231n():
    rates = {name: get_optimizer(name).learning_rate(0) for name in OPTIMIZERS}
    assert OPTIMIZERS == ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
    assert rates == {**dict.fromkeys(OPTIMIZERS, 1e-2), "adam": 1e-3, "adamw": 1e-3}
    assert get_optimizer("adamw").hyperparams == {
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 1e-2,
        "no_decay": ("b",),
    }


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_round_trips_through_npz(name, tmp_path):
    optimizer = get_optimizer(name)
    params = linear_params()
    state = warm_state(optimizer, params, steps=3)
    np.savez(tmp_path / "state.npz", **state_to_arrays(state))
    with np.load(tmp_path / "state.npz", allow_pickle=False) as saved:
        restored = state_from_arrays(optimizer, params, dict(saved))
    assert type(restored) is type(state)
    for key, array in state_to_arrays(state).items():
        np.testing.assert_array_equal(state_to_arrays(restored)[key], array)
    grads = linear_params(seed=5)
    expected, _ = optimizer.update(grads, state, params)
    resumed, _ = optimizer.update(grads, restored, params)
    for key in expected:
        np.testing.assert_array_equal(resumed[key], expected[key])


def test_state_from_arrays_casts_to_the_params_dtype():
    optimizer = get_optimizer("adam")
    params = linear_params(np.float32)
    arrays = state_to_arrays(warm_state(optimizer, linear_params(np.float64)))
    restored = state_from_arrays(optimizer, params, arrays)
    assert restored.first_moment["W"].dtype == np.float32
    assert restored.count.dtype == np.int64


def momentum_arrays():
    optimizer = get_optimizer("momentum")
    return optimizer, state_to_arrays(optimizer.init(linear_params()))


def without(arrays, key):
    return {k: v for k, v in arrays.items() if k != key}


VALIDATION_CASES = [
    (
        lambda: get_optimizer("adamm"),
        ValueError,
        "unknown optimizer 'adamm'; valid choices are 'sgd', 'momentum', 'nesterov', 'adagrad', "
        "'rmsprop', 'adam', 'adamw'",
    ),
    (
        lambda: get_optimizer("sgd", momentum=0.9),
        TypeError,
        "unknown hyperparameter 'momentum' for optimizer 'sgd'; "
        "valid hyperparameters are 'learning_rate'",
    ),
    (
        lambda: get_optimizer("adam", beta=0.9),
        TypeError,
        "unknown hyperparameter 'beta' for optimizer 'adam'; "
        "valid hyperparameters are 'learning_rate', 'beta1', 'beta2', 'eps'",
    ),
    (lambda: get_optimizer("sgd", learning_rate=0), ValueError, "learning_rate must be > 0; got 0"),
    (
        lambda: get_optimizer("adam", learning_rate=-1e-3),
        ValueError,
        "learning_rate must be > 0; got -0.001",
    ),
    (
        lambda: get_optimizer("sgd", learning_rate="fast"),
        TypeError,
        "learning_rate must be a number > 0 or a schedule",
    ),
    (lambda: get_optimizer("momentum", momentum=1.0), ValueError, "momentum must be in [0, 1)"),
    (lambda: get_optimizer("nesterov", momentum=0), ValueError, "momentum must be > 0 for nest"),
    (lambda: get_optimizer("rmsprop", decay=-0.1), ValueError, "decay must be >= 0; got -0.1"),
    (lambda: get_optimizer("adam", beta2=1.5), ValueError, "beta2 must be in [0, 1); got 1.5"),
    (lambda: get_optimizer("adagrad", eps=0.0), ValueError, "eps must be > 0; got 0.0"),
    (lambda: get_optimizer("adamw", weight_decay=-1), ValueError, "weight_decay must be >= 0"),
    (lambda: get_optimizer("adamw", no_decay="b"), TypeError, "no_decay must be a tuple of para"),
    (
        lambda: get_optimizer("adamw").update(
            linear_params(), get_optimizer("adamw").init(linear_params())
        ),
        ValueError,
        "adamw needs params for its weight decay",
    ),
    (
        lambda: state_from_arrays(*momentum_arrays()[:1], linear_params(), {"count": np.array(0)}),
        ValueError,
        "optimizer state is missing key 'velocity/W' for optimizer 'momentum'",
    ),
    (
        lambda: state_from_arrays(
            momentum_arrays()[0],
            linear_params(),
            {**momentum_arrays()[1], "velocity/W": np.zeros((3, 3))},
        ),
        ValueError,
        "optimizer state 'velocity/W' has shape (3, 3) but the params need (3, 2)",
    ),
    (
        lambda: state_from_arrays(
            momentum_arrays()[0], linear_params(), {**momentum_arrays()[1], "moment/W": 0}
        ),
        ValueError,
        "optimizer state has unexpected keys ['moment/W'] for optimizer 'momentum'",
    ),
    (
        lambda: state_from_arrays(
            momentum_arrays()[0], linear_params(), without(momentum_arrays()[1], "count")
        ),
        ValueError,
        "missing key 'count'",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), VALIDATION_CASES)
def test_validation_messages(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


# ---------------------------------------------------------------------------------------------
# 5. update() and apply_updates() refuse gradients, states and rates that do not fit
# ---------------------------------------------------------------------------------------------

STATE_TYPES = {
    "sgd": "SgdState",
    "momentum": "MomentumState",
    "nesterov": "MomentumState",
    "adagrad": "AdagradState",
    "rmsprop": "RmspropState",
    "adam": "AdamState",
    "adamw": "AdamState",
}


def with_grad(key, value):
    grads = linear_params(seed=4)
    grads[key] = value
    return grads


def without_key(key):
    return {k: v for k, v in linear_params(seed=4).items() if k != key}


# (what is wrong, grads, message): each is refused by every rule, with or without params
# (without params the rules that keep per-parameter arrays compare with their state).
BAD_GRADS = [
    ("a (2,) gradient for W (3, 2)", with_grad("W", np.ones(2)),
     "grads['W'] has shape (2,) but {ref}['W'] has shape (3, 2)"),
    ("a transposed W", with_grad("W", np.ones((2, 3))),
     "grads['W'] has shape (2, 3) but {ref}['W'] has shape (3, 2)"),
    ("a (3, 1) W that would broadcast", with_grad("W", np.ones((3, 1))),
     "grads['W'] has shape (3, 1) but {ref}['W'] has shape (3, 2)"),
    ("a 0-d b", with_grad("b", np.float64(1.0)),
     "grads['b'] has shape () but {ref}['b'] has shape (2,)"),
    ("b missing", without_key("b"), "grads is missing 'b'"),
    ("an extra key", {**linear_params(seed=4), "V": np.ones(2)}, "grads has keys ['V'] that"),
    ("a renamed key", {"W": np.ones((3, 2)), "B": np.ones(2)}, "grads is missing 'b'"),
    ("a list", with_grad("W", [[1.0, 2.0]] * 3), "grads['W'] must be a numpy array"),
    ("strings", with_grad("W", np.full((3, 2), "a")), "grads['W'] must hold real numbers"),
]  # fmt: skip
STATEFUL = [name for name in OPTIMIZERS if name != "sgd"]


@pytest.mark.parametrize(("case", "grads", "message"), BAD_GRADS, ids=[c[0] for c in BAD_GRADS])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_refuses_gradients_that_do_not_fit_the_params(name, case, grads, message):
    # The old update gave numpy's "operands could not be broadcast" (or silently broadcast a
    # (3, 1) gradient over W, and sgd returned updates of the gradient's shape).
    optimizer = get_optimizer(name)
    params = linear_params()
    state = optimizer.init(params)
    with pytest.raises(SlopelabError, match=re.escape(message.format(ref="params"))):
        optimizer.update(grads, state, params)
    if name in STATEFUL:  # without params: compared with the arrays the state keeps
        expected = message.format(ref="the optimizer state")
        with pytest.raises(SlopelabError, match=re.escape(expected)):
            optimizer.update(grads, state)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_shape_error_names_the_parameter_and_both_shapes(name):
    optimizer = get_optimizer(name)
    params = linear_params()
    with pytest.raises(InvalidValueError) as caught:
        optimizer.update(with_grad("W", np.ones(2)), optimizer.init(params), params)
    assert str(caught.value) == (
        "grads['W'] has shape (2,) but params['W'] has shape (3, 2); a gradient must have the "
        "shape of its parameter"
    )


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_refuses_grads_and_params_that_are_not_dicts(name):
    optimizer = get_optimizer(name)
    params = linear_params()
    state = optimizer.init(params)
    with pytest.raises(InvalidTypeError, match=r"^grads must be a dict of arrays keyed like"):
        optimizer.update(np.ones((3, 2)), state, params)
    with pytest.raises(InvalidTypeError, match=r"^params must be a dict of arrays"):
        optimizer.update(linear_params(seed=4), state, np.ones((3, 2)))


STATE_OF = {name: get_optimizer(name).init(linear_params()) for name in OPTIMIZERS}


@pytest.mark.parametrize("other", OPTIMIZERS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_refuses_a_state_from_another_kind_of_optimizer(name, other):
    optimizer = get_optimizer(name)
    params = linear_params()
    state = STATE_OF[other]
    if STATE_TYPES[name] == STATE_TYPES[other]:  # the same memory: momentum/nesterov, adam(w)
        optimizer.update(linear_params(seed=4), state, params)
        return

    def a(noun):
        return f"{'an' if noun in ('AdagradState', 'AdamState') else 'a'} {noun}"

    expected = (
        f"state is {a(STATE_TYPES[other])} but optimizer {name!r} keeps {a(STATE_TYPES[name])}; "
        "pass the state that this optimizer's init(params) returned"
    )
    with pytest.raises(InvalidTypeError, match=re.escape(expected)):
        optimizer.update(linear_params(seed=4), state, params)


@pytest.mark.parametrize("state", [None, (), {"count": 0}, "state"])
def test_update_refuses_a_state_that_is_no_optimizer_state(state):
    optimizer = get_optimizer("adam")
    with pytest.raises(
        InvalidTypeError, match=r"^state is an? \w+ but optimizer 'adam' keeps an AdamState"
    ):
        optimizer.update(linear_params(seed=4), state, linear_params())


@pytest.mark.parametrize("name", STATEFUL)
def test_update_refuses_a_state_built_for_other_params(name):
    optimizer = get_optimizer(name)
    state = optimizer.init({"W": np.zeros((5, 2)), "b": np.zeros(2)})
    params = linear_params()
    with pytest.raises(InvalidValueError, match=re.escape("has shape (5, 2) but params['W']")):
        optimizer.update(linear_params(seed=4), state, params)
    renamed = optimizer.init({"V": np.zeros((3, 2)), "b": np.zeros(2)})
    with pytest.raises(InvalidValueError, match=r"the optimizer state has keys \['V', 'b'\]"):
        optimizer.update(linear_params(seed=4), renamed, params)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.1, "fast", None])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_schedule_returning_no_usable_rate_is_named_with_its_step(name, bad):
    # The old update multiplied by NaN and returned NaN updates: the params became NaN silently.
    def schedule(step):
        return 0.01 if step < 2 else bad

    optimizer = get_optimizer(name, learning_rate=schedule)
    params = linear_params()
    state = warm_state(optimizer, params, steps=2)
    expected = f"the learning_rate schedule returned {bad!r} at step 2; a learning rate must be"
    with pytest.raises(SlopelabError, match=re.escape(expected)):
        optimizer.update(linear_params(seed=4), state, params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_schedule_that_reaches_zero_is_fine(name):
    # cosine decay with alpha = 0 ends at exactly 0: no step, but nothing wrong either
    optimizer = get_optimizer(name, learning_rate=lambda step: 0.0)
    params = linear_params()
    updates, _ = optimizer.update(linear_params(seed=4), optimizer.init(params), params)
    assert all(not np.any(update) for update in updates.values())


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        (with_grad("W", np.ones((3, 1))),
         "updates['W'] has shape (3, 1) but params['W'] has shape (3, 2)"),
        (with_grad("b", np.ones((1, 2))),
         "updates['b'] has shape (1, 2) but params['b'] has shape (2,)"),
        (without_key("W"), "updates is missing 'W'"),
        ({**linear_params(), "V": np.ones(1)}, "updates has keys ['V'] that params does not"),
    ],
)  # fmt: skip
def test_apply_updates_refuses_updates_that_would_broadcast_or_are_missing(updates, message):
    # The old apply_updates broadcast a (3, 1) update over W (or grew b to (1, 2)) silently.
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        apply_updates(linear_params(), updates)
