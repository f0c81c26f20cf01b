"""The public API is what the package root exports, and nothing drifts silently."""

import slopelab

EXPECTED_API = {
    "OPTIMIZERS",
    "Budget",
    "DivergedError",
    "EpochRecord",
    "GradCheckReport",
    "GradCheckRow",
    "History",
    "LinearClassifier",
    "Loss",
    "LossParts",
    "Optimizer",
    "StepRecord",
    "apply_updates",
    "check_gradient",
    "get_loss",
    "get_optimizer",
    "gradient_descent",
    "numerical_gradient",
    "random_local_search",
    "random_search",
    "schedules",
    "sgd",
}


def test_public_api_is_pinned():
    assert set(slopelab.__all__) == EXPECTED_API
    for name in slopelab.__all__:
        assert getattr(slopelab, name) is not None
