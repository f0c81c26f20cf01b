"""Shared by the tests: small datasets (generated, or shipped with scikit-learn), the CLI's exit
code, and a file that refuses to open."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def mpiexec() -> str:
    """The mpiexec the MPI tests launch ranks with; a missing one fails the test (CI installs
    ``slopelab[mpi]``, which brings it), never skips it."""
    from slopelab.launcher import find_mpiexec

    found = find_mpiexec()
    if found is None:
        raise RuntimeError('no mpiexec beside this Python or on PATH; pip install -e ".[mpi]"')
    return found


def digits_split(seed: int = 0):
    """scikit-learn's digits, standardized on the training part, 80/20 stratified split."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def blobs(
    seed: int = 0,
    per_class: int = 40,
    num_classes: int = 3,
    num_features: int = 2,
    spread: float = 0.5,
):
    """Gaussian blobs around well separated centres."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((num_classes, num_features))
    X = np.concatenate(
        [c + spread * rng.standard_normal((per_class, num_features)) for c in centres]
    )
    y = np.repeat(np.arange(num_classes), per_class)
    return X, y


def exit_code(args: list[str]) -> int:
    """The CLI's ``main()`` return value, or the code of the SystemExit argparse raises on bad
    usage."""
    from slopelab.cli import main

    try:
        return main(args)
    except SystemExit as stop:
        return stop.code


def refuse_opening(monkeypatch, path: Path) -> None:
    """``path.open()`` raises PermissionError (errno 13), as an unreadable file does for
    any user, root included; every other path opens as usual."""
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
