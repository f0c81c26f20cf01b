"""The lecture, step by step, on real data: each step measures one idea and states a finding.

1. random search; 2. random local search; 3. following the slope: the numerical gradient, its
cost against the analytic one, and a gradient check; 4. gradient descent and the step size;
5. minibatch SGD and the batch size; 6. update rules; 7. the model it all produces.

Every step returns a :class:`TourStep` with a one-line finding, its figures, a report section
and its measurements (``results``). Budgets scale with the dataset so the tour on digits
takes about 6 s of CPU time (a third of it drawing the figures) and ``--data cifar10``
reproduces the lecture's own setting.

Models are compared and chosen on the validation split only; the test split is used once, at the
end, for the one model the tour selected (see :mod:`slopelab.selection`). The steps that draw
import :mod:`slopelab.plots` (matplotlib) themselves, so the command line loads this module fast.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.autolr import auto_learning_rate
from slopelab.data.prepare import Prepared
from slopelab.gradcheck import check_gradient, numerical_gradient
from slopelab.history import Budget, History
from slopelab.linear import accuracy, init_params, predict_classes
from slopelab.losses import Loss, get_loss, training_loss
from slopelab.optim import OPTIMIZERS
from slopelab.report import Section
from slopelab.search import random_local_search, random_search
from slopelab.selection import TRAINING_LOSS, rank_by_validation
from slopelab.train import gradient_descent, sgd

TOUR_STEPS = (
    "random_search",
    "random_local_search",
    "gradient",
    "step_size",
    "batch_size",
    "update_rules",
    "model",
)
BATCH_SIZES = (8, 32, 128, 512)  # the minibatch step also runs the full batch
UPDATE_RULES_BATCH_SIZE = 200
REG = 1e-4
NOISY_LOSS_CAPTION = (
    "training loss as measured; a legend entry marked 'centred mean' is a noisy minibatch loss, "
    "drawn faintly under its centred moving average (no lag)"
)
# Mean-centred CIFAR-10 pixels are ~60x larger than standardized features. Measured on the dev
# copy (10 epochs, SVM): reg 1e3 scores best (36.6%) but leaves the 0.001*randn initialization
# as noise in the weight templates; 5e3 (35.0%) decays it and shows the lecture's templates.
DATASET_REG = {"cifar10": 5e3}


def default_reg(dataset: str) -> float:
    """The tour's regularization strength for a dataset when ``--reg`` is not given.

    >>> default_reg("cifar10"), default_reg("digits")
    (5000.0, 0.0001)
    """
    return DATASET_REG.get(dataset, REG)


@dataclass(frozen=True)
class TourSettings:
    loss: str = "svm"
    reg: float = REG
    tries: int = 1000
    gd_steps: int = 100
    epochs: int = 10
    dev_size: int = 500
    seed: int = 0


@dataclass
class TourStep:
    name: str
    finding: str
    figures: list[Path]
    section: Section
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contest:
    """Runs on one budget, ranked by validation accuracy (ties keep the order they ran in)."""

    histories: dict[str, History]
    val_accuracy: dict[str, float]
    ranked: list[str]

    @property
    def winner(self) -> str:
        return self.ranked[0]

    def results(self) -> dict[str, Any]:
        return {"val_accuracy": self.val_accuracy, "ranked": self.ranked, "selected": self.winner}


@dataclass
class TourContext:
    prepared: Prepared
    settings: TourSettings
    run_dir: Path
    loss: Loss

    def val_accuracy(self, params: dict[str, np.ndarray]) -> float:
        return accuracy(params, self.prepared.X_val, self.prepared.y_val)

    def training_loss(self, params: dict[str, np.ndarray]) -> float:
        """The full training loss at ``params`` (what every loss column and finding shows)."""
        prepared = self.prepared
        return training_loss(
            self.loss, params, prepared.X_train, prepared.y_train, self.settings.reg
        )

    def test_accuracy(self, params: dict[str, np.ndarray]) -> float:
        """Only for the model the tour selected on the validation split (:func:`final_step`)."""
        return accuracy(params, self.prepared.X_test, self.prepared.y_test)

    def contest(self, histories: dict[str, History]) -> Contest:
        val = {name: self.val_accuracy(history.params) for name, history in histories.items()}
        return Contest(histories, val, rank_by_validation(val))

    @property
    def chance(self) -> str:
        return f"chance {self.prepared.chance:.0%}"


def run_steps(
    prepared: Prepared, settings: TourSettings, run_dir: Path, announce: Callable[[TourStep], None]
) -> list[TourStep]:
    """Run every step in order, calling ``announce`` as each one finishes."""
    context = TourContext(prepared, settings, run_dir, get_loss(settings.loss))
    steps: list[TourStep] = []

    def add(step: TourStep) -> None:
        steps.append(step)
        announce(step)

    searched = random_search(
        context.loss,
        prepared.X_train,
        prepared.y_train,
        budget=Budget(evaluations=settings.tries),
        reg=settings.reg,
        rng=settings.seed,
        X_val=prepared.X_val,
        y_val=prepared.y_val,
        eval_every=max(1, settings.tries // 20),
    )
    add(random_search_step(context, searched))
    add(local_search_step(context, searched))
    add(gradient_step(context))
    add(step_size_step(context))
    add(batch_size_step(context))
    rules_step, rules = update_rules_step(context)
    add(rules_step)
    add(final_step(context, rules))
    return steps


def random_search_step(context: TourContext, history: History) -> TourStep:
    from slopelab import plots

    settings = context.settings
    val, best_loss = context.val_accuracy(history.params), context.training_loss(history.params)
    figure = plots.compare_curves(
        {"random search": history},
        "evaluations",
        context.run_dir / "random_search.png",
        "Random search: best training loss so far",
    )
    finding = (
        f"random search: {val:.1%} validation accuracy after {settings.tries} tries "
        f"({context.chance}); best training loss {best_loss:.3f}"
    )
    section = Section(
        "Strategy #1: random search",
        [
            f"Try <code>W = 0.0001 * randn(D, C)</code> {settings.tries} times and keep the "
            f"weights with the lowest training loss ({context.loss.name} loss). The lecture got "
            "15.5% on CIFAR-10, against 10% for guessing: better than nothing, but blind."
        ],
        finding,
        figures=[(figure, "best training loss so far against loss evaluations, as measured")],
    )
    results = {"val_accuracy": val, "best_training_loss": best_loss}
    return TourStep("random_search", finding, [figure], section, results)


def local_search_step(context: TourContext, searched: History) -> TourStep:
    from slopelab import plots

    settings, prepared = context.settings, context.prepared
    local = random_local_search(
        context.loss,
        prepared.X_train,
        prepared.y_train,
        budget=Budget(evaluations=settings.tries),
        reg=settings.reg,
        rng=settings.seed,
        X_val=prepared.X_val,
        y_val=prepared.y_val,
        eval_every=max(1, settings.tries // 20),
    )
    val = context.val_accuracy(local.params)
    figure = plots.compare_curves(
        {"random search": searched, "random local search": local},
        "evaluations",
        context.run_dir / "local_search.png",
        "Random local search vs random search",
    )
    finding = (
        f"random local search: {val:.1%} validation accuracy after {settings.tries} loss "
        f"evaluations (random search: {context.val_accuracy(searched.params):.1%})"
    )
    section = Section(
        "Strategy #2: random local search",
        [
            "Start from <code>W = 0.001 * randn</code>, try <code>W + 0.0001 * randn</code> and "
            "move only if the loss goes down: a blindfolded hiker feeling for downhill with one "
            "foot. The lecture reached 21.4% on CIFAR-10 this way."
        ],
        finding,
        figures=[(figure, "training loss against loss evaluations, as measured (never smoothed)")],
    )
    results = {"val_accuracy": val, "final_training_loss": context.training_loss(local.params)}
    return TourStep("random_local_search", finding, [figure], section, results)


def gradient_step(context: TourContext) -> TourStep:
    from slopelab import plots

    settings, prepared = context.settings, context.prepared
    rng = np.random.default_rng(settings.seed)
    rows = rng.permutation(len(prepared.y_train))[: settings.dev_size]
    X, y = prepared.X_train[rows].astype(np.float64), prepared.y_train[rows]
    params = init_params(X.shape[1], prepared.dataset.num_classes, rng, scale=1e-2)

    def loss_value(p: dict[str, np.ndarray]) -> float:
        data_loss, reg_loss = context.loss.evaluate(p, X, y, settings.reg)
        return float(data_loss + reg_loss)

    analytic_seconds, grads = _time_analytic(context.loss, params, X, y, settings.reg)
    example = _worked_example(loss_value, params, grads)
    numeric_seconds, evaluations, estimated = _time_numerical(loss_value, params)
    report = check_gradient(
        lambda p: context.loss(p, X, y, settings.reg),
        params,
        rng=np.random.default_rng(settings.seed),
    )
    buggy_reg = 0.1
    buggy = check_gradient(
        _demo_regularization_bug(context.loss, X, y, buggy_reg),
        params,
        rng=np.random.default_rng(settings.seed),
    )
    speedup = numeric_seconds / analytic_seconds
    figure = plots.bar_chart(
        ["analytic gradient", "numerical gradient"],
        [analytic_seconds, numeric_seconds],
        context.run_dir / "gradient_cost.png",
        f"One gradient on {len(y)} examples",
        "seconds",
        log=True,
    )
    finding = (
        f"gradient: numerical {evaluations} loss evaluations "
        f"{'(estimated) ' if estimated else ''}{numeric_seconds:.3g} s vs analytic "
        f"{analytic_seconds * 1e3:.3g} ms ({speedup:,.0f}x faster); check: max rel error "
        f"{report.max_rel_error:.1e} ({report.verdict}); the demo's 0.5*reg*W bug is "
        f"caught ({buggy.verdict})"
    )
    section = Section(
        "Following the slope: numerical and analytic gradients",
        [
            example,
            f"A numerical gradient needs one loss evaluation per parameter: {evaluations:,} "
            f"evaluations here for {evaluations - 1:,} parameters"
            + (" (timed on a sample of coordinates and extrapolated)" if estimated else "")
            + ". The analytic gradient comes from calculus, in one pass over the data.",
            "Gradient check, as the CS231n notes advise: centered differences in float64 on a "
            "few coordinates of every parameter array, relative error "
            "|a - n| / max(|a|, |n|), kinks (hinge margins crossing zero) detected and judged by "
            "the subgradient interval instead. Then the same check on a gradient with the CS231n "
            f"web demo's regularization term 0.5*reg*W instead of 2*reg*W (reg {buggy_reg}).",
        ],
        finding,
        tables=[
            (
                ["check", "max relative error", "kinks", "verdict"],
                [
                    ["our gradient", f"{report.max_rel_error:.2e}", report.kinks, report.verdict],
                    ["0.5*reg*W bug", f"{buggy.max_rel_error:.2e}", buggy.kinks, buggy.verdict],
                ],
            )
        ],
        figures=[(figure, "time for one gradient (log scale)")],
    )
    return TourStep("gradient", finding, [figure], section)


def _time_analytic(
    loss: Loss, params: dict, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, dict]:
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        parts = loss.parts(params, X, y, reg)
        timings.append(time.perf_counter() - started)
    return float(np.median(timings)), parts.grads


def _worked_example(loss_value: Callable, params: dict, grads: dict) -> str:
    """The lecture's worked example with our numbers: nudge the steepest weight by 1e-4."""
    h = 1e-4
    index = np.unravel_index(np.abs(grads["W"]).argmax(), grads["W"].shape)
    before = loss_value(params)
    moved = {"W": params["W"].copy(), "b": params["b"]}
    moved["W"][index] += h
    after = loss_value(moved)
    slope = (after - before) / h
    return (
        f"The lecture's worked example with our numbers: the loss is {before:.5f}; moving "
        f"W[{index[0]}, {index[1]}] by h = 0.0001 gives {after:.5f}, so the forward "
        f"difference is ({after:.5f} - {before:.5f}) / 0.0001 = {slope:.4f}. The analytic "
        f"gradient says {grads['W'][index]:.4f}."
    )


