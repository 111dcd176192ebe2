r"""Torch fast paths of the embedding losses: native and fused triplet, fused in-batch losses.

* :func:`triplet` with the euclidean distance, ``margin > 0`` and ``eps > 0`` is torch's
  ``F.triplet_margin_loss`` (the same distance, ``eps`` and swap); other distances, ``margin=0``
  (which torch refuses) and ``eps=0`` (exact distances, whose squares must not underflow) take a
  fused kernel. :func:`contrastive` is fused the same way.
* :func:`batch_triplet` and :func:`info_nce` are fused: the kernel builds the ``(N, N)`` distances
  (or similarities) with the reference path's own formula, turns the loss into its gradient
  :math:`G` with respect to that matrix, and pulls :math:`G` back through the Gram matrix with
  two matrix products: :math:`\partial / \partial x_i = \sum_j (M_{ij} + M_{ji}) (x_i - x_j)` for
  a function of the squared distances, :math:`M` its derivative by them (halved). Batch-hard
  mining, whose :math:`G` has a few non-zero entries per row, sums over those alone.

``batch_triplet`` never forms the :math:`O(N^3)` triplets. Its loss is piecewise linear in the
distances: a triplet :math:`(a, p, n)` is active where :math:`v = d_{ap} - d_{an} + m \ge 0`, so the
gradient by :math:`d_{an}` is minus the number of active positives of :math:`(a, n)`, that by
:math:`d_{ap}` the number of active negatives of :math:`(a, p)`, and the loss is
:math:`\sum_{ap} \#_{ap} (d_{ap} + m) - \sum_{an} \#_{an} d_{an}`. Each anchor's positive
distances are sorted (a row as wide as the largest class); the active positives of each
``(a, n)`` are a run of that row, found by binary search with the reference's own rounded test
(``(d_ap - d_an) + m >= 0``, the window of semi-hard mining), so that the same triplets are
active to the last bit; the counts of each ``(a, p)`` follow from a histogram of the runs' ends.
Time :math:`O(N^2 \log C)` for classes of size :math:`C`, memory :math:`O(N^2)`.

Declined (the reference path takes them, and raises every error): a ``weight``, dtypes other than
float32/float64, an empty batch, tensors on different devices, labels that are not an integer
``(N,)`` tensor, ``reduction="none"`` of the in-batch losses (an anchor's loss moves every
embedding: no gradient of one tensor per input), and, while value checks run, non-finite
embeddings, distances that could overflow, and batches the reference refuses (no positive pair,
a single class).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat.torch as xp
import torch
import torch.nn.functional as F

from .._core import checks
from .._core.primitives import binary_scale, norm
from ..embedding import AVERAGES, DISTANCES, MININGS
from ._fused import float_tensors, fused

Tensor = torch.Tensor
Backward = Callable[[Tensor, bool], Tensor]
"""``(dcost/dD, sparse) -> dcost/dx``: the pull-back of an ``(N, N)`` distance matrix to the embeddings,
by gathering the non-zero entries of ``dcost/dD`` where ``sparse`` (a few per row), else by matrix products."""


def _cosine_floor(dtype: torch.dtype) -> float:
    """The reference's floor of a norm in a cosine (``embedding._cosine_floor``)."""
    return math.sqrt(torch.finfo(dtype).eps)


