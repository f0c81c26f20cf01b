"""Request and response models of the demo's JSON API, with the limits that keep it fast.

Every request carries the whole state it needs (the API is stateless). Parameters use slopelab's
layout, ``W (D, C)`` with D = 2 inputs plus one per chosen feature, and ``b (C,)``; the CS231n
demo stores W as (C, D) rows, the transpose. Coordinates live on the demo's canvas, [-1, 1]^2.
Numbers must be finite: Python's JSON reader accepts ``NaN`` and ``Infinity``, the models do
not. Types are strict: an integer field refuses ``"10"``, ``true`` and ``10.0``, a number field
refuses strings and booleans (an integer is a number: JavaScript writes ``1.0`` as ``1``).

A request that breaks a limit gets a 422 whose ``message`` names the field, e.g.
``data.X[3][0]: Input should be less than or equal to 1``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slopelab.validation import check_labels
from slopelab.web.features import check_order

MAX_POINTS = 500
MIN_CLASSES, MAX_CLASSES = 2, 6
NUM_FEATURES = 2
MAX_ROWS = NUM_FEATURES + 5  # x0, x1 and the five optional features of slopelab.web.features
MAX_PARAM = 1e6
MAX_REG = 1e3
MAX_LEARNING_RATE = 100.0
MAX_STEPS_PER_REQUEST = 200
MAX_STEP_INDEX = 10**7
MAX_GRID = 201
MAX_LANDSCAPE = 101
MAX_PATHS = 8
MAX_PATH_POINTS = 3000
MAX_RUNNERS = 7
MAX_RECENT = 50
MAX_SEED = 2**32 - 1
MAX_SCAN_STEPS = 500
MAX_SCAN_RATES = 41
MAX_BODY_BYTES = 1_000_000

LossName = Literal["svm", "svm-ova", "svm-structured", "softmax"]
OptimizerName = Literal["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
ScheduleName = Literal["constant", "step", "exponential", "inverse-time", "cosine"]
PresetName = Literal["cs231n", "blobs", "spiral", "circles", "xor", "outlier", "not-separable"]
FeatureName = Literal["x0^2", "x1^2", "x0*x1", "sin(x0)", "sin(x1)"]  # see slopelab.web.features

Finite = Annotated[float, Field(allow_inf_nan=False)]
Coordinate = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
# a list, not a tuple: strict validation takes JSON arrays as lists only
Point = Annotated[list[Coordinate], Field(min_length=NUM_FEATURES, max_length=NUM_FEATURES)]
ParamValue = Annotated[float, Field(ge=-MAX_PARAM, le=MAX_PARAM, allow_inf_nan=False)]
Label = Annotated[int, Field(ge=0, lt=MAX_CLASSES)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
StepIndex = Annotated[int, Field(ge=0, le=MAX_STEP_INDEX)]
StateValue = Finite | list[Finite] | list[list[Finite]]
PARAM_NAME = re.compile(r"^(?:W\[(\d),(\d)\]|b\[(\d)\])$")


class Strict(BaseModel):
    """Unknown fields are errors, so a typo in a request cannot be silently ignored, and values
    of the wrong JSON type are errors, never converted."""

    model_config = ConfigDict(extra="forbid", strict=True)


class DataIn(Strict):
    """Labelled points on the canvas: ``X (N, 2)`` in [-1, 1]^2, ``y (N,)`` in [0, C)."""

    X: list[Point] = Field(min_length=1, max_length=MAX_POINTS)
    y: list[Label] = Field(min_length=1, max_length=MAX_POINTS)
    num_classes: int = Field(ge=MIN_CLASSES, le=MAX_CLASSES)
    test: list[bool] | None = Field(None, max_length=MAX_POINTS)  # held-out points: heldout.py

    @model_validator(mode="after")
    def _labels_in_range(self) -> DataIn:
        if len(self.y) != len(self.X):
            raise ValueError(
                f"data has {len(self.X)} points in X but {len(self.y)} labels in y; "
                "they must have the same length"
            )
        check_labels(self.y, num_classes=self.num_classes)
        _check_test_mask(self.test, len(self.X))
        return self


class ParamsIn(Strict):
    """``W (2 + F, C)`` (one row per input x0, x1 and per chosen feature, one column per class)
    and ``b (C,)``."""

    W: list[list[ParamValue]] = Field(min_length=NUM_FEATURES, max_length=MAX_ROWS)
    b: list[ParamValue] = Field(min_length=MIN_CLASSES, max_length=MAX_CLASSES)

    @model_validator(mode="after")
    def _shapes_agree(self) -> ParamsIn:
        num_classes = len(self.b)
        for row, values in enumerate(self.W):
            if len(values) != num_classes:
                raise ValueError(
                    f"W must have shape ({len(self.W)}, C) with C = len(b) = {num_classes}; "
                    f"row {row} has {len(values)} entries"
                )
        return self

    @property
    def num_classes(self) -> int:
        return len(self.b)

    @property
    def num_rows(self) -> int:
        return len(self.W)


class BatchIn(Strict):
    """Minibatches of ``size`` examples, shuffled per epoch from ``seed``."""

    size: int = Field(ge=1, le=MAX_POINTS)
    seed: Seed = 0


class ScheduleIn(Strict):
    """A learning-rate schedule of ``slopelab.schedules``; ``init_value`` is the step size."""

    name: ScheduleName
    options: dict[str, Finite] = Field(default_factory=dict, max_length=6)


class OptimizerIn(Strict):
    """An update rule of ``slopelab.optim`` with its step size and other hyperparameters."""

    name: OptimizerName = "sgd"
    learning_rate: float = Field(gt=0.0, le=MAX_LEARNING_RATE, allow_inf_nan=False)
    hyperparams: dict[str, Finite] = Field(default_factory=dict, max_length=8)
    schedule: ScheduleIn | None = None


class ConventionsIn(Strict):
    """How ``reg`` penalizes (slopelab.web.conventions): ``half_l2`` for ``0.5 reg sum W^2``
    instead of ``reg sum W^2``, ``regularize_bias`` to add ``sum b^2`` to the sum."""

    half_l2: bool = False
    regularize_bias: bool = False


class DataLossIn(Strict):
    """The data, the loss and its L2 strength: what every computation shares. ``features``
    (slopelab.web.features, in its order) make the model linear in ``phi(x)``, W (2 + F, C)."""

    data: DataIn
    loss: LossName = "svm"
    reg: float = Field(0.1, ge=0.0, le=MAX_REG, allow_inf_nan=False)
    features: list[FeatureName] = Field(default_factory=list, max_length=MAX_ROWS - NUM_FEATURES)
    conventions: ConventionsIn = Field(default_factory=ConventionsIn)

    @model_validator(mode="after")
    def _features_in_order(self) -> DataLossIn:
        check_order(self.features)
        return self

    @property
    def num_rows(self) -> int:
        """Rows of W: x0, x1 and one per feature."""
        return NUM_FEATURES + len(self.features)


class ProblemIn(DataLossIn):
    """A loss at given parameters."""

    params: ParamsIn

    @model_validator(mode="after")
    def _classes_agree(self) -> ProblemIn:
        _check_classes(self.params, self.data.num_classes, "params")
        _check_rows(self.params, self.num_rows, "params")
        return self


class EvaluateIn(ProblemIn):
    """Losses, gradients and per-point details; ``grid_size`` > 0 adds the background colouring,
    ``batch`` the minibatch that update number ``step`` would use and its gradient."""

    grid_size: int = Field(0, ge=0, le=MAX_GRID)
    batch: BatchIn | None = None
    step: StepIndex = 0


class StepIn(EvaluateIn):
    """``num_steps`` updates from ``params`` and ``opt_state`` (``None``: a fresh state).

    ``step`` counts the updates since the run started (it picks the minibatches);
    ``recent_totals`` are the last total losses before this request, for divergence checks.
    """

    optimizer: OptimizerIn
    opt_state: dict[str, StateValue] | None = Field(None, max_length=12)
    num_steps: int = Field(1, ge=1, le=MAX_STEPS_PER_REQUEST)
    recent_totals: list[Finite] = Field(default_factory=list, max_length=MAX_RECENT)

    @model_validator(mode="after")
    def _steps_fit(self) -> StepIn:
        _check_last_step(self.step, self.num_steps, "step")
        return self


class RunnerIn(Strict):
    """One competitor of a race: its update rule and where it is."""

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    optimizer: OptimizerIn
    params: ParamsIn
    opt_state: dict[str, StateValue] | None = Field(None, max_length=12)
    step: StepIndex = 0
    recent_totals: list[Finite] = Field(default_factory=list, max_length=MAX_RECENT)


class RaceIn(DataLossIn):
    """Several update rules on the same data; each runner advances ``num_steps``."""

    runners: list[RunnerIn] = Field(min_length=1, max_length=MAX_RUNNERS)
    batch: BatchIn | None = None
    num_steps: int = Field(1, ge=1, le=MAX_STEPS_PER_REQUEST)

    @model_validator(mode="after")
    def _runners_fit(self) -> RaceIn:
        ids = [runner.id for runner in self.runners]
        if len(set(ids)) != len(ids):
            raise ValueError(f"runner ids must be unique; got {ids}")
        for runner in self.runners:
            _check_classes(runner.params, self.data.num_classes, f"runner {runner.id!r} params")
            _check_rows(runner.params, self.num_rows, f"runner {runner.id!r} params")
            _check_last_step(runner.step, self.num_steps, f"runner {runner.id!r} step")
        return self


class AxesIn(Strict):
    """Two parameter coordinates such as ``"W[0,1]"`` and ``"b[2]"``, or two random directions
    (drawn from ``seed``, orthonormal over all of W and b)."""

    kind: Literal["coordinates", "random"] = "coordinates"
    first: str = Field("W[0,0]", max_length=10)
    second: str = Field("W[1,0]", max_length=10)
    seed: Seed = 0

    def check_against(self, num_classes: int, num_rows: int = NUM_FEATURES) -> None:
        if self.kind != "coordinates":
            return
        for label, name in (("first", self.first), ("second", self.second)):
            _check_param_name(name, num_classes, f"axes.{label}", num_rows)
        if self.first == self.second:
            raise ValueError(f"axes.first and axes.second are both {self.first!r}; pick two")


class LandscapeIn(ProblemIn):
    """The loss on a ``size`` x ``size`` grid spanning ``+-span`` around ``params`` along
    ``axes``; ``paths`` (lists of parameters) are projected onto the same axes."""

    axes: AxesIn = Field(default_factory=AxesIn)
    span: float = Field(2.0, gt=0.0, le=100.0, allow_inf_nan=False)
    size: int = Field(41, ge=3, le=MAX_LANDSCAPE)
    quantity: Literal["total", "data"] = "total"
    paths: list[list[ParamsIn]] = Field(default_factory=list, max_length=MAX_PATHS)
    batch: BatchIn | None = None
    step: StepIndex = 0

    @model_validator(mode="after")
    def _fits(self) -> LandscapeIn:
        self.axes.check_against(self.params.num_classes, self.params.num_rows)
        total = sum(len(path) for path in self.paths)
        if total > MAX_PATH_POINTS:
            raise ValueError(f"paths hold {total} points; the limit is {MAX_PATH_POINTS}")
        for path in self.paths:
            for params in path:
                _check_classes(params, self.data.num_classes, "a path's params")
                _check_rows(params, self.num_rows, "a path's params")
        return self


class LandscapePointIn(Strict):
    """The parameters at axis values ``(first, second)`` of a landscape centred on ``params``;
    the endpoint refuses a point whose parameters would break :data:`MAX_PARAM`."""

    params: ParamsIn
    axes: AxesIn = Field(default_factory=AxesIn)
    first: ParamValue
    second: ParamValue

    @model_validator(mode="after")
    def _fits(self) -> LandscapePointIn:
        self.axes.check_against(self.params.num_classes, self.params.num_rows)
        return self


class LandscapeValueIn(ProblemIn):
    """The loss (``quantity``) exactly at axis values ``(first, second)`` of the landscape
    centred on ``params``, not the nearest grid cell's value (the page's readout)."""

    axes: AxesIn = Field(default_factory=AxesIn)
    quantity: Literal["total", "data"] = "total"
    first: ParamValue
    second: ParamValue

    @model_validator(mode="after")
    def _fits(self) -> LandscapeValueIn:
        self.axes.check_against(self.params.num_classes, self.params.num_rows)
        return self


class GradcheckIn(ProblemIn):
    """Numerical vs analytic gradient with step ``h``; ``sweep`` adds the error against h."""

    h: float = Field(
        1e-5, ge=1e-12, le=1e-3, allow_inf_nan=False
    )  # a check is local: see gradcheck
    scheme: Literal["centered", "forward"] = "centered"
    sweep: bool = True


class DatasetIn(Strict):
    """A preset of ``slopelab.data.toy2d`` (``cs231n`` ignores the other fields); ``noise``
    ``None`` (the default) is the preset's own, e.g. 0.35 for ``not-separable``."""

    preset: PresetName = "cs231n"
    num_points: int = Field(60, ge=MIN_CLASSES, le=MAX_POINTS)
    num_classes: int = Field(3, ge=MIN_CLASSES, le=MAX_CLASSES)
    noise: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    seed: Seed = 0

    @model_validator(mode="after")
    def _enough_points(self) -> DatasetIn:
        if self.preset == "outlier" and self.num_points == self.num_classes:
            raise ValueError(
                f"the outlier preset needs num_points of at least num_classes + 1 "
                f"({self.num_classes + 1}: a point per class and the outlier); got "
                f"{self.num_points}"
            )
        if self.num_points < self.num_classes:
            raise ValueError(
                f"num_points ({self.num_points}) must be at least num_classes ({self.num_classes})"
            )
        return self


