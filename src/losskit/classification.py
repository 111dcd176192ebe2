"""Classification losses: binary (sigmoid output), multi-class (softmax output) and margin losses.

Probabilistic losses take probabilities by default (``from_logits=False``, the Keras convention)
and raw scores with ``from_logits=True``, which is both faster and numerically safer: the
log-probabilities are then computed with log-sigmoid / log-softmax and never pass through a
probability of exactly 0 or 1.
"""

from __future__ import annotations

import math
from typing import Any

from ._core import checks, classes, logprob
from ._core.backend import Array
from ._core.dispatch import fast_path
from ._core.inputs import Inputs, prepare
from ._core.primitives import lookup, one_hot, take
from ._core.registry import register

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "hinge",
    "multiclass_hinge",
    "sparse_categorical_cross_entropy",
    "squared_hinge",
]

@register("bce", "log_loss", "binary_crossentropy", "sigmoid_cross_entropy", "logistic")
@fast_path("_classification")
def binary_cross_entropy(pred: Array, target: Array, *, from_logits: bool = False,
                         pos_weight: Array | float | None = None, label_smoothing: float = 0.0,
                         weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Binary cross-entropy (log loss) for independent yes/no targets.

    .. math::
        \ell = -\big(w_+\, y \log p + (1 - y) \log(1 - p)\big),
        \qquad p = \sigma(\hat y) \text{ if from\_logits else } \hat y

    With ``label_smoothing=e`` the target becomes :math:`y(1 - e) + e/2`. Its minimum over ``p``
    is the entropy of ``y``: 0 for hard labels, attained at ``p = y``.

    Pair it with a sigmoid output; better, feed the pre-sigmoid scores with ``from_logits=True``
    (then ``log p = -softplus(-x)``, exact for logits of any size). Probabilities are clipped only
    at the smallest normal number of the compute dtype, so ``p = 0`` or ``1`` on the wrong side costs
    ``-log(tiny)`` (87.34 in float32, 708.40 in float64) -- the same for both sides -- with a finite
    gradient, and ``p`` on the right side costs exactly 0.

    Args:
      pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape.
      target: labels in {0, 1} or soft labels in [0, 1], of ``pred``'s shape (bool and integer
        arrays accepted).
      from_logits: whether ``pred`` holds logits.
      pos_weight: weight :math:`w_+ \ge 0` of the positive term, broadcast against ``pred`` from
        the trailing axis (``(C,)`` gives one per label of a multi-label ``(N, C)`` output), as
        ``pos_weight`` of ``torch.nn.BCEWithLogitsLoss``. ``> 1`` raises recall.
      label_smoothing: :math:`e \in [0, 1]`.
      weight, reduction: see :func:`losskit.mse`.

    Returns:
      The loss of ``pred``'s shape, or the 0-d cost.

    Equals ``torch.nn.functional.binary_cross_entropy(_with_logits)`` (torch clips ``log`` at -100
    instead, and has no label smoothing), ``optax.sigmoid_binary_cross_entropy`` and keras'
    ``binary_crossentropy`` (which clips probabilities to ``[1e-7, 1 - 1e-7]``, and averages over
    the last axis).

    Example:
      >>> import numpy as np, losskit
      >>> round(float(losskit.binary_cross_entropy(np.array([0.9, 0.2]), np.array([1, 0]))), 6)
      0.164252
    """
    smoothing = classes.smoothing(label_smoothing)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    checks.within(xp, "target", a.target, 0.0, 1.0)
    log_p, log_q = logprob.binary(a, from_logits)
    y = a.target if smoothing == 0 else a.target * (1.0 - smoothing) + 0.5 * smoothing
    positive = y * log_p
    if pos_weight is not None:
        w = a.array(pos_weight, "pos_weight")
        checks.broadcasts_to("pos_weight", w, tuple(a.pred.shape), same_ndim=False)
        checks.non_negative(xp, "pos_weight", w)
        positive = w * positive
    return a.finish(-positive - (1.0 - y) * log_q)


@register("cce", "categorical_crossentropy", "softmax_cross_entropy", "xent")
@fast_path("_classification")
def categorical_cross_entropy(pred: Array, target: Array, *, from_logits: bool = False, axis: int = -1,
                              class_weight: Array | None = None, label_smoothing: float = 0.0,
                              weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Categorical cross-entropy between a target distribution and a predicted one.

    .. math::
        \ell = -\sum_c w_c\, y_c \log p_c, \qquad p = \mathrm{softmax}(\hat y) \text{ if from\_logits else } \hat y

    With ``label_smoothing=e`` the target becomes :math:`y(1 - e) + e/C`. Pair it with a softmax
    output, or feed the pre-softmax scores with ``from_logits=True`` (log-sum-exp; logits of any
    size are safe). Its minimum is the entropy of ``y`` (0 for one-hot targets) at ``p = y``.

    Args:
      pred: probabilities summing to 1 along ``axis``, or logits with ``from_logits=True``.
      target: one-hot or soft targets in [0, 1], of ``pred``'s shape.
      axis: the class axis (``-1``; ``1`` for ``(N, C, H, W)`` maps).
      class_weight: optional ``(C,)`` non-negative weights :math:`w_c`.
      label_smoothing: :math:`e \in [0, 1]`.
      weight: optional weights of the loss's shape (``pred`` without ``axis``), or broadcastable.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``. With ``class_weight``, ``"mean"`` divides by the
        total weight :math:`\sum_i \sum_c w_c y_{ic}`, so a one-hot target gives exactly
        :func:`sparse_categorical_cross_entropy`.

    Returns:
      The loss of ``pred``'s shape without ``axis``, or the 0-d cost.

    Equals ``torch.nn.functional.cross_entropy`` with probability targets (whose ``"mean"`` divides
    by the batch size even with class weights), ``optax.softmax_cross_entropy`` and keras'
    ``categorical_crossentropy`` (which rescales probabilities to sum 1 and clips them to
    ``[1e-7, 1 - 1e-7]``; losskit raises instead of rescaling).

    Example:
      >>> import numpy as np, losskit
      >>> round(float(losskit.categorical_cross_entropy(np.array([[0.7, 0.2, 0.1]]), np.array([[1.0, 0, 0]]))), 6)
      0.356675
    """
    smoothing = classes.smoothing(label_smoothing)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    ax = checks.axis(axis, a.pred.ndim)
    num_classes = a.pred.shape[ax]
    checks.within(xp, "target", a.target, 0.0, 1.0)
    log_p = logprob.categorical(a, ax, from_logits)
    y = a.target if smoothing == 0 else a.target * (1.0 - smoothing) + smoothing / num_classes
    if class_weight is None:
        return a.finish(-xp.sum(y * log_p, axis=ax))
    w = classes.along(a, classes.vector(a, class_weight, num_classes, "class_weight"), ax, a.pred.ndim)
    return a.finish(-xp.sum(w * y * log_p, axis=ax), denominator=xp.sum(w * a.target, axis=ax))


