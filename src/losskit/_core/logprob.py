"""Log-probabilities of a prediction given as logits (``from_logits=True``) or as probabilities.

The one place that decides how a classifier's output becomes ``log p``: stable log-sigmoid /
log-softmax for logits; for probabilities, the range (and sum) checks and the clipping epsilon.
"""

from __future__ import annotations

import math

from . import checks
from .backend import Array
from .inputs import Call, Inputs
from .primitives import log1m_prob, log_prob, log_sigmoid, log_softmax, log_softmax_at, take

LOGITS_HINT = "; if pred holds raw scores (logits), pass from_logits=True"


def check_probabilities(a: Call, x: Array, axis: int | None = None, *, name: str = "pred",
                        hint: str = LOGITS_HINT) -> None:
    """``x`` holds probabilities: in [0, 1], and summing to 1 along ``axis`` when given."""
    xp = a.xp
    checks.within(xp, name, x, 0.0, 1.0, hint)
    if axis is not None:
        check_sums_to_one(a, x, axis, name=name, hint=hint)


def check_sums_to_one(a: Call, x: Array, axis: int, *, name: str, hint: str = LOGITS_HINT) -> None:
    """``x`` sums to 1 along ``axis``, within the rounding of a softmax."""
    xp = a.xp
    # Rounding in a softmax grows like sqrt(C) ulps; low-precision inputs get their own eps.
    num_classes = x.shape[axis]
    tolerance = math.sqrt(xp.finfo(a.out_dtype).eps * max(num_classes, 1))
    total = xp.sum(x, axis=axis)
    off = xp.abs(total - 1.0) > tolerance
    if checks.any_true(xp, off, f"{name} must sum to 1 along axis {axis}{hint}"):
        found = checks.first(xp, total, off)
        raise ValueError(f"{name} must sum to 1 along axis {axis}; found a sum of {found:.6g}{hint}")


def binary(a: Inputs, from_logits: bool) -> tuple[Array, Array]:
    """``(log p, log(1 - p))`` of a sigmoid output."""
    if from_logits:
        return log_sigmoid(a.xp, a.pred), log_sigmoid(a.xp, -a.pred)
    check_probabilities(a, a.pred)
    return log_prob(a.xp, a.pred, a.eps), log1m_prob(a.xp, a.pred, a.eps)


def categorical(a: Inputs, axis: int, from_logits: bool) -> Array:
    """``log p`` of a softmax output with classes along ``axis``."""
    if from_logits:
        return log_softmax(a.xp, a.pred, axis)
    check_probabilities(a, a.pred, axis)
    return log_prob(a.xp, a.pred, a.eps)


def categorical_at(a: Inputs, axis: int, from_logits: bool, index: Array) -> Array:
    """``take(categorical(a, axis, from_logits), index, axis)``, value and gradient to the bit, computed
    for the classes ``index`` only."""
    if from_logits:
        return log_softmax_at(a.xp, a.pred, index, axis)
    check_probabilities(a, a.pred, axis)
    return log_prob(a.xp, take(a.xp, a.pred, index, axis), a.eps)