def _unit(x: Tensor, floor: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(u, r, free)``: ``u = x / r`` with ``r = max(|x|, floor)`` per row, as the reference, and
    where ``r`` is the norm itself (the clamp passes the gradient at its bound)."""
    length = norm(xp, x, axis=-1, keepdims=True)
    r = length.clamp(min=floor)
    return x / r, r, length >= floor


def _unit_grad(grad_u: Tensor, u: Tensor, r: Tensor, free: Tensor) -> Tensor:
    """Pull ``dcost/du`` back through ``u = x / max(|x|, floor)``: ``(g - (g.u) u) / r``."""
    radial = (grad_u * u).sum(-1, keepdim=True).mul_(free)
    return grad_u.sub_(u * radial).div_(r)


# ---------------------------------------------------------------- pairs of vectors: triplet, contrastive


def _paired(x: Tensor, y: Tensor, kind: str, eps: float,
            floor: float) -> tuple[Tensor, Callable[[Tensor], tuple[Tensor, Tensor]]]:
    """The distance of ``x`` and ``y`` along the last axis (``embedding._paired``) and its pull-back
    ``g -> (dcost/dx, dcost/dy)`` for ``g = dcost/dd``."""
    if kind == "cosine":
        ux, rx, fx = _unit(x, floor)
        uy, ry, fy = _unit(y, floor)
        cos = (ux * uy).sum(-1)

        def cosine_grads(g: Tensor) -> tuple[Tensor, Tensor]:
            g = g.unsqueeze(-1)
            return _unit_grad(uy * -g, ux, rx, fx), _unit_grad(ux * -g, uy, ry, fy)

        return 1.0 - cos, cosine_grads
    diff = x - y
    if kind == "squared_euclidean":
        def squared_grads(g: Tensor) -> tuple[Tensor, Tensor]:
            gx = diff * (2.0 * g).unsqueeze(-1)
            return gx, -gx

        return (diff * diff).sum(-1), squared_grads
    if eps:
        diff += eps
    d = norm(xp, diff, axis=-1)

    def euclidean_grads(g: Tensor) -> tuple[Tensor, Tensor]:
        # d' = diff / d, and 0 (the norm's subgradient) at d = 0
        gx = diff * torch.where(d > 0, g / d, 0.0).unsqueeze(-1)
        return gx, -gx

    return d, euclidean_grads


def _reduce(loss: Tensor, slope: Tensor, reduction: str) -> tuple[Tensor, Tensor]:
    """The reduced loss and ``dcost/dloss`` of each element (``"none"``: of its own loss)."""
    if reduction == "none":
        return loss, slope
    if reduction == "sum":
        return loss.sum(), slope
    return loss.sum() / loss.numel(), slope.div_(loss.numel())


def _triplet_kernel(anchor: Tensor, positive: Tensor, negative: Tensor, *, margin: float, distance: str,
                    swap: bool, eps: float, reduction: str) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    floor = eps if eps > 0 else math.sqrt(torch.finfo(anchor.dtype).smallest_normal)
    d_pos, pos_grads = _paired(anchor, positive, distance, eps, floor)
    d_neg, neg_grads = _paired(anchor, negative, distance, eps, floor)
    if swap:
        d_swap, swap_grads = _paired(positive, negative, distance, eps, floor)
        # torch.minimum's gradient: to the smaller one, half to each at a tie
        share = torch.where(d_neg < d_swap, 1.0, torch.where(d_neg == d_swap, 0.5, 0.0))
        d_neg = torch.minimum(d_neg, d_swap)
    v = (d_pos - d_neg).add_(margin)
    loss, g = _reduce(v.clamp(min=0.0), (v >= 0).to(v.dtype), reduction)  # clamp passes the gradient at 0
    ga, gp = pos_grads(g)
    if not swap:
        ga_n, gn = neg_grads(-g)
        return loss, (ga.add_(ga_n), gp, gn)
    ga_n, gn = neg_grads(-g * share)
    gp_s, gn_s = swap_grads(g * (share - 1.0))
    return loss, (ga.add_(ga_n), gp.add_(gp_s), gn.add_(gn_s))


def triplet(anchor: Any, positive: Any, negative: Any, *, margin: float = 1.0, distance: str = "euclidean",
            swap: bool = False, eps: float = 1e-6, weight: Any = None, reduction: str = "mean") -> Any:
    m = checks.real("margin", margin, low=0.0)
    e = checks.real("eps", eps, low=0.0)
    kind = checks.choice("distance", distance, DISTANCES)
    plain = (
        weight is None and isinstance(swap, bool) and float_tensors(anchor, positive, negative)
        and anchor.ndim >= 1 and anchor.shape == positive.shape == negative.shape
    )
    if not plain:
        return NotImplemented
    reduction = checks.reduction(reduction)
    if kind == "euclidean" and m > 0 and e > 0:
        loss = F.triplet_margin_loss(anchor, positive, negative, margin=m, p=2.0, eps=e, swap=swap,
                                     reduction=reduction)
        # torch's norm squares unscaled: beyond ~1e19 (float32) a distance overflows, which the
        # reference path's scaled norm does not
        # (a reduced loss is read as one number: a test of the tensor costs three more operations)
        if loss.ndim == 0 and checks.active(xp):
            overflow = not math.isfinite(float(loss.detach()))
        else:
            overflow = checks.any_true(xp, ~torch.isfinite(loss).all())
        return NotImplemented if overflow else loss
    options = {"margin": m, "distance": kind, "swap": swap, "eps": e, "reduction": reduction}
    return fused(_triplet_kernel, "triplet", (anchor, positive, negative), options, n_grad=3, axes=(-1,))


def _contrastive_kernel(x1: Tensor, x2: Tensor, same: Tensor, *, margin: float, distance: str,
                        reduction: str) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    s = same.to(x1.dtype)
    d, grads = _paired(x1, x2, distance, 0.0, _cosine_floor(x1.dtype))
    gap = (margin - d).clamp_(min=0.0)
    loss = (s * (d * d)).add_((1.0 - s) * (gap * gap)).mul_(0.5)
    # d/dd of the loss: s d - (1 - s) gap (gap is 0 where the clamp is active)
    loss, g = _reduce(loss, (s * d).sub_((1.0 - s).mul_(gap)), reduction)
    return loss, grads(g)


def contrastive(x1: Any, x2: Any, same: Any, *, margin: float = 1.0, distance: str = "euclidean",
                weight: Any = None, reduction: str = "mean") -> Any:
    m = checks.real("margin", margin, low=0.0)
    kind = checks.choice("distance", distance, DISTANCES)
    plain = (
        weight is None and float_tensors(x1, x2) and x1.ndim >= 1 and x1.shape == x2.shape
        and isinstance(same, Tensor) and same.device == x1.device and same.shape == x1.shape[:-1]
        and not same.dtype.is_complex
    )
    if not plain:
        return NotImplemented
    reduction = checks.reduction(reduction)
    if same.dtype != torch.bool and checks.any_true(xp, ~((same == 0) | (same == 1)),
                                                    "same must hold 0 or 1 (or booleans)"):
        return NotImplemented  # the reference path raises, naming the value
    return fused(_contrastive_kernel, "contrastive", (x1, x2, same), {"margin": m, "distance": kind,
                                                                      "reduction": reduction}, n_grad=2, axes=(-1,))


# ---------------------------------------------------------------- in-batch losses: batch_triplet, info_nce


def _pairs(labels: Tensor) -> tuple[Tensor, Tensor]:
    """The masks of positive pairs (same label, not the anchor itself) and negative pairs."""
    same = labels.unsqueeze(1) == labels.unsqueeze(0)
    positive = same.logical_xor(torch.eye(len(labels), dtype=torch.bool, device=labels.device))
    return positive, same.logical_not_()


def _pull(m: Tensor, a: Tensor, sparse: bool) -> Tensor:
    """``sum_j (m_ij + m_ji) a_j``: two matrix products (so that ``m + m^T`` takes no ``(N, N)``
    buffer) or, where ``sparse``, a sum over the non-zero entries of ``m`` only: batch-hard mining
    has a few per row, and the two ``(N, N) @ (N, D)`` products cost ten times their gather. Not while
    ``torch.compile`` traces: the number of non-zero entries would be a data-dependent shape."""
    if not sparse or torch.compiler.is_compiling():
        return torch.addmm(m @ a, m.T, a)
    i, j = m.nonzero(as_tuple=True)
    w = m[i, j].unsqueeze(1)
    # (the gathered rows are scaled in place: one (nnz, D) temporary at a time)
    return torch.zeros_like(a).index_add_(0, i, a[j].mul_(w)).index_add_(0, j, a[i].mul_(w))


def _gram_backward(x: Tensor, m: Tensor, sparse: bool) -> Tensor:
    """``sum_j (m_ij + m_ji) (x_i - x_j)``: ``dcost/dx`` of a function of the squared distances
    ``|x_i - x_j|^2`` (``|x_i|^2 + |x_j|^2 - 2 x_i.x_j``) with ``m = dcost/d|x_i - x_j|^2 / 2``."""
    return _pull(m, x, sparse).neg_().addcmul_(x, (m.sum(1) + m.sum(0)).unsqueeze(1))


def _distance_matrix(x: Tensor, kind: str) -> tuple[Tensor, Backward]:
    """``(N, N)`` distances between the rows of ``x``, bit for bit ``embedding._distance_matrix``, and
    their pull-back, which overwrites the ``dcost/dD`` it is given (its only ``(N, N)`` buffer)."""
    if kind == "cosine":
        u, r, free = _unit(x, _cosine_floor(x.dtype))
        d = (u @ u.T).neg_().add_(1.0)
        d.fill_diagonal_(0.0)

        def cosine_backward(g: Tensor, sparse: bool) -> Tensor:
            return _unit_grad(_pull(g, u, sparse).neg_(), u, r, free)

        return d, cosine_backward
    scale = binary_scale(xp, x.abs().amax())
    y = x / scale
    sq = (y * y).sum(1)
    d = (sq.unsqueeze(1) + sq.unsqueeze(0)).sub_(y @ y.T, alpha=2.0)
    if kind == "squared_euclidean":
        kept = d >= 0  # where the clamp passes the gradient (G is 0 on the diagonal)
        d.clamp_(min=0.0).fill_diagonal_(0.0).mul_(scale * scale)

        def squared_backward(g: Tensor, sparse: bool) -> Tensor:
            return _gram_backward(x, g.mul_(kept), sparse).mul_(2.0)

        return d, squared_backward
    d.clamp_(min=0.0).fill_diagonal_(0.0).sqrt_().mul_(scale)  # scale sqrt(s): exact, scale is a power of 2

    def euclidean_backward(g: Tensor, sparse: bool) -> Tensor:
        # dd/d|x_i - x_j|^2 = 1 / (2 d), and 0 (safe_sqrt's subgradient) at d = 0
        return _gram_backward(x, g.div_(d).nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0), sparse)

    return d, euclidean_backward


def _prefix_count(rows: Tensor, queries: int, fails: Callable[[Tensor], Tensor]) -> Tensor:
    """For each of ``queries`` per row, how many leading entries of its row of ``rows`` satisfy ``fails``.

    ``fails(values)`` takes one entry of its row per query, ``(N, queries)``, and must hold on a
    prefix of each row; ``rows`` has ``2**k`` columns, the last one never read: a binary search of
    ``k`` gathers, with the caller's exact test.
    """
    count = torch.zeros(rows.shape[0], queries, dtype=torch.int64, device=rows.device)
    step = rows.shape[1] // 2
    while step:
        count.add_(fails(rows.gather(1, count + (step - 1))), alpha=step)
        step //= 2
    return count


def _class_sizes(labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(order, first, count)``: the embeddings by label, where each one's class starts in that
    order, and how many positives each has, ``(N, 1)``."""
    labels = labels.long()
    order = labels.argsort()
    ordered = labels[order]
    first = torch.searchsorted(ordered, labels)
    return order, first, torch.searchsorted(ordered, labels, right=True).sub_(first).sub_(1).unsqueeze(1)


@dataclass(frozen=True)
class _Positives:
    """Each anchor's positive distances in ascending order, ``(N, 2**k)``: ``-max`` before them
    and ``+max`` after them (the dtype's largest number, finite so that 0 times it is 0), with
    ``2**k`` above the largest number of positives (``N`` while compiling, where sizes cannot
    depend on values)."""

    values: Tensor
    cols: Tensor
    """The column of each value (any column at a sentinel)."""
    count: Tensor
    """``(N, 1)``: how many positives each anchor has."""

    @staticmethod
    def of(d: Tensor, labels: Tensor) -> _Positives:
        n = d.shape[0]
        big = torch.finfo(d.dtype).max
        by_label, first, count = _class_sizes(labels)
        rank = torch.empty_like(by_label).scatter_(0, by_label, torch.arange(n, device=d.device))
        most = n - 1 if torch.compiler.is_compiling() else int(count.amax())
        k = torch.arange(1 << most.bit_length(), device=d.device)
        # the k-th member of the anchor's class other than itself
        index = (first + k.unsqueeze(1)).T.add_(k >= (rank - first).unsqueeze(1))
        cols = by_label[index.clamp_(max=n - 1)]
        values = torch.where(k < count, d.gather(1, cols), -big)
        values[:, -1] = big
        values, place = values.sort(1)
        return _Positives(values, cols.gather(1, place), count)


def _triplets(d: Tensor, labels: Tensor, margin: float, semi_hard: bool,
              average: str | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """All (or semi-hard) triplets: each anchor's loss, ``W = dcost/dD`` of their sum, and each
    anchor's number of counted triplets (``None`` without ``average``, for a sum).

    ``W`` holds the signed counts of active triplets (``v >= 0``, where the reference's clamp
    passes the gradient): ``+#negatives`` at a positive pair, ``-#positives`` at a negative pair.
    For each query ``(a, n)``, ``y = d_an``, the positives ``x`` of anchor ``a`` whose triplet
    with ``n`` is active are a run ``[lo, hi)`` of its sorted positive distances.
    """
    positives = _Positives.of(d, labels)
    by_pos = positives.values
    n, width = d.shape[0], by_pos.shape[1]
    negative = labels.unsqueeze(1) != labels.unsqueeze(0)

    def below(strict: bool) -> Callable[[Tensor], Tensor]:
        # the reference's (d_ap - d_an) + m < 0 (<= 0: not counted), rounded alike: fl(x - y) < -m
        return lambda x: torch.sub(x, d) <= -margin if strict else torch.sub(x, d) < -margin

    lo = _prefix_count(by_pos, n, below(False))
    hi: Tensor | None = None  # all: every positive up to the sentinel, width - 1
    if semi_hard:
        # the window d_ap < d_an < d_ap + m: past the positives with x + m <= y, before those with x >= y
        short = _prefix_count(by_pos, n, lambda x: x + margin <= d)
        closer = torch.searchsorted(by_pos, d)
        lo = torch.maximum(lo, short)
        hi = torch.maximum(closer, lo)
    counted = None
    if average == "nonzero":
        start = _prefix_count(by_pos, n, below(True))
        if semi_hard:
            start = torch.maximum(start, short)
        counted = (width - 1 - start if hi is None else torch.maximum(hi, start).sub_(start)).mul_(negative).sum(1)
    elif average == "mined":
        count = positives.count.squeeze(1)
        counted = count * (n - 1 - count) if hi is None else closer.sub_(short).clamp_(min=0).mul_(negative).sum(1)
    on = negative.to(d.dtype)
    per_neg = (width - 1 - lo if hi is None else hi - lo).to(d.dtype).mul_(on)

    # (a, p): the negatives whose run [lo, hi) holds p's position j, #{lo <= j} - #{hi <= j}
    def at_or_below(bound: Tensor) -> Tensor:
        counts = torch.zeros(n, width, dtype=d.dtype, device=d.device).scatter_add_(1, bound, on)
        return counts.cumsum_(1)[:, :-1]  # the positions of positives, without the sentinel's

    per_pos = at_or_below(lo) if hi is None else at_or_below(lo).sub_(at_or_below(hi))
    grad = torch.neg(per_neg).scatter_add_(1, positives.cols[:, :-1], per_pos)

    # the loss: sum over the active triplets of (d_ap + m) - d_an, in float64 and relative to each
    # anchor's farthest positive, so that the two sums do not cancel
    center = by_pos[:, -2:-1].clamp(min=0.0)
    x = torch.where(per_pos > 0, by_pos[:, :-1], center).double()
    center = center.double()
    loss = (x - center).add_(margin).mul_(per_pos).sum(1)
    loss -= (d.double() - center).mul_(per_neg).sum(1)
    return loss.to(d.dtype), grad, counted


def _hard(d: Tensor, labels: Tensor, margin: float, average: str | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Batch-hard mining, as :func:`_triplets`: each anchor's one triplet, from masked row extrema
    (no sorting: only the farthest positive counts). One ``(N, N)`` float buffer serves for the
    masked positives, then the masked negatives, then the gradient; one boolean mask of the pairs
    of a class (the diagonal included, whose distance is 0) for both kinds of pairs."""
    n = d.shape[0]
    same = labels.unsqueeze(1) == labels.unsqueeze(0)
    count = same.sum(1, keepdim=True) - 1  # positives: not the anchor itself
    # the reference's max over where(positive, d, 0): at least 0; the diagonal's 0 changes nothing
    masked = torch.where(same, d, 0.0)
    farthest = masked.amax(1, keepdim=True)
    # amax and amin share the gradient among ties: the masked zeros are ties of a farthest 0,
    # whose shares go nowhere
    top = masked == farthest
    ties = top.sum(1, keepdim=True)
    near = masked.copy_(d).masked_fill_(same, math.inf)  # inf: no negative
    closest = near.amin(1, keepdim=True)
    bottom = near == closest
    valid = (count > 0) & (count < n - 1)
    v = (farthest - closest).add_(margin)
    loss = torch.where(valid, v.clamp(min=0.0), 0.0)
    slope = (valid & (v >= 0)).to(d.dtype)
    grad = masked.copy_(bottom)
    grad.mul_(slope.neg().div_(grad.sum(1, keepdim=True)))
    grad.addcmul_(top.logical_and_(same).fill_diagonal_(False), slope.div_(ties))
    counted = None
    if average is not None:
        counted = valid & (loss > 0) if average == "nonzero" else valid
    return loss.squeeze(1), grad, counted


def _batch_triplet_kernel(embeddings: Tensor, labels: Tensor, *, margin: float, mining: str, distance: str,
                          average: str, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    d, backward = _distance_matrix(embeddings, distance)
    counting = average if reduction == "mean" else None
    if mining == "hard":
        loss, grad, counted = _hard(d, labels, margin, counting)
    else:
        loss, grad, counted = _triplets(d, labels, margin, mining == "semi_hard", counting)
    total = loss.sum()
    if counted is not None:
        count = counted.sum().to(total.dtype)
        count = torch.where(count == 0, 1.0, count)
        total = total / count
        grad /= count
    return total, (backward(grad, mining == "hard"),)


def _in_batch(embeddings: Any, labels: Any, weight: Any) -> bool:
    """Float32/float64 ``(N, D)`` embeddings, ``N, D >= 1``, integer ``(N,)`` labels on their device, no weight."""
    return (
        weight is None and float_tensors(embeddings) and embeddings.ndim == 2
        and isinstance(labels, Tensor) and labels.shape == embeddings.shape[:1] and labels.device == embeddings.device
        and not labels.dtype.is_floating_point and not labels.dtype.is_complex and labels.dtype != torch.bool
    )


def _refused(x: Tensor, labels: Tensor, *, negatives: bool, power: int = 0, margin: float = 0.0) -> bool:
    """While value checks run: a batch the reference refuses (no positive pair; a single class where
    ``negatives``), non-finite embeddings, or one whose euclidean distances to the ``power`` (1, 2;
    0: none), plus the margin, could overflow (the reference path then computes with infinities)."""
    if checks.traced(xp):
        same = labels[:, None] == labels[None, :]
        checks.require((same.sum() > labels.shape[0]) | (labels.shape[0] == 0), "labels hold no two embeddings of one "
                       "class: the loss needs a positive pair in the batch")
        if negatives:
            checks.require(~same.all(), "labels hold a single class: the loss needs a negative (a second class) in "
                           "the batch")
    if not checks.active(xp):
        return False
    ordered = labels.sort().values
    peak = x.abs().amax()
    bad = ~(ordered[1:] == ordered[:-1]).any() | ~torch.isfinite(peak)
    if negatives:
        bad |= ordered[0] == ordered[-1]
    if power:
        # no distance exceeds 2 sqrt(D) max|x|
        bad |= (2.0 * math.sqrt(x.shape[1]) * peak) ** power + margin >= torch.finfo(x.dtype).max / 4
    return checks.any_true(xp, bad)


def batch_triplet(embeddings: Any, labels: Any, *, margin: float = 0.2, mining: str = "all",
                  distance: str = "euclidean", average: str = "nonzero", weight: Any = None,
                  reduction: str = "mean") -> Any:
    m = checks.real("margin", margin, low=0.0)
    mine = checks.choice("mining", mining, MININGS)
    kind = checks.choice("distance", distance, DISTANCES)
    count = checks.choice("average", average, AVERAGES)
    if not _in_batch(embeddings, labels, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    if reduction == "none" or m >= torch.finfo(embeddings.dtype).max / 4:
        return NotImplemented
    power = {"euclidean": 1, "squared_euclidean": 2, "cosine": 0}[kind]
    if _refused(embeddings, labels, negatives=True, power=power, margin=m):
        return NotImplemented
    options = {"margin": m, "mining": mine, "distance": kind, "average": count, "reduction": reduction}
    return fused(_batch_triplet_kernel, "batch_triplet", (embeddings, labels), options, n_grad=1)


def _info_nce_kernel(embeddings: Tensor, labels: Tensor, *, temperature: float,
                     reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    u, r, free = _unit(embeddings, _cosine_floor(embeddings.dtype))
    s = (u @ u.T).div_(temperature)
    positive, negative = _pairs(labels)
    count = _class_sizes(labels)[2]
    has_negative = count < len(labels) - 1
    # an anchor without negatives costs 0: its row of scores is 0, not -inf, as in the reference
    scores = torch.where(negative, s, -math.inf).masked_fill_(~has_negative, 0.0)
    del negative
    # the softmax over the negatives as exp(s - max) / sum: exp(s - lse) would lose the last bits of
    # lse ~ 1 / t, a relative 1e-5 at t = 1e-3 in float32
    peak = scores.amax(1, keepdim=True)
    softmax = scores.sub_(peak).exp_()
    total = softmax.sum(1, keepdim=True)
    softmax /= total
    z = s.neg_().add_(total.log_().add_(peak))  # lse - s
    positive &= has_negative  # the pairs that cost
    # softplus(z) = max(z, 0) + log1p(exp(-|z|)) (the reference's form), its slope sigmoid(z)
    part = z.abs().neg_().exp_().log1p_().mul_(positive)
    loss = part.sum(1).add_(torch.clamp(z, min=0.0, out=part).mul_(positive).sum(1))
    del part
    q = z.sigmoid_().mul_(positive)
    # ds: -q at each positive pair, sum_p q times the softmax over the negatives
    grad = softmax.mul_(q.sum(1, keepdim=True)).sub_(q)
    total = loss.sum()
    if reduction == "mean":
        pairs = count.sum().to(total.dtype)
        pairs = torch.where(pairs == 0, 1.0, pairs)
        total = total / pairs
        grad /= pairs
    grad_u = torch.addmm(grad @ u, grad.T, u).div_(temperature)
    return total, (_unit_grad(grad_u, u, r, free),)


def info_nce(embeddings: Any, labels: Any, *, temperature: float = 0.07, weight: Any = None,
             reduction: str = "mean") -> Any:
    t = checks.real("temperature", temperature, low=0.0, low_open=True)
    if not _in_batch(embeddings, labels, weight):
        return NotImplemented
    reduction = checks.reduction(reduction)
    # 1 / t bounds the similarities, which must not overflow
    if reduction == "none" or 1.0 / t >= torch.finfo(embeddings.dtype).max / 4:
        return NotImplemented
    if _refused(embeddings, labels, negatives=False):
        return NotImplemented
    return fused(_info_nce_kernel, "info_nce", (embeddings, labels), {"temperature": t, "reduction": reduction},
                 n_grad=1)