@register("sparse_cce", "sparse_categorical_crossentropy", "softmax_cross_entropy_with_integer_labels")
@fast_path("_classification", counts=True)
def sparse_categorical_cross_entropy(pred: Array, target: Array, *, from_logits: bool = False,
                                     axis: int = -1, class_weight: Array | None = None,
                                     ignore_index: int | None = -100, label_smoothing: float = 0.0,
                                     weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Categorical cross-entropy with integer class labels.

    .. math::
        \ell = -(1 - e)\, w_y \log p_y - \frac{e}{C} \sum_c w_c \log p_c

    the cross-entropy against the one-hot target of label :math:`y` smoothed by
    :math:`e` = ``label_smoothing`` (the second term vanishes for ``e = 0``). Same numbers as
    :func:`categorical_cross_entropy` on the one-hot target, without building it: cheaper in
    memory and time.

    Args:
      pred: probabilities summing to 1 along ``axis``, or logits with ``from_logits=True``.
      target: integer labels in ``[0, C)`` (any integer dtype), of ``pred``'s shape without ``axis``.
      axis: the class axis.
      class_weight: optional ``(C,)`` non-negative weights :math:`w_c`.
      ignore_index: label whose entries are ignored: loss 0, gradient exactly 0, and no share in the
        mean's denominator. ``None`` ignores nothing.
      label_smoothing: :math:`e \in [0, 1]`.
      weight: optional weights of ``target``'s shape, or broadcastable.
      reduction: ``"mean"`` divides by the total weight :math:`\sum_i w_{y_i}` of the kept entries;
        0 when every entry is ignored.

    Returns:
      The loss of ``target``'s shape, or the 0-d cost.

    Equals ``torch.nn.functional.cross_entropy`` with class indices -- also with ``weight``,
    ``ignore_index`` and ``label_smoothing`` together -- except that an all-ignored batch gives 0
    where torch gives NaN; equals ``optax.softmax_cross_entropy_with_integer_labels`` and keras'
    ``sparse_categorical_crossentropy``.

    Example:
      >>> import numpy as np, losskit
      >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 0.0]])
      >>> labels = np.array([0, -100])  # the second is ignored
      >>> loss = losskit.sparse_categorical_cross_entropy(logits, labels, from_logits=True, reduction="none")
      >>> loss.round(6).tolist()
      [0.241311, 0.0]
    """
    smoothing = classes.smoothing(label_smoothing)
    ignore = classes.ignore_index(ignore_index)
    a = prepare(pred, target, weight=weight, reduction=reduction, labels=True)
    xp = a.xp
    ax = checks.axis(axis, a.pred.ndim)
    num_classes = a.pred.shape[ax]
    labels, keep = classes.labels(a, ax, ignore)
    if smoothing:
        log_p = logprob.categorical(a, ax, from_logits)
        loss = -take(xp, log_p, labels, ax)
    else:  # the labels' log p alone: the gradient needs no array of pred's size for the others
        loss = -logprob.categorical_at(a, ax, from_logits, labels)
    denominator = None
    if class_weight is None:
        if smoothing:
            loss = (1.0 - smoothing) * loss - smoothing / num_classes * xp.sum(log_p, axis=ax)
    else:
        cw = classes.vector(a, class_weight, num_classes, "class_weight")
        denominator = lookup(xp, cw, labels)
        loss = denominator * loss
        if smoothing:
            smooth = -xp.sum(classes.along(a, cw, ax, a.pred.ndim) * log_p, axis=ax)
            loss = (1.0 - smoothing) * loss + smoothing / num_classes * smooth
    if keep is not None:
        zero = xp.zeros_like(loss)
        loss = xp.where(keep, loss, zero)
        denominator = xp.where(keep, xp.ones_like(loss) if denominator is None else denominator, zero)
    return a.finish(loss, denominator)


def _signed_labels(a: Inputs) -> Array:
    """Hinge labels in {-1, +1}; labels in {0, 1} are mapped to them (0 -> -1)."""
    xp = a.xp
    y = a.target
    binary = xp.all((y == 0) | (y == 1))
    signed = xp.all((y == -1) | (y == 1))
    if checks.any_true(xp, ~(binary | signed), "target must hold labels in {-1, +1} or in {0, 1}"):
        bad = ~((y == 0) | (y == 1) | (y == -1))
        found = f"found {checks.first(xp, y, bad)}" if checks.any_true(xp, bad) else "found both 0 and -1"
        raise ValueError(f"target must hold labels in {{-1, +1}} or in {{0, 1}}; {found}")
    # Decided from the values with where, not an if, so that it also runs under jax.jit.
    return xp.where(binary, 2.0 * y - 1.0, y)


def _margin(value: Any) -> float:
    return checks.real("margin", value, low=0.0)


def _violation(pred: Any, target: Any, margin: Any, weight: Any, reduction: Any) -> tuple[Inputs, Array]:
    r"""The margin violation :math:`\max(0, m - y\,\hat y)` of the binary hinge losses."""
    m = _margin(margin)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    return a, a.xp.clip(m - _signed_labels(a) * a.pred, min=0.0)


@register("hinge_loss")
@fast_path("_classification")
def hinge(pred: Array, target: Array, *, margin: float = 1.0, weight: Array | None = None,
          reduction: str = "mean") -> Array:
    r"""Hinge loss of a binary classifier's raw score :math:`\hat y` (the SVM loss).

    .. math:: \ell = \max(0,\; m - y\,\hat y), \qquad y \in \{-1, +1\}

    Zero once an example is on the right side with margin :math:`m` = ``margin``; linear beyond.
    Convex, not differentiable at the kink, and not probabilistic (no calibrated scores). Pair it
    with a linear output.

    Args:
      pred: raw scores, any shape.
      target: labels in {-1, +1}, or in {0, 1} (then mapped, 0 to -1), of ``pred``'s shape.
      margin: :math:`m \ge 0`.
      weight, reduction: see :func:`losskit.mse`.

    Equals keras' ``hinge`` (which averages over the last axis) and scikit-learn's
    ``hinge_loss`` for ``margin=1``.

    Example:
      >>> import numpy as np, losskit
      >>> losskit.hinge(np.array([2.0, 0.5, 0.5]), np.array([1, 1, 0]), reduction="none").tolist()
      [0.0, 0.5, 1.5]
    """
    a, violation = _violation(pred, target, margin, weight, reduction)
    return a.finish(violation)


@register("l2_hinge")
@fast_path("_classification")
def squared_hinge(pred: Array, target: Array, *, margin: float = 1.0, weight: Array | None = None,
                  reduction: str = "mean") -> Array:
    r"""Squared hinge loss :math:`\ell = \max(0, m - y\,\hat y)^2`, :math:`y \in \{-1, +1\}`.

    Differentiable everywhere (its gradient is continuous at the margin), but grows quadratically
    with violations, so outliers weigh more than with :func:`hinge`.

    Args and returns as :func:`hinge`. Equals keras' ``squared_hinge`` (averaged over the last axis).

    Example:
      >>> import numpy as np, losskit
      >>> losskit.squared_hinge(np.array([2.0, 0.5, 0.5]), np.array([1, 1, 0]), reduction="none").tolist()
      [0.0, 0.25, 2.25]
    """
    a, violation = _violation(pred, target, margin, weight, reduction)
    return a.finish(violation * violation)


@register("categorical_hinge", "multi_class_hinge")
@fast_path("_classification")
def multiclass_hinge(pred: Array, target: Array, *, margin: float = 1.0, kind: str = "crammer_singer",
                     axis: int = -1, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Multi-class hinge loss of raw class scores :math:`\hat y` and an integer label :math:`y`.

    .. math::
        \text{crammer\_singer:}\quad \ell = \max\big(0,\; m + \max_{j \ne y} \hat y_j - \hat y_y\big)

        \text{weston\_watkins:}\quad \ell = \frac1C \sum_{j \ne y} \max(0,\; m + \hat y_j - \hat y_y)

    Crammer-Singer penalises only the strongest rival class; Weston-Watkins every class within
    the margin (divided by :math:`C`, as PyTorch does).

    Args:
      pred: raw scores with classes along ``axis``.
      target: integer labels in ``[0, C)``, of ``pred``'s shape without ``axis``.
      margin: :math:`m \ge 0`.
      kind: ``"crammer_singer"`` or ``"weston_watkins"``.
      axis: the class axis.
      weight, reduction: see :func:`losskit.mse`.

    Returns:
      The loss of ``target``'s shape, or the 0-d cost.

    ``weston_watkins`` equals ``torch.nn.functional.multi_margin_loss``. ``crammer_singer`` equals
    keras' ``categorical_hinge`` on one-hot targets whenever some rival score is non-negative; keras
    takes the rival maximum over ``(1 - y) * pred``, which is never below 0, so when every rival
    score is negative keras reports a larger loss than the definition gives.

    Reference: Crammer & Singer, JMLR 2001; Weston & Watkins, ESANN 1999.

    Example:
      >>> import numpy as np, losskit
      >>> float(losskit.multiclass_hinge(np.array([[3.0, 2.5, -1.0]]), np.array([0])))
      0.5
    """
    m = _margin(margin)
    kind = checks.choice("kind", kind, ("crammer_singer", "weston_watkins"))
    a = prepare(pred, target, weight=weight, reduction=reduction, labels=True)
    xp = a.xp
    ax = checks.axis(axis, a.pred.ndim)
    num_classes = a.pred.shape[ax]
    labels, _ = classes.labels(a, ax)
    true_score = xp.expand_dims(take(xp, a.pred, labels, ax), axis=ax)
    is_true = one_hot(xp, labels, num_classes, ax, a.pred)
    if kind == "crammer_singer":
        rivals = xp.where(is_true, -math.inf, a.pred)
        loss = xp.clip(m + xp.max(rivals, axis=ax, keepdims=True) - true_score, min=0.0)
        return a.finish(xp.squeeze(loss, axis=ax))
    violations = xp.where(is_true, 0.0, xp.clip(m + a.pred - true_score, min=0.0))
    return a.finish(xp.sum(violations, axis=ax) / num_classes)
