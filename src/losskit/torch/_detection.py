"""Torch fast path of the binary focal loss: value and gradient in one pass, chunked.

With :math:`e = e^{-|x|}`, the probabilities of both classes are ``1/(1+e)`` (the likelier one)
and ``e/(1+e)``, to full relative precision; the cross-entropy is ``max(x, 0) - y x + log1p(e)``,
and the probability of a miss, :math:`1 - p_t = (A e + B)/(1 + e)` with ``A = y, B = 1 - y`` for
``x >= 0`` (the roles swap below), so that :math:`\\log(1 - p_t)` is exact also where ``1 - p_t``
is far below the smallest normal number -- as in the reference path, which works in log space.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp
import torch

from .._core import checks
from ._fused import fused, plain_pair

Tensor = torch.Tensor

CHUNK = 1 << 18
"""Elements per chunk: the kernel's eight scratch rows of this size stay in the CPU's cache."""


def _focal_chunk(x: Tensor, y: Tensor, gamma: float, alpha: float | None, scale: float, scratch: Tensor,
                 loss_out: Tensor, grad_out: Tensor) -> None:
    """Write the focal loss of logits ``x`` and labels ``y`` to ``loss_out``, and ``scale`` times its
    derivative to ``grad_out``; ``scratch`` holds eight rows of ``x``'s size.

    Every temporary is a scratch row, written in place (no allocation per chunk), and no
    ``torch.where``: on the CPU it costs several times an arithmetic operation.
    """
    nax, e, log1p_e, small, bce, dbce, factor, other = scratch
    torch.abs(x, out=nax).neg_()
    torch.exp(nax, out=e)
    torch.log1p(e, out=log1p_e)
    torch.div(e, torch.add(e, 1.0, out=small), out=small)  # the unlikelier class's probability
    # binary cross-entropy max(x, 0) - y x + log1p(e) and its derivative p - y
    torch.clamp(x, min=0.0, out=bce).addcmul_(x, y, value=-1.0).add_(log1p_e)
    torch.sigmoid(x, out=dbce).sub_(y)
    if gamma == 0.0:
        factor.fill_(1.0)
        slope = dbce
    else:
        # 1 - p_t = (t e + 1 - t) / (1 + e), where the unlikelier class's share t is y for x >= 0, else 1 - y
        share = torch.lt(x, 0.0, out=other).sub_(y).abs_()
        mass = torch.neg(share, out=factor).add_(1.0).addcmul_(share, e)  # at least e; exactly e where t = 1
        if gamma.is_integer():
            # (1 - p_t)^gamma by multiplication, as exact as the log-space form and 20 times cheaper
            miss = torch.neg(small, out=nax).add_(1.0).mul_(mass)  # mass / (1 + e), as 1 - small = 1 / (1 + e)
        else:
            # where t = 1, log(mass) = log(e) = -|x| also where e underflows: the maximum keeps that
            miss = torch.maximum(torch.log(mass, out=other), nax, out=other).sub_(log1p_e)  # log(1 - p_t)
        # d(1 - p_t)/dx / (1 - p_t) = (1 - 2y) p q / (1 - p_t) = (1 - 2y) small / mass
        slope = small.div_(mass.clamp_(min=torch.finfo(x.dtype).tiny))
        slope.mul_(torch.mul(y, -2.0 * gamma, out=factor).add_(gamma)).mul_(bce).add_(dbce)
        if gamma.is_integer():
            torch.pow(miss, gamma, out=factor)
        else:
            torch.mul(miss, gamma, out=factor).exp_()
    if alpha is not None:
        factor.mul_(torch.mul(y, 2.0 * alpha - 1.0, out=other).add_(1.0 - alpha))
    torch.mul(bce, factor, out=loss_out)
    torch.mul(slope, factor.mul_(scale), out=grad_out)


def _focal_kernel(pred: Tensor, target: Tensor, *, gamma: float, alpha: float | None, from_logits: bool,
                  reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    del from_logits  # always True: probabilities take the reference path
    x, y = pred.reshape(-1), target.reshape(-1)
    loss, grad = torch.empty_like(x), torch.empty_like(x)
    scale = 1.0 / x.numel() if reduction == "mean" else 1.0
    # Compiled, the whole tensor is one chunk: inductor fuses the operations into one loop anyway.
    chunk = x.numel() if torch.compiler.is_compiling() else min(CHUNK, x.numel())
    scratch = x.new_empty((8, chunk))
    for start in range(0, x.numel(), chunk):
        part = slice(start, start + chunk)
        n = x[part].numel()
        _focal_chunk(x[part], y[part], gamma, alpha, scale, scratch[:, :n], loss[part], grad[part])
    grad = grad.reshape(pred.shape)
    if reduction == "none":
        return loss.reshape(pred.shape), (grad,)
    total = loss.sum()
    return (total if reduction == "sum" else total / x.numel()), (grad,)


def focal(pred: Any, target: Any, *, gamma: float = 2.0, alpha: float | None = 0.25,
          from_logits: bool = False, weight: Any = None, reduction: str = "mean") -> Any:
    if not (from_logits and plain_pair(pred, target, weight)):
        return NotImplemented
    gamma = checks.real("gamma", gamma, low=0.0)
    if alpha is not None:
        alpha = checks.real("alpha", alpha, low=0.0, high=1.0)
    reduction = checks.reduction(reduction)
    checks.finite(xp, "target", target)
    checks.within(xp, "target", target, 0.0, 1.0)
    options = {"gamma": gamma, "alpha": alpha, "from_logits": True, "reduction": reduction}
    return fused(_focal_kernel, "focal", (pred, target), options, n_grad=1)