class ParamsInitIn(Strict):
    """``default`` (the CS231n demo's W and b for 3 classes), ``random`` (U(-0.5, 0.5) as its
    Randomize button) or ``zeros``; the rows of ``features`` are zeros after any of them."""

    kind: Literal["default", "random", "zeros"] = "default"
    num_classes: int = Field(3, ge=MIN_CLASSES, le=MAX_CLASSES)
    seed: Seed = 0
    features: list[FeatureName] = Field(default_factory=list, max_length=MAX_ROWS - NUM_FEATURES)

    @model_validator(mode="after")
    def _features_in_order(self) -> ParamsInitIn:
        check_order(self.features)
        return self


class PythonIn(ProblemIn):
    """A script replaying ``num_steps`` updates from ``params`` with slopelab's API;
    ``modified`` says the browser run changed settings or data on the way."""

    optimizer: OptimizerIn
    batch: BatchIn | None = None
    num_steps: StepIndex = 0
    modified: bool = False


class ExplainIn(ProblemIn):
    """Point ``index``'s part in one full-batch update by ``optimizer`` from ``opt_state``
    (``None``: a fresh state)."""

    index: int = Field(ge=0, lt=MAX_POINTS)
    optimizer: OptimizerIn
    opt_state: dict[str, StateValue] | None = Field(None, max_length=12)

    @model_validator(mode="after")
    def _index_in_data(self) -> ExplainIn:
        count = len(self.data.X)
        if self.index >= count:
            raise ValueError(
                f"index {self.index} is not a point: there are {count} points, numbered "
                f"0..{count - 1}"
            )
        return self


