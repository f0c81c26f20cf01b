"""The data the benchmarks train on, prepared once and the same way for every candidate.

Every split is standardized with the training split's per-feature mean and standard deviation
(computed in float64), then handed to each library in its own working dtype: float32 to slopelab
and PyTorch, float64 to scikit-learn (which converts anything else to float64 itself; giving it
float64 keeps that conversion out of its timings).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from slopelab.data import load_dataset


@dataclass(frozen=True)
class Splits:
    """Standardized train and test splits (float32), labels, and a float64 view for sklearn."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    preparation: str = "standardized on train"

    @cached_property
    def X_train64(self) -> np.ndarray:  # noqa: N802 (the math name X)
        return self.X_train.astype(np.float64)

    @cached_property
    def X_test64(self) -> np.ndarray:  # noqa: N802
        return self.X_test.astype(np.float64)

    @property
    def description(self) -> str:
        return (
            f"{self.name} ({len(self.y_train):,} train / {len(self.y_test):,} test, "
            f"D={self.X_train.shape[1]:,}, {self.preparation})"
        )


def standardized(name: str, X_train, y_train, X_test, y_test) -> Splits:
    """``x' = (x - mean) / std`` with the training split's statistics (std 0 -> 1)."""
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std < 1e-12] = 1.0

    def scale(X: np.ndarray) -> np.ndarray:
        return ((X - mean) / std).astype(np.float32)

    as_labels = np.int64
    return Splits(
        name, scale(X_train), y_train.astype(as_labels), scale(X_test), y_test.astype(as_labels)
    )


def named_dataset(name: str, data_dir: str | Path | None = None) -> Splits:
    """A dataset slopelab knows by name: its training split (validation rows left out) and test
    split, standardized."""
    dataset = load_dataset(name, data_dir=data_dir)
    label = {"fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}.get(name, name)
    return standardized(label, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)


def digits() -> Splits:
    """scikit-learn's digits (8x8 images), 80/20 stratified: small enough for a smoke run."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    return standardized("digits", X_train, y_train, X_test, y_test)


def cifar_shaped(num_examples: int, num_features: int, num_classes: int, seed: int = 0) -> Splits:
    """Synthetic float32 data of CIFAR-10's shape: Gaussian rows around one random centre per
    class (learnable, so the losses' active sets look like training, not like noise), with
    test rows drawn the same way (a tenth as many)."""
    rng = np.random.default_rng(seed)
    centres = 0.05 * rng.standard_normal((num_classes, num_features), dtype=np.float32)

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, num_classes, count)
        X = rng.standard_normal((count, num_features), dtype=np.float32)
        X += centres[y]
        return X, y

    X_train, y_train = draw(num_examples)
    X_test, y_test = draw(max(num_examples // 10, num_classes))
    return Splits(
        "synthetic CIFAR-10-shaped", X_train, y_train, X_test, y_test, "Gaussian, variance ~1"
    )
