"""Torch fast paths of the regression losses: native kernels for mse, mae and huber, a fused log-cosh.

Each declines (returns ``NotImplemented``) a ``weight``, dtypes other than float32/float64 and an
empty batch: the reference path takes those, and raises every error.
"""

from __future__ import annotations

import math
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
    r = pred - target
    grad = torch.tanh(r)
    a = r.abs_()
    # the reference's two forms (see losskit.log_cosh), each fed only where it is finite
    small = a < 1.0
    s = torch.sinh(torch.clamp(a, max=1.0))
    near = s.mul_(s).log1p_().mul_(0.5)
    far = torch.mul(a, -2.0).exp_().log1p_().add_(a).sub_(math.log(2.0))
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
