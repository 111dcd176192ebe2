"""Log-probabilities of a prediction given as logits (``from_logits=True``) or as probabilities.

The one place that decides how a classifier's output becomes ``log p``: stable log-sigmoid /
log-softmax for logits; for probabilities, the range (and sum) checks and the clipping epsilon.
"""

from __future__ import annotations

import math

from . import checks
from .backend import Array
from .inputs import Inputs
from .primitives import log1m_prob, log_prob, log_sigmoid, log_softmax

LOGITS_HINT = "; if pred holds raw scores (logits), pass from_logits=True"


def check_probabilities(a: Inputs, axis: int | None = None) -> None:
    """``pred`` holds probabilities: in [0, 1], and summing to 1 along ``axis`` when given."""
    xp = a.xp
    checks.within(xp, "pred", a.pred, 0.0, 1.0, LOGITS_HINT)
    if axis is not None:
        # Rounding in a softmax grows like sqrt(C) ulps; low-precision inputs get their own eps.
        num_classes = a.pred.shape[axis]
        tolerance = math.sqrt(xp.finfo(a.out_dtype).eps * max(num_classes, 1))
        total = xp.sum(a.pred, axis=axis)
        off = xp.abs(total - 1.0) > tolerance
        if checks.any_true(xp, off):
            raise ValueError(
                f"pred must sum to 1 along axis {axis} when from_logits=False; found a sum of "
                f"{checks.first(xp, total, off):.6g}{LOGITS_HINT}"
            )


def binary(a: Inputs, from_logits: bool) -> tuple[Array, Array]:
    """``(log p, log(1 - p))`` of a sigmoid output."""
    if from_logits:
        return log_sigmoid(a.xp, a.pred), log_sigmoid(a.xp, -a.pred)
    check_probabilities(a)
    return log_prob(a.xp, a.pred, a.eps), log1m_prob(a.xp, a.pred, a.eps)


def categorical(a: Inputs, axis: int, from_logits: bool) -> Array:
    """``log p`` of a softmax output with classes along ``axis``."""
    if from_logits:
        return log_softmax(a.xp, a.pred, axis)
    check_probabilities(a, axis)
    return log_prob(a.xp, a.pred, a.eps)
