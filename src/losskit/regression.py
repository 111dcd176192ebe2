"""Regression losses: the prediction is a real number from a linear (identity) output.

All are element-wise: ``reduction="none"`` returns an array of the inputs' shape, and ``pred`` and
``target`` must have the same shape (no broadcasting, so ``(N, 1)`` against ``(N,)`` is an error).
"""

from __future__ import annotations

import math

from ._core import checks
from ._core.backend import Array
from ._core.dispatch import fast_path
from ._core.inputs import prepare
from ._core.primitives import softplus
from ._core.registry import register

__all__ = ["huber", "log_cosh", "mae", "mse", "quantile"]


@register("mean_squared_error", "l2", "squared_error")
@fast_path("_regression")
def mse(pred: Array, target: Array, *, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Squared error :math:`\ell = (\hat y - y)^2`.

    The cost with ``reduction="mean"`` is the mean squared error. Smooth and convex, its gradient
    grows with the residual, so it fits the conditional mean and is dominated by outliers.

    Args:
      pred: predictions, any shape.
      target: targets of ``pred``'s shape (integer targets are accepted).
      weight: optional non-negative weights, 0-d or of ``pred``'s rank (e.g. ``(N, 1)``).
      reduction: ``"none"`` (per-element loss), ``"mean"`` (weighted mean) or ``"sum"``.

    Returns:
      The loss of ``pred``'s shape, or the 0-d cost.

    Equals ``torch.nn.functional.mse_loss``; ``keras.losses.mean_squared_error`` averages over the
    last axis only, and ``optax.squared_error`` returns the element-wise loss.

    Example:
      >>> import numpy as np, losskit
      >>> float(losskit.mse(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
      2.0
    """
    a = prepare(pred, target, weight=weight, reduction=reduction)
    # an unnamed difference: NumPy squares it in place (temporary elision), one buffer, not two
    return a.finish((a.pred - a.target) ** 2)


@register("mean_absolute_error", "l1", "absolute_error")
@fast_path("_regression")
def mae(pred: Array, target: Array, *, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Absolute error :math:`\ell = |\hat y - y|`.

    Fits the conditional median: every residual pulls with the same force, so outliers cannot
    dominate. The gradient jumps at 0 (a subgradient of 0 is used there) and does not shrink near
    the optimum, which makes late training noisy.

    Args and returns as :func:`mse`. Equals ``torch.nn.functional.l1_loss`` and keras'
    ``mean_absolute_error`` (which averages over the last axis).

    Example:
      >>> import numpy as np, losskit
      >>> float(losskit.mae(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
      1.0
    """
    a = prepare(pred, target, weight=weight, reduction=reduction)
    return a.finish(a.xp.abs(a.pred - a.target))


@register("huber_loss")
@fast_path("_regression")
def huber(pred: Array, target: Array, *, delta: float = 1.0, weight: Array | None = None,
          reduction: str = "mean") -> Array:
    r"""Huber loss: quadratic for small residuals, linear beyond ``delta``.

    .. math::
        \ell = \begin{cases} \tfrac12 r^2 & |r| \le \delta \\
                             \delta\,(|r| - \tfrac12\delta) & |r| > \delta \end{cases},
        \qquad r = \hat y - y

    Convex, differentiable everywhere, with gradient bounded by ``delta``: robust to outliers
    while keeping MSE's smooth minimum. ``delta`` must be positive.

    Args and returns as :func:`mse`. Equals ``torch.nn.functional.huber_loss``,
    ``optax.huber_loss`` and ``keras.losses.Huber``. ``F.smooth_l1_loss(beta=d)`` is
    ``huber(delta=d) / d``.

    Reference: Huber, "Robust Estimation of a Location Parameter", Ann. Math. Stat. 1964.

    Example:
      >>> import numpy as np, losskit
      >>> losskit.huber(np.array([0.5, 3.0]), np.zeros(2), reduction="none").tolist()
      [0.125, 2.5]
    """
    delta = checks.real("delta", delta, low=0.0, low_open=True)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    r = a.xp.abs(a.pred - a.target)
    # q (r - q / 2) with q = min(r, delta) is r^2 / 2 below delta and delta (r - delta / 2) above,
    # with the right gradient on both sides and no where (whose untaken branch would still be
    # differentiated); written with unnamed temporaries, which NumPy reuses in place.
    q = a.xp.clip(r, max=delta)
    return a.finish(q * (r - q * 0.5))


@register("logcosh")
@fast_path("_regression")
def log_cosh(pred: Array, target: Array, *, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Log-cosh loss :math:`\ell = \log\cosh(\hat y - y)`.

    About :math:`r^2/2` for small residuals and :math:`|r| - \log 2` for large ones: a smooth
    Huber-like loss with no parameter, twice differentiable, with gradient ``tanh(r)`` bounded by 1.
    Computed as :math:`\tfrac12\operatorname{log1p}(\sinh^2 r)` below 1, accurate to the last digit
    for tiny residuals, and as :math:`|r| + \mathrm{softplus}(-2|r|) - \log 2` above, finite for any
    finite residual (``cosh`` itself overflows beyond 710 in float64, 89 in float32). keras and optax
    use the second form everywhere and lose all digits below :math:`r \approx 10^{-8}` (float64).

    Args and returns as :func:`mse`. Equals ``keras.losses.log_cosh`` (which averages over the
    last axis).

    Example:
      >>> import numpy as np, losskit
      >>> round(float(losskit.log_cosh(np.array([1000.0]), np.array([0.0]))), 6)
      999.306853
    """
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    r = xp.abs(a.pred - a.target)
    # The large-residual form cancels to r^2/2 for small r and would keep only its rounding error
    # (1e-16 absolute, all of r = 1e-8); below 1, log(cosh r) = log1p(sinh(r)^2) / 2 keeps every
    # digit, and its derivative is exactly tanh(r). Each branch only sees inputs where it is finite.
    small = r < 1.0
    zero = xp.zeros_like(r)
    r_small = xp.where(small, r, zero)
    r_large = xp.where(small, zero, r)
    sinh = xp.sinh(r_small)
    near_zero = 0.5 * xp.log1p(sinh * sinh)
    far = r_large + softplus(xp, -2.0 * r_large) - math.log(2.0)
    return a.finish(xp.where(small, near_zero, far))


@register("pinball")
@fast_path("_regression")
def quantile(pred: Array, target: Array, *, q: float = 0.5, weight: Array | None = None,
             reduction: str = "mean") -> Array:
    r"""Quantile (pinball) loss: its minimiser is the ``q``-quantile of the target.

    .. math:: \ell = \max\big(q\,(y - \hat y),\; (q - 1)(y - \hat y)\big), \quad 0 \le q \le 1

    Under-prediction costs ``q`` per unit, over-prediction ``1 - q``. ``q=0.5`` is half the
    absolute error. Use it for prediction intervals (e.g. ``q=0.05`` and ``q=0.95``).

    Args and returns as :func:`mse`.

    Reference: Koenker & Bassett, "Regression Quantiles", Econometrica 1978.

    Example:
      >>> import numpy as np, losskit
      >>> losskit.quantile(np.array([0.0, 0.0]), np.array([1.0, -1.0]), q=0.9, reduction="none").tolist()
      [0.9, 0.09999999999999998]
    """
    q = checks.real("q", q, low=0.0, high=1.0)
    a = prepare(pred, target, weight=weight, reduction=reduction)
    r = a.target - a.pred
    return a.finish(a.xp.maximum(q * r, (q - 1.0) * r))
