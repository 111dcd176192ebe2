"""Torch fast paths of the regression losses: native kernels for mse, mae and huber, a fused log-cosh.

Each declines (returns ``NotImplemented``) a ``weight``, dtypes other than float32/float64 and an
empty batch: the reference path takes those, and raises every error.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp
import torch
import torch.nn.functional as F

from .._core import checks
from ._fused import fused, plain_pair

Tensor = torch.Tensor


def mse(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    checks.finite(xp, "target", target)
    return F.mse_loss(pred, target, reduction=reduction)


def mae(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    checks.finite(xp, "target", target)
    return F.l1_loss(pred, target, reduction=reduction)


def huber(pred: Any, target: Any, *, delta: float = 1.0, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    delta = checks.real("delta", delta, low=0.0, low_open=True)
    reduction = checks.reduction(reduction)
    checks.finite(xp, "target", target)
    return F.huber_loss(pred, target, reduction=reduction, delta=delta)


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
    checks.finite(xp, "target", target)
    return fused(_log_cosh_kernel, "log_cosh", (pred, target), {"reduction": reduction}, n_grad=1)