class AllLossesIn(Strict):
    """The data and ``W, b`` under every loss at L2 strength ``reg``, with the page's
    ``features`` and regularization ``conventions`` (as :class:`DataLossIn`, without a loss)."""

    data: DataIn
    params: ParamsIn
    reg: float = Field(0.1, ge=0.0, le=MAX_REG, allow_inf_nan=False)
    features: list[FeatureName] = Field(default_factory=list, max_length=MAX_ROWS - NUM_FEATURES)
    conventions: ConventionsIn = Field(default_factory=ConventionsIn)

    @model_validator(mode="after")
    def _classes_agree(self) -> AllLossesIn:
        check_order(self.features)
        _check_classes(self.params, self.data.num_classes, "params")
        _check_rows(self.params, NUM_FEATURES + len(self.features), "params")
        return self


class LrScanIn(ProblemIn):
    """The total loss after ``num_steps`` updates at ``num_rates`` log-spaced rates from
    ``min_rate`` to ``max_rate`` and at ``optimizer.learning_rate`` (the rate in use), each
    from ``params`` and ``opt_state`` at update ``step``, as ``/api/step`` would make them."""

    optimizer: OptimizerIn
    opt_state: dict[str, StateValue] | None = Field(None, max_length=12)
    batch: BatchIn | None = None
    step: StepIndex = 0
    num_steps: int = Field(50, ge=1, le=MAX_SCAN_STEPS)
    min_rate: float = Field(5e-4, gt=0.0, le=MAX_LEARNING_RATE, allow_inf_nan=False)
    max_rate: float = Field(5.0, gt=0.0, le=MAX_LEARNING_RATE, allow_inf_nan=False)
    num_rates: int = Field(21, ge=2, le=MAX_SCAN_RATES)

    @model_validator(mode="after")
    def _fits(self) -> LrScanIn:
        if self.min_rate >= self.max_rate:
            raise ValueError(f"min_rate ({self.min_rate}) must be below max_rate ({self.max_rate})")
        _check_last_step(self.step, self.num_steps, "step")
        return self


