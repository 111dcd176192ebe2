"""Torch fast paths of the regression losses: native kernels for mse, mae and huber, fused log-cosh
and quantile.

Each declines (returns ``NotImplemented``) a ``weight``, dtypes other than float32/float64 and an
empty batch: the reference path takes those, and raises every error. A non-finite target is found
through the reduced loss, which it makes non-finite: no pass over the target unless the loss is
not finite (see :func:`losskit._core.checks.finite_via`).
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp
import torch
import torch.nn.functional as F

from .._core import checks
from ._fused import fused, plain_pair

Tensor = torch.Tensor


def _target_checked(loss: Any, target: Tensor) -> Any:
    """``loss``, once the target is known to be finite: read from the loss, which a NaN or inf in
    the target makes non-finite, so that the target is scanned only when the loss is not finite."""
    if loss is not NotImplemented:
        checks.finite_via(xp, "target", target, loss)
    return loss


def mse(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    return _target_checked(F.mse_loss(pred, target, reduction=reduction), target)


def mae(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    return _target_checked(F.l1_loss(pred, target, reduction=reduction), target)


def huber(pred: Any, target: Any, *, delta: float = 1.0, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    delta = checks.real("delta", delta, low=0.0, low_open=True)
    reduction = checks.reduction(reduction)
    return _target_checked(F.huber_loss(pred, target, reduction=reduction, delta=delta), target)


def _log_cosh_kernel(pred: Tensor, target: Tensor, *, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    # Both of the reference's forms (see losskit.log_cosh) and tanh from one m = expm1(-2|r|):
    # sinh(|r|)^2 = m^2 / (4 (1 + m)), log(cosh r) = |r| + log1p(m / 2) and tanh|r| = -m / (2 + m),
    # each to full relative precision: two transcendental functions instead of five.
    r = pred - target
    a = r.abs()
    m = torch.mul(a, -2.0).expm1_()
    grad = torch.div(m, m.add(2.0)).neg_().copysign_(r)
    small = a < 1.0
    near = torch.mul(m, m).div_(m.add(1.0).mul_(4.0)).log1p_().mul_(0.5)
    far = torch.mul(m, 0.5).log1p_().add_(a)
    loss = torch.where(small, near, far)
    if reduction == "none":
        return loss, (grad,)
    if reduction == "sum":
        return loss.sum(), (grad,)
    return loss.mean(), (grad.div_(loss.numel()),)


def log_cosh(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    loss = fused(_log_cosh_kernel, "log_cosh", (pred, target), {"reduction": reduction}, n_grad=1)
    return _target_checked(loss, target)


def _quantile_kernel(pred: Tensor, target: Tensor, *, q: float, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    r = torch.sub(pred, target)
    # d loss / d pred = (sign(r) + 1) / 2 - q: 1 - q above the target, -q below, and 1/2 - q at a tie,
    # where the reference's maximum splits its gradient between its two equal sides. Each is one
    # rounding of the exact value (0.5 * (sign + 1) is exact), and so is the loss r * grad.
    grad = torch.sign(r).add_(1.0)
    torch.add(torch.full((), -q, dtype=r.dtype, device=r.device), grad, alpha=0.5, out=grad)
    loss = r.mul_(grad)
    if reduction == "none":
        return loss, (grad,)
    if reduction == "sum":
        return loss.sum(), (grad,)
    return loss.mean(), (grad.div_(loss.numel()),)


def quantile(pred: Any, target: Any, *, q: float = 0.5, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    q = checks.real("q", q, low=0.0, high=1.0)
    reduction = checks.reduction(reduction)
    loss = fused(_quantile_kernel, "quantile", (pred, target), {"q": q, "reduction": reduction}, n_grad=1)
    return _target_checked(loss, target)
