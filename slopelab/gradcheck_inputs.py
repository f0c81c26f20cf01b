"""What the gradient checker accepts: ``f``, ``params`` and what ``f`` returns, checked once.

``params`` is a dict of arrays or one array; the checker works on float64 copies (the caller's
arrays are never touched) and calls ``f`` through :class:`CountingLoss`, which counts the
calls. Anything ``f`` returns that is not a finite-or-not real loss with gradients shaped like
``params`` is an :class:`~slopelab.errors.InvalidValueError` or
:class:`~slopelab.errors.InvalidTypeError` naming what was wrong. So is an exception raised by
``f`` (chained as the cause, so its traceback is kept), unless it already is a
:class:`~slopelab.errors.SlopelabError` with its own message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from slopelab.errors import InvalidTypeError, InvalidValueError, SlopelabError

SINGLE = "x"  # the name of the parameter when params is one array
MESSAGE_CHARS = 300  # f's exception message is cut here to keep the error to one line

Params = dict[str, np.ndarray]


def check_function(f: Any, expected: str) -> None:
    """``f`` can be called, or an :class:`InvalidTypeError` saying what it should be."""
    if not callable(f):
        raise InvalidTypeError(f"f must be a function {expected}; got {describe_value(f)}")


class CountingLoss:
    """Calls ``f`` on the shared float64 copies and counts the calls."""

    def __init__(self, f: Callable[[Any], Any], as_input: Any) -> None:
        self.f, self.as_input, self.calls = f, as_input, 0

    def full(self) -> Any:
        """Whatever ``f`` returns; an exception of ``f`` becomes an InvalidValueError."""
        self.calls += 1
        try:
            return self.f(self.as_input)
        except SlopelabError:
            raise
        except Exception as error:
            raise InvalidValueError(f"f raised {_describe_error(error)} {self._where()}") from error

    def _where(self) -> str:
        if self.calls > 1:
            return f"at a point next to params (call {self.calls}: one entry moved by <= 2h)"
        if isinstance(self.as_input, dict):
            given = f"a dict of float64 arrays with keys {sorted(map(str, self.as_input))}"
        else:
            given = f"one float64 array of shape {self.as_input.shape}"
        return f"when called with params, {given}: f receives params as you pass them"

    def __call__(self) -> float:
        """The loss alone: ``f``'s value, or element 0 when it returns a tuple."""
        return scalar_loss(self.full())


def scalar_loss(output: Any) -> float:
    """``f``'s loss as a float: a real number or a 0-d numeric array (element 0 of a tuple)."""
    value = output[0] if isinstance(output, tuple) and output else output
    array = _numeric_array(value, "the loss f returns", "a real number")
    if array.ndim != 0:
        raise InvalidValueError(
            f"f must return a scalar loss; got a loss of shape {array.shape} (sum or average it)"
        )
    return float(array)


def analytic_gradient(
    loss: CountingLoss, arrays: Params, params: Any
) -> tuple[float, Params, list[tuple[str, np.dtype]]]:
    """Call f once at x: the loss, float64 copies of the gradients, and every input dtype."""
    output = loss.full()
    if not isinstance(output, tuple) or len(output) != 2:
        got = (
            f"a tuple of length {len(output)}"
            if isinstance(output, tuple)
            else describe_value(output)
        )
        raise InvalidTypeError(f"f must return a tuple (loss, grads) for check_gradient; got {got}")
    value, grads = output
    loss_at_x = scalar_loss(value)
    grads = _checked_grads(grads, arrays, named=isinstance(params, Mapping))
    if isinstance(params, Mapping):
        labelled = [(f"params[{name!r}]", np.asarray(array)) for name, array in params.items()]
        labelled += [(f"grads[{name!r}]", grad) for name, grad in grads.items()]
    else:
        labelled = [("params", np.asarray(params)), ("the gradient", grads[SINGLE])]
    dtypes = [(label, array.dtype) for label, array in labelled]
    dtypes.append(("the loss", np.asarray(value).dtype))
    grads64 = {name: np.array(grad, dtype=np.float64) for name, grad in grads.items()}
    return loss_at_x, grads64, dtypes


def _checked_grads(grads: Any, arrays: Params, named: bool) -> dict[str, np.ndarray]:
    """``grads`` as numeric arrays by name, with the keys and shapes of ``params``."""
    if not named:
        grads = {SINGLE: grads}
    elif not isinstance(grads, Mapping) or set(grads) != set(arrays):
        got = sorted(map(str, grads)) if isinstance(grads, Mapping) else describe_value(grads)
        raise InvalidValueError(
            f"f must return grads with the keys of params {sorted(map(str, arrays))}; got {got}"
        )
    checked = {}
    for name, array in arrays.items():
        label = f"grads[{name!r}]" if named else "the gradient f returns"
        grad = _numeric_array(grads[name], label, "real numbers shaped like params")
        if grad.shape != array.shape:
            target = f"params[{name!r}]" if named else "params"
            raise InvalidValueError(
                f"{label} has shape {grad.shape} but {target} has shape {array.shape}; a "
                "gradient must have the shape of its parameter"
            )
        checked[name] = grad
    return checked


def float64_copies(params: Any) -> tuple[Params, Any]:
    """Float64 copies by name, and the object ``f`` receives (a dict, or the single array)."""
    named = params.items() if isinstance(params, Mapping) else [(SINGLE, params)]
    arrays = {}
    for name, value in named:
        label = f"params[{name!r}]" if isinstance(params, Mapping) else "params"
        array = _numeric_array(value, label, "an array of real numbers (float64)")
        if array.size == 0:
            raise InvalidValueError(
                f"{label} is empty (shape {array.shape}); there is nothing to check in it: "
                "leave it out or give it entries"
            )
        arrays[name] = np.array(array, dtype=np.float64)  # always a copy
        bad = ~np.isfinite(arrays[name])
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidValueError(
                f"{label} contains {arrays[name][first]} at index {list(first)}; a gradient "
                "check needs a finite point"
            )
    if not arrays:
        raise InvalidValueError("params is empty; need at least one array to check")
    return arrays, (arrays if isinstance(params, Mapping) else arrays[SINGLE])


def _numeric_array(value: Any, label: str, expected: str) -> np.ndarray:
    """``value`` as an array of real numbers (bool, int or float), or a clear error."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        array = None
    if array is None or array.dtype.kind not in "biuf":
        shown = array is not None and array.ndim > 0 and array.dtype.kind != "O"
        got = f"an array of dtype {array.dtype}" if shown else describe_value(value)
        raise InvalidTypeError(f"{label} must be {expected}; got {got}")
    return array


def _describe_error(error: BaseException) -> str:
    """``IndexError: only integers ...``, cut to MESSAGE_CHARS characters."""
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:  # an exception whose __str__ fails
        text = type(error).__name__
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


def describe_value(value: Any) -> str:
    """``'abc' (str)``, shortened: what a value is, for an error message."""
    try:
        text = repr(value)
    except Exception:  # a user's class with a broken __repr__
        text = object.__repr__(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{text} ({type(value).__name__})"
