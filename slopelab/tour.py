"""The lecture, step by step, on real data: each step measures one idea and states a finding.

1. random search; 2. random local search; 3. following the slope: the numerical gradient, its
cost against the analytic one, and a gradient check; 4. gradient descent and the step size;
5. minibatch SGD and the batch size; 6. update rules; 7. the model it all produces.

Every step returns a :class:`TourStep` with a one-line finding, its figures and a report
section. Budgets scale with the dataset so the tour on digits finishes in seconds and
``--data cifar10`` reproduces the lecture's own setting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slopelab import plots
from slopelab.autolr import auto_learning_rate
from slopelab.data.prepare import Prepared
from slopelab.gradcheck import check_gradient, numerical_gradient
from slopelab.history import Budget, History
from slopelab.linear import accuracy, init_params, predict_classes
from slopelab.losses import Loss, get_loss
from slopelab.report import Section
from slopelab.search import random_local_search, random_search
from slopelab.train import gradient_descent, sgd

UPDATE_RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


@dataclass(frozen=True)
class TourSettings:
    loss: str = "svm"
    reg: float = 1e-4
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


@dataclass
class TourContext:
    prepared: Prepared
    settings: TourSettings
    run_dir: Path
    loss: Loss

    def test_accuracy(self, params: dict[str, np.ndarray]) -> float:
        return accuracy(params, self.prepared.X_test, self.prepared.y_test)

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
    rules_step, histories = update_rules_step(context)
    add(rules_step)
    add(final_step(context, histories))
    return steps


def random_search_step(context: TourContext, history: History) -> TourStep:
    settings = context.settings
    test = context.test_accuracy(history.params)
    figure = plots.compare_curves(
        {"random search": history},
        "evaluations",
        context.run_dir / "random_search.png",
        "Random search: best training loss so far",
    )
    finding = (
        f"random search: {test:.1%} test accuracy after {settings.tries} tries "
        f"({context.chance}); best training loss {history.final_loss:.3f}"
    )
    section = Section(
        "Strategy #1: random search",
        [
            f"Try <code>W = 0.0001 * randn(D, C)</code> {settings.tries} times and keep the "
            f"weights with the lowest training loss ({context.loss.name} loss). The lecture got "
            "15.5% on CIFAR-10, against 10% for guessing: better than nothing, but blind."
        ],
        finding,
        figures=[(figure, "best training loss against loss evaluations")],
    )
    return TourStep("random_search", finding, [figure], section)


def local_search_step(context: TourContext, searched: History) -> TourStep:
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
    test = context.test_accuracy(local.params)
    figure = plots.compare_curves(
        {"random search": searched, "random local search": local},
        "evaluations",
        context.run_dir / "local_search.png",
        "Random local search vs random search",
    )
    finding = (
        f"random local search: {test:.1%} test accuracy after {settings.tries} loss "
        f"evaluations (random search: {context.test_accuracy(searched.params):.1%})"
    )
    section = Section(
        "Strategy #2: random local search",
        [
            "Start from <code>W = 0.001 * randn</code>, try <code>W + 0.0001 * randn</code> and "
            "move only if the loss goes down: a blindfolded hiker feeling for downhill with one "
            "foot. The lecture reached 21.4% on CIFAR-10 this way."
        ],
        finding,
        figures=[(figure, "training loss against loss evaluations")],
    )
    return TourStep("random_local_search", finding, [figure], section)


def gradient_step(context: TourContext) -> TourStep:
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
    exponents = range(math.floor(math.log10(auto)) - 5, math.floor(math.log10(auto)) + 4)
    one_step = []
    for exponent in exponents:
        size = 10.0**exponent
        moved = {
            "W": params["W"] - size * start.grads["W"],
            "b": params["b"] - size * start.grads["b"],
        }
        one_step.append((size, float(sum(context.loss.evaluate(moved, X, y, settings.reg)))))
    best_size, best_loss = min(
        one_step, key=lambda pair: pair[1] if math.isfinite(pair[1]) else math.inf
    )
    histories, rows = {}, []
    for factor in (0.1, 1.0, 3.0, 10.0):
        rate = auto * factor
        label = f"lr {rate:.3g}" + (" (auto)" if factor == 1.0 else "")
        history = gradient_descent(
            context.loss,
            X,
            y,
            budget=Budget(steps=settings.gd_steps),
            reg=settings.reg,
            learning_rate=rate,
            params=params,
            X_val=prepared.X_val,
            y_val=prepared.y_val,
        )
        histories[label] = history
        rows.append(
            [
                label,
                history.status,
                f"{history.final_loss:.4g}",
                f"{context.test_accuracy(history.params):.1%}",
            ]
        )
    figure = plots.compare_curves(
        histories,
        "evaluations",
        context.run_dir / "step_size.png",
        f"Gradient descent, {settings.gd_steps} full-batch steps",
    )
    auto_history = next(h for label, h in histories.items() if label.endswith("(auto)"))
    diverged = [label for label, h in histories.items() if h.status == "diverged"]
    finding = (
        f"gradient descent: from loss {float(start.total):.3f} one step is best at step "
        f"size {best_size:g} (loss {best_loss:.3f}); {settings.gd_steps} steps at the "
        f"auto rate {auto:.3g} reach loss {auto_history.final_loss:.3f} and "
        f"{context.test_accuracy(auto_history.params):.1%} test accuracy"
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
            (["learning rate", "status", "final loss", "test accuracy"], rows),
        ],
        figures=[(figure, "loss and validation accuracy against full-batch steps")],
    )
    return TourStep("step_size", finding, [figure], section)


def batch_size_step(context: TourContext) -> TourStep:
    settings, prepared = context.settings, context.prepared
    num_examples = len(prepared.y_train)
    sizes = [size for size in (8, 32, 128, 512) if size < num_examples] + [num_examples]
    histories, rows = {}, []
    for size in sizes:
        label = "full batch" if size == num_examples else f"batch {size}"
        history = sgd(
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
        histories[label] = history
        rows.append(
            [
                label,
                len(history.steps),
                f"{history.final_loss:.4g}",
                f"{context.test_accuracy(history.params):.1%}",
                f"{history.seconds:.2f}",
            ]
        )
    figure = plots.compare_curves(
        histories,
        "examples",
        context.run_dir / "batch_size.png",
        f"Minibatch SGD, {settings.epochs} epochs of examples each",
    )
    best = max(histories, key=lambda label: context.test_accuracy(histories[label].params))
    full = histories["full batch"]
    finding = (
        f"minibatch SGD, {settings.epochs} epochs each: {best} reaches "
        f"{context.test_accuracy(histories[best].params):.1%} test accuracy "
        f"({len(histories[best].steps)} updates); full batch "
        f"{context.test_accuracy(full.params):.1%} ({len(full.steps)} updates)"
    )
    section = Section(
        "Minibatch gradient descent",
        [
            "The full-batch gradient is an average over all examples; a minibatch estimates it "
            "from a few. With the same number of examples processed, small batches make many "
            "more (noisier) updates. The lecture: batches of 32-256 out of 1.2 million examples."
        ],
        finding,
        tables=[(["batch", "updates", "final loss", "test accuracy", "seconds"], rows)],
        figures=[(figure, "loss and validation accuracy against examples processed")],
    )
    return TourStep("batch_size", finding, [figure], section)


def update_rules_step(context: TourContext) -> tuple[TourStep, dict[str, History]]:
    settings, prepared = context.settings, context.prepared
    histories, rows = {}, []
    for rule in UPDATE_RULES:
        history = sgd(
            context.loss,
            prepared.X_train,
            prepared.y_train,
            budget=Budget(epochs=settings.epochs),
            reg=settings.reg,
            optimizer=rule,
            learning_rate="auto",
            rng=settings.seed,
            X_val=prepared.X_val,
            y_val=prepared.y_val,
        )
        histories[rule] = history
        rows.append(
            [
                rule,
                f"{history.steps[0].learning_rate:.3g}",
                f"{history.final_loss:.4g}",
                f"{context.test_accuracy(history.params):.1%}",
            ]
        )
    figure = plots.compare_curves(
        histories,
        "examples",
        context.run_dir / "update_rules.png",
        f"Update rules, {settings.epochs} epochs, batch 200",
    )
    ranked = sorted(histories, key=lambda r: -context.test_accuracy(histories[r].params))
    finding = f"update rules, {settings.epochs} epochs: " + ", ".join(
        f"{rule} {context.test_accuracy(histories[rule].params):.1%}" for rule in ranked
    )
    section = Section(
        "Update rules",
        [
            "Vanilla SGD, momentum, Nesterov momentum, AdaGrad, RMSProp and Adam from the same "
            "start on the same batches, each at slopelab's default rate for it (1/L for SGD, "
            "(1-mu)/L with momentum, 1e-2 for the adaptive rules)."
        ],
        finding,
        tables=[(["rule", "learning rate", "final loss", "test accuracy"], rows)],
        figures=[(figure, "loss and validation accuracy against examples processed")],
    )
    return TourStep("update_rules", finding, [figure], section), histories


def final_step(context: TourContext, histories: dict[str, History]) -> TourStep:
    prepared = context.prepared
    best_rule = max(histories, key=lambda rule: context.test_accuracy(histories[rule].params))
    params = histories[best_rule].params
    dataset = prepared.dataset
    predicted = predict_classes(params, prepared.X_test)
    figures = [
        plots.confusion_matrix(
            prepared.y_test, predicted, dataset.class_names, context.run_dir / "confusion.png"
        )
    ]
    if dataset.image_shape is not None:
        figures.insert(
            0,
            plots.weight_templates(
                params["W"],
                dataset.image_shape,
                dataset.class_names,
                context.run_dir / "weights.png",
            ),
        )
    test = context.test_accuracy(params)
    finding = f"the best model ({best_rule}) reaches {test:.1%} test accuracy ({context.chance})"
    section = Section(
        "What the weights learned",
        [
            "Each column of W scores one class; drawn as an image it is the template the "
            "classifier matches against (the CS231n notes' class templates)."
        ],
        finding,
        figures=[(path, path.stem.replace("_", " ")) for path in figures],
    )
    return TourStep("model", finding, figures, section)
