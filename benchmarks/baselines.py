"""The baselines, set up to optimize what slopelab optimizes.

slopelab minimizes ``(1/N) sum_i L_i + reg * sum(W**2)`` (bias not penalized).

- ``LogisticRegression`` minimizes ``C sum_i L_i + (1/2) ||W||^2`` (multinomial with lbfgs,
  intercept not penalized); dividing by ``C N`` gives slopelab's objective when
  ``C = 1 / (2 reg N)``. It runs until lbfgs converges; its ConvergenceWarnings are recorded
  and reported, never silenced.
- ``SGDClassifier`` minimizes ``(1/N) sum_i L_i + alpha (1/2) ||w||^2`` per one-vs-all binary
  problem, so ``alpha = 2 reg`` gives the same penalty (its losses are one-vs-all, not
  multinomial, so the objectives still differ).
- The PyTorch loop is ``nn.Linear`` + cross-entropy + ``reg * sum(W**2)`` + plain SGD with the
  learning rate it is given (the caller passes the very number slopelab trains with), started
  like slopelab (``W ~ 1e-3 N(0, 1)``, ``b = 0``) from a seeded generator.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def matched_c(reg: float, num_examples: int) -> float:
    """``C = 1 / (2 reg N)``: LogisticRegression's objective divided by ``C N`` is slopelab's."""
    return 1.0 / (2.0 * reg * num_examples)


@dataclass(frozen=True)
class LogisticFit:
    """A LogisticRegression fit: the model, its lbfgs iterations, and whether it converged
    (lbfgs said so: no ConvergenceWarning)."""

    model: object
    iterations: int
    max_iter: int
    warnings: tuple[str, ...]

    @property
    def converged(self) -> bool:
        return not self.warnings

    def describe(self) -> str:
        if self.converged:
            return f"converged in {self.iterations} iterations"
        return f"NOT converged after {self.iterations} iterations: {self.warnings[0]}"


def fit_logistic(X, y, reg: float, max_iter: int) -> LogisticFit:
    """LogisticRegression (lbfgs) on slopelab's objective, ConvergenceWarnings recorded."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=matched_c(reg, len(y)), max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    messages = []
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            messages.append(str(warning.message).splitlines()[0])
        else:  # anything else is not ours to judge: show it as Python would
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return LogisticFit(model, int(np.max(model.n_iter_)), max_iter, tuple(messages))


@dataclass(frozen=True)
class LogisticRun:
    """One timed LogisticRegression fit on a dataset's training split, scored on its test
    split; ``data_name`` says which dataset, so a later section can reuse it."""

    data_name: str
    reg: float
    seconds: float
    fit: LogisticFit
    accuracy: float

    def same_as(self, data_name: str, reg: float, max_iter: int) -> bool:
        """Whether a run on ``data_name`` with ``reg`` and ``max_iter`` would give this one."""
        converged_sooner = self.fit.converged and self.fit.iterations < max_iter
        same_budget = converged_sooner or self.fit.max_iter == max_iter
        return (self.data_name, self.reg) == (data_name, reg) and same_budget


def run_logistic(data, reg: float, max_iter: int) -> LogisticRun:
    """Fit LogisticRegression on ``data`` (float64, as it works) and time it; score untimed."""
    started = time.perf_counter()
    fit = fit_logistic(data.X_train64, data.y_train, reg, max_iter)
    seconds = time.perf_counter() - started
    return LogisticRun(data.name, reg, seconds, fit, fit.model.score(data.X_test64, data.y_test))


def sgd_classifier(loss: str, reg: float, **options):
    """SGDClassifier with slopelab's penalty (``alpha = 2 reg``), two jobs, seeded."""
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss=loss, alpha=2.0 * reg, n_jobs=2, random_state=0, **options)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_softmax_trainer(X_train, y_train, X_test, *, epochs, batch_size, learning_rate, reg):
    """A plain PyTorch loop; the returned callable trains from scratch and predicts X_test.
    One small untimed run first, so torch's one-time start-up (autograd, thread pool) is not
    charged to the first timed repeat."""
    import torch

    def train(X_train, y_train, epochs) -> np.ndarray:
        generator = torch.Generator().manual_seed(0)
        X = torch.from_numpy(X_train)
        y = torch.from_numpy(y_train).long()
        model = torch.nn.Linear(X.shape[1], int(y.max()) + 1)
        with torch.no_grad():  # slopelab's start, W ~ 1e-3 N(0, 1) and b = 0, from the seed
            model.weight.copy_(1e-3 * torch.randn(model.weight.shape, generator=generator))
            model.bias.zero_()
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            order = torch.randperm(len(y), generator=generator)
            for start in range(0, len(y), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(X[batch]), y[batch]) + reg * (model.weight**2).sum()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            return model(torch.from_numpy(X_test)).argmax(1).numpy()

    train(X_train[: 2 * batch_size], y_train[: 2 * batch_size], 1)
    return lambda: train(X_train, y_train, epochs)