class SplitIn(Strict):
    """A held-out mask: ``round(fraction * num_points)`` test points drawn from ``seed``."""

    num_points: int = Field(ge=1, le=MAX_POINTS)
    fraction: float = Field(ge=0.0, le=0.9, allow_inf_nan=False)
    seed: Seed = 0


# Responses. They document the API; the values come from slopelab and are always finite.


class FieldErrorOut(BaseModel):
    """One field that breaks the models: where (``["body", "data", "X", 3, 0]``) and why."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error: ``message``, one readable line; ``detail``, the field errors of a 422 on
    the request's fields, else the message again."""

    message: str
    detail: str | list[FieldErrorOut]


class ParamsOut(BaseModel):
    W: list[list[float]]
    b: list[float]


class PointsOut(BaseModel):
    """Per point: scores ``s (N, C)``, loss ``L_i``, ``dL_i/ds`` and the active hinge terms."""

    scores: list[list[float]]
    losses: list[float]
    dscores: list[list[float]]
    active: list[list[bool]]
    predicted: list[int]
    probabilities: list[list[float]] | None


class GridOut(BaseModel):
    """Predicted class at the centre of each cell of a ``size`` x ``size`` grid over the canvas,
    row by row from the top (x1 = 1) and left to right (x0 = -1), one digit per cell."""

    size: int
    classes: str


