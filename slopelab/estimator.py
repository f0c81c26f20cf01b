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

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from slopelab.autolr import resolve_learning_rate
from slopelab.errors import InvalidTypeError, InvalidValueError, SlopelabError
from slopelab.history import Budget, History
from slopelab.linear import class_scores, init_params
from slopelab.losses import EXAMPLE_LOSSES, get_loss
from slopelab.optim import OPTIMIZERS, Optimizer, get_optimizer
from slopelab.problem import Problem
from slopelab.regularization import PENALTIES, check_l1_ratio
from slopelab.softmax import log_softmax, softmax_probabilities
from slopelab.sparse import check_sparse_features, is_sparse
from slopelab.train import (
    SAMPLINGS,
    DescentConfig,
    DescentState,
    average_start,
    descend,
    steps_per_epoch,
)
from slopelab.validation import check_choice, check_finite, check_positive
from slopelab.weights import check_sample_weight, class_weights, normalized_weights


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
            ``(1 - mu) / L`` with momentum ``mu``, ``1e-2 / rms(x)`` for the adaptive rules
            (AdaGrad ``1e-1 / rms(x)``); see ``slopelab.autolr``), a float, or a schedule
            ``step -> rate``.
        reg: regularization strength; the loss adds ``reg * R(W)`` (bias not penalized).
        penalty: ``"l2"`` (``R = sum W**2``), ``"l1"`` (subgradient), ``"elasticnet"``
            (``R = l1_ratio sum|W| + (1 - l1_ratio) sum W**2``, its L1 part by a proximal
            soft-thresholding step after every update, so weights reach exactly 0.0; see
            ``slopelab.regularization``) or ``"none"``.
        batch_size: examples per update (capped at the number of training examples).
        epochs: passes over the training data per ``fit``.
        sampling: ``"shuffle"`` (a permutation per epoch) or ``"replacement"``.
        optimizer_params: extra hyperparameters of the update rule, e.g. ``{"momentum": 0.95}``.
        early_stopping: hold out ``validation_fraction`` of the data and stop when validation
            accuracy has not improved for ``n_iter_no_change`` epochs (best weights restored).
        random_state: seed, ``numpy.random.Generator``, ``RandomState`` or None.
        warm_start: continue from the previous solution on the next ``fit``.
        class_weight: None (every class 1), ``"balanced"`` (class ``c`` weighs
            ``N / (C * count_c)``, as scikit-learn's ``compute_class_weight``; ``fit`` only) or
            a dict ``{label: weight}`` (unlisted labels 1). Multiplies ``sample_weight``.
        average: averaged SGD: ``True`` (from the first update) or the update ``t0 >= 1`` to
            start from; the model (``params_``, ``coef_``, predictions) is then the mean of the
            iterates ``W_t, t >= t0``, while training continues from the last iterate
            (``warm_start`` and ``partial_fit`` carry both on). ``SGDClassifier(average=k)``
            counts examples, this ``k`` counts updates.
        l1_ratio: the L1 share of ``penalty="elasticnet"``, in [0, 1] (0: exactly l2).

    Weights (``sample_weight`` of ``fit``/``partial_fit``, times the class weights) make the
    data loss the weighted mean ``sum_i w_i L_i / sum_i w_i``: an integer weight k is the row
    repeated k times, a weight 0 the row removed (see :mod:`slopelab.weights`). Each call
    normalizes its own weights, so a ``partial_fit`` chunk's weights are relative to each other.

    Continuing (``warm_start`` or ``partial_fit``) starts from the previous ``params_`` and reads
    every hyperparameter afresh, so ``set_params`` in between takes effect. The update rule's
    state (velocity, moments, step count) is kept only while its recipe — ``optimizer``, the
    resolved learning rate and ``optimizer_params`` — is unchanged; any change starts the new
    rule from a fresh state. ``"auto"`` is resolved on the data of the fit that first needs it
    and again whenever ``optimizer``, ``optimizer_params`` or ``reg`` change (so the chunks of a
    ``partial_fit`` stream share one rate). A new ``random_state`` reseeds the shuffling.

    ``X`` may be a ``scipy.sparse`` matrix or array in any format: it is checked and converted
    to CSR once, and trained on and scored with sparse products, never densified (no centering
    either: scale sparse features with ``MaxAbsScaler`` if they need it).

    If the loss diverges, ``fit`` and ``partial_fit`` raise :class:`DivergedError` and leave the
    estimator unfitted (every fitted attribute removed, as before the first ``fit``): no
    half-trained model is left behind to be scored by mistake.

    Fitted attributes: ``classes_``, ``coef_`` (n_classes, n_features) — (1, n_features) for
    two classes, as in scikit-learn —, ``intercept_``, ``params_`` (``W (D, C)``, ``b (C,)``),
    ``learning_rate_`` (what ``"auto"`` resolved to), ``loss_curve_`` (mean training loss per
    epoch), ``history_`` (of the last call), ``n_iter_`` (epochs) and ``t_`` (updates) over all
    calls, ``n_features_in_``, ``sparsity_`` (the fraction of ``W`` that is exactly 0.0).
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
        class_weight: Any = None,
        average: bool | int = False,
        l1_ratio: float = 0.15,
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
        self.class_weight = class_weight
        self.average = average
        self.l1_ratio = l1_ratio

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearClassifier:
        """Train for ``epochs`` passes (fewer with early stopping) from a fresh start, or from
        the previous solution with ``warm_start``; ``sample_weight`` (N,) weights the rows."""
        self._check_hyperparameters()
        warm = self.warm_start and hasattr(self, "params_")
        X, y = _validated(self, X, y, reset=not warm)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({classes[0].item()!r}); "
                "a classifier needs at least 2 classes"
            )
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start: y has classes {classes.tolist()} but the model was fitted on "
                f"{self.classes_.tolist()}; refit with warm_start=False"
            )
        weights = _example_weights(sample_weight, self.class_weight, classes, y_index)
        return self._train(
            X, y_index, classes, self.epochs, self.early_stopping, fresh=not warm, weights=weights
        )

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> LinearClassifier:
        """One epoch over ``X, y``, continuing the optimizer's state; ``classes`` (all labels
        that will ever appear) is required on the first call; ``sample_weight`` (N,) weights
        the rows. ``class_weight="balanced"`` is refused, as by scikit-learn: one chunk's counts
        are not the stream's; pass a dict computed from the stream's labels instead."""
        first_call = not hasattr(self, "params_")
        self._check_hyperparameters()
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            raise InvalidValueError(
                "class_weight='balanced' is not supported by partial_fit; pass a dict such as "
                "dict(zip(classes, compute_class_weight('balanced', classes=classes, y=y_all)))"
            )
        X, y = _validated(self, X, y, reset=first_call)
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
        else:
            all_classes = self.classes_
            if classes is not None and not np.array_equal(np.unique(classes), all_classes):
                raise ValueError(
                    f"classes {np.unique(classes).tolist()} differ from the classes of the first "
                    f"partial_fit call {all_classes.tolist()}"
                )
        unknown = np.setdiff1d(y, all_classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not in classes "
                f"{all_classes.tolist()}"
            )
        y_index = np.searchsorted(all_classes, y)
        weights = _example_weights(sample_weight, self.class_weight, all_classes, y_index)
        return self._train(
            X, y_index, all_classes, 1, early_stopping=False, fresh=first_call, weights=weights
        )

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
        X = _validated(self, X, "no_validation", reset=False)
        return class_scores(self.params_, X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # scipy.sparse X is trained on as it is, never densified
        return tags

    def _html_repr(self) -> str:
        """scikit-learn's diagram, then (once fitted) the fitted numbers and the loss curve.
        scikit-learn calls it for ``_repr_html_`` and ``_repr_mimebundle_`` only when
        ``set_config(display="diagram")``, its default."""
        from sklearn.utils import estimator_html_repr

        from slopelab.display import estimator_summary_html

        diagram = estimator_html_repr(self)
        return diagram + estimator_summary_html(self) if hasattr(self, "params_") else diagram

    def _check_hyperparameters(self) -> None:
        check_choice(self.loss, "loss", EXAMPLE_LOSSES)
        check_choice(self.penalty, "penalty", PENALTIES)
        check_l1_ratio(self.l1_ratio)
        average_start(self.average)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.sampling, "sampling", SAMPLINGS)
        check_positive(self.reg, "reg", allow_zero=True)
        check_positive(self.batch_size, "batch_size", integer=True)
        check_positive(self.epochs, "epochs", integer=True)
        check_positive(self.n_iter_no_change, "n_iter_no_change", integer=True)
        fraction = check_positive(self.validation_fraction, "validation_fraction")
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be in (0, 1); got {fraction!r}")
        if self.optimizer_params is not None and not isinstance(self.optimizer_params, Mapping):
            raise InvalidTypeError(
                "optimizer_params must be a dict such as {'momentum': 0.95} or None; "
                f"got {type(self.optimizer_params).__name__}"
            )

    def _train(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        epochs: int,
        early_stopping: bool,
        fresh: bool,
        weights: np.ndarray | None = None,
    ) -> LinearClassifier:
        """Train from a fresh start or from ``params_``. The estimator changes only at the end:
        fitted with the result, or unfitted if the loss diverged."""
        rng = self._continued_rng(fresh)
        rate_weights = None if weights is None else normalized_weights(weights)
        learning_rate, optimizer = self._update_rule(X, len(classes), fresh, rate_weights)
        recipe = (optimizer.name, learning_rate, optimizer.hyperparams)
        if fresh:
            params = init_params(X.shape[1], len(classes), rng, dtype=X.dtype)
        else:  # training goes on from the raw iterate, not from the average
            params = self._raw_params if self._raw_params is not None else self.params_
        keep_state = not fresh and recipe == self._recipe
        opt_state = self._opt_state if keep_state else optimizer.init(params)
        # A fresh loop state each call: new data, a fresh epoch, the divergence check measured
        # against this call's first loss; only the step count goes on with the rule's state.
        state = DescentState(params, opt_state, step=int(opt_state.count))
        if not fresh and average_start(self.average) is not None:
            state.average, state.averaged = self._average, self._averaged
        problem, config = self._problem(X, y, early_stopping, rng, weights)
        history = descend(problem, optimizer, config, Budget(epochs=epochs), rng, state=state)
        if history.status == "diverged":
            self._forget_fit()
            raise DivergedError(history.message)

        if fresh:
            self.loss_curve_: list[float] = []
            self.n_iter_ = self.t_ = 0
        self.classes_ = classes
        self._rng, self._rng_source = rng, self.random_state
        self.learning_rate_, self._rate_inputs = learning_rate, self._learning_rate_inputs()
        self._recipe, self._opt_state = recipe, state.opt_state
        self._raw_params = history.raw_params
        self._average, self._averaged = state.average, state.averaged
        self._record(history, problem.num_examples)
        return self

    def _problem(
        self,
        X: np.ndarray,
        y: np.ndarray,
        early_stopping: bool,
        rng: np.random.Generator,
        weights: np.ndarray | None = None,
    ) -> tuple[Problem, DescentConfig]:
        X_val = y_val = None
        if early_stopping:
            X, X_val, y, y_val, weights = _validation_split(
                X, y, self.validation_fraction, rng, weights
            )
        problem = Problem(get_loss(self.loss, self.penalty, self.l1_ratio), X, y, X_val, y_val)
        if weights is not None:
            problem.sample_weight = normalized_weights(weights)
        config = DescentConfig(
            reg=self.reg,
            batch_size=self.batch_size,
            sampling=self.sampling,
            eval_every=None,
            patience=self.n_iter_no_change if early_stopping else None,
            average=average_start(self.average),
        )
        return problem, config

    def _continued_rng(self, fresh: bool) -> np.random.Generator:
        """The generator of the previous call, unless this is a fresh start or
        ``random_state`` has been changed since."""
        if fresh or not _same_random_state(self.random_state, self._rng_source):
            return _generator(self.random_state)
        return self._rng

    def _update_rule(
        self,
        X: np.ndarray,
        num_classes: int,
        fresh: bool,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[Any, Optimizer]:
        """The learning rate and the update rule, both validated. ``"auto"`` is resolved on
        ``X`` unless the previous call resolved it from the same hyperparameters."""
        hyperparams = dict(self.optimizer_params or {})
        if "learning_rate" in hyperparams:
            raise ValueError(
                "optimizer_params must not hold learning_rate; set the learning_rate parameter"
            )
        get_optimizer(self.optimizer, **hyperparams)  # checks them before "auto" reads them
        if not fresh and self._rate_inputs == self._learning_rate_inputs():
            learning_rate = self.learning_rate_
        else:
            learning_rate = resolve_learning_rate(
                self.learning_rate,
                X,
                self.reg,
                self.optimizer,
                hyperparams,
                penalty=self.penalty,
                num_classes=num_classes,
                sample_weight=sample_weight,
                l1_ratio=self.l1_ratio,
            )
        optimizer = get_optimizer(self.optimizer, learning_rate=learning_rate, **hyperparams)
        return learning_rate, optimizer

    def _learning_rate_inputs(self) -> tuple[Any, ...]:
        """What ``learning_rate_`` is resolved from, besides the data."""
        return (
            self.learning_rate,
            self.optimizer,
            dict(self.optimizer_params or {}),
            self.reg,
            self.penalty,
            self.l1_ratio,
        )

    def _forget_fit(self) -> None:
        """Remove every fitted attribute: the estimator is as unfitted as a new one."""
        for name in list(vars(self)):
            fitted = name.endswith("_") and not name.startswith("__")
            if fitted or name in _PRIVATE_STATE:
                delattr(self, name)

    def _record(self, history: History, num_examples: int) -> None:
        self.history_ = history
        self.params_ = history.params
        self.sparsity_ = history.sparsity
        epoch_length = steps_per_epoch(num_examples, self.batch_size)
        losses = history.column("loss")
        epoch_starts = range(0, len(losses), epoch_length)
        self.loss_curve_ += [float(losses[i : i + epoch_length].mean()) for i in epoch_starts]
        self.n_iter_ += len(epoch_starts)
        self.t_ += len(losses)
        W, b = self.params_["W"], self.params_["b"]
        if len(self.classes_) == 2:
            self.coef_ = (W[:, 1] - W[:, 0])[None, :]
            self.intercept_ = np.array([b[1] - b[0]])
        else:
            self.coef_ = W.T.copy()
            self.intercept_ = b.copy()


# What the estimator keeps between calls besides its fitted attributes (the optimizer holds
# closures, which do not pickle: keep its recipe and its state arrays instead).
_PRIVATE_STATE = ("_rng", "_rng_source", "_recipe", "_opt_state", "_rate_inputs")
_PRIVATE_STATE += ("_raw_params", "_average", "_averaged")  # averaged SGD


def _validated(estimator: LinearClassifier, X: Any, y: Any, *, reset: bool) -> Any:
    """scikit-learn's ``validate_data`` (float32 kept, no upcast), with slopelab's one-pass
    finite check instead of scikit-learn's, which sums float32 data in float64 (a slower pass
    over CIFAR-10-sized data); the error is a ValueError naming the first bad row. ``y`` is
    ``"no_validation"`` for rows alone (predict), as in ``validate_data``. Sparse ``X`` is
    accepted in any scipy format and comes back as a checked CSR (``slopelab.sparse``)."""
    checked = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        dtype=[np.float64, np.float32],
        ensure_all_finite=False,
        accept_sparse=True,
    )
    rows = checked[0] if isinstance(checked, tuple) else checked
    if is_sparse(rows):  # any format, once, to a canonical CSR; never densified
        rows = check_sparse_features(rows, "X")
        return (rows, *checked[1:]) if isinstance(checked, tuple) else rows
    check_finite(rows, "X")
    return checked


