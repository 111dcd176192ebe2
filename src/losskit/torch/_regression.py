"""Torch fast paths of the regression losses: native kernels for mse and huber, fused mae, log-cosh
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


def _mae_kernel(pred: Tensor, target: Tensor, *, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    r = torch.sub(pred, target)
    loss = torch.abs(r)
    if reduction == "none":
        return loss, (r.sign_(),)
    total = loss.sum()
    n = r.numel() if reduction == "mean" else 1
    # The gradient reuses the buffer allocated last. Keeping the first one instead cost 5x on
    # repeated calls here: glibc gives a freed top of its heap back to the system, and the next
    # call faults those pages in again.
    grad = torch.sign(r, out=loss)
    return total / n, (grad if n == 1 else grad.div_(n),)


def mae(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    loss: Any = NotImplemented
    if torch.is_grad_enabled() and pred.requires_grad:
        # F.l1_loss's backward is several times its forward (sign, then a broadcast multiply by the
        # upstream gradient); the fused kernel's gradient is one sign and one scaling of the residual.
        # Without a gradient to compute, or with one for the target, torch's kernel takes the call.
        loss = fused(_mae_kernel, "mae", (pred, target), {"reduction": reduction}, n_grad=1)
    if loss is NotImplemented:
        loss = F.l1_loss(pred, target, reduction=reduction)
    return _target_checked(loss, target)


def huber(pred: Any, target: Any, *, delta: float = 1.0, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight):
        return NotImplemented
    delta = checks.real("delta", delta, low=0.0, low_open=True)
    reduction = checks.reduction(reduction)
    return _target_checked(F.huber_loss(pred, target, reduction=reduction, delta=delta), target)


_BLOCK = 1 << 18
"""Elements per block of the log-cosh kernel (1 MiB of float32): its temporaries stay in the cache
and are reused from block to block, where fresh tensors of the input's size would cost their page
faults on every call. (2^18 was the fastest of 2^16 to 2^20 at 10^6 residuals: 6.3 -> 5.3 ms
against 2^16.)"""


def _log_cosh_block(r: Tensor, grad: Tensor, loss: Tensor, a: Tensor, m: Tensor, t: Tensor, small: Tensor) -> None:
    """The loss and gradient of a block of residuals ``r`` into ``loss`` and ``grad``; ``r``, ``a``,
    ``m``, ``t`` and ``small`` are overwritten.

    Both of the reference's forms (see losskit.log_cosh) and tanh from one m = expm1(-2|r|):
    sinh(|r|)^2 = m^2 / (4 (1 + m)), log(cosh r) = |r| + log1p(m / 2) and tanh|r| = -m / (2 + m),
    each to full relative precision: three transcendental functions instead of five.
    """
    torch.abs(r, out=a)
    torch.mul(a, -2.0, out=m).expm1_()
    torch.div(m, torch.add(m, 2.0, out=t), out=grad).neg_().copysign_(r)
    torch.lt(a, 1.0, out=small)
    near = torch.div(torch.mul(m, m, out=r), torch.add(m, 1.0, out=t).mul_(4.0), out=t).log1p_().mul_(0.5)
    far = m.mul_(0.5).log1p_().add_(a)
    torch.where(small, near, far, out=loss)


def _log_cosh_kernel(pred: Tensor, target: Tensor, *, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    n = pred.numel()
    grad = torch.empty(pred.shape, dtype=pred.dtype, device=pred.device)
    loss = torch.empty_like(grad) if reduction == "none" else None
    # one block while torch.compile traces: inductor fuses the operations into one loop anyway
    size = n if torch.compiler.is_compiling() else min(_BLOCK, n)
    r, a, m, t, out = torch.empty((5, size), dtype=pred.dtype, device=pred.device).unbind()
    small = torch.empty(size, dtype=torch.bool, device=pred.device)
    x, y, flat_grad = pred.reshape(-1), target.reshape(-1), grad.view(-1)
    flat_loss = None if loss is None else loss.view(-1)
    total = pred.new_zeros(())
    for start in range(0, n, size):
        block, k = slice(start, start + size), min(size, n - start)
        part = out[:k] if flat_loss is None else flat_loss[block]
        _log_cosh_block(torch.sub(x[block], y[block], out=r[:k]), flat_grad[block], part, a[:k], m[:k], t[:k],
                        small[:k])
        if flat_loss is None:
            total += part.sum()
    if loss is not None:
        return loss, (grad,)
    if reduction == "sum":
        return total, (grad,)
    return total / n, (grad.div_(n),)


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
