"""Losses for dense detection and heavy class imbalance."""

from __future__ import annotations

from typing import Any

from ._core import checks, classes, logprob
from ._core.backend import Array
from ._core.dispatch import fast_path
from ._core.inputs import Inputs, prepare
from ._core.primitives import log1m_prob, log1m_softmax, log_prob, logaddexp, take
from ._core.registry import register

__all__ = ["categorical_focal", "focal", "sparse_categorical_focal"]


@register("focal_loss", "sigmoid_focal", "binary_focal_crossentropy")
@fast_path("_detection")
def focal(pred: Array, target: Array, *, gamma: float = 2.0, alpha: float | None = 0.25,
          from_logits: bool = False, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Binary (sigmoid) focal loss: cross-entropy scaled down on examples already classified well.

    .. math::
        \ell = -\alpha_t\,(1 - p_t)^\gamma \big(y \log p + (1 - y) \log(1 - p)\big),
        \qquad 1 - p_t = y\,(1 - p) + (1 - y)\,p,
        \qquad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    With :math:`\gamma > 0` the factor :math:`(1 - p_t)^\gamma` all but removes the many easy
    negatives of a dense detector, so the rare hard examples drive training. ``gamma=0,
    alpha=None`` is :func:`losskit.binary_cross_entropy`. The modulating factor is computed in log
    space, :math:`\exp(\gamma \log(1 - p_t))`, so logits of any finite size and soft labels give a
    finite loss and gradient.

    Args:
      pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape.
      target: labels in {0, 1} or soft labels in [0, 1], of ``pred``'s shape.
      gamma: focusing parameter :math:`\gamma \ge 0`.
      alpha: weight :math:`\alpha \in [0, 1]` of the positive class; ``None`` weighs both classes 1.
      from_logits: whether ``pred`` holds logits.
      weight, reduction: see :func:`losskit.mse`.

    Returns:
      The loss of ``pred``'s shape, or the 0-d cost.

    Equals ``torchvision.ops.sigmoid_focal_loss`` (logits; ``alpha=-1`` there is ``None`` here),
    ``optax.sigmoid_focal_loss`` (whose ``alpha`` defaults to ``None``) and keras'
    ``binary_focal_crossentropy`` with ``apply_class_balancing=alpha is not None`` (keras averages
    over the last axis and clips probabilities to ``[1e-7, 1 - 1e-7]``).

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Example:
      >>> import numpy as np, losskit
      >>> losskit.focal(np.array([0.9, 0.6]), np.array([1.0, 1.0]), alpha=None, reduction="none").round(6).tolist()
      [0.001054, 0.081732]
    """
    gamma = checks.real("gamma", gamma, low=0.0)
    if alpha is not None:
        alpha = checks.real("alpha", alpha, low=0.0, high=1.0)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    y = a.target
    checks.within(xp, "target", y, 0.0, 1.0)
    log_p, log_q = logprob.binary(a, from_logits)
    loss = -y * log_p - (1.0 - y) * log_q
    if gamma:
        # log(1 - p_t) = log(y q + (1 - y) p); a zero weight must drop its term, not give 0 * -inf.
        floor = xp.full_like(y, -xp.inf)
        log_y = xp.where(y > 0, log_prob(xp, y, a.eps), floor)
        log_1my = xp.where(y < 1, log1m_prob(xp, y, a.eps), floor)
        log_miss = logaddexp(xp, log_y + log_q, log_1my + log_p)
        loss = xp.exp(gamma * log_miss) * loss
    if alpha is not None:
        loss = (alpha * y + (1.0 - alpha) * (1.0 - y)) * loss
    return a.finish(loss)


def _softmax_focal(a: Inputs, gamma: Any, alpha: Any, from_logits: bool, axis: int) -> tuple[int, Array, Array]:
    """The class axis, ``log p`` and the per-class focal weight ``alpha_c (1 - p_c)^gamma``."""
    g = checks.real("gamma", gamma, low=0.0)
    xp = a.xp
    ax = checks.axis(axis, a.pred.ndim)
    num_classes = a.pred.shape[ax]
    if num_classes < 2:
        raise ValueError(f"pred must have at least 2 classes along axis {axis}, got {num_classes}")
    log_p = logprob.categorical(a, ax, from_logits)
    factor = xp.ones_like(log_p)
    if g:
        log_miss = log1m_softmax(xp, a.pred, ax) if from_logits else log1m_prob(xp, a.pred, a.eps)
        factor = xp.exp(g * log_miss)
    if alpha is None:
        return ax, log_p, factor
    if isinstance(alpha, bool):
        raise TypeError(f"alpha must be a number or an array of one weight per class, got {alpha!r}")
    w = a.array(alpha, "alpha")
    if w.ndim == 0:  # one weight for every class: a scale
        checks.non_negative(xp, "alpha", w)
        return ax, log_p, w * factor
    return ax, log_p, classes.along(a, classes.vector(a, w, num_classes, "alpha"), ax, a.pred.ndim) * factor


@register("categorical_focal_crossentropy", "softmax_focal")
@fast_path("_detection")
def categorical_focal(pred: Array, target: Array, *, gamma: float = 2.0, alpha: float | Array | None = None,
                      from_logits: bool = False, axis: int = -1, label_smoothing: float = 0.0,
                      weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Softmax focal loss: categorical cross-entropy scaled down on classes predicted well.

    .. math:: \ell = -\sum_c \alpha_c\, y_c\, (1 - p_c)^\gamma \log p_c

    The multi-class form of :func:`focal` (Lin et al.) for a softmax output. ``gamma=0,
    alpha=None`` is :func:`losskit.categorical_cross_entropy`. With logits, :math:`\log(1 - p_c)`
    is computed from the rival classes' log-sum-exp, so a class whose probability rounds to 1
    still gets its exact, finite weight and gradient.

    Args:
      pred: probabilities summing to 1 along ``axis``, or logits with ``from_logits=True``;
        at least 2 classes.
      target: one-hot or soft targets in [0, 1], of ``pred``'s shape.
      gamma: focusing parameter :math:`\gamma \ge 0`.
      alpha: class weighting: ``None`` (1 for every class), a scalar, or ``(C,)`` non-negative
        weights. It scales the loss; as in keras, ``"mean"`` divides by the number of examples,
        not by the total :math:`\alpha` (unlike ``class_weight`` of the cross-entropies).
      from_logits: whether ``pred`` holds logits.
      axis: the class axis.
      label_smoothing: :math:`e \in [0, 1]`; the target becomes :math:`y(1 - e) + e/C`.
      weight, reduction: see :func:`losskit.categorical_cross_entropy`.

    Returns:
      The loss of ``pred``'s shape without ``axis``, or the 0-d cost.

    Equals keras' ``categorical_focal_crossentropy`` -- whose ``alpha`` defaults to 0.25, a
    constant factor here left to the caller -- up to keras' clipping of probabilities to
    ``[1e-7, 1 - 1e-7]``.

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Example:
      >>> import numpy as np, losskit
      >>> p, y = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]]), np.array([[1.0, 0, 0], [0, 0, 1.0]])
      >>> losskit.categorical_focal(p, y, reduction="none").round(6).tolist()
      [0.032101, 0.589947]
    """
    smoothing = classes.smoothing(label_smoothing)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    checks.within(xp, "target", a.target, 0.0, 1.0)
    ax, log_p, focus = _softmax_focal(a, gamma, alpha, from_logits, axis)
    y = a.target if smoothing == 0 else a.target * (1.0 - smoothing) + smoothing / a.pred.shape[ax]
    return a.finish(-xp.sum(focus * y * log_p, axis=ax))


@register("sparse_categorical_focal_crossentropy", "sparse_softmax_focal")
@fast_path("_detection")
def sparse_categorical_focal(pred: Array, target: Array, *, gamma: float = 2.0,
                             alpha: float | Array | None = None, from_logits: bool = False, axis: int = -1,
                             ignore_index: int | None = -100, label_smoothing: float = 0.0,
                             weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Softmax focal loss with integer class labels.

    .. math:: \ell = -\alpha_y (1 - p_y)^\gamma \log p_y

    Same numbers as :func:`categorical_focal` on the one-hot target (also with
    ``label_smoothing``), without building it. ``gamma=0, alpha=None`` is
    :func:`losskit.sparse_categorical_cross_entropy`.

    Args:
      pred: probabilities summing to 1 along ``axis``, or logits with ``from_logits=True``.
      target: integer labels in ``[0, C)``, of ``pred``'s shape without ``axis``.
      gamma, alpha, from_logits, axis, label_smoothing: as :func:`categorical_focal`.
      ignore_index: label whose entries are ignored: loss 0, gradient 0, and no share in the mean.
      weight, reduction: see :func:`losskit.sparse_categorical_cross_entropy`; ``"mean"`` divides by
        the number of kept entries.

    Returns:
      The loss of ``target``'s shape, or the 0-d cost.

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Example:
      >>> import numpy as np, losskit
      >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 0.0]])
      >>> loss = losskit.sparse_categorical_focal(logits, np.array([0, 2]), from_logits=True, reduction="none")
      >>> loss.round(6).tolist()
      [0.011093, 2.821001]
    """
    smoothing = classes.smoothing(label_smoothing)
    ignore = classes.ignore_index(ignore_index)
    a = prepare(pred, target, weight=weight, reduction=reduction, labels=True)
    xp = a.xp
    ax, log_p, focus = _softmax_focal(a, gamma, alpha, from_logits, axis)
    labels, keep = classes.labels(a, ax, ignore)
    terms = focus * log_p
    loss = -take(xp, terms, labels, ax)
    if smoothing:
        loss = (1.0 - smoothing) * loss - smoothing / a.pred.shape[ax] * xp.sum(terms, axis=ax)
    if keep is None:
        return a.finish(loss)
    zero = xp.zeros_like(loss)
    return a.finish(xp.where(keep, loss, zero), xp.where(keep, xp.ones_like(loss), zero))