def _time_numerical(loss_value: Callable, params: dict) -> tuple[float, int, bool]:
    """Seconds for a full forward-difference gradient, and whether it was extrapolated."""
    count = sum(value.size for value in params.values())
    if count <= 5000:
        started = time.perf_counter()
        numerical_gradient(loss_value, params, h=1e-5, scheme="forward")
        return time.perf_counter() - started, count + 1, False
    sample = 200
    started = time.perf_counter()
    for _ in range(sample):
        loss_value(params)
    per_evaluation = (time.perf_counter() - started) / sample
    return per_evaluation * (count + 1), count + 1, True


def _demo_regularization_bug(loss: Loss, X: np.ndarray, y: np.ndarray, reg: float) -> Callable:
    def buggy(params: dict) -> tuple[float, dict]:
        value, grads = loss(params, X, y, reg)
        return value, {"W": grads["W"] - 1.5 * reg * params["W"], "b": grads["b"]}

    return buggy


def step_size_step(context: TourContext) -> TourStep:
    from slopelab import plots

    settings, prepared = context.settings, context.prepared
    X, y = prepared.X_train, prepared.y_train
    params = init_params(
        X.shape[1],
        prepared.dataset.num_classes,
        np.random.default_rng(settings.seed),
        dtype=X.dtype,
    )
    start = context.loss.parts(params, X, y, settings.reg)
    auto = auto_learning_rate(X, settings.reg, "sgd")
    one_step = one_step_losses(context, params, start.grads, auto)
    best_size, best_loss = min(
        one_step, key=lambda pair: pair[1] if math.isfinite(pair[1]) else math.inf
    )
    histories = descent_at_rates(context, params, auto)
    contest = context.contest(histories)
    losses = {label: context.training_loss(h.params) for label, h in histories.items()}
    rows = [
        [label, h.status, f"{losses[label]:.4g}", f"{contest.val_accuracy[label]:.1%}"]
        for label, h in histories.items()
    ]
    figure = plots.compare_curves(
        histories,
        "evaluations",
        context.run_dir / "step_size.png",
        f"Gradient descent, {settings.gd_steps} full-batch steps",
    )
    auto_label = next(label for label in histories if label.endswith("(auto)"))
    diverged = [label for label, h in histories.items() if h.status == "diverged"]
    finding = (
        f"gradient descent: from loss {float(start.total):.3f} one step is best at step "
        f"size {best_size:g} (loss {best_loss:.3f}); {settings.gd_steps} steps at the "
        f"auto rate {auto:.3g} reach loss {losses[auto_label]:.3f} and "
        f"{contest.val_accuracy[auto_label]:.1%} validation accuracy"
        + (f"; {', '.join(diverged)} diverged" if diverged else "")
    )
    section = Section(
        "Gradient descent and the step size",
        [
            "The gradient gives the direction; the step size (learning rate) is the most "
            "important hyperparameter. First the lecture's sweep: one step of size 10^k from the "
            "same point. Then full-batch gradient descent at several rates around slopelab's "
            "curvature-based rate 1/L (learning_rate='auto')."
        ],
        finding,
        tables=[
            (
                ["step size", "loss after one step"],
                [[f"{size:g}", f"{loss:.4g}"] for size, loss in one_step],
            ),
            (["learning rate", "status", TRAINING_LOSS, "validation accuracy"], rows),
        ],
        figures=[(figure, "full-batch loss (as measured) and validation accuracy against steps")],
    )
    results = {
        "one_step": [{"step_size": size, "loss": loss} for size, loss in one_step],
        "auto_learning_rate": auto,
        **contest.results(),
    }
    return TourStep("step_size", finding, [figure], section, results)