class LineOut(BaseModel):
    """Class ``label``'s zero-score line clipped to the canvas, and an arrow along its weights."""

    label: int
    segment: list[list[float]] | None
    arrow: list[list[float]] | None


class MarginLineOut(BaseModel):
    """Where hinge term ``term`` of a point labelled ``label`` switches on (margin zero)."""

    label: int
    term: int
    segment: list[list[float]] | None


class BatchOut(BaseModel):
    indices: list[int]
    data_loss: float
    grads: ParamsOut


class HeldOutOut(BaseModel):
    """Data loss and accuracy on the ``count`` held-out (test) points."""

    count: int
    data_loss: float
    accuracy: float


class EvaluateOut(BaseModel):
    data_loss: float
    reg_loss: float
    total: float
    accuracy: float
    test: HeldOutOut | None = None
    grads: ParamsOut
    points: PointsOut
    grid: GridOut | None
    lines: list[LineOut]
    margin_lines: list[MarginLineOut]
    batch: BatchOut | None


class RecordOut(BaseModel):
    """The state after one update: ``step`` updates done, full-batch losses at ``params``."""

    step: int
    params: ParamsOut
    opt_state: dict[str, StateValue]
    data_loss: float
    reg_loss: float
    total: float
    accuracy: float
    test: HeldOutOut | None = None
    learning_rate: float
    batch_loss: float
    batch: list[int] | None


class StepOut(BaseModel):
    records: list[RecordOut]
    status: Literal["ok", "diverging", "diverged"]
    message: str | None
    evaluation: EvaluateOut | None = None


class RunnerOut(StepOut):
    id: str


class RaceOut(BaseModel):
    runners: list[RunnerOut]


class AxisOut(BaseModel):
    label: str
    values: list[float]
    centre: float


class LandscapeOut(BaseModel):
    first: AxisOut
    second: AxisOut
    values: list[list[float]]
    minimum: float
    maximum: float
    paths: list[list[list[float]]]
    descent: list[float]
    batch_descent: list[float] | None


class LandscapeValueOut(BaseModel):
    """The loss at the point (axis values ``first``, ``second``) and the parameters there."""

    first: float
    second: float
    value: float
    params: ParamsOut


class GradcheckRowOut(BaseModel):
    name: str
    analytic: float
    numeric: float | None
    rel_error: float | None
    at_noise_floor: bool
    kink: bool
    passed: bool
    demo_analytic: float
    demo_rel_error: float | None
    demo_at_noise_floor: bool


class SweepOut(BaseModel):
    h: list[float]
    centered: list[float | None]
    forward: list[float | None]


class GradcheckOut(BaseModel):
    rows: list[GradcheckRowOut]
    verdict: str
    h: float
    scheme: str
    sweep: SweepOut | None


class DataOut(BaseModel):
    X: list[list[float]]
    y: list[int]
    num_classes: int


class ScanPointOut(BaseModel):
    """The total loss and accuracy after ``steps`` updates at ``learning_rate``; ``status``
    ``"diverged"`` (the parameters blew up at update ``steps + 1``): ``total`` is ``None``."""

    learning_rate: float
    status: Literal["ok", "diverging", "diverged"]
    steps: int
    total: float | None
    accuracy: float | None


class LrScanOut(BaseModel):
    num_steps: int
    start_total: float
    points: list[ScanPointOut]
    current: ScanPointOut


class SplitOut(BaseModel):
    test: list[bool]


class PythonOut(BaseModel):
    code: str


