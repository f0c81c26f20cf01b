"""``LinearClassifier``: slopelab's losses and update rules behind scikit-learn's estimator API.

A true minibatch trainer (scikit-learn's ``SGDClassifier`` updates per example and is
one-vs-all only): multinomial softmax or a multiclass SVM, trained with any update rule and
learning-rate schedule. It passes scikit-learn's estimator checks, so it works in a
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> X, y = load_iris(return_X_y=True)
>>> model = make_pipeline(StandardScaler(), LinearClassifier(random_state=0)).fit(X, y)
>>> model.score(X, y) > 0.9
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from slopelab.autolr import auto_learning_rate
from slopelab.errors import SlopelabError
from slopelab.history import Budget, History
from slopelab.linear import class_scores, init_params
from slopelab.losses import EXAMPLE_LOSSES, get_loss
from slopelab.optim import OPTIMIZERS, Optimizer, get_optimizer
from slopelab.problem import Problem
from slopelab.softmax import log_softmax, softmax_probabilities
from slopelab.train import SAMPLINGS, DescentConfig, DescentState, descend
from slopelab.validation import check_choice, check_positive


class DivergedError(SlopelabError, RuntimeError):
    """Training stopped because the loss blew up (the message says where and what to try)."""


def _is_softmax(estimator: LinearClassifier) -> bool:
    return estimator.loss == "softmax"


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Linear classifier ``s = x W + b`` trained by minibatch gradient descent.

    Args:
        loss: ``"softmax"`` (cross-entropy; gives ``predict_proba``), ``"svm"`` (Weston–Watkins),
            ``"svm-ova"`` or ``"svm-structured"``.
        optimizer: update rule: ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``,
            ``"rmsprop"``, ``"adam"``, ``"adamw"``.
        learning_rate: ``"auto"`` (default: ``1 / L`` from the curvature of the data for SGD,
            ``(1 - mu) / L`` with momentum, the rule's usual default for adaptive rules; see
            ``slopelab.autolr``), a float, or a schedule ``step -> rate``.
        reg: regularization strength; the loss adds ``reg * R(W)`` (bias not penalized).
        penalty: ``"l2"`` (``R = sum W**2``), ``"l1"`` or ``"none"``.
        batch_size: examples per update (capped at the number of training examples).
        epochs: passes over the training data per ``fit``.
        sampling: ``"shuffle"`` (a permutation per epoch) or ``"replacement"``.
        optimizer_params: extra hyperparameters of the update rule, e.g. ``{"momentum": 0.95}``.
        early_stopping: hold out ``validation_fraction`` of the data and stop when validation
            accuracy has not improved for ``n_iter_no_change`` epochs (best weights restored).
        random_state: seed, ``numpy.random.Generator`` or None.
        warm_start: continue from the previous solution on the next ``fit``.

    Fitted attributes: ``classes_``, ``coef_`` (n_classes, n_features) — (1, n_features) for
    two classes, as in scikit-learn —, ``intercept_``, ``params_`` (``W (D, C)``, ``b (C,)``),
    ``learning_rate_`` (what ``"auto"`` resolved to), ``loss_curve_`` (mean training loss per
    epoch), ``history_``, ``n_iter_`` (epochs), ``t_``
    (updates), ``n_features_in_``.
    """

    def __init__(
        self,
        loss: str = "softmax",
        optimizer: str = "sgd",
        learning_rate: Any = "auto",
        reg: float = 1e-4,
        penalty: str = "l2",
        batch_size: int = 200,
        epochs: int = 50,
        sampling: str = "shuffle",
        optimizer_params: dict[str, Any] | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        random_state: Any = None,
        warm_start: bool = False,
    ) -> None:
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.reg = reg
        self.penalty = penalty
        self.batch_size = batch_size
        self.epochs = epochs
        self.sampling = sampling
        self.optimizer_params = optimizer_params
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.warm_start = warm_start

    def fit(self, X: Any, y: Any) -> LinearClassifier:
        """Train for ``epochs`` passes (fewer with early stopping) from a fresh start, or from
        the previous solution with ``warm_start``."""
        self._check_hyperparameters()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({classes[0].item()!r}); "
                "a classifier needs at least 2 classes"
            )
        if not (self.warm_start and hasattr(self, "params_")):
            self._reset(classes, X)
        elif not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start: y has classes {classes.tolist()} but the model was fitted on "
                f"{self.classes_.tolist()}; refit with warm_start=False"
            )
        return self._train(X, y_index, self.epochs, self.early_stopping)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> LinearClassifier:
        """One epoch over ``X, y``, continuing the optimizer's state; ``classes`` (all labels
        that will ever appear) is required on the first call."""
        first_call = not hasattr(self, "params_")
        self._check_hyperparameters()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=first_call)
        check_classification_targets(y)
        if first_call:
            if classes is None:
                raise ValueError(
                    "classes must be given on the first call to partial_fit: the full list of "
                    "labels, e.g. classes=np.unique(y_all)"
                )
            all_classes = np.unique(classes)
            if len(all_classes) < 2:
                raise ValueError("classes must hold at least 2 distinct labels")
            self._reset(all_classes, X)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes {np.unique(classes).tolist()} differ from the classes of the first "
                f"partial_fit call {self.classes_.tolist()}"
            )
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not in classes "
                f"{self.classes_.tolist()}"
            )
        return self._train(X, np.searchsorted(self.classes_, y), 1, early_stopping=False)

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores ``X W + b``, shape (N, C); for two classes ``s_1 - s_0``, shape (N,)."""
        scores = self._scores(X)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest score for every row."""
        predicted = self._scores(X).argmax(axis=1)
        return self.classes_[predicted]

    @available_if(_is_softmax)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax probabilities ``p_ij = exp(s_ij) / sum_k exp(s_ik)`` (softmax loss only)."""
        return softmax_probabilities(self._scores(X))

    @available_if(_is_softmax)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log-probabilities, computed stably (softmax loss only)."""
        return log_softmax(self._scores(X))

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "params_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return class_scores(self.params_, X)

    def _check_hyperparameters(self) -> None:
        check_choice(self.loss, "loss", EXAMPLE_LOSSES)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.sampling, "sampling", SAMPLINGS)
        check_positive(self.reg, "reg", allow_zero=True)
        check_positive(self.batch_size, "batch_size", integer=True)
        check_positive(self.epochs, "epochs", integer=True)
        check_positive(self.n_iter_no_change, "n_iter_no_change", integer=True)
        fraction = check_positive(self.validation_fraction, "validation_fraction")
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be in (0, 1); got {fraction!r}")

    def _reset(self, classes: np.ndarray, X: np.ndarray) -> None:
        self.classes_ = classes
        self._rng = _generator(self.random_state)
        hyper = dict(self.optimizer_params or {})
        self.learning_rate_ = self.learning_rate
        if isinstance(self.learning_rate, str) and self.learning_rate == "auto":
            momentum = hyper.get("momentum", 0.9)
            self.learning_rate_ = auto_learning_rate(X, self.reg, self.optimizer, momentum)
        # The optimizer holds closures, which do not pickle; keep its recipe and its state.
        self._optimizer_recipe = (self.optimizer, self.learning_rate_, hyper)
        self.params_ = init_params(X.shape[1], len(classes), self._rng, dtype=X.dtype)
        self._state = DescentState(self.params_, self._make_optimizer().init(self.params_))
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0
        self.t_ = 0

    def _train(
        self, X: np.ndarray, y: np.ndarray, epochs: int, early_stopping: bool
    ) -> LinearClassifier:
        X_val = y_val = None
        if early_stopping:
            X, X_val, y, y_val = _validation_split(X, y, self.validation_fraction, self._rng)
        problem = Problem(get_loss(self.loss, self.penalty), X, y, X_val, y_val)
        config = DescentConfig(
            reg=self.reg,
            batch_size=self.batch_size,
            sampling=self.sampling,
            eval_every=None,
            patience=self.n_iter_no_change if early_stopping else None,
        )
        self._state.batch_in_epoch = 0  # each call starts a fresh epoch over the new data
        self._state.epochs_done = self._state.examples = 0
        self._state.best_params, self._state.best_val_accuracy = None, -np.inf
        self._state.stale_epochs = 0
        history = descend(
            problem,
            self._make_optimizer(),
            config,
            Budget(epochs=epochs),
            self._rng,
            state=self._state,
        )
        if history.status == "diverged":
            raise DivergedError(history.message)
        self._record(history, X.shape[0])
        return self

    def _make_optimizer(self) -> Optimizer:
        name, learning_rate, hyper = self._optimizer_recipe
        return get_optimizer(name, learning_rate=learning_rate, **hyper)

    def _record(self, history: History, num_examples: int) -> None:
        self.history_ = history
        self.params_ = history.params
        self._state.params = history.params
        steps_per_epoch = -(-num_examples // min(self.batch_size, num_examples))
        losses = history.column("loss")
        epoch_starts = range(0, len(losses), steps_per_epoch)
        self.loss_curve_ += [float(losses[i : i + steps_per_epoch].mean()) for i in epoch_starts]
        self.n_iter_ += len(epoch_starts)
        self.t_ += len(losses)
        W, b = self.params_["W"], self.params_["b"]
        if len(self.classes_) == 2:
            self.coef_ = (W[:, 1] - W[:, 0])[None, :]
            self.intercept_ = np.array([b[1] - b[0]])
        else:
            self.coef_ = W.T.copy()
            self.intercept_ = b.copy()


def _generator(random_state: Any) -> np.random.Generator:
    """A Generator from scikit-learn's random_state conventions (None, int, RandomState)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _validation_split(
    X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    seed = int(rng.integers(0, 2**31 - 1))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    try:
        return tuple(
            train_test_split(X, y, test_size=fraction, random_state=seed, stratify=stratify)
        )
    except ValueError as error:
        raise ValueError(
            f"early_stopping could not hold out validation_fraction={fraction} of "
            f"{len(y)} examples ({error}); use more data or a larger validation_fraction"
        ) from None
