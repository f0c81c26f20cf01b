"""``slopelab evaluate`` on a model trained on a pack: a pack written again since (other rows in
its splits) is refused as a changed file is, and a pack that is gone is named as gone."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.test_cli_runs import (  # the fixtures are used by name
    cli,
    one_blas_thread,  # noqa: F401
    quick_figures,  # noqa: F401
    workdir,  # noqa: F401
)

TRAIN = ["train", "--data", "P", "--epochs", "1", "--no-progress", "--name", "r"]


@pytest.fixture
def trained(workdir, capsys):  # noqa: F811
    assert cli(["data", "pack", "digits", "--out", "P"], capsys)[0] == 0
    assert cli(TRAIN, capsys)[0] == 0
    return workdir


def test_a_pack_written_again_with_another_row_order_is_refused(trained, capsys):
    """It once scored the new splits with exit 0: their test rows held training rows."""
    code, before, _ = cli(["evaluate", "runs/r", "--json"], capsys)
    assert code == 0
    shutil.rmtree("P")
    assert cli(["data", "pack", "digits", "--out", "P", "--seed", "3"], capsys)[0] == 0
    code, out, err = cli(["evaluate", "runs/r"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"slopelab evaluate: error: {trained / 'P'} changed since runs/r was trained on it (its "
        "SHA-256 (of pack.json) differs from the one in model.npz), so its splits cannot be "
        "re-created: the test split would hold rows the model was trained on; restore the file "
        f"to score the held-out splits, or pass --data {trained / 'P'} to score the file as it "
        "is now, as new data"
    ]
    # named on purpose, the new pack is scored as new data, with a note saying so
    code, out, err = cli(["evaluate", "runs/r", "--data", "P", "--json"], capsys)
    assert code == 0
    assert "split afresh as new data" in " ".join(json.loads(out)["notes"])
    assert json.loads(out)["test_accuracy"] != json.loads(before)["test_accuracy"]


def test_the_same_pack_written_again_identically_is_still_the_training_data(trained, capsys):
    code, before, _ = cli(["evaluate", "runs/r", "--json"], capsys)
    shutil.rmtree("P")
    assert cli(["data", "pack", "digits", "--out", "P"], capsys)[0] == 0  # same seed: same bytes
    code, after, _ = cli(["evaluate", "runs/r", "--json"], capsys)
    assert code == 0 and json.loads(after) == json.loads(before)


def test_a_pack_that_is_gone_is_named_as_gone(trained, capsys):
    shutil.rmtree("P")
    code, out, err = cli(["evaluate", "runs/r"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"slopelab evaluate: error: runs/r was trained on {trained / 'P'}, which is not there "
        "any more; pass --data FILE|PACKED"
    ]