def one_step_losses(
    context: TourContext, params: dict, grads: dict, auto: float
) -> list[tuple[float, float]]:
    """The lecture's sweep: the loss after one step of size 10^k from ``params``."""
    X, y, reg = context.prepared.X_train, context.prepared.y_train, context.settings.reg
    centre = math.floor(math.log10(auto))
    losses = []
    for exponent in range(centre - 5, centre + 4):
        size = 10.0**exponent
        moved = {"W": params["W"] - size * grads["W"], "b": params["b"] - size * grads["b"]}
        losses.append((size, float(sum(context.loss.evaluate(moved, X, y, reg)))))
    return losses


def descent_at_rates(context: TourContext, params: dict, auto: float) -> dict[str, History]:
    """Full-batch gradient descent from ``params`` at 0.1, 1, 3 and 10 times the auto rate."""
    settings, prepared = context.settings, context.prepared
    histories = {}
    for factor in (0.1, 1.0, 3.0, 10.0):
        rate = auto * factor
        label = f"lr {rate:.3g}" + (" (auto)" if factor == 1.0 else "")
        histories[label] = gradient_descent(
            context.loss,
            prepared.X_train,
            prepared.y_train,
            budget=Budget(steps=settings.gd_steps),
            reg=settings.reg,
            learning_rate=rate,
            params=params,
            X_val=prepared.X_val,
            y_val=prepared.y_val,
        )
    return histories


