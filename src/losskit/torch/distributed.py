r"""Exact means and in-batch losses over the ranks of ``torch.distributed`` data-parallel training.

Each rank sees a slice of the global batch. The mean of a loss over the global batch is the sum of
the ranks' totals over the sum of their counts (:func:`losskit.mean_parts`); the average of the
ranks' means is not it as soon as the ranks count different numbers of examples (tokens left after
``ignore_index``, class weights, mined triplets), and neither is the average over the micro-batches
of gradient accumulation.

One convention for every function here: the **value** is the global batch's, the same on every
rank, and the **gradient** that each rank's backward computes is ``world_size`` times its share of
the global batch's gradient. ``DistributedDataParallel`` and FSDP *average* the gradients over the
ranks, which then leaves on every rank exactly the gradient of one process on the whole batch. If
you sum the gradients over the ranks yourself, divide the loss by the world size.

Without a process group, or with a world of one, no collective runs: the functions compute what one
process computes, and trace under ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist

Tensor = torch.Tensor

__all__ = ["accumulated_mean", "all_gather_with_grad", "global_mean"]


def world_size(group: Any = None) -> int:
    """The ranks of ``group`` (``None``: the default group); 1 without an initialised process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(group)


def _total(value: Any, name: str) -> Tensor:
    if not (isinstance(value, Tensor) and value.is_floating_point()):
        raise TypeError(f"{name} must be a floating torch tensor (a loss with reduction='sum'), got "
                        f"{type(value).__name__}")
    if value.ndim != 0:
        raise ValueError(f"{name} must be 0-d, a loss with reduction='sum'; got shape {tuple(value.shape)}")
    return value


def _over_ranks(total: Tensor, count: Any, group: Any) -> tuple[Tensor, Tensor, Tensor]:
    """The sums of ``total`` (detached) and ``count`` over the ranks, by one all-reduce, in at least
    float32, the count replaced by 1 where it is 0; and the factor of a rank's gradient, the world
    size, 0 where the count is."""
    dtype = torch.promote_types(total.dtype, torch.float32)  # float16 counts are not exact beyond 2048
    count = torch.as_tensor(count, device=total.device).detach()
    if count.is_complex() or count.dtype == torch.bool:
        raise TypeError(f"count must be a real number or a 0-d real tensor, got dtype {count.dtype}")
    if count.ndim != 0:
        raise ValueError(f"count must be a number or a 0-d tensor, got shape {tuple(count.shape)}")
    parts = torch.stack([total.detach().to(dtype), count.to(dtype)])
    world = world_size(group)
    if world > 1:
        dist.all_reduce(parts, group=group)
    grand_total, grand_count = parts.unbind()
    # A global batch with nothing to count has mean 0 and gradient 0: the library's convention (its
    # total need not be 0: label smoothing onto the classes that have a weight).
    empty = grand_count == 0
    factor = torch.where(empty, 0.0, float(world)).to(dtype)
    return torch.where(empty, 0.0, grand_total), torch.where(empty, 1.0, grand_count), factor


def global_mean(total: Tensor, count: Any, group: Any = None) -> Tensor:
    r"""The mean over every rank's batch, from this rank's ``(total, count)`` (:func:`losskit.mean_parts`).

    .. math::
        \text{value} = \frac{\sum_r \text{total}_r}{\sum_r \text{count}_r}, \qquad
        \text{gradient} = \frac{R\ \nabla\, \text{total}}{\sum_r \text{count}_r}

    with :math:`R` ranks (0 where the global count is 0). Averaged over the ranks, as
    ``DistributedDataParallel`` does, the gradients are exactly those of ``reduction="mean"`` on
    the concatenated batch. One all-reduce of two numbers; every rank of ``group`` must call it.

    For gradient accumulation, pass as ``count`` this rank's count of the *whole step* (every
    micro-batch), when it is known before the forward passes (tokens: from the labels, see
    ``docs/conventions.md``); the values of the micro-batches then add up to the step's mean, and
    their gradients to its gradient. When the counts come only with the losses, use
    :func:`accumulated_mean`.

    Args:
      total: this rank's 0-d ``reduction="sum"`` cost, with its gradient.
      count: this rank's count (a number or a 0-d tensor; its gradient is not taken).
      group: the process group (``None``: the default one). Without an initialised process group
        the result is ``total / count``.

    Returns:
      The global mean, a 0-d tensor of ``total``'s dtype.
    """
    total = _total(total, "total")
    grand_total, divisor, factor = _over_ranks(total, count, group)
    share = total.to(divisor.dtype) * (factor / divisor)
    # The value is the global mean, the gradient this rank's share: share - share.detach() is exactly 0.
    return (grand_total / divisor + (share - share.detach())).to(total.dtype)


