"""The tour's figures, drawn from the measurements alone (:mod:`slopelab.tour_measure`,
:mod:`slopelab.tour_gradient`); matplotlib is imported only when one is drawn."""

from __future__ import annotations

from pathlib import Path

from slopelab.data.dataset import Dataset
from slopelab.tour_gradient import GradientResult
from slopelab.tour_measure import (
    BatchSizeResult,
    ModelResult,
    SearchResult,
    StepSizeResult,
    UpdateRulesResult,
)


def search_figure(result: SearchResult, run_dir: Path) -> Path:
    from slopelab import plots

    return plots.compare_curves(
        {"random search": result.history},
        "evaluations",
        run_dir / "random_search.png",
        "Random search: best loss so far",
    )


def local_search_figure(result: SearchResult, searched: SearchResult, run_dir: Path) -> Path:
    from slopelab import plots

    return plots.compare_curves(
        {"random search": searched.history, "random local search": result.history},
        "evaluations",
        run_dir / "local_search.png",
        "Random local search vs random search",
    )


def gradient_figure(result: GradientResult, run_dir: Path) -> Path:
    from slopelab import plots

    return plots.bar_chart(
        ["analytic gradient", "numerical gradient"],
        [result.analytic_seconds, result.numeric_seconds],
        run_dir / "gradient_cost.png",
        f"One gradient on {result.num_examples} examples",
        "seconds",
        log=True,
    )


def step_size_figure(result: StepSizeResult, run_dir: Path) -> Path:
    from slopelab import plots

    return plots.compare_curves(
        result.runs.histories,
        "evaluations",
        run_dir / "step_size.png",
        f"Gradient descent, {result.gd_steps} full-batch steps",
    )


def batch_size_figure(result: BatchSizeResult, run_dir: Path) -> Path:
    from slopelab import plots

    return plots.compare_curves(
        result.runs.histories,
        "examples",
        run_dir / "batch_size.png",
        f"Minibatch SGD, {result.epochs} epochs of examples each",
    )


def update_rules_figure(result: UpdateRulesResult, run_dir: Path) -> Path:
    from slopelab import plots

    return plots.compare_curves(
        result.runs.histories,
        "examples",
        run_dir / "update_rules.png",
        f"Update rules, {result.epochs} epochs, batch {result.batch_size}",
    )


def model_figures(result: ModelResult, dataset: Dataset, run_dir: Path) -> list[tuple[Path, str]]:
    """The weight templates (image data only) and the confusion matrix on the test split."""
    from slopelab import plots

    figures = [
        (
            plots.confusion_matrix(
                result.y_test, result.predicted, dataset.class_names, run_dir / "confusion.png"
            ),
            "confusion matrix of the selected model on the test split",
        )
    ]
    if dataset.image_shape is not None:
        templates = plots.weight_templates(
            result.W, dataset.image_shape, dataset.class_names, run_dir / "weights.png"
        )
        figures.insert(0, (templates, "the selected model's weights as class templates"))
    return figures