def batch_sizes(num_examples: int) -> list[int]:
    """The minibatch sizes the tour compares, smaller than the data, then the full batch."""
    return [size for size in BATCH_SIZES if size < num_examples] + [num_examples]


def batch_size_step(context: TourContext) -> TourStep:
    from slopelab import plots

    settings, prepared = context.settings, context.prepared
    num_examples = len(prepared.y_train)
    histories = {}
    for size in batch_sizes(num_examples):
        label = "full batch" if size == num_examples else f"batch {size}"
        histories[label] = sgd(
            context.loss,
            prepared.X_train,
            prepared.y_train,
            budget=Budget(epochs=settings.epochs),
            reg=settings.reg,
            learning_rate="auto",
            batch_size=size,
            rng=settings.seed,
            X_val=prepared.X_val,
            y_val=prepared.y_val,
        )
    contest = context.contest(histories)
    rows = [
        [
            label,
            len(h.steps),
            f"{context.training_loss(h.params):.4g}",
            f"{contest.val_accuracy[label]:.1%}",
            f"{h.seconds:.2f}",
        ]
        for label, h in histories.items()
    ]
    figure = plots.compare_curves(
        histories,
        "examples",
        context.run_dir / "batch_size.png",
        f"Minibatch SGD, {settings.epochs} epochs of examples each",
    )
    best, full = contest.winner, histories["full batch"]
    finding = (
        f"minibatch SGD, {settings.epochs} epochs each: {best} reaches the best validation "
        f"accuracy, {contest.val_accuracy[best]:.1%} ({len(histories[best].steps)} updates); "
        f"full batch {contest.val_accuracy['full batch']:.1%} ({len(full.steps)} updates)"
    )
    section = Section(
        "Minibatch gradient descent",
        [
            "The full-batch gradient is an average over all examples; a minibatch estimates it "
            "from a few. With the same number of examples processed, small batches make many "
            "more (noisier) updates. The lecture: batches of 32-256 out of 1.2 million examples."
        ],
        finding,
        tables=[(["batch", "updates", TRAINING_LOSS, "validation accuracy", "seconds"], rows)],
        figures=[(figure, f"{NOISY_LOSS_CAPTION}; validation accuracy against examples processed")],
    )
    return TourStep("batch_size", finding, [figure], section, contest.results())


