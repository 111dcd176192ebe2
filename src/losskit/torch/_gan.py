"""Torch fast paths of the GAN losses, for every kind of discriminator and generator loss.

A GAN loss is a few element-wise operations on the discriminator's scores, which are small (one
per example, or a patch map, some 10^4 to 10^5 numbers): its cost is the number of operations
and their overhead more than memory traffic. So each kind takes the fewest operations:

- the least-squares losses are fused (see ``_fused``): their derivatives, ``r - 1`` and ``f``,
  come out of the forward pass, where autograd would recompute them from several saved tensors;
- the other kinds are torch's own operations, one or two per term, whose backward pass is
  already minimal: ``log_sigmoid`` (whose rounding is the reference's softplus) keeps
  ``exp(-|x|)`` for its derivative, the Wasserstein derivatives are constants that torch
  returns as views of one number, and the hinge is a threshold whose derivative flows at 0 as
  the reference's clip's does. A fused kernel there costs more than it saves: it computes the
  derivatives in an extra pass, and its Python autograd function outweighs these few kernels.

Each declines (returns ``NotImplemented``) a ``weight``, dtypes other than float32/float64 (or
two different ones), an empty batch, and batches the reference path refuses to pair (for
``"none"`` and ``kind="relativistic"``): the reference path takes those, and raises every error.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._core import checks
from ..gan import KINDS
from ._fused import float_tensors, fused

Tensor = torch.Tensor


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


def _pair(on_real: Tensor, on_fake: Tensor, reduction: str) -> Tensor:
    """The discriminator's loss from its two terms: per pair, or the sum of their sums or means."""
    if reduction == "none":
        return on_real + on_fake
    return _reduce(on_real, reduction) + _reduce(on_fake, reduction)


def _hinge(margin: Tensor) -> Tensor:
    """``max(0, margin)`` with the derivative 1 at ``margin = 0``, the reference's clip's (relu's is 0).

    ``margin`` is ``1 - r`` or ``1 + f``: 0 or at least half an ulp of 1 in size, never in ``(-tiny, 0)``.
    """
    return F.threshold(margin, -torch.finfo(margin.dtype).smallest_normal, 0.0)


def _squares_kernel(real: Tensor, fake: Tensor | None = None, *, kind: str,
                    reduction: str) -> tuple[Tensor, tuple[Tensor, ...]]:
    """``(r - 1)^2 / 2 + f^2 / 2`` (the discriminator's) or, without ``fake``, ``(r - 1)^2 / 2`` (the
    generator's, where ``r`` holds the fake scores), and the derivatives ``r - 1`` and ``f``."""
    miss = torch.sub(real, 1.0)
    terms = [(miss, True), *([] if fake is None else [(fake, False)])]
    losses, grads = [], []
    for x, own in terms:
        # a sum of the squares, not torch.dot: BLAS accumulates each lane in order, whose error grows
        # with the length (2e-7 relative at 10^6 scores, 5x the reference's), where the sum is pairwise
        square = torch.square(x).mul_(0.5)
        losses.append(square if reduction == "none" else square.sum())
        # the derivative of a mean, and x itself (a temporary, or the input, kept without a copy) otherwise
        grads.append((x.mul_(1 / x.numel()) if own else x / x.numel()) if reduction == "mean" else x)
    if reduction == "mean":
        losses = [loss / x.numel() for loss, (x, _) in zip(losses, terms, strict=True)]
    return losses[0] if fake is None else losses[0].add_(losses[1]), tuple(grads)


def gan_discriminator_loss(real: Any, fake: Any, *, kind: str = "non_saturating", weight: Any = None,
                           reduction: str = "mean") -> Any:
    kind = checks.choice("kind", kind, KINDS)
    if weight is not None or not float_tensors(real, fake):
        return NotImplemented
    reduction = checks.reduction(reduction)
    if (kind == "relativistic" or reduction == "none") and real.shape != fake.shape:
        return NotImplemented  # the reference path raises: the pairs need one shape
    if kind in ("minimax", "non_saturating"):  # softplus(-r) + softplus(f)
        return -_pair(F.logsigmoid(real), F.logsigmoid(torch.neg(fake)), reduction)
    if kind == "least_squares":
        return fused(_squares_kernel, "gan_discriminator_loss", (real, fake),
                     {"kind": kind, "reduction": reduction}, n_grad=2)
    if kind == "wasserstein":
        if real.shape == fake.shape:  # f - r per pair, as the reference path sums it (the two means cancel)
            return _reduce(torch.sub(fake, real), reduction)
        return _reduce(fake, reduction) - _reduce(real, reduction)
    if kind == "hinge":  # max(0, 1 - r) + max(0, 1 + f)
        return _pair(_hinge(torch.rsub(real, 1.0)), _hinge(torch.add(fake, 1.0)), reduction)
    return -_reduce(F.logsigmoid(torch.sub(real, fake)), reduction)  # relativistic: softplus(f - r)


def gan_generator_loss(fake: Any, *, kind: str = "non_saturating", real: Any = None, weight: Any = None,
                       reduction: str = "mean") -> Any:
    kind = checks.choice("kind", kind, KINDS)
    if weight is not None or (real is None) == (kind == "relativistic"):
        return NotImplemented  # a weight, or a real that the kind requires or refuses (the reference raises)
    tensors = (fake,) if real is None else (fake, real)
    if not float_tensors(*tensors) or any(t.shape != fake.shape for t in tensors):
        return NotImplemented  # the reference path raises for a real of another shape
    reduction = checks.reduction(reduction)
    if kind == "minimax":  # -softplus(f)
        return _reduce(F.logsigmoid(torch.neg(fake)), reduction)
    if kind == "non_saturating":  # softplus(-f)
        return -_reduce(F.logsigmoid(fake), reduction)
    if kind == "least_squares":
        return fused(_squares_kernel, "gan_generator_loss", (fake,), {"kind": kind, "reduction": reduction},
                     n_grad=1)
    if kind == "relativistic":  # softplus(r - f)
        return -_reduce(F.logsigmoid(torch.sub(fake, real)), reduction)
    return -_reduce(fake, reduction)  # wasserstein, hinge: -f