def accumulated_mean(parameters: Iterable[Tensor], total: Tensor, count: Any, group: Any = None) -> Tensor:
    r"""Turn the gradients of summed micro-batch losses into those of the global mean, in place.

    Gradient accumulation with counts known only after each forward pass: call ``backward`` on each
    micro-batch's ``total`` of :func:`losskit.mean_parts` (under ``DistributedDataParallel``, in
    ``no_sync()`` but for the last one), add up the totals (detached) and the counts, then call this
    before the optimiser's step. It all-reduces the step's total and count (one all-reduce of two
    numbers) and multiplies every gradient by ``R / global count``, so that the gradients, as DDP
    leaves them (averaged over the :math:`R` ranks), become exactly those of ``reduction="mean"``
    over every micro-batch of every rank in one process.

    Args:
      parameters: the tensors whose ``.grad`` hold the accumulated gradients (``model.parameters()``);
        those without a gradient are skipped.
      total: the sum of this rank's micro-batch totals, a 0-d tensor.
      count: the sum of this rank's micro-batch counts (a number or a 0-d tensor).
      group: the process group (``None``: the default one).

    Returns:
      The global mean of the step, a 0-d tensor without gradient, the same on every rank.
    """
    total = _total(total, "total")
    grand_total, divisor, factor = _over_ranks(total, count, group)
    scale = factor / divisor
    with torch.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.mul_(scale.to(p.grad.dtype))
    return (grand_total / divisor).to(total.dtype)


def all_gather_with_grad(x: Tensor, group: Any = None) -> Tensor:
    r"""Every rank's ``x``, concatenated along the first axis in rank order; the gradient flows back.

    For the in-batch losses (:func:`losskit.batch_triplet`, :func:`losskit.info_nce`), whose
    negatives are the other examples of the batch: gather the embeddings and the labels, then call
    the loss on the global batch, on every rank::

        embeddings = all_gather_with_grad(model(x))
        labels = all_gather_with_grad(y)          # no gradient: a plain all_gather
        loss = losskit.info_nce(embeddings, labels)

    ``loss`` is the global batch's on every rank. The backward of the gather sums, over the ranks,
    the gradients of their losses by this rank's rows (a reduce-scatter): every rank computes the
    same loss, so each row's gradient is :math:`R` times that of one process on the whole batch,
    which DDP's average over the ranks divides back (the module's convention). Each rank computes
    the whole ``(N R)^2`` similarity matrix. Every rank must pass a tensor of the same shape and run
    the backward.

    Args:
      x: this rank's ``(N, ...)`` tensor.
      group: the process group (``None``: the default one). Without an initialised process group,
        ``x`` itself.

    Returns:
      The ``(N R, ...)`` tensor of the :math:`R` ranks' ``x``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError("x must have a first axis to gather along, got a 0-d tensor")
    if world_size(group) == 1:
        return x
    out: Tensor = _AllGather.apply(x, group)  # type: ignore[no-untyped-call]
    return out


class _AllGather(torch.autograd.Function):
    """``torch.distributed.nn.functional.all_gather`` (deprecated in torch 2.13) as one tensor."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: Any) -> Tensor:
        ctx.group = group
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, x.contiguous(), group=group)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        # The adjoint of a gather is a reduce-scatter: the sum over the ranks of their gradients of this
        # rank's rows. An all-reduce and a slice, which gloo also has (it has no reduce-scatter).
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        rows = grad.shape[0] // dist.get_world_size(ctx.group)
        return grad.narrow(0, dist.get_rank(ctx.group) * rows, rows), None