def update_rules_step(context: TourContext) -> tuple[TourStep, Contest]:
    from slopelab import plots

    settings, prepared = context.settings, context.prepared
    histories = {}
    for rule in OPTIMIZERS:
        histories[rule] = sgd(
            context.loss,
            prepared.X_train,
            prepared.y_train,
            budget=Budget(epochs=settings.epochs),
            reg=settings.reg,
            optimizer=rule,
            learning_rate="auto",
            batch_size=UPDATE_RULES_BATCH_SIZE,
            rng=settings.seed,
            X_val=prepared.X_val,
            y_val=prepared.y_val,
        )
    contest = context.contest(histories)
    rows = [
        [
            rule,
            f"{histories[rule].steps[0].learning_rate:.3g}",
            f"{context.training_loss(histories[rule].params):.4g}",
            f"{contest.val_accuracy[rule]:.1%}",
        ]
        for rule in contest.ranked
    ]
    batch = min(UPDATE_RULES_BATCH_SIZE, len(prepared.y_train))
    figure = plots.compare_curves(
        histories,
        "examples",
        context.run_dir / "update_rules.png",
        f"Update rules, {settings.epochs} epochs, batch {batch}",
    )
    finding = f"update rules, {settings.epochs} epochs, by validation accuracy: " + ", ".join(
        f"{rule} {contest.val_accuracy[rule]:.1%}" for rule in contest.ranked
    )
    section = Section(
        "Update rules",
        [
            "Vanilla SGD, momentum, Nesterov momentum, AdaGrad, RMSProp, Adam and AdamW from the "
            "same start on the same batches, each at slopelab's default rate for it (1/L for "
            "SGD, (1-mu)/L with momentum, 1e-2 / rms(x) for RMSProp, Adam and AdamW, 1e-1 / "
            "rms(x) for AdaGrad; AdamW adds its decoupled weight decay 1e-2). Ranked by "
            "validation accuracy; ties keep this order."
        ],
        finding,
        tables=[(["rule", "learning rate", TRAINING_LOSS, "validation accuracy"], rows)],
        figures=[(figure, f"{NOISY_LOSS_CAPTION}; validation accuracy against examples processed")],
    )
    return TourStep("update_rules", finding, [figure], section, contest.results()), contest


