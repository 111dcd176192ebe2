"""Torch fast paths of the classification losses.

Each declines (returns ``NotImplemented``) what it does not handle exactly like the reference path
(dtypes other than float32/float64, an empty batch, probabilities instead of logits, arguments it
has no use for, invalid weights): the reference path takes those, and raises every error. The
value checks that remain raise the reference's errors, in its order.

- ``binary_cross_entropy`` with ``pos_weight``, ``label_smoothing`` or ``weight``,
  ``categorical_cross_entropy`` (with ``label_smoothing``, ``class_weight``, any ``axis``),
  ``hinge`` and ``squared_hinge`` are *fused* (see ``_fused``): a kernel computes the loss and its
  gradient in one sweep, the cross-entropies in chunks of about :data:`CHUNK` elements (whole rows
  of classes), so that their temporaries stay small and in cache and the target's range is checked
  while the kernel reads it. Nothing of the input's size is allocated but the gradient (and a
  ``"none"`` loss). They keep the reference's last digits where torch rounds them away: the tiny
  loss and gradient of a confident prediction.
- Plain ``binary_cross_entropy``, ``sparse_categorical_cross_entropy`` and
  ``multiclass_hinge(kind="weston_watkins")`` hand the call to ``F.binary_cross_entropy_with_logits``,
  ``F.cross_entropy`` and ``F.multi_margin_loss``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import array_api_compat.torch as xp
import torch
import torch.nn.functional as F

from .._core import checks, classes
from .._core import reduction as reducing
from .._core.primitives import lookup
from ._fused import FLOATS, _reference_grads, fused, plain_pair

Tensor = torch.Tensor

CHUNK = 1 << 18
"""Elements per chunk of a fused kernel: its half-dozen chunk-sized temporaries fit in the cache."""


def _chunks(x: Tensor) -> Iterator[slice]:
    """Slices of ``x``'s first axis of about :data:`CHUNK` elements each (at least one index)."""
    size = x.shape[0]
    step = max(1, CHUNK // max(1, x.numel() // size))
    for start in range(0, size, step):
        yield slice(start, min(start + step, size))


def _leading(t: Any, ndim: int, part: slice) -> Any:
    """The slice ``part`` of ``t``'s first axis where ``t`` has one, broadcast against an ``ndim``-d tensor."""
    return t[part] if isinstance(t, Tensor) and t.ndim == ndim and t.shape[0] != 1 else t


def _same_kind(x: Any, like: Tensor) -> bool:
    return isinstance(x, Tensor) and x.dtype == like.dtype and x.device == like.device


def _broadcasts(x: Tensor, shape: torch.Size, *, same_ndim: bool) -> bool:
    """What :func:`losskit._core.checks.broadcasts_to` accepts."""
    rank_ok = x.ndim == 0 or (x.ndim == len(shape) if same_ndim else x.ndim <= len(shape))
    return rank_ok and all(a in (1, b) for a, b in zip(reversed(x.shape), reversed(shape), strict=False))


def _nonzero(count: Tensor) -> Tensor:
    """``count``, or 1 where it is 0: a mean over no weight is 0 (docs/conventions.md)."""
    return torch.where(count == 0, torch.ones_like(count), count)


class _InUnit:
    """The reference's check that a target is finite and in [0, 1], folded into a kernel's sweep:
    the extrema of each chunk while it is in cache (a check before the kernel costs a pass over the
    target), read once at the end. Only when they fail is the target scanned, to name the culprit."""

    def __init__(self) -> None:
        self.extrema: list[Tensor] | None = [] if checks.active(xp) else None

    def add(self, y: Tensor) -> None:
        if self.extrema is not None:
            self.extrema.append(torch.stack(torch.aminmax(y)))

    def verify(self, target: Tensor) -> None:
        if checks.traced(xp):
            checks.finite_within(xp, "target", target, 0.0, 1.0)
        if not self.extrema:
            return
        extrema = torch.stack(self.extrema)
        least, most = float(extrema[:, 0].amin()), float(extrema[:, 1].amax())
        if not (least >= 0.0 and most <= 1.0):  # NaN fails too
            checks.finite_within(xp, "target", target, 0.0, 1.0)


def _bad_weight(v: Tensor | float | None, name: str) -> bool:
    """A weight the reference refuses (negative or not finite), when value checks run."""
    if isinstance(v, Tensor):
        return checks.negative_or_not_finite(xp, name, v)
    return v is not None and checks.active(xp) and not (math.isfinite(v) and v >= 0)


# ---------------------------------------------------------------- binary cross-entropy


def _bce_part(x: Tensor, y: Tensor, pos_weight: Tensor | float | None, smoothing: float,
              grad: Tensor) -> Tensor:
    """The losses of one chunk of logits ``x``; writes their gradients into ``grad``.

    ``loss = w+ y softplus(-x) + (1 - y) softplus(x)``, ``d loss / dx = (1 - y) sigmoid(x) - w+ y
    sigmoid(-x)``: both interpolate with weight ``y``, which ``lerp`` computes exactly at ``y = 0``
    and ``1`` and without cancellation between. Each sigmoid is exact on its own tail, and
    ``softplus(+-x) = max(+-x, 0) + softplus(-|x|)`` (the reference's form) sums non-negative terms,
    so that the tiny loss and gradient of a confident logit keep every digit.
    """
    if smoothing:
        y = y * (1.0 - smoothing) + 0.5 * smoothing
    up = torch.sigmoid(x)
    down = torch.neg(x).sigmoid_()
    # -softplus(-|x|) = log(1 - sigmoid(-|x|))
    tail = torch.minimum(up, down).neg_().log1p_()
    torch.lerp(up, down.neg_() if pos_weight is None else down.mul_(-pos_weight), y, out=grad)
    relu = torch.clamp(x, min=0.0, out=up)
    relu_neg = torch.sub(relu, x, out=down)
    if pos_weight is None:
        return torch.lerp(relu, relu_neg, y).sub_(tail)
    return torch.lerp(relu.sub_(tail), relu_neg.sub_(tail).mul_(pos_weight), y)


def _bce_kernel(pred: Tensor, target: Tensor, *, from_logits: bool, pos_weight: Tensor | float | None,
                label_smoothing: float, weight: Tensor | None, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    x, y = (t.reshape(1) if t.ndim == 0 else t for t in (pred, target))
    grad = x.new_empty(x.shape)  # contiguous, as every chunk of it (torch.compile takes no other out=)
    loss = x.new_empty(x.shape) if reduction == "none" else None
    # the weighted mean divides by sum(w) over the loss's elements
    count: Tensor | int | None = None
    if reduction == "mean":
        count = x.numel() if weight is None else _nonzero(weight.sum() * (x.numel() // weight.numel()))
    total = x.new_zeros(())
    in_unit = _InUnit()
    for part in _chunks(x):
        g = grad[part]
        in_unit.add(y[part])
        losses = _bce_part(x[part].contiguous(), y[part], _leading(pos_weight, x.ndim, part), label_smoothing, g)
        w = _leading(weight, x.ndim, part)
        if w is not None:
            losses.mul_(w)
            g.mul_(w)
        if count is not None:
            g.div_(count)
        if loss is None:
            total += losses.sum()
        else:
            loss[part] = losses
    in_unit.verify(target)
    grad = grad.reshape(pred.shape)
    if loss is not None:
        return loss.reshape(pred.shape), (grad,)
    return (total if count is None else total / count), (grad,)


def _binary_target(pred: Tensor, target: Any) -> Tensor | None:
    """``target`` as ``pred``'s dtype where the reference computes in that dtype too."""
    if not isinstance(target, Tensor) or target.device != pred.device or target.shape != pred.shape:
        return None
    if target.dtype == pred.dtype:
        return target
    if target.dtype == torch.bool or not (target.dtype.is_floating_point or target.dtype.is_complex):
        return target.to(pred.dtype)  # labels: cast, as the reference casts them
    return None


def binary_cross_entropy(pred: Any, target: Any, *, from_logits: bool = False, pos_weight: Any = None,
                         label_smoothing: float = 0.0, weight: Any = None, reduction: str = "mean") -> Any:
    # Probabilities go to the reference path: torch floors log p at -100, losskit at log(tiny).
    if not (from_logits is True and isinstance(pred, Tensor) and pred.dtype in FLOATS and pred.numel() > 0):
        return NotImplemented
    y = _binary_target(pred, target)
    scalar_weight = isinstance(pos_weight, (int, float)) and not isinstance(pos_weight, bool)
    pos_ok = pos_weight is None or scalar_weight or (
        _same_kind(pos_weight, pred) and _broadcasts(pos_weight, pred.shape, same_ndim=False))
    weight_ok = weight is None or (_same_kind(weight, pred) and _broadcasts(weight, pred.shape, same_ndim=True))
    if y is None or not (pos_ok and weight_ok):
        return NotImplemented
    if torch.is_grad_enabled() and any(isinstance(v, Tensor) and v.requires_grad for v in (pos_weight, weight)):
        return NotImplemented  # their gradients are the reference path's
    smoothing = classes.smoothing(label_smoothing)
    reduction = checks.reduction(reduction)
    if pos_weight is None and not smoothing and weight is None:
        # torch's own kernel: two passes fewer than the fused one here (its rounding differs at the
        # last digits, also of a confident logit's tiny loss)
        checks.finite_within(xp, "target", y, 0.0, 1.0)
        return F.binary_cross_entropy_with_logits(pred, y, reduction=reduction)
    if scalar_weight:
        pos_weight = float(pos_weight)
    if _bad_weight(pos_weight, "pos_weight") or _bad_weight(weight, "weight"):
        return NotImplemented  # the reference path raises, after its check of the target
    options = {"from_logits": True, "pos_weight": pos_weight, "label_smoothing": smoothing, "weight": weight,
               "reduction": reduction}
    # the kernel checks the target as it reads it
    return fused(_bce_kernel, "binary_cross_entropy", (pred, y), options, n_grad=1)


# ---------------------------------------------------------------- categorical cross-entropy


class _Rows(NamedTuple):
    """Per row of a categorical cross-entropy (classes along the class axis, kept as 1)."""

    pull: Tensor
    """``sum_c wy_c (x_c - m)``, ``m`` the row's largest logit: ``-log p = (x_c - m) - log1p(rest)``."""
    total: Tensor
    """``sum_c wy_c``, the target's total weight in the row (class weights and smoothing included)."""
    peak: Tensor
    """The largest probability, ``1 / (1 + rest)``."""
    below: Tensor
    """``rest`` where no rival rounds to the maximum, else about ``rest - 1`` or less: see :func:`_cce_part`."""
    top: Tensor
    """A class where ``x_c`` rounds to ``m`` (int64)."""
    share: Tensor
    """``sum_c w_c y_c``, the row's share in the mean's denominator (with class weights and smoothing;
    without smoothing it is ``total``)."""


def _cce_part(x: Tensor, y: Tensor, class_weight: Tensor | None, smoothing: float, ax: int, scale: float,
              classes_: Tensor, grad: Tensor, rows: _Rows, work: tuple[Tensor, Tensor, Tensor],
              in_unit: _InUnit) -> None:
    """One chunk of rows of logits ``x``: writes the gradient of ``scale`` times their losses into
    ``grad`` (exact but at the top class, see :func:`_cce_kernel`) and their :class:`_Rows`.
    ``work`` are three buffers of ``x``'s shape."""
    num_classes = x.shape[ax]
    ratio, whole, spare = work
    in_unit.add(y)
    wy = y
    if smoothing:
        wy = torch.mul(y, 1.0 - smoothing, out=spare).add_(smoothing / num_classes)
    if class_weight is not None and smoothing:
        torch.sum(torch.mul(y, class_weight, out=ratio), ax, keepdim=True, out=rows.share)
        wy = wy.mul_(class_weight)
    elif class_weight is not None:
        wy = torch.mul(y, class_weight, out=spare)
    p = torch.ops.aten._softmax.out(x, ax, False, out=grad)
    torch.sum(torch.sub(x, x.amax(ax, keepdim=True), out=ratio).mul_(wy), ax, keepdim=True, out=rows.pull)
    torch.sum(wy, ax, keepdim=True, out=rows.total)
    # e = p / max p is exp(x - m), and exactly 1 at the maximum (and at ties, or rivals within
    # rounding of it): frac(e) drops those, so that its sum is rest, to the last digit, where no
    # rival is dropped.
    e = torch.div(p, torch.amax(p, ax, keepdim=True, out=rows.peak), out=ratio)
    torch.sum(torch.frac(e, out=whole), ax, keepdim=True, out=rows.below)
    # the last class with e == 1; a NaN row (NaN logits) points at class 0
    rows.top.copy_(torch.amax(e.sub_(whole).mul_(classes_), ax, keepdim=True).nan_to_num_(0.0))
    # d loss / dx = total p - wy
    p.mul_(rows.total * scale).sub_(wy, alpha=scale)


def _cce_kernel(pred: Tensor, target: Tensor, *, from_logits: bool, axis: int, class_weight: Tensor | None,
                label_smoothing: float, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    """Softmax, loss and gradient per chunk of rows; then, per row, the loss
    ``total log1p(rest) - pull`` and the gradient at the top class, in the reference's form
    ``(total - wy_top) - total rest / (1 + rest)``: a confident row (``p`` within rounding of 1)
    keeps its tiny loss and its tiny gradient, where ``log(1 + rest)`` and ``total p - wy`` round
    them away (as torch's cross-entropy does)."""
    ax = axis % pred.ndim
    num_classes = pred.shape[ax]
    along = [1] * pred.ndim
    along[ax] = num_classes
    cw = None if class_weight is None else class_weight.reshape(along)
    classes_ = torch.arange(num_classes, dtype=pred.dtype, device=pred.device).reshape(along)
    count = pred.numel() // num_classes
    # the mean divides by the number of rows, or by the total weight, known only at the end
    scale = 1.0 / count if reduction == "mean" and cw is None else 1.0
    grad = pred.new_empty(pred.shape)  # contiguous, as every chunk of it (torch.compile takes no other out=)
    row_shape = (*pred.shape[:ax], 1, *pred.shape[ax + 1:])

    def per_row(dtype: torch.dtype = pred.dtype) -> Tensor:
        return torch.empty(row_shape, dtype=dtype, device=pred.device)

    rows = _Rows(per_row(), per_row(), per_row(), per_row(), per_row(torch.int64), per_row())
    # chunks of whole rows: along the first axis, unless it holds the classes
    parts = list(_chunks(pred)) if ax != 0 else [slice(None)]
    a, b, c = (torch.empty_like(grad[parts[0]]) for _ in range(3))
    in_unit = _InUnit()
    for part in parts:
        size = grad[part].shape[0]
        _cce_part(pred[part].contiguous(), target[part], cw, label_smoothing, ax, scale, classes_, grad[part],
                  _Rows(*(r[part] for r in rows)), (a[:size], b[:size], c[:size]), in_unit)
    in_unit.verify(target)
    whole = rows.peak.reciprocal()  # 1 + rest, to rounding
    rest = torch.where((rows.below - (whole - 1.0)).abs_() < 0.5, rows.below, whole - 1.0)
    loss = torch.log1p(rest).mul_(rows.total).sub_(rows.pull)
    y_top = target.gather(ax, rows.top)
    wy_top = y_top if not label_smoothing else y_top * (1.0 - label_smoothing) + label_smoothing / num_classes
    if class_weight is not None:
        wy_top = wy_top * class_weight[rows.top]
    grad.scatter_(ax, rows.top, (rows.total - wy_top).sub_(rest / whole * rows.total).mul_(scale))
    if reduction == "none":
        return loss.squeeze(ax), (grad,)
    total = loss.sum()
    if reduction == "sum":
        return total, (grad,)
    if cw is None:
        return total / count, (grad,)
    denominator = (rows.share if label_smoothing else rows.total).sum()
    # 0 over no weight, also where label smoothing leaves a total on the classes that do have one
    kept = denominator != 0
    denominator = _nonzero(denominator)
    return torch.where(kept, total / denominator, 0.0), (grad.div_(denominator).mul_(kept),)


def categorical_cross_entropy(pred: Any, target: Any, *, from_logits: bool = False, axis: int = -1,
                              class_weight: Any = None, label_smoothing: float = 0.0, weight: Any = None,
                              reduction: str = "mean") -> Any:
    # Probabilities stay on the reference path (its clipping and sum checks).
    plain = (from_logits is True and weight is None and plain_pair(pred, target, None) and pred.ndim >= 1
             and isinstance(axis, int) and not isinstance(axis, bool) and -pred.ndim <= axis < pred.ndim)
    if not plain:
        return NotImplemented
    num_classes = pred.shape[axis]
    if class_weight is not None and not (_same_kind(class_weight, pred) and class_weight.shape == (num_classes,)):
        return NotImplemented
    if torch.is_grad_enabled() and class_weight is not None and class_weight.requires_grad:
        return NotImplemented
    smoothing = classes.smoothing(label_smoothing)
    reduction = checks.reduction(reduction)
    if _bad_weight(class_weight, "class_weight"):
        return NotImplemented  # the reference path raises, after its check of the target
    # the kernel checks the target as it reads it
    options = {"from_logits": True, "axis": axis, "class_weight": class_weight, "label_smoothing": smoothing,
               "reduction": reduction}
    return fused(_cce_kernel, "categorical_cross_entropy", (pred, target), options, n_grad=1,
                 axes=(axis,) if reduction == "none" else ())


# ---------------------------------------------------------------- sparse categorical cross-entropy


def _label_range(target: Tensor, num_classes: int, ignore: int | None) -> tuple[bool, bool]:
    """Whether every label is known to lie in ``[0, C)`` and whether some may equal ``ignore``,
    from the labels' extrema (one pass) where value checks run; else nothing is known."""
    if not checks.active(xp):
        return False, ignore is not None
    least, most = (int(v) for v in torch.aminmax(target))
    return least >= 0 and most < num_classes, ignore is not None and least <= ignore <= most


def sparse_categorical_cross_entropy(pred: Any, target: Any, *, from_logits: bool = False, axis: int = -1,
                                     class_weight: Any = None, ignore_index: int | None = -100,
                                     label_smoothing: float = 0.0, weight: Any = None,
                                     reduction: str = "mean") -> Any:
    plain = (
        from_logits and weight is None
        and isinstance(pred, Tensor) and isinstance(target, Tensor)
        and pred.dtype in FLOATS and pred.ndim >= 1 and pred.numel() > 0
        and not target.dtype.is_floating_point and target.dtype != torch.bool and not target.dtype.is_complex
        and (class_weight is None or (isinstance(class_weight, Tensor) and class_weight.dtype == pred.dtype))
        and isinstance(axis, int) and not isinstance(axis, bool) and -pred.ndim <= axis < pred.ndim
    )
    if not plain:
        return NotImplemented
    reduction = checks.reduction(reduction)
    smoothing = classes.smoothing(label_smoothing)
    ignore = classes.ignore_index(ignore_index)
    ax = axis % pred.ndim
    num_classes = pred.shape[ax]
    expected = tuple(s for i, s in enumerate(pred.shape) if i != ax)
    if tuple(target.shape) != expected:
        return NotImplemented
    labels_ok, ignored = _label_range(target, num_classes, ignore)
    keep = target != ignore if ignored else None
    if not labels_ok:
        bad = (target < 0) | (target >= num_classes)
        if checks.any_true(xp, bad if keep is None else bad & keep, classes.labels_expected(num_classes, ignore)):
            return NotImplemented  # the reference path raises, naming the label
    if class_weight is not None and (class_weight.shape != (num_classes,) or _bad_weight(class_weight, "class_weight")):
        return NotImplemented
    logits = pred if ax == 1 or pred.ndim == 1 else torch.movedim(pred, ax, 1)
    labels = target if target.dtype == torch.int64 else target.to(torch.int64)
    # torch's cross_entropy uses -100 when ignore_index is None: a label that can never occur here
    torch_ignore = -100 if ignore is None else ignore
    if pred.ndim == 1:
        logits, labels = logits.unsqueeze(0), labels.unsqueeze(0)
    loss = F.cross_entropy(logits, labels, weight=class_weight, ignore_index=torch_ignore,
                           reduction="none" if reduction == "none" else "sum", label_smoothing=smoothing)
    if pred.ndim == 1:
        loss = loss.squeeze(0)
    if reduction == "none" or (reduction == "sum" and not reducing.is_counting()):
        return loss
    count = _kept_weight(target, keep, class_weight, loss.dtype)
    if reduction == "sum":
        reducing.record(xp, count, loss)
        return loss
    if isinstance(count, int):
        return loss / count
    # torch's "mean" is NaN when every label is ignored; losskit's is 0 (docs/conventions.md).
    # also 0 where label smoothing leaves a loss on the classes that have a weight when the labels' have none
    return torch.where(count == 0, 0.0, loss / _nonzero(count))


def _kept_weight(target: Tensor, keep: Tensor | None, class_weight: Tensor | None, dtype: torch.dtype) -> Tensor | int:
    """The denominator of ``"mean"``: the class weights of the kept labels, or their number."""
    if class_weight is None:
        return target.numel() if keep is None else keep.sum().to(dtype)
    safe = target if keep is None else torch.where(keep, target, torch.zeros_like(target))
    shares = lookup(xp, class_weight, safe)
    count: Tensor = (shares if keep is None else shares * keep).sum()
    return count


# ---------------------------------------------------------------- hinge losses


def _signed_labels(pred: Tensor, target: Any) -> Tensor | None:
    """The hinge labels of ``target`` as -1 and +1 in ``pred``'s dtype (labels in {0, 1} mapped, 0 to
    -1); ``None`` where the reference path must take the call (invalid labels, another dtype)."""
    if not (isinstance(target, Tensor) and target.device == pred.device and target.shape == pred.shape
            and not target.requires_grad):
        return None
    if target.dtype == torch.bool:
        return target.to(pred.dtype).mul_(2.0).sub_(1.0)
    if target.dtype.is_complex or (target.dtype.is_floating_point and target.dtype != pred.dtype):
        return None
    y = target if target.dtype == pred.dtype else target.to(pred.dtype)
    if not checks.active(xp):
        if checks.traced(xp):
            checks.require(((y == 0) | (y == 1)).all() | ((y == -1) | (y == 1)).all(),
                           "target must hold labels in {-1, +1} or in {0, 1}")
        # as the reference, decided from the values, without reading them: valid labels are in
        # {0, 1} exactly when the least is 0 or 1
        binary = (y.amin() >= 0).to(y.dtype)
        return torch.addcmul(-binary, y, binary + 1.0)
    least, most = (float(v) for v in torch.aminmax(target))
    if least in (0.0, 1.0) and most in (0.0, 1.0):
        signed = (y.mul(2.0) if y is target else y.mul_(2.0)).sub_(1.0)
    elif least == -1.0 and most in (-1.0, 1.0):
        signed = y
    else:
        return None  # the reference path names the culprit
    # between the two extremes there may be other values: 0 among integer -1/+1, anything among floats
    between = most > least and (target.dtype.is_floating_point or most - least == 2.0)
    return None if between and float(signed.abs().amin()) < 1.0 else signed


def _hinge_kernel(pred: Tensor, target: Tensor, *, margin: float, reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    # target holds -1/+1: the violation is v = m - y x, and d loss / dx = -y where v >= 0 (the
    # reference's clip lets the gradient through at v == 0, as torch.clamp does)
    v = torch.addcmul(torch.full((), margin, dtype=pred.dtype, device=pred.device), target, pred, value=-1.0)
    grad = torch.sign(v).add_(1.0).clamp_(max=1.0).mul_(target)
    loss = v.clamp_(min=0.0)
    if reduction == "none":
        return loss, (grad.neg_(),)
    if reduction == "sum":
        return loss.sum(), (grad.neg_(),)
    return loss.mean(), (grad.mul_(-1.0 / loss.numel()),)


def _squared_hinge_kernel(pred: Tensor, target: Tensor, *, margin: float,
                          reduction: str) -> tuple[Tensor, tuple[Tensor]]:
    v = torch.addcmul(torch.full((), margin, dtype=pred.dtype, device=pred.device), target, pred, value=-1.0)
    violation = v.clamp_(min=0.0)
    scale = -2.0 / violation.numel() if reduction == "mean" else -2.0
    grad = torch.mul(violation, target).mul_(scale)
    loss = violation.mul_(violation)
    if reduction == "none":
        return loss, (grad,)
    return (loss.sum() if reduction == "sum" else loss.mean()), (grad,)


def _margin_loss(kernel: Any, name: str, pred: Any, target: Any, margin: Any, weight: Any, reduction: Any) -> Any:
    if not (weight is None and isinstance(pred, Tensor) and pred.dtype in FLOATS and pred.numel() > 0):
        return NotImplemented
    # the reference's checks, in its order
    m = checks.real("margin", margin, low=0.0)
    reduction = checks.reduction(reduction)
    signed = _signed_labels(pred, target)
    if signed is None:
        return NotImplemented
    # the reference path, for a double backward, gets the -1/+1 labels: the same loss
    return fused(kernel, name, (pred, signed), {"margin": m, "reduction": reduction}, n_grad=1)


def hinge(pred: Any, target: Any, *, margin: float = 1.0, weight: Any = None, reduction: str = "mean") -> Any:
    return _margin_loss(_hinge_kernel, "hinge", pred, target, margin, weight, reduction)


def squared_hinge(pred: Any, target: Any, *, margin: float = 1.0, weight: Any = None,
                  reduction: str = "mean") -> Any:
    return _margin_loss(_squared_hinge_kernel, "squared_hinge", pred, target, margin, weight, reduction)


class _MultiMargin(torch.autograd.Function):
    """``F.multi_margin_loss``, whose own backward torch cannot differentiate: a double backward
    (``create_graph=True``) differentiates the reference path, as for the fused losses."""

    @staticmethod
    def forward(ctx: Any, margin: float, reduction: str, pred: Tensor, labels: Tensor) -> Tensor:
        ctx.margin, ctx.reduction = margin, reduction
        ctx.save_for_backward(pred, labels)
        return F.multi_margin_loss(pred, labels, margin=margin, reduction=reduction)

    @staticmethod
    def backward(ctx: Any, upstream: Tensor) -> tuple[Tensor | None, ...]:
        pred, labels = ctx.saved_tensors
        if torch.is_grad_enabled():
            options = (("margin", ctx.margin), ("kind", "weston_watkins"), ("reduction", ctx.reduction))
            return None, None, _reference_grads("multiclass_hinge", (pred, labels), 1, options, upstream)[0], None
        grad = torch.ops.aten.multi_margin_loss_backward(upstream, pred, labels, 1, ctx.margin, None,
                                                         _REDUCTIONS[ctx.reduction])
        return None, None, grad, None


_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}
"""torch's codes of the reductions, as its kernels take them."""


def multiclass_hinge(pred: Any, target: Any, *, margin: float = 1.0, kind: str = "crammer_singer", axis: int = -1,
                     weight: Any = None, reduction: str = "mean") -> Any:
    # Weston-Watkins divided by C is F.multi_margin_loss, for (C,) or (N, C) scores. (At a kink,
    # where a rival's violation is exactly 0, torch's subgradient is 0 and the reference's 1 / C.)
    plain = (
        kind == "weston_watkins" and weight is None
        and isinstance(pred, Tensor) and pred.dtype in FLOATS and pred.ndim in (1, 2) and pred.numel() > 0
        and isinstance(axis, int) and not isinstance(axis, bool) and axis % pred.ndim == pred.ndim - 1
        and isinstance(target, Tensor) and target.device == pred.device and target.shape == pred.shape[:-1]
        and not (target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool)
        and not target.requires_grad
    )
    if not plain:
        return NotImplemented
    # the reference's checks, in its order
    m = checks.real("margin", margin, low=0.0)
    reduction = checks.reduction(reduction)
    if checks.traced(xp):
        checks.require((target >= 0) & (target < pred.shape[-1]), classes.labels_expected(pred.shape[-1], None))
    if checks.active(xp):
        least, most = (int(v) for v in torch.aminmax(target))
        if least < 0 or most >= pred.shape[-1]:
            return NotImplemented  # the reference path names the label
    labels = target.reshape(-1).to(torch.int64)
    loss = _MultiMargin.apply(m, reduction, pred.reshape(-1, pred.shape[-1]), labels)  # type: ignore[no-untyped-call]
    return loss.reshape(target.shape) if reduction == "none" else loss
