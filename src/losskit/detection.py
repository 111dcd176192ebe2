"""Losses for dense detection and heavy class imbalance."""

from __future__ import annotations

from ._core import checks, logprob
from ._core.backend import Array
from ._core.inputs import prepare
from ._core.primitives import log1m_prob, log_prob
from ._core.registry import register

__all__ = ["focal"]


@register("focal_loss", "sigmoid_focal", "binary_focal_crossentropy")
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
        log_miss = xp.logaddexp(log_y + log_q, log_1my + log_p)
        loss = xp.exp(gamma * log_miss) * loss
    if alpha is not None:
        loss = (alpha * y + (1.0 - alpha) * (1.0 - y)) * loss
    return a.finish(loss)
