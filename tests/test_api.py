"""The public API is what the package root exports, and nothing drifts silently."""

import slopelab

EXPECTED_API = {
    "LinearClassifier",
    "Loss",
    "LossParts",
    "get_loss",
}


def test_public_api_is_pinned():
    assert set(slopelab.__all__) == EXPECTED_API
    for name in slopelab.__all__:
        assert getattr(slopelab, name) is not None