class HingeTermsOut(BaseModel):
    """One point's loss terms per class: ``kind`` ``ww``, ``structured`` (only ``rival``
    counts), ``ova`` (``targets`` t_j = +-1) or ``softmax`` (``probabilities``)."""

    kind: Literal["ww", "structured", "ova", "softmax"]
    margins: list[float | None] | None = None
    hinges: list[float | None] | None = None
    active: list[bool] | None = None
    targets: list[float] | None = None
    rival: int | None = None
    probabilities: list[float] | None = None


class UpdateOut(BaseModel):
    """The full-batch update ``/api/step`` makes: ``params = old + delta``; ``None``s and a
    ``message`` when the update would explode."""

    rule: str
    learning_rate: float | None
    params: ParamsOut | None
    delta: ParamsOut | None
    total: float | None
    message: str | None


class ExplainOut(BaseModel):
    """Point ``index``: ``x``, ``label``, scores, loss terms, ``L_i`` (``example_loss``),
    ``dL_i/ds`` (``dscores``), its share of the gradient of the mean (``share``, divided by N),
    the penalty's gradients ``reg_grad`` (W) and ``reg_grad_b`` (b: zero unless the bias is
    regularized), the full gradient ``grads`` and the update;
    ``held_out``: a test point, outside the training loss (its share is 0)."""

    index: int
    held_out: bool
    x: list[float]
    label: int
    num_examples: int
    loss: str
    scores: list[float]
    terms: HingeTermsOut
    example_loss: float
    dscores: list[float]
    share: ParamsOut
    reg_grad: list[list[float]]
    reg_grad_b: list[float]
    grads: ParamsOut
    data_loss: float
    reg_loss: float
    update: UpdateOut


class LossRowOut(BaseModel):
    """One loss at the given ``W, b``: its parts, ``L_i`` per point, the points with L_i > 0."""

    name: str
    label: str
    data_loss: float
    reg_loss: float
    total: float
    penalized: list[int]
    example_losses: list[float]


class AllLossesOut(BaseModel):
    num_examples: int
    losses: list[LossRowOut]


def _check_test_mask(test: list[bool] | None, num_points: int) -> None:
    """A held-out mask marks every point, and leaves at least one to train on."""
    if test is None:
        return
    if len(test) != num_points:
        raise ValueError(
            f"data.test has {len(test)} entries but data has {num_points} points; "
            "give one true (test) or false (train) per point"
        )
    if all(test):
        raise ValueError(
            "data.test marks every point as a test point; leave at least one to train on"
        )


def _check_classes(params: ParamsIn, num_classes: int, what: str) -> None:
    if params.num_classes != num_classes:
        raise ValueError(
            f"{what} have {params.num_classes} classes (W is {params.num_rows} x "
            f"{params.num_classes}) "
            f"but data.num_classes is {num_classes}"
        )


def _check_rows(params: ParamsIn, num_rows: int, what: str) -> None:
    """W has a row for x0, x1 and each feature."""
    if params.num_rows != num_rows:
        raise ValueError(
            f"{what} have {params.num_rows} rows in W but the features need {num_rows} "
            f"(x0, x1 and {num_rows - NUM_FEATURES} features); reset W and b after changing "
            "the features"
        )


def _check_last_step(step: int, num_steps: int, what: str) -> None:
    """The step numbers a request returns must be ones the API accepts back."""
    if step + num_steps > MAX_STEP_INDEX:
        raise ValueError(
            f"{what} + num_steps = {step + num_steps} is over the limit of {MAX_STEP_INDEX} "
            "updates in one run; reset the run to start again from step 0"
        )


def _check_param_name(
    name: str, num_classes: int, field: str, num_rows: int = NUM_FEATURES
) -> None:
    match = PARAM_NAME.match(name)
    if match is None:
        raise ValueError(f"{field} must name a parameter like 'W[0,2]' or 'b[1]'; got {name!r}")
    feature, column, bias = match.groups()
    label = int(column if bias is None else bias)
    if feature is not None and int(feature) >= num_rows:
        if num_rows == NUM_FEATURES:
            raise ValueError(f"{field} {name!r}: W has {NUM_FEATURES} rows (features 0 and 1)")
        raise ValueError(
            f"{field} {name!r}: W has {num_rows} rows (x0, x1 and the features: 0..{num_rows - 1})"
        )
    if label >= num_classes:
        raise ValueError(
            f"{field} {name!r}: there are {num_classes} classes; class indices are "
            f"0..{num_classes - 1}"
        )
