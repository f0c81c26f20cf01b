"""The tour's words, built from the measurements alone (:mod:`slopelab.tour_measure`,
:mod:`slopelab.tour_gradient`): each step's one-line finding, report section and JSON results
are a pure function of its result and the paths of its figures (drawn by
:mod:`slopelab.tour_figures`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slopelab.report import Section
from slopelab.selection import TRAINING_LOSS
from slopelab.tour_gradient import GradientResult
from slopelab.tour_measure import (
    BatchSizeResult,
    ModelResult,
    SearchResult,
    StepSizeResult,
    UpdateRulesResult,
)

NOISY_LOSS_CAPTION = (
    "training loss as measured; a legend entry marked 'centred mean' is a noisy minibatch loss, "
    "drawn faintly under its centred moving average (no lag)"
)
SEARCH_LOSS = "data loss, no regularization, as in the lecture"


@dataclass
class TourStep:
    name: str
    finding: str
    figures: list[Path]
    section: Section
    results: dict[str, Any] = field(default_factory=dict)


def sample_words(result: SearchResult) -> str:
    """Where a search's loss evaluations looked: ``", each on a fixed random sample of 2,000 of
    the 49,000 training examples"``, or nothing when they looked at all of them."""
    if result.sample_size == result.num_examples:
        return ""
    return (
        f", each on a fixed random sample of {result.sample_size:,} of the "
        f"{result.num_examples:,} training examples"
    )


def random_search_step(result: SearchResult, figure: Path, chance: float) -> TourStep:
    finding = (
        f"random search: {result.val_accuracy:.1%} validation accuracy after {result.tries} "
        f"tries (chance {chance:.0%}){sample_words(result)}; best training data loss "
        f"{result.training_loss:.3f}"
    )
    section = Section(
        "Strategy #1: random search",
        [
            f"Try <code>W = 0.0001 * randn(D, C)</code> {result.tries} times and keep the "
            f"weights with the lowest loss ({SEARCH_LOSS}){sample_words(result)}. The lecture "
            "got 15.5% on CIFAR-10, against 10% for guessing: better than nothing, but blind."
        ],
        finding,
        figures=[(figure, "best loss so far against loss evaluations, as measured")],
    )
    results = {
        "val_accuracy": result.val_accuracy,
        "best_training_loss": result.training_loss,
        "sample_size": result.sample_size,
    }
    return TourStep("random_search", finding, [figure], section, results)


def local_search_step(result: SearchResult, searched: SearchResult, figure: Path) -> TourStep:
    finding = (
        f"random local search: {result.val_accuracy:.1%} validation accuracy after "
        f"{result.tries} loss evaluations{sample_words(result)} (random search: "
        f"{searched.val_accuracy:.1%})"
    )
    section = Section(
        "Strategy #2: random local search",
        [
            "Start from <code>W = 0.001 * randn</code>, try <code>W + 0.0001 * randn</code> and "
            "move only if the loss goes down: a blindfolded hiker feeling for downhill with one "
            f"foot. The same loss as random search ({SEARCH_LOSS}){sample_words(result)}. The "
            "lecture reached 21.4% on CIFAR-10 this way."
        ],
        finding,
        figures=[(figure, "loss against loss evaluations, as measured (never smoothed)")],
    )
    results = {
        "val_accuracy": result.val_accuracy,
        "final_training_loss": result.training_loss,
        "sample_size": result.sample_size,
    }
    return TourStep("random_local_search", finding, [figure], section, results)


def gradient_step(result: GradientResult, figure: Path) -> TourStep:
    check, buggy = result.check, result.buggy_check
    finding = (
        f"gradient: numerical {result.evaluations} loss evaluations "
        f"{'(estimated) ' if result.estimated else ''}{result.numeric_seconds:.3g} s vs "
        f"analytic {result.analytic_seconds * 1e3:.3g} ms ({result.speedup:,.0f}x faster); "
        f"check: max rel error {check.max_rel_error:.1e} ({check.verdict}); the demo's "
        f"0.5*reg*W bug is caught ({buggy.verdict})"
    )
    parameters = result.evaluations - 1
    section = Section(
        "Following the slope: numerical and analytic gradients",
        [
            worked_example_words(result),
            f"A numerical gradient needs one loss evaluation per parameter: "
            f"{result.evaluations:,} evaluations here for {parameters:,} parameters"
            + (" (timed on a sample of evaluations and extrapolated)" if result.estimated else "")
            + ". The analytic gradient comes from calculus, in one pass over the data.",
            "Gradient check, as the CS231n notes advise: centered differences in float64 on a "
            "few coordinates of every parameter array, relative error "
            "|a - n| / max(|a|, |n|), kinks (hinge margins crossing zero) detected and judged by "
            "the subgradient interval instead. Then the same check on a gradient with the CS231n "
            "web demo's regularization term 0.5*reg*W instead of 2*reg*W "
            f"(reg {result.buggy_reg}).",
        ],
        finding,
        tables=[
            (
                ["check", "max relative error", "kinks", "verdict"],
                [
                    ["our gradient", f"{check.max_rel_error:.2e}", check.kinks, check.verdict],
                    ["0.5*reg*W bug", f"{buggy.max_rel_error:.2e}", buggy.kinks, buggy.verdict],
                ],
            )
        ],
        figures=[(figure, "time for one gradient (log scale)")],
    )
    return TourStep("gradient", finding, [figure], section)