def final_step(context: TourContext, rules: Contest) -> TourStep:
    """The one use of the test split: the model chosen on the validation split, measured."""
    from slopelab import plots

    prepared, dataset = context.prepared, context.prepared.dataset
    selected = rules.winner
    params = rules.histories[selected].params
    predicted = predict_classes(params, prepared.X_test)
    figures = [
        (
            plots.confusion_matrix(
                prepared.y_test, predicted, dataset.class_names, context.run_dir / "confusion.png"
            ),
            "confusion matrix of the selected model on the test split",
        )
    ]
    if dataset.image_shape is not None:
        templates = plots.weight_templates(
            params["W"], dataset.image_shape, dataset.class_names, context.run_dir / "weights.png"
        )
        figures.insert(0, (templates, "the selected model's weights as class templates"))
    val, test = rules.val_accuracy[selected], context.test_accuracy(params)
    finding = (
        f"the model selected on validation accuracy ({selected}, {val:.1%}) reaches "
        f"{test:.1%} test accuracy ({context.chance})"
    )
    section = Section(
        "What the weights learned",
        [
            f"The model of the update rule with the best validation accuracy ({selected}) is the "
            "tour's model. Its test accuracy is the only number in this report measured on the "
            "test split, which played no part in choosing it.",
            "Each column of W scores one class; drawn as an image it is the template the "
            "classifier matches against (the CS231n notes' class templates).",
        ],
        finding,
        figures=figures,
    )
    results = {"selected": selected, "val_accuracy": val, "test_accuracy": test}
    return TourStep("model", finding, [path for path, _ in figures], section, results)
