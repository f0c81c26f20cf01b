"""Lines drawn on the data canvas: each class's zero-score line, its weight arrow, and the hinge
margins, all clipped to the canvas [-1, 1]^2.

A line is ``normal . x + offset = 0``. For class k the zero-score line has ``normal = W[:, k]``
and ``offset = b[k]``. A hinge term of a point labelled y switches on where its margin crosses 0:

- Weston–Watkins and structured SVM, term j != y: ``s_j - s_y + delta = 0``, i.e.
  ``normal = W[:, j] - W[:, y]``, ``offset = b[j] - b[y] + delta``;
- one-vs-all, term y: ``1 - s_y = 0``; term j != y: ``1 + s_j = 0``.

A point of class y on the negative side of every one of its lines has zero loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from slopelab.svm import DELTA

VIEW = 1.0  # the canvas shows [-VIEW, VIEW]^2
ARROW_SCALE = 0.1  # canvas units per unit of weight: CS231n's 20 px per unit at 200 px per unit
Segment = list[list[float]]


def clip_line(normal: np.ndarray, offset: float, half_width: float = VIEW) -> Segment | None:
    """The part of ``normal . x + offset = 0`` inside ``[-half_width, half_width]^2``.

    >>> clip_line(np.array([1.0, 0.0]), -0.5)  # the vertical line x0 = 0.5
    [[0.5, -1.0], [0.5, 1.0]]
    """
    norm_squared = float(normal @ normal)
    if norm_squared < 1e-24:
        return None
    foot = -offset * normal / norm_squared  # the line's point closest to the origin
    direction = np.array([-normal[1], normal[0]])
    t_low, t_high = -np.inf, np.inf
    for axis in range(2):
        if abs(direction[axis]) < 1e-15:
            if abs(foot[axis]) > half_width:
                return None
            continue
        t_a = (-half_width - foot[axis]) / direction[axis]
        t_b = (half_width - foot[axis]) / direction[axis]
        t_low, t_high = max(t_low, min(t_a, t_b)), min(t_high, max(t_a, t_b))
    if not t_low < t_high:
        return None
    start, end = foot + t_low * direction, foot + t_high * direction
    return [_point(start), _point(end)]


def class_lines(params: Mapping[str, np.ndarray]) -> list[dict]:
    """Per class: the zero-score line and an arrow from its midpoint along ``W[:, k]``."""
    W, b = params["W"], params["b"]
    lines = []
    for label in range(W.shape[1]):
        weights = W[:, label]
        segment = clip_line(weights, float(b[label]))
        arrow = None
        if segment is not None:
            middle = (np.array(segment[0]) + np.array(segment[1])) / 2
            arrow = [_point(middle), _point(middle + ARROW_SCALE * weights)]
        lines.append({"label": label, "segment": segment, "arrow": arrow})
    return lines


def margin_lines(loss_name: str, params: Mapping[str, np.ndarray]) -> list[dict]:
    """For each label y and hinge term j: where that term's margin is zero (empty for softmax)."""
    W, b = params["W"], params["b"]
    num_classes = W.shape[1]
    lines = []
    for label in range(num_classes):
        for term in range(num_classes):
            line = _margin(loss_name, W, b, label, term)
            if line is not None:
                normal, offset = line
                lines.append({"label": label, "term": term, "segment": clip_line(normal, offset)})
    return lines


def _margin(
    loss_name: str, W: np.ndarray, b: np.ndarray, label: int, term: int
) -> tuple[np.ndarray, float] | None:
    if loss_name in ("svm", "svm-structured") and term != label:
        return W[:, term] - W[:, label], float(b[term] - b[label] + DELTA)
    if loss_name == "svm-ova":
        if term == label:
            return -W[:, term], float(DELTA - b[term])
        return W[:, term], float(b[term] + DELTA)
    return None


def grid_centres(size: int) -> np.ndarray:
    """Cell centres of a ``size`` x ``size`` grid over the canvas, row by row from the top.

    >>> grid_centres(2)
    array([[-0.5,  0.5],
           [ 0.5,  0.5],
           [-0.5, -0.5],
           [ 0.5, -0.5]])
    """
    ticks = -VIEW + (np.arange(size) + 0.5) * (2 * VIEW / size)
    x0, x1 = np.meshgrid(ticks, ticks[::-1])
    return np.column_stack([x0.ravel(), x1.ravel()])


def _point(p: np.ndarray) -> list[float]:
    return [round(float(p[0]), 12) + 0.0, round(float(p[1]), 12) + 0.0]
