"""The lecture, step by step, on real data: each step measures one idea and states a finding.

1. random search; 2. random local search; 3. following the slope: the numerical gradient, its
cost against the analytic one, and a gradient check; 4. gradient descent and the step size;
5. minibatch SGD and the batch size; 6. update rules; 7. the model it all produces.

Each step measures (:mod:`slopelab.tour_measure`, :mod:`slopelab.tour_gradient`: a frozen
dataclass of numbers), draws its figures (:mod:`slopelab.tour_figures`) and words its finding
and report section (:mod:`slopelab.tour_report`) from that result alone, and returns a
:class:`TourStep`. Budgets are per dataset (:func:`tour_defaults`): the tour takes about 6 s of
CPU time on digits, about two minutes on CIFAR-10 (README).

Models are compared and chosen on the validation split only; the test split is used once, at the
end, for the one model the tour selected (see :mod:`slopelab.selection`). Matplotlib is imported
only when a figure is drawn, so the command line loads this module fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from slopelab import tour_figures as figures
from slopelab import tour_report as report
from slopelab.data.prepare import Prepared
from slopelab.tour_gradient import measure_gradient
from slopelab.tour_measure import (
    Contest,
    SearchResult,
    TourSettings,
    measure_batch_sizes,
    measure_model,
    measure_search,
    measure_step_size,
    measure_update_rules,
)
from slopelab.tour_report import TourStep

TOUR_STEPS = (
    "random_search",
    "random_local_search",
    "gradient",
    "step_size",
    "batch_size",
    "update_rules",
    "model",
)
# The budgets a tour gets unless its flags say otherwise: the lecture's 1,000 tries for the
# searches, 100 full-batch steps per learning rate, 10 epochs per minibatch run.
DEFAULTS: dict[str, Any] = {"reg": 1e-4, "tries": 1000, "gd_steps": 100, "epochs": 10}
# cifar10 (standardized per pixel, its default preprocessing): reg 1 is the reg 5e3 chosen on
# mean-centred pixels (~64 times larger than standardized features, so reg scales by 64^2),
# which decays the 0.001*randn initialization and shows the lecture's weight templates.
# Measured on the dev copy (10 epochs, SVM): sgd 37.3% validation; 5e3 on standardized
# features left SGD at 24% and the adaptive rules below chance.
# A full-batch loss and gradient there took 0.11 s (the dev copy's 39,000 x 3,072, measured):
# 4 rates x 25 steps keep the step-size sweep to about 15 s on 49,000.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {"cifar10": {"reg": 1.0, "gd_steps": 25}}


def tour_defaults(dataset: str) -> dict[str, Any]:
    """The tour's defaults on ``dataset`` (``reg``, ``tries``, ``gd_steps``, ``epochs``).

    >>> tour_defaults("cifar10")["reg"], tour_defaults("digits")["gd_steps"]
    (1.0, 100)
    """
    return {**DEFAULTS, **DATASET_DEFAULTS.get(dataset, {})}


def run_steps(
    prepared: Prepared, settings: TourSettings, run_dir: Path, announce: Callable[[TourStep], None]
) -> list[TourStep]:
    """Run every step in order, calling ``announce`` as each one finishes."""
    steps: list[TourStep] = []

    def add(step: TourStep) -> None:
        steps.append(step)
        announce(step)

    searched, step = random_search_step(prepared, settings, run_dir)
    add(step)
    add(local_search_step(prepared, settings, run_dir, searched))
    add(gradient_step(prepared, settings, run_dir))
    add(step_size_step(prepared, settings, run_dir))
    add(batch_size_step(prepared, settings, run_dir))
    rules, step = update_rules_step(prepared, settings, run_dir)
    add(step)
    add(final_step(prepared, run_dir, rules))
    return steps


def random_search_step(
    prepared: Prepared, settings: TourSettings, run_dir: Path
) -> tuple[SearchResult, TourStep]:
    result = measure_search(prepared, settings, local=False)
    figure = figures.search_figure(result, run_dir)
    return result, report.random_search_step(result, figure, prepared.chance)


def local_search_step(
    prepared: Prepared, settings: TourSettings, run_dir: Path, searched: SearchResult
) -> TourStep:
    result = measure_search(prepared, settings, local=True)
    figure = figures.local_search_figure(result, searched, run_dir)
    return report.local_search_step(result, searched, figure)


def gradient_step(prepared: Prepared, settings: TourSettings, run_dir: Path) -> TourStep:
    result = measure_gradient(prepared, settings)
    return report.gradient_step(result, figures.gradient_figure(result, run_dir))


def step_size_step(prepared: Prepared, settings: TourSettings, run_dir: Path) -> TourStep:
    result = measure_step_size(prepared, settings)
    return report.step_size_step(result, figures.step_size_figure(result, run_dir))


def batch_size_step(prepared: Prepared, settings: TourSettings, run_dir: Path) -> TourStep:
    result = measure_batch_sizes(prepared, settings)
    return report.batch_size_step(result, figures.batch_size_figure(result, run_dir))


def update_rules_step(
    prepared: Prepared, settings: TourSettings, run_dir: Path
) -> tuple[Contest, TourStep]:
    result = measure_update_rules(prepared, settings)
    return result.runs, report.update_rules_step(
        result, figures.update_rules_figure(result, run_dir)
    )


def final_step(prepared: Prepared, run_dir: Path, rules: Contest) -> TourStep:
    """The one use of the test split: the model chosen on the validation split, measured."""
    result = measure_model(prepared, rules)
    drawn = figures.model_figures(result, prepared.dataset, run_dir)
    return report.model_step(result, drawn, prepared.chance)