def worked_example_words(result: GradientResult) -> str:
    example = result.example
    row, column = example.index
    return (
        f"The lecture's worked example with our numbers: the loss is {example.before:.5f}; "
        f"moving W[{row}, {column}] by h = {example.h:g} gives {example.after:.5f}, so the "
        f"forward difference is ({example.after:.5f} - {example.before:.5f}) / {example.h:g} = "
        f"{example.slope:.4f}. The analytic gradient says {example.analytic:.4f}."
    )


def step_size_step(result: StepSizeResult, figure: Path) -> TourStep:
    runs, auto = result.runs, result.auto_label
    best_size, best_loss = result.best_one_step
    diverged = result.diverged
    finding = (
        f"gradient descent: from loss {result.start_loss:.3f} one step is best at step "
        f"size {best_size:g} (loss {best_loss:.3f}); {result.gd_steps} steps at the "
        f"auto rate {result.auto_rate:.3g} reach loss {runs.training_loss[auto]:.3f} and "
        f"{runs.val_accuracy[auto]:.1%} validation accuracy"
        + (f"; {', '.join(diverged)} diverged" if diverged else "")
    )
    rows = [
        [label, h.status, f"{runs.training_loss[label]:.4g}", f"{runs.val_accuracy[label]:.1%}"]
        for label, h in runs.histories.items()
    ]
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
                [[f"{size:g}", f"{loss:.4g}"] for size, loss in result.one_step],
            ),
            (["learning rate", "status", TRAINING_LOSS, "validation accuracy"], rows),
        ],
        figures=[(figure, "full-batch loss (as measured) and validation accuracy against steps")],
    )
    results = {
        "one_step": [{"step_size": size, "loss": loss} for size, loss in result.one_step],
        "auto_learning_rate": result.auto_rate,
        **runs.results(),
    }
    return TourStep("step_size", finding, [figure], section, results)


def batch_size_step(result: BatchSizeResult, figure: Path) -> TourStep:
    runs = result.runs
    best, full = runs.winner, runs.histories["full batch"]
    finding = (
        f"minibatch SGD, {result.epochs} epochs each: {best} reaches the best validation "
        f"accuracy, {runs.val_accuracy[best]:.1%} ({len(runs.histories[best].steps)} updates); "
        f"full batch {runs.val_accuracy['full batch']:.1%} ({len(full.steps)} updates)"
    )
    rows = [
        [
            label,
            len(h.steps),
            f"{runs.training_loss[label]:.4g}",
            f"{runs.val_accuracy[label]:.1%}",
            f"{h.seconds:.2f}",
        ]
        for label, h in runs.histories.items()
    ]
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
    return TourStep("batch_size", finding, [figure], section, runs.results())


def update_rules_step(result: UpdateRulesResult, figure: Path) -> TourStep:
    runs = result.runs
    finding = f"update rules, {result.epochs} epochs, by validation accuracy: " + ", ".join(
        f"{rule} {runs.val_accuracy[rule]:.1%}" for rule in runs.ranked
    )
    rows = [
        [
            rule,
            f"{result.learning_rates[rule]:.3g}",
            f"{runs.training_loss[rule]:.4g}",
            f"{runs.val_accuracy[rule]:.1%}",
        ]
        for rule in runs.ranked
    ]
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
    return TourStep("update_rules", finding, [figure], section, runs.results())


def model_step(result: ModelResult, figures: list[tuple[Path, str]], chance: float) -> TourStep:
    finding = (
        f"the model selected on validation accuracy ({result.selected}, "
        f"{result.val_accuracy:.1%}) reaches {result.test_accuracy:.1%} test accuracy "
        f"(chance {chance:.0%})"
    )
    section = Section(
        "What the weights learned",
        [
            f"The model of the update rule with the best validation accuracy ({result.selected}) "
            "is the tour's model. Its test accuracy is the only number in this report measured "
            "on the test split, which played no part in choosing it.",
            "Each column of W scores one class; drawn as an image it is the template the "
            "classifier matches against (the CS231n notes' class templates).",
        ],
        finding,
        figures=figures,
    )
    results = {
        "selected": result.selected,
        "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy,
    }
    return TourStep("model", finding, [path for path, _ in figures], section, results)