def _same_random_state(current: Any, previous: Any) -> bool:
    if isinstance(current, numbers.Integral) and isinstance(previous, numbers.Integral):
        return int(current) == int(previous)
    return current is previous


def _generator(random_state: Any) -> np.random.Generator:
    """A Generator from scikit-learn's random_state conventions (None, int, RandomState)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return random_state
    is_seed = isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    if is_seed and random_state < 0:
        raise InvalidValueError(f"random_state must be >= 0; got {random_state}")
    if random_state is None or is_seed:
        return np.random.default_rng(random_state)
    raise InvalidTypeError(
        "random_state must be None, an int >= 0, a numpy.random.Generator or RandomState; "
        f"got {random_state!r} ({type(random_state).__name__})"
    )


def _example_weights(
    sample_weight: Any, class_weight: Any, classes: np.ndarray, y_index: np.ndarray
) -> np.ndarray | None:
    """``sample_weight_i * class_weight[y_i]`` (N,), checked; None when both are None (the
    unweighted loss, exactly)."""
    if sample_weight is None and class_weight is None:
        return None
    weights = np.ones(len(y_index))
    if sample_weight is not None:
        weights = check_sample_weight(sample_weight, len(y_index))
    weights = weights * class_weights(class_weight, classes, y_index)[y_index]
    if not weights.any():
        raise InvalidValueError(
            "every example has weight zero (sample_weight times class_weight); "
            "at least one must be positive"
        )
    return weights


def _validation_split(
    X: np.ndarray,
    y: np.ndarray,
    fraction: float,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
) -> tuple[Any, ...]:
    """``X_train, X_val, y_train, y_val, weights_train`` (the validation rows' weights are
    dropped: validation accuracy is unweighted)."""
    seed = int(rng.integers(0, 2**31 - 1))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    arrays = (X, y) if weights is None else (X, y, weights)
    try:
        split = train_test_split(*arrays, test_size=fraction, random_state=seed, stratify=stratify)
        return (*split[:4], split[4] if weights is not None else None)
    except ValueError as error:
        raise ValueError(
            f"early_stopping could not hold out validation_fraction={fraction} of "
            f"{len(y)} examples ({error}); use more data or a larger validation_fraction"
        ) from None
