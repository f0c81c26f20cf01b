"""``landscape --at RUN`` draws the model's own loss on the model's own data, and says so.

The loss at W is checked against an independent computation of the multiclass SVM and softmax
losses (written out here with numpy) on the rows the model was trained on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from slopelab.cli import main
from slopelab.data import load_dataset
from slopelab.model import load_model

EVERY_EXAMPLE = ["--num-examples", "100000"]  # at most the training set: all of it
QUICK = ["--resolution", "3", "--json", *EVERY_EXAMPLE]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_iris(path: Path, names: tuple[str, str, str] = ("setosa", "versicolor", "virginica")):
    X, y = load_iris(return_X_y=True)
    lines = ["sepal_length,sepal_width,petal_length,petal_width,label"]
    rows = zip(X, y, strict=True)
    lines += [",".join(f"{v:g}" for v in row) + f",{names[label]}" for row, label in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def train(args: list[str], name: str) -> Path:
    assert main(["train", "--no-progress", "--epochs", "3", "--name", name, *args]) == 0
    return Path("runs") / name


def landscape(args: list[str], capsys) -> tuple[int, dict | None, str]:
    capsys.readouterr()  # what came before (training)
    code = main(["landscape", *args])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def svm_loss(scores: np.ndarray, y: np.ndarray) -> float:
    """Weston–Watkins: mean over rows of sum_{j != y_i} max(0, s_j - s_{y_i} + 1)."""
    correct = scores[np.arange(len(y)), y][:, None]
    margins = np.maximum(0.0, scores - correct + 1.0)
    margins[np.arange(len(y)), y] = 0.0
    return float(margins.sum(axis=1).mean())


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> float:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def loss_at_w(run: Path, data: str, loss, reg: float) -> float:
    """The full training loss of the model in ``run`` on its training split of ``data``."""
    model = load_model(run)
    dataset = load_dataset(data, seed=0, class_names=model.class_names)
    W, b = (model.params[key].astype(np.float64) for key in ("W", "b"))
    scores = model.features(dataset.X_train).astype(np.float64) @ W + b
    return loss(scores, dataset.y_train) + reg * float(np.sum(W**2))


def test_the_landscape_of_an_svm_model_is_of_the_svm_loss_it_was_trained_with(workdir, capsys):
    """The tester's case: an SVM model was drawn with the default (softmax) loss."""
    run = train(["--loss", "svm", "--reg", "0.01"], "svmm")
    code, result, err = landscape(["--at", str(run), *QUICK], capsys)
    assert code == 0, err
    expected = loss_at_w(run, "digits", svm_loss, 0.01)
    assert result["center_loss"] == pytest.approx(expected, rel=1e-5)
    assert result["objective"] == {"loss": "svm", "penalty": "l2", "reg": 0.01}
    assert (
        "landscape of the svm loss + 0.01 x l2 penalty on 1293 training examples of digits, "
        "around the W of runs/svmm" in err
    )
    assert "note:" not in err


def test_the_landscape_of_a_model_uses_the_data_it_was_trained_on(workdir, capsys):
    """The tester's case: a model trained on a 4-feature CSV was drawn on digits (64)."""
    csv = write_iris(workdir / "iris.csv")
    run = train(["--data", str(csv)], "iris")
    code, result, err = landscape(["--at", str(run), *QUICK], capsys)
    assert code == 0, err
    expected = loss_at_w(run, str(csv), softmax_loss, 1e-4)
    assert result["center_loss"] == pytest.approx(expected, rel=1e-5)
    assert result["data"] == "iris" and "training examples of iris" in err
    config = json.loads((Path(result["run_dir"]) / "config.json").read_text())
    assert config["data"]["data"] == str(csv.resolve())
    assert config["landscape"] == {
        "at": str(run),
        "loss": "softmax",
        "penalty": "l2",
        "reg": 1e-4,
        "seed": 0,
    }


def test_a_loss_flag_that_disagrees_with_the_model_wins_with_a_note(workdir, capsys):
    run = train(["--loss", "svm"], "svmm")
    code, result, err = landscape(["--at", str(run), "--loss", "softmax", *QUICK], capsys)
    assert code == 0
    assert "note: runs/svmm was trained with --loss svm; drawing --loss softmax as given" in err
    assert result["center_loss"] == pytest.approx(
        loss_at_w(run, "digits", softmax_loss, 1e-4), rel=1e-5
    )
    code, result, err = landscape(["--at", str(run), "--reg", "0.5", *QUICK], capsys)
    assert "note: runs/svmm was trained with --reg 0.0001; drawing --reg 0.5 as given" in err
    assert result["objective"] == {"loss": "svm", "penalty": "l2", "reg": 0.5}


def test_a_model_file_without_its_run_folder_says_which_reg_it_used(workdir, capsys):
    run = train(["--reg", "0.01"], "softie")
    (workdir / "alone").mkdir()
    (workdir / "alone/model.npz").write_bytes((run / "model.npz").read_bytes())
    code, result, err = landscape(["--at", "alone/model.npz", *QUICK], capsys)
    assert code == 0
    assert (
        "note: alone/model.npz does not record its --reg (no readable config.json beside it); "
        "using --reg 0.0001, the default" in err
    )
    assert result["objective"]["reg"] == 1e-4
    code, result, err = landscape(["--at", "alone/model.npz", "--reg", "0.01", *QUICK], capsys)
    assert "using --reg 0.01\n" in err
    assert result["center_loss"] == pytest.approx(
        loss_at_w(run, "digits", softmax_loss, 0.01), rel=1e-5
    )


def test_the_seed_chooses_directions_but_never_the_models_split(workdir, capsys):
    run = train(["--loss", "svm"], "svmm")
    code, result, _ = landscape(["--at", str(run), "--seed", "7", *QUICK], capsys)
    assert code == 0
    assert result["center_loss"] == pytest.approx(
        loss_at_w(run, "digits", svm_loss, 1e-4), rel=1e-5
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "3"], "--epochs sets the training of --at trained; with --at runs/m there"),
        (["--optimizer", "adam"], "--optimizer sets the training of --at trained"),
        (["--preprocess", "center"], "--preprocess does not apply to --at runs/m: the model's"),
        (["--data", "renamed.csv"], "has the classes a, b, c, but runs/m scores setosa, versi"),
        (["--data", "digits"], "X has 64 features but the model expects 4"),
    ],
)
def test_flags_that_cannot_apply_to_a_model_are_refused(workdir, capsys, args, message):
    csv = write_iris(workdir / "iris.csv")
    write_iris(workdir / "renamed.csv", ("a", "b", "c"))
    train(["--data", str(csv)], "m")
    code, _, err = landscape(["--at", "runs/m", *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(path.name for path in (workdir / "runs").iterdir()) == ["m"]


def test_the_landscape_of_a_fresh_or_trained_w_names_its_loss_too(workdir, capsys):
    code, result, err = landscape(["--at", "init", "--loss", "svm", *QUICK], capsys)
    assert code == 0
    assert "landscape of the svm loss + 0.0001 x l2 penalty on 1293 training examples of " in err
    assert "around a fresh initialization W" in err
    assert math.isfinite(result["center_loss"])
    code, result, err = landscape(["--penalty", "none", "--epochs", "1", *QUICK], capsys)
    assert "landscape of the softmax loss (no penalty) on 1293" in err
    assert "around the W of 1 epoch of sgd from a fresh initialization" in err
