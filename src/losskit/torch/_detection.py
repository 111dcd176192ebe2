"""Torch fast paths of the detection losses: fused sigmoid and softmax focal losses.

**Binary** (``focal``), with ``z`` the logit, ``p = sigmoid(z)``, ``q = sigmoid(-z)``, the miss
``m = 1 - p_t = y q + (1 - y) p`` and ``ce = y softplus(-z) + (1 - y) softplus(z)``::

    loss = alpha_t m^gamma ce
    dloss/dz = alpha_t (m^gamma dce + gamma m^(gamma - 1) ce dm),  dce = (1 - y) p - y q,  dm = p q (1 - 2 y)

all from two sigmoids and one ``log1p`` per element, in about twenty passes over a block that
stays in the caches. ``m^(gamma - 1)`` is taken at ``max(m, tiny)``, finite also for ``gamma < 1``:
``m`` underflows to 0 only where ``dm`` does too.

**Softmax** (``categorical_focal``, ``sparse_categorical_focal``), with ``s`` the softmax, ``f_c =
(1 - p_c)^gamma`` and ``a_c = alpha_c y_c f_c`` (``y`` the smoothed target)::

    loss = -sum_c a_c log s_c
    dloss/dx_j = s_j W - w_j,  w_c = a_c (1 - gamma log s_c p_c / (1 - p_c)),  W = sum_c w_c

The class with the largest logit gets the reference path's exact treatment: its ``log s`` is
``-log1p(rest)`` and ``p / (1 - p) = 1 / rest``, with ``rest`` the rivals' share, so a confidently
right row has its tiny loss and gradient to full precision; the others' ``p`` is the softmax and
the top's ``log(1 - p)`` is ``log(rest) - log1p(rest)``, both to full precision also at logits of
1e4 in float32, as in the reference path. Sparse labels without
label smoothing touch one class per row: the kernel then costs about what a cross-entropy does.

Every kernel goes over its input in blocks, so that its temporaries stay in the caches (one block
when ``torch.compile`` traces it: inductor fuses the operations into one loop anyway).

Declined (the reference path takes them, and raises every error): probabilities
(``from_logits=False``), a ``weight``, dtypes other than float32/float64, a target of another
dtype or shape than ``pred`` (or labels of another shape than ``pred`` without its class axis), an
empty batch, fewer than 2 classes or more than 2^24, an ``alpha`` that is not ``None``, a number or
a tensor of ``pred``'s dtype (0-d, or one weight per class), and invalid values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import array_api_compat.torch as xp
import torch

from .._core import checks, classes
from ._fused import FLOATS, fused, plain_pair

Tensor = torch.Tensor

_BLOCK = 1 << 19
"""Elements per block (2 MiB in float32): a block's temporaries stay in the last-level cache. Of 2^17
to 2^20, 2^19 was the fastest for the softmax focal loss at 8192x1000 (20.0 -> 17.7 ms against 2^18)
and as fast as 2^18 for the sigmoid one."""

_SPARSE_BLOCK = 1 << 20
"""Elements per block of the sparse softmax kernel: it has no block-sized temporary (it works in
the gradient), so larger blocks share out the cost of its per-row operations."""


def _block(size: int, n: int) -> int:
    """The block size for ``n`` elements: all of them while ``torch.compile`` traces."""
    return n if torch.compiler.is_compiling() else min(size, n)


def _scratch(count: int, shape: tuple[int, ...], like: Tensor) -> list[Tensor]:
    """``count`` buffers of ``shape`` (the largest block's) for the temporaries of every block.

    Allocated once per call: fresh block-sized temporaries would cost their page faults again in
    every block, as large buffers go back to the system when freed (3x the time of the kernel).
    """
    return list(torch.empty((count, *shape), dtype=like.dtype, device=like.device).unbind())


def _fit(buffer: Tensor, like: Tensor) -> Tensor:
    """The leading part of a scratch ``buffer`` with the shape of ``like``."""
    return buffer[tuple(slice(0, n) for n in like.shape)]


# ---------------------------------------------------------------- sigmoid focal


def _sigmoid_focal_block(x: Tensor, y: Tensor, gamma: float, alpha: float | None, scale: float,
                         grad: Tensor, loss: Tensor | None, scratch: list[Tensor]) -> Tensor | None:
    """The focal loss of a flat block: its gradient into ``grad``, its loss into ``loss`` or, when
    ``loss`` is ``None``, its sum returned. ``scale`` multiplies both (``1/N`` for a mean)."""
    t1, t2, t3, t4, t5, t6 = (_fit(t, x) for t in scratch)
    p = torch.sigmoid(x, out=t1)
    q = torch.neg(x, out=t2).sigmoid_()
    # -log1p(exp(-|z|)) = log1p(-s), s the smaller probability: the part of softplus(+-z) beyond
    # max(+-z, 0)
    neg_soft = torch.minimum(p, q, out=t3).neg_().log1p_()
    relu = torch.clamp_min(x, 0.0, out=t4)
    ce = torch.sub(relu, x, out=t5)  # max(-z, 0), exactly
    # y max(-z, 0) + (1 - y) max(z, 0): lerp is exact at y = 0 and y = 1
    ce = torch.lerp(relu, ce, y, out=ce).sub_(neg_soft)
    miss = torch.lerp(p, q, y, out=neg_soft)
    dce = torch.addcmul(miss, y, q, value=-2.0, out=relu)
    dmiss = p.mul_(q)
    dmiss.addcmul_(y, dmiss, value=-2.0).mul_(ce)
    if gamma == 0.0:  # a cross-entropy: m^gamma is 1, also where m is 0
        miss.fill_(1.0)
    # alpha_t m^(gamma - 1) scale, finite also where m underflows to 0: then dm and m^gamma are 0
    weight = torch.clamp_min(miss, torch.finfo(x.dtype).tiny, out=q).pow_(gamma - 1.0)
    if alpha is None:
        weight.mul_(scale)
    else:
        high, low = alpha * scale, (1.0 - alpha) * scale
        weight = torch.mul(weight, low, out=t6).addcmul_(weight, y, value=high - low)
    # the gradient is m^gamma dce + gamma m^(gamma - 1) ce dm, the loss m^gamma ce
    focus = miss.mul_(weight)
    torch.mul(dce, focus, out=grad).addcmul_(dmiss, weight, value=gamma)
    if loss is None:
        return ce.mul_(focus).sum()  # summed pairwise, as the reference path sums (a dot product would not)
    torch.mul(ce, focus, out=loss)
    return None


def _focal_kernel(pred: Tensor, target: Tensor, *, gamma: float, alpha: float | None, from_logits: bool,
                  reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    x, y = pred.reshape(-1), target.reshape(-1)
    n = x.numel()
    grad = torch.empty(pred.shape, dtype=pred.dtype, device=pred.device)
    flat_grad = grad.view(-1)
    loss = torch.empty_like(grad) if reduction == "none" else None
    flat_loss = None if loss is None else loss.view(-1)
    scale = 1.0 / n if reduction == "mean" else 1.0
    size = _block(_BLOCK, n)
    scratch = _scratch(6, (size,), x)
    total = x.new_zeros(())
    for start in range(0, n, size):
        block = slice(start, start + size)
        part = _sigmoid_focal_block(x[block], y[block], gamma, alpha, scale, flat_grad[block],
                                    None if flat_loss is None else flat_loss[block], scratch)
        if part is not None:
            total = total + part
    return (total if loss is None else loss), (grad,)


def focal(pred: Any, target: Any, *, gamma: float = 2.0, alpha: float | None = 0.25, from_logits: bool = False,
          weight: Any = None, reduction: str = "mean") -> Any:
    if not (from_logits is True and plain_pair(pred, target, weight)):
        return NotImplemented
    gamma = checks.real("gamma", gamma, low=0.0)
    if alpha is not None:
        alpha = checks.real("alpha", alpha, low=0.0, high=1.0)
    reduction = checks.reduction(reduction)
    checks.finite_within(xp, "target", target, 0.0, 1.0)
    options = {"gamma": gamma, "alpha": alpha, "from_logits": True, "reduction": reduction}
    return fused(_focal_kernel, "focal", (pred, target), options, n_grad=1)


# ---------------------------------------------------------------- softmax focal


@dataclass(frozen=True)
class _Rows:
    """What a block of rows ``(rows, C)`` or ``(rows, C, cols)`` knows along its class axis 1 (row
    statistics keep it)."""

    high: Tensor
    """The largest logit of each row."""
    top: Tensor
    """The index of its first occurrence: the *top* class."""
    s: Tensor
    """The softmax, with 0 at the top."""
    r: Tensor
    """``log1p(rest)``, ``rest`` the rivals' sum ``sum_{c != top} exp(x_c - max)``: the top's ``log s``
    is ``-r``."""
    inv: Tensor
    """``1 / (1 + rest)``: the top's softmax."""
    rest_share: Tensor
    """``rest / (1 + rest)``: ``1 - s`` of the top, exact also where ``s`` rounds to 1."""
    focus_top: Tensor
    """The top's ``(1 - p)^gamma``, from the rivals' log-sum-exp as in the reference path."""
    slope_top: Tensor
    """The top's ``1 - gamma log s p / (1 - p) = 1 + gamma r / rest``."""


def _rows(x: Tensor, gamma: float, countdown: Tensor, scratch: list[Tensor]) -> _Rows:
    """The row statistics of a block; ``countdown`` is ``C - c`` along the class axis. Uses two
    ``scratch`` buffers: the second holds the softmax."""
    high = torch.amax(x, dim=1, keepdim=True)
    # the first maximum is the largest countdown where x is the maximum (a max with indices costs
    # ten times as much); a NaN row, which has none, takes the last class
    top = torch.eq(x, high, out=scratch[0]).mul_(countdown).amax(dim=1, keepdim=True)
    top = torch.rsub(top, x.shape[1]).clamp_(max=x.shape[1] - 1).to(torch.int64)
    s = torch.softmax(x, dim=1, out=scratch[1])
    inv = s.gather(1, top)
    rest_share = s.scatter_(1, top, 0.0).sum(dim=1, keepdim=True)
    rest = rest_share / inv
    r = torch.log1p(rest)
    # log(1 - p_top) is the rivals' share: not a difference of log-sum-exps, which would round to
    # the logits' scale. With no rivals left, it is -inf, which gamma = 0 must not multiply.
    log_miss = torch.log(rest) - r
    focus_top = torch.exp(log_miss * gamma) if gamma else torch.ones_like(r)
    slope = torch.where(rest > 0, r / rest, 1.0).mul_(gamma).add_(1.0)
    return _Rows(high, top, s, r, inv, rest_share, focus_top, slope)


def _dense_block(x: Tensor, target: Tensor, scale: Tensor | float, gamma: float, countdown: Tensor,
                 grad: Tensor, scratch: list[Tensor]) -> Tensor:
    """The loss of each row of a block with dense ``target`` (smoothed), its gradient into ``grad``,
    with five ``scratch`` buffers.

    ``scale`` (a number or a tensor that broadcasts) multiplies each class's term: ``-alpha`` over
    the mean's count. Its sign makes the loss and the gradient single fused products.
    """
    s = _rows(x, gamma, countdown, scratch)
    p = scratch[0].copy_(s.s)
    miss = torch.neg(p, out=scratch[2]).add_(1.0)
    a = torch.pow(miss, gamma, out=scratch[3]).scatter_(1, s.top, s.focus_top).mul_(target).mul_(scale)
    terms = torch.sub(x, s.high, out=scratch[4]).sub_(s.r).mul_(a)
    loss = terms.sum(dim=1, keepdim=True)
    w_top = a.gather(1, s.top).mul_(s.slope_top)
    w = a.addcmul_(terms, p.div_(miss), value=-gamma).scatter_(1, s.top, 0.0)
    # the rivals' total apart from the top's, so that the top's gradient has no cancellation
    others = w.sum(dim=1, keepdim=True)
    w.scatter_(1, s.top, w_top)
    torch.addcmul(w, s.s, others + w_top, value=-1.0, out=grad)
    grad.scatter_(1, s.top, w_top * s.rest_share - others * s.inv)
    return loss


def _sparse_block(x: Tensor, labels: Tensor, scale: Tensor | float, gamma: float, grad: Tensor) -> Tensor:
    """:func:`_dense_block` for a one-hot target given by ``labels`` ``(rows, 1[, cols])``, with
    ``scale`` ``-alpha`` of each row's label (0 where ignored) over the mean's count, and no scratch
    buffer: only the labelled class has a focal term, so all but the softmax, which is computed
    where the gradient goes, is per row.

    The softmax is torch's own (one fused pass, 2.3x faster here than a subtraction and an
    exponential), and everything else comes from it: ``1 - p`` is the sum of the rivals' shares,
    exact where ``p`` rounds to 1, and the top class's share is ``1 / z``, so ``log z`` is at hand
    for a label whose share underflows. The top class needs no search: where the label's logit is
    a maximum, the label serves as the top (the rivals' sum then leaves out exactly one maximal
    term, as the reference's does); where it is not, ``p <= 1/2`` and neither ``log p`` nor
    ``1 - p`` suffers from rounding.
    """
    high = torch.amax(x, dim=1, keepdim=True)
    s = torch.softmax(x, dim=1, out=grad)
    log_z = torch.amax(s, dim=1, keepdim=True).log_().neg_()
    logit = x.gather(1, labels)
    p = s.gather(1, labels)
    miss = s.scatter_(1, labels, 0.0).sum(dim=1, keepdim=True)  # 1 - p: the rivals' shares
    at_top = logit == high
    # at the top, -log p = log1p(rest) with rest = (1 - p) / p the rivals' sum over the top's exp
    log_p = torch.where(at_top, torch.log1p(miss / p).neg_(), (logit - high).sub_(log_z))
    a = (torch.pow(miss, gamma) if gamma else torch.ones_like(miss)).mul_(scale)
    loss = a * log_p
    # d loss / d x_c = w (s_c - [c = y]) with w = a (1 - gamma log p p / (1 - p)), where
    # -log p p / (1 - p) tends to 1 as the rivals vanish
    ratio = torch.where(miss > 0, log_p.neg() * p / miss, 1.0)
    w = a.mul_(ratio.mul_(gamma).add_(1.0))
    s.mul_(w.neg()).scatter_(1, labels, w * miss)
    return loss


def _blocks(rows: int, num_classes: int, cols: int, size: int) -> Iterator[tuple[slice, ...]]:
    """Blocks of about ``size`` elements of a ``(rows, C)`` array (``cols == 1``) or a ``(rows, C,
    cols)`` one: whole rows, or columns of one row where a row is larger."""
    if num_classes * cols <= size:
        step = size // (num_classes * cols)
        for start in range(0, rows, step):
            yield (slice(start, start + step),)
        return
    step = max(1, size // num_classes)
    for row in range(rows):
        for start in range(0, cols, step):
            yield slice(row, row + 1), slice(None), slice(start, start + step)


def _holds(dtype: torch.dtype, value: int) -> bool:
    """Whether labels of ``dtype`` can equal ``value`` (else none is ignored, as in the reference path)."""
    info = torch.iinfo(dtype)
    return info.min <= value <= info.max


def _smoothed(y: Tensor, smoothing: float, out: Tensor) -> Tensor:
    """A dense target with label smoothing, ``y (1 - e) + e / C``, into ``out`` where it is not ``y``."""
    return y if smoothing == 0.0 else torch.mul(y, 1.0 - smoothing, out=out).add_(smoothing / y.shape[1])


def _one_hot(labels: Tensor, keep: Tensor | None, smoothing: float, out: Tensor) -> Tensor:
    """The smoothed one-hot target of a block of labels into ``out``, 0 where ignored."""
    dense = out.fill_(smoothing / out.shape[1])
    dense.scatter_add_(1, labels, torch.full(labels.shape, 1.0 - smoothing, dtype=out.dtype, device=out.device))
    return dense if keep is None else dense.mul_(keep)


def _softmax_focal(pred: Tensor, target: Tensor, *, labels: bool, gamma: float, alpha: float | Tensor | None,
                   axis: int, label_smoothing: float, ignore_index: int | None,
                   reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    ax = axis % pred.ndim
    rows, num_classes, cols = math.prod(pred.shape[:ax]), pred.shape[ax], math.prod(pred.shape[ax + 1:])
    # classes along axis 1 of (rows, C) or (rows, C, cols): torch's softmax is slow on (rows, C, 1)
    tail = () if cols == 1 else (cols,)
    x = pred.reshape(rows, num_classes, *tail)
    grad = torch.empty(x.shape, dtype=pred.dtype, device=pred.device)
    loss = torch.empty((rows, 1, *tail), dtype=pred.dtype, device=pred.device) if reduction == "none" else None
    keep: Tensor | None = None
    count: float | Tensor = rows * cols
    if labels:
        y = target.reshape(rows, 1, *tail).to(torch.int64)
        if ignore_index is not None and _holds(target.dtype, ignore_index):
            keep = y != ignore_index
            y = torch.where(keep, y, 0)
            count = keep.sum().to(pred.dtype).clamp_min_(1.0)
    else:
        y = target.reshape(x.shape)
    sparse = labels and label_smoothing == 0.0
    # what the blocks multiply each class's term by: -alpha over the mean's count (of kept labels)
    scale: float | Tensor = -1.0 / count if reduction == "mean" else -1.0
    by_label: Tensor | None = None  # that of each class, for sparse rows to look up
    if isinstance(alpha, Tensor) and alpha.ndim == 1:
        if sparse:
            by_label = alpha * scale
        else:
            scale = alpha.reshape(1, num_classes, *(1 for _ in tail)) * scale
    elif alpha is not None:
        scale = alpha * scale
    countdown = torch.arange(num_classes, 0, -1, dtype=pred.dtype, device=pred.device)
    countdown = countdown.reshape(1, num_classes, *(1 for _ in tail))
    blocks = list(_blocks(rows, num_classes, cols, _block(_SPARSE_BLOCK if sparse else _BLOCK, x.numel())))
    scratch = [] if sparse else _scratch(6, tuple(x[blocks[0]].shape), x)
    total = pred.new_zeros(())
    for block in blocks:
        xb, yb, gb = x[block], y[block], grad[block]
        kb = None if keep is None else keep[block]
        if sparse:
            row_scale = scale if by_label is None else by_label[yb]
            part = _sparse_block(xb, yb, row_scale if kb is None else kb * row_scale, gamma, gb)
        else:
            fitted = [_fit(t, xb) for t in scratch]
            dense = (_one_hot(yb, kb, label_smoothing, fitted[5]) if labels
                     else _smoothed(yb, label_smoothing, fitted[5]))
            part = _dense_block(xb, dense, scale, gamma, countdown, gb, fitted)
        if loss is None:
            total = total + part.sum()
        else:
            loss[block] = part
    out = total if loss is None else loss.reshape(pred.shape[:ax] + pred.shape[ax + 1:])
    return out, (grad.view(pred.shape),)


def _categorical_kernel(pred: Tensor, target: Tensor, *, gamma: float, alpha: float | Tensor | None,
                        from_logits: bool, axis: int, label_smoothing: float,
                        reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    return _softmax_focal(pred, target, labels=False, gamma=gamma, alpha=alpha, axis=axis,
                          label_smoothing=label_smoothing, ignore_index=None, reduction=reduction)


def _sparse_kernel(pred: Tensor, target: Tensor, *, gamma: float, alpha: float | Tensor | None, from_logits: bool,
                   axis: int, ignore_index: int | None, label_smoothing: float,
                   reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    return _softmax_focal(pred, target, labels=True, gamma=gamma, alpha=alpha, axis=axis,
                          label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction)


def _class_axis(pred: Tensor, axis: Any) -> bool:
    """``axis`` is a valid class axis of ``pred``, with at least 2 classes, and at most 2^24 (class
    indices are exact in float32)."""
    return (isinstance(axis, int) and not isinstance(axis, bool) and -pred.ndim <= axis < pred.ndim
            and 2 <= pred.shape[axis] <= 1 << 24)


def _usable_alpha(alpha: Any, pred: Tensor, num_classes: int) -> bool:
    """``alpha`` is ``None``, a number or a tensor like ``pred`` (0-d or one weight per class), and
    (where value checks run) finite and non-negative."""
    if alpha is None:
        return True
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        return math.isfinite(alpha) and alpha >= 0
    if not (isinstance(alpha, Tensor) and alpha.dtype == pred.dtype and alpha.device == pred.device
            and not alpha.requires_grad and tuple(alpha.shape) in {(), (num_classes,)}):
        return False
    return not checks.negative_or_not_finite(xp, "alpha", alpha)


def categorical_focal(pred: Any, target: Any, *, gamma: float = 2.0, alpha: Any = None, from_logits: bool = False,
                      axis: int = -1, label_smoothing: float = 0.0, weight: Any = None,
                      reduction: str = "mean") -> Any:
    if not (from_logits is True and plain_pair(pred, target, weight) and _class_axis(pred, axis)):
        return NotImplemented
    smoothing = classes.smoothing(label_smoothing)
    reduction = checks.reduction(reduction)
    checks.finite_within(xp, "target", target, 0.0, 1.0)
    gamma = checks.real("gamma", gamma, low=0.0)
    if not _usable_alpha(alpha, pred, pred.shape[axis]):
        return NotImplemented
    options = {"gamma": gamma, "alpha": alpha, "from_logits": True, "axis": axis, "label_smoothing": smoothing,
               "reduction": reduction}
    return fused(_categorical_kernel, "categorical_focal", (pred, target), options, n_grad=1, axes=(axis,))


def _labels_of(pred: Any, target: Any, axis: Any) -> bool:
    """``pred`` holds float32/float64 logits with a class axis ``axis``, ``target`` integer labels of
    its shape without that axis, on its device."""
    return (
        isinstance(pred, Tensor) and isinstance(target, Tensor) and pred.dtype in FLOATS and pred.numel() > 0
        and _class_axis(pred, axis) and target.device == pred.device
        and not target.dtype.is_floating_point and not target.dtype.is_complex and target.dtype != torch.bool
        and tuple(target.shape) == tuple(s for i, s in enumerate(pred.shape) if i != axis % pred.ndim)
    )


def _valid_labels(target: Tensor, num_classes: int, ignore: int | None) -> bool:
    """Every label is a class or ignored (where value checks run)."""
    bad = target < 0
    if _holds(target.dtype, num_classes):  # else no label reaches it (and a comparison would wrap)
        bad |= target >= num_classes
    if ignore is not None and _holds(target.dtype, ignore):
        bad &= target != ignore
    return not checks.any_true(xp, bad, classes.labels_expected(num_classes, ignore))


def sparse_categorical_focal(pred: Any, target: Any, *, gamma: float = 2.0, alpha: Any = None,
                             from_logits: bool = False, axis: int = -1, ignore_index: int | None = -100,
                             label_smoothing: float = 0.0, weight: Any = None, reduction: str = "mean") -> Any:
    if not (from_logits is True and weight is None and _labels_of(pred, target, axis)):
        return NotImplemented
    smoothing = classes.smoothing(label_smoothing)
    ignore = classes.ignore_index(ignore_index)
    reduction = checks.reduction(reduction)
    gamma = checks.real("gamma", gamma, low=0.0)
    num_classes = pred.shape[axis]
    if not (_usable_alpha(alpha, pred, num_classes) and _valid_labels(target, num_classes, ignore)):
        return NotImplemented
    options = {"gamma": gamma, "alpha": alpha, "from_logits": True, "axis": axis, "ignore_index": ignore,
               "label_smoothing": smoothing, "reduction": reduction}
    return fused(_sparse_kernel, "sparse_categorical_focal", (pred, target), options, n_grad=1, axes=(axis,))
