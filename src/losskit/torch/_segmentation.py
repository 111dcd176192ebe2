"""Torch fast paths of the segmentation losses: fused Dice, Jaccard, Tversky, focal Tversky and Dice + CE.

Every loss here scores per-(image, class) sums :math:`I = \\sum p\\,y`, :math:`P = \\sum p` (or
:math:`\\sum p^2`) and :math:`T = \\sum y` with a ratio :math:`S = num / den` whose terms are linear
in them, so :math:`\\partial S / \\partial I = (k - u S) / den` and :math:`\\partial S / \\partial P
= -v S / den` with :math:`k = \\partial num / \\partial I`, :math:`u = \\partial den / \\partial I`,
:math:`v = \\partial den / \\partial P`. The kernel

1. computes the probabilities into the buffer that becomes the gradient, and the sums;
2. turns the sums into the loss and, on ``(N, C)`` numbers, the coefficients
   :math:`a = \\partial \\text{cost} / \\partial I` and :math:`b = \\partial \\text{cost} / \\partial P`;
3. rewrites the buffer, in place, into the gradient of the logits: :math:`a\\,y + b` (:math:`+ 2 b p`
   squared) pulled back through the sigmoid or softmax, plus the cross-entropy's for ``dice_bce``.

Both passes go over the batch in chunks, so that temporaries (a label map's one-hot, products) are
the size of a chunk; a label map is compared with the class indices chunk by chunk, never expanded
to a one-hot of the whole batch. An ignored pixel's probabilities are zeroed in the buffer: they
count in no sum and their gradient is 0.

Declined (the reference path takes them, and raises every error): a ``weight``, dtypes other than
float32/float64, an empty batch, a float target of another dtype than ``pred``, ``ignore_index``
with mask targets in ``"multiclass"`` mode, ``dice_bce`` of probabilities (``from_logits=False``),
a ``class_weight`` that is not a tensor of ``pred``'s dtype and shape ``(C,)``, and invalid values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import array_api_compat.torch as xp
import torch

from .._core import checks, classes, logprob
from .._core.inputs import Call
from ._fused import FLOATS, fused

Tensor = torch.Tensor
Terms = Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]

_CHUNK = 1 << 19
"""Elements of ``pred`` per chunk (2 MiB in float32). Measured from 2^18 to 2^22 on a 2-core EPYC,
2^19 was fastest on every shape tried (16x4x256x256 Dice 10.2 -> 8.3 ms against 2^18, 2^22 2.5x
slower): few enough chunks to share out the cost of each operation's call, small enough for the
temporaries to stay in the last-level cache."""


@dataclass(frozen=True)
class _Score:
    """What a loss makes of the sums ``(I, P, T)`` of each image and class."""

    terms: Terms
    """``(I, P, T) -> (num, den)``, in the reference path's order of operations (same rounding)."""
    k: float
    u: float
    v: float
    """``d num/dI``, ``d den/dI`` and ``d den/dP``."""
    smooth: float
    power: float = 1.0
    dice_weight: float = 1.0
    ce_weight: float | None = None
    """``dice_bce``: the weight of the mean cross-entropy added to the overlap loss."""


@dataclass(frozen=True)
class _Call:
    """A call the kernel takes, resolved."""

    multiclass: bool
    from_logits: bool
    ax: int
    """The class axis of ``pred``, with one inserted at 1 for ``axis=None``."""
    insert: bool
    labels: bool
    ignore: int | None
    """The ignored label or mask value, ``None`` also where no label can equal it."""
    class_weight: Tensor | None
    batch: bool
    squared: bool
    reduction: str
    need_grad: bool


class _Sums(NamedTuple):
    """A chunk's sums over the pixels of each image: ``(n, C)`` for the overlap, ``(n,)`` for the
    cross-entropy (``dice_bce`` only)."""

    inter: Tensor
    p_sum: Tensor
    t_sum: Tensor
    ce_sum: Tensor | None
    counted: Tensor | None
    """Cross-entropy terms counted (not ignored)."""


def _pool(chunks: list[_Sums]) -> _Sums:
    """The sums of every chunk, one row per image."""
    def cat(parts: tuple[Any, ...]) -> Any:
        return None if parts[0] is None else torch.cat(parts)

    return _Sums(*(cat(parts) for parts in zip(*chunks, strict=True)))


# ---------------------------------------------------------------- the kernel


class _Scratch(NamedTuple):
    """One chunk's temporaries, rows of buffers allocated once per call: every operation of the
    kernel writes into one of them or in place (allocating per chunk costs more than the arithmetic)."""

    y: Tensor
    py: Tensor
    g: Tensor
    extra: Tensor
    keep: Tensor
    """``(m, C, S)`` each."""
    labels: Tensor
    keep_pixels: Tensor
    s: Tensor
    """``(m, 1, S)`` each."""


def _step(n: int, per_image: int) -> int:
    """Images per chunk; compiled, the whole batch (inductor fuses the loops; a graph per chunk only grows)."""
    return n if torch.compiler.is_compiling() else min(n, max(1, _CHUNK // max(per_image, 1)))


def _layout(x: Tensor, call: _Call) -> Tensor:
    """``pred`` (or a mask) as ``(N, C, S)``: classes second, pixels flattened; a view where the layout allows."""
    x = x.unsqueeze(1) if call.insert else x.movedim(call.ax, 1)
    return x.reshape(x.shape[0], x.shape[1], -1)


def _target(t: Tensor, call: _Call, label_of: Tensor, w: _Scratch) -> tuple[Tensor, Tensor | None]:
    """A chunk's target in [0, 1], 0 where ignored, and its kept entries (1) or ``None`` if all count.

    A label map's one-hot is computed by arithmetic on the labels, ``1 - min(|label - class|, 1)``:
    element-wise float operations are several times faster than comparisons and boolean masks.
    """
    if call.labels:
        labels = w.labels.copy_(t)
        y = torch.sub(labels, label_of, out=w.y).abs_().clamp_(max=1.0).neg_().add_(1.0)
        if call.ignore is None:
            return y, None
        return y, torch.sub(labels, call.ignore, out=w.keep_pixels).abs_().clamp_(max=1.0)
    if call.ignore is None:
        return (t if t.dtype == w.y.dtype else w.y.copy_(t)), None
    y = w.y.copy_(t)
    keep = w.keep.copy_(y != call.ignore)
    return y.mul_(keep), keep


def _probabilities(x: Tensor, y: Tensor, keep: Tensor | None, out: Tensor, call: _Call, ce: bool,
                   w: _Scratch) -> Tensor | None:
    """Writes the chunk's probabilities, 0 where ignored, into ``out``; returns each image's summed
    cross-entropy for ``dice_bce``."""
    ce_sum = None
    if not call.from_logits:
        out.copy_(x)
    elif call.multiclass and not ce:
        torch.ops.aten._softmax.out(x, 1, False, out=out)  # torch.softmax has no out=; one fused pass
    elif call.multiclass:
        # The reference path's softmax, exp(x - max) / sum, whose log-sum-exp gives the cross-entropy,
        # sum_c y_c (log(sum) - (x_c - max)) at each pixel.
        z = torch.sub(x, x.amax(1, keepdim=True), out=out)
        zy = torch.mul(z, y, out=w.extra).sum((1, 2))
        total = z.exp_().sum(1, keepdim=True)
        out.div_(total)
        log_total = total.log_()
        if not call.labels:
            log_total.mul_(y.sum(1, keepdim=True))
        elif keep is not None:
            log_total.mul_(keep)
        ce_sum = log_total.sum((1, 2)).sub_(zy)
    else:
        torch.sigmoid(x, out=out)
        if ce:
            # max(x, 0) - x y + log1p(exp(-|x|)), as torch's binary_cross_entropy_with_logits
            soft = torch.abs(x, out=w.g).neg_().exp_().log1p_()
            bce = torch.clamp(x, min=0.0, out=w.extra).addcmul_(x, y, value=-1.0).add_(soft)
            ce_sum = (bce if keep is None else bce.mul_(keep)).sum((1, 2))
    if keep is not None:
        out.mul_(keep)
    return ce_sum


def _sums(p: Tensor, y: Tensor, keep: Tensor | None, ce_sum: Tensor | None, call: _Call, pixels: int,
          w: _Scratch) -> tuple[Tensor, _Sums]:
    """``p y`` and the chunk's sums."""
    py = torch.mul(p, y, out=w.py)
    t_sum = (torch.mul(y, y, out=w.extra) if call.squared and not call.labels else y).sum(2)
    p_sum = (torch.mul(p, p, out=w.extra) if call.squared else p).sum(2)
    counted = None
    if ce_sum is not None:
        counted = keep.sum((1, 2)) if keep is not None else torch.full_like(ce_sum, pixels)
    return py, _Sums(py.sum(2), p_sum, t_sum, ce_sum, counted)


def _coefficients(score: _Score, call: _Call, inter: Tensor, p_sum: Tensor, t_sum: Tensor,
                  scale: float) -> tuple[Tensor, Tensor, Tensor]:
    """The overlap loss of each image and ``a, b``, the cost's derivatives by ``I`` and ``P``."""
    if call.batch:
        inter, p_sum, t_sum = inter.sum(0), p_sum.sum(0), t_sum.sum(0)
    num, den = score.terms(inter, p_sum, t_sum)
    empty = None
    if score.smooth == 0.0:  # an empty target and prediction, 0 / 0: a perfect score
        empty = den <= 0
        den = torch.where(empty, 1.0, den)
        ratio = torch.where(empty, 1.0, num / den)
    else:
        ratio = num / den
    gap = 1.0 - ratio
    per_class = gap.clamp(min=0.0)
    passes = gap >= 0  # clamp passes the gradient at its bound
    slope = None
    if score.power != 1.0:
        passes = per_class > 0
        base = torch.where(passes, per_class, 1.0)
        per_class = torch.where(passes, base ** score.power, 0.0)
        slope = score.power * base ** (score.power - 1.0)
    cw = call.class_weight
    if cw is None:
        loss = per_class.mean(-1)
        share: Tensor | float = -score.dice_weight * scale / per_class.shape[-1]
    else:
        total = cw.sum()
        loss = (per_class * cw).sum(-1) / total
        share = cw * (-score.dice_weight * scale) / total
    # d cost / d ratio, over den: d ratio / dI = (k - u ratio) / den, d ratio / dP = -v ratio / den
    factor = share / den if slope is None else slope.mul_(share).div_(den)
    factor = torch.where(passes, factor, 0.0)
    if empty is not None:
        factor.masked_fill_(empty, 0.0)
    a = factor * score.k if score.u == 0.0 else factor * (score.k - score.u * ratio)
    b = factor.mul_(ratio).mul_(-score.v)
    return loss if score.dice_weight == 1.0 else score.dice_weight * loss, a, b


def _costs(score: _Score, call: _Call, sums: _Sums, scale: float) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """The loss of each image (0-d with ``batch``) and the coefficients of its gradient: ``a, b`` by
    ``I, P`` as ``(n, C, 1)`` and the cross-entropy's weight ``c`` as ``(n, 1, 1)`` (``None`` without one).

    ``scale`` is the reduction's factor of each image's loss in the cost.
    """
    loss, a, b = _coefficients(score, call, sums.inter, sums.p_sum, sums.t_sum, scale)
    a, b = a.reshape(-1, a.shape[-1], 1), b.reshape(-1, b.shape[-1], 1)
    ce_sum, count = sums.ce_sum, sums.counted
    if score.ce_weight is None or ce_sum is None or count is None:
        return loss, a, b, None
    if call.batch:
        ce_sum, count = ce_sum.sum(), count.sum()
    count = torch.where(count > 0, count, 1.0)
    return loss + score.ce_weight * (ce_sum / count), a, b, (score.ce_weight * scale / count).reshape(-1, 1, 1)


def _backward(p: Tensor, x: Tensor, y: Tensor, py: Tensor, keep: Tensor | None, a: Tensor, b: Tensor,
              c: Tensor | None, call: _Call, w: _Scratch) -> None:
    """Turns the chunk's probabilities ``p`` into the gradient of the cost, in place.

    ``a, b`` (``(m, C, 1)``) are the derivatives by the sums ``I, P`` and ``c`` (``(m, 1, 1)``) the
    cross-entropy's weight: d cost / dp = a y + b (2 b p squared), then through the activation.
    """
    g = torch.mul(y, a, out=w.g).addcmul_(p, b, value=2.0) if call.squared else torch.addcmul(b, y, a, out=w.g)
    if not call.from_logits:
        p.copy_(g if keep is None else g.mul_(keep))
    elif call.multiclass:
        # softmax: p (g - sum_c p g), with sum_c p g = a.py + b.p (2 b.p^2 squared) per pixel; an
        # ignored pixel has p = 0, so a gradient of 0
        s = torch.bmm(a.mT, py, out=w.s)
        if call.squared:
            s.baddbmm_(b.mT, torch.mul(p, p, out=w.extra), alpha=2.0)
        else:
            s.baddbmm_(b.mT, p)
        g.sub_(s)
        if c is not None:  # the cross-entropy's p sum_c y - y; after g - s, exactly 0 for a perfect prediction
            g.add_(c) if call.labels else g.addcmul_(y.sum(1, keepdim=True), c)
        p.mul_(g)
        if c is not None:
            p.addcmul_(y, c, value=-1.0)
    else:
        q = torch.neg(x, out=w.extra).sigmoid_()  # 1 - p, without its cancellation
        if c is not None:
            # the binary cross-entropy's (1 - y) p - y q, exact for hard targets; 0 where ignored (p = y = 0)
            bce = torch.lerp(p, torch.neg(q, out=w.py), y, out=w.py).mul_(c)
        p.mul_(g.mul_(q))
        if c is not None:
            p.add_(bce)


def _kernel(pred: Tensor, target: Tensor, *, call: _Call, score: _Score,
            **_: Any) -> tuple[Tensor, list[Tensor | None]]:
    # The loss's other options are resolved in ``call`` and ``score``.
    x = _layout(pred, call)
    n, num_classes, pixels = x.shape
    t = target.reshape(n, 1, -1) if call.labels else _layout(target, call)
    # The label of each channel; an ignored label that is a class matches none (labels are >= 0).
    label_of = torch.arange(num_classes, device=x.device, dtype=x.dtype)
    if call.ignore is not None:
        label_of = torch.where(label_of == call.ignore, -2.0, label_of)
    label_of = label_of.reshape(1, num_classes, 1)
    ce = score.ce_weight is not None
    terms = pixels * (1 if call.multiclass else num_classes)  # cross-entropy terms of an image
    scale = 1.0 / n if call.reduction == "mean" and not call.batch else 1.0
    grad = x.new_empty(x.shape)  # the probabilities, then their gradient; contiguous, for out=
    step = _step(n, num_classes * pixels)
    chunks = [slice(start, min(start + step, n)) for start in range(0, n, step)]
    full, small = x.new_empty((5, step, num_classes, pixels)), x.new_empty((3, step, 1, pixels))

    def scratch(rows: slice) -> _Scratch:
        m = rows.stop - rows.start
        return _Scratch(*full[:, :m], *small[:, :m])

    if call.batch:
        # Pooled sums: every chunk's come first, then the gradient, from the probabilities kept in
        # grad and the targets recomputed.
        sums = []
        for rows in chunks:
            w = scratch(rows)
            y, keep = _target(t[rows], call, label_of, w)
            sums.append(_sums(grad[rows], y, keep, _probabilities(x[rows], y, keep, grad[rows], call, ce, w), call,
                              terms, w)[1])
        loss, a, b, c = _costs(score, call, _pool(sums), scale)
        if call.need_grad:
            for rows in chunks:
                w, m = scratch(rows), rows.stop - rows.start
                y, keep = _target(t[rows], call, label_of, w)
                py = torch.mul(grad[rows], y, out=w.py)
                _backward(grad[rows], x[rows], y, py, keep, a.expand(m, -1, -1), b.expand(m, -1, -1),
                          None if c is None else c.expand(m, -1, -1), call, w)
    else:
        # Each image's own sums: one pass, the chunk still in cache.
        losses = []
        for rows in chunks:
            w = scratch(rows)
            y, keep = _target(t[rows], call, label_of, w)
            ce_sum = _probabilities(x[rows], y, keep, grad[rows], call, ce, w)
            py, sums_ = _sums(grad[rows], y, keep, ce_sum, call, terms, w)
            loss, a, b, c = _costs(score, call, sums_, scale)
            losses.append(loss)
            if call.need_grad:
                _backward(grad[rows], x[rows], y, py, keep, a, b, c, call, w)
        loss = torch.cat(losses)
    cost = loss if call.reduction == "none" else loss.sum() if call.reduction == "sum" else loss.sum() / loss.numel()
    if not call.need_grad:
        return cost, [None]
    moved = (n, 1, *pred.shape[1:]) if call.insert else pred.movedim(call.ax, 1).shape
    grad = grad.reshape(moved)
    return cost, [grad.squeeze(1) if call.insert else grad.movedim(1, call.ax)]


# ---------------------------------------------------------------- resolving a call


def _resolve(pred: Any, target: Any, options: dict[str, Any], ce: bool) -> _Call | None:
    """The call the kernel takes, or ``None`` to decline it; raises only the reference path's first error."""
    mode, from_logits, axis, batch, class_weight, weight, reduction = (options[k] for k in (
        "mode", "from_logits", "axis", "batch", "class_weight", "weight", "reduction"))
    mode = checks.choice("mode", mode, ("binary", "multiclass"))
    ignore = classes.ignore_index(options["ignore_index"])
    multiclass = mode == "multiclass"
    plain = (
        isinstance(batch, bool) and weight is None and reduction in checks.REDUCTIONS
        and isinstance(pred, Tensor) and isinstance(target, Tensor)
        and pred.dtype in FLOATS and target.device == pred.device and pred.numel() > 0
        and (bool(from_logits) or not ce)
    )
    if not plain:
        return None
    dtype = target.dtype
    labels = not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool \
        and target.ndim == pred.ndim - 1
    if axis is None:
        if multiclass or pred.ndim < 1:
            return None
        ax, insert = 1, True
    elif isinstance(axis, int) and not isinstance(axis, bool) and -pred.ndim <= axis < pred.ndim:
        ax, insert = axis % pred.ndim, False
    else:
        return None
    # A class axis and at least one pixel axis besides the batch's
    if ax == 0 or pred.ndim + insert < 3 or (labels and not multiclass):
        return None
    if labels:
        if tuple(target.shape) != tuple(s for i, s in enumerate(pred.shape) if i != ax):
            return None
        info = torch.iinfo(dtype)
        ignore = ignore if ignore is not None and info.min <= ignore <= info.max else None
    elif target.shape != pred.shape or dtype.is_complex or (dtype.is_floating_point and dtype != pred.dtype) \
            or (multiclass and ignore is not None):
        return None
    num_classes = 1 if insert else pred.shape[ax]
    if class_weight is not None and not (
        isinstance(class_weight, Tensor) and class_weight.dtype == pred.dtype
        and class_weight.device == pred.device and class_weight.shape == (num_classes,)
    ):
        return None
    return _Call(multiclass, bool(from_logits), ax, insert, labels, ignore, class_weight, batch,
                 bool(options.get("squared", False)),
                 str(reduction), torch.is_grad_enabled() and pred.requires_grad)


def _valid(pred: Tensor, target: Tensor, call: _Call) -> bool:
    """The value checks of the reference path: raises its first error, or ``False`` to decline."""
    if not (checks.active(xp) or checks.traced(xp)):
        return True
    if call.labels:
        num_classes = pred.shape[call.ax]
        # min and max in one pass; only labels out of range are looked at one by one (under
        # torch.compile, where nothing is read, every label is: an assertion compiled in)
        suspect = True
        if checks.active(xp):
            low, high = (int(v) for v in torch.aminmax(target))
            suspect = low < 0 or high >= num_classes
        if suspect:
            labels = target.long()
            bad = (labels < 0) | (labels >= num_classes)
            if call.ignore is not None:
                bad &= labels != call.ignore
            if checks.any_true(xp, bad, classes.labels_expected(num_classes, call.ignore)):
                return False
    else:
        checks.finite(xp, "target", target)
        y = target if call.ignore is None else torch.where(target != call.ignore, target, 0)
        checks.within(xp, "target", y, 0.0, 1.0)
    if not call.from_logits:
        logprob.check_probabilities(Call(xp, pred, pred.dtype, pred.dtype, None, call.reduction), pred,
                                    call.ax if call.multiclass else None)
    cw = call.class_weight
    return cw is None or not checks.any_true(xp, ~((cw >= 0) & cw.isfinite()) | (cw.sum() <= 0),
                                             "class_weight must be finite, non-negative and not all zero")


def _loss(name: str, pred: Any, target: Any, score: _Score, options: dict[str, Any]) -> Any:
    call = _resolve(pred, target, options, score.ce_weight is not None)
    if call is None or not _valid(pred, target, call):
        return NotImplemented
    return fused(partial(_kernel, call=call, score=score), name, (pred, target), options, n_grad=1,
                 axes=tuple(range(1, pred.ndim)))


def _smooth(value: Any) -> float:
    return checks.real("smooth", value, low=0.0)


def _tversky(alpha: Any, beta: Any, smooth: Any, **kw: Any) -> _Score:
    a = checks.real("alpha", alpha, low=0.0)
    b = checks.real("beta", beta, low=0.0)
    s = _smooth(smooth)
    return _Score(lambda i, p, t: (i + s, i + a * (p - i) + b * (t - i) + s), 1.0, 1.0 - a - b, a, s, **kw)


# ---------------------------------------------------------------- the losses


def dice(pred: Any, target: Any, *, mode: str = "binary", from_logits: bool = False, axis: int | None = 1,
         smooth: float = 1e-5, squared: bool = False, batch: bool = False, class_weight: Any = None,
         ignore_index: int | None = None, weight: Any = None, reduction: str = "mean") -> Any:
    s = _smooth(smooth)
    score = _Score(lambda i, p, t: (2.0 * i + s, p + t + s), 2.0, 0.0, 1.0, s)
    return _loss("dice", pred, target, score, {
        "mode": mode, "from_logits": from_logits, "axis": axis, "smooth": smooth, "squared": squared,
        "batch": batch, "class_weight": class_weight, "ignore_index": ignore_index, "weight": weight,
        "reduction": reduction})


def jaccard(pred: Any, target: Any, *, mode: str = "binary", from_logits: bool = False, axis: int | None = 1,
            smooth: float = 1e-5, squared: bool = False, batch: bool = False, class_weight: Any = None,
            ignore_index: int | None = None, weight: Any = None, reduction: str = "mean") -> Any:
    s = _smooth(smooth)
    score = _Score(lambda i, p, t: (i + s, p + t - i + s), 1.0, -1.0, 1.0, s)
    return _loss("jaccard", pred, target, score, {
        "mode": mode, "from_logits": from_logits, "axis": axis, "smooth": smooth, "squared": squared,
        "batch": batch, "class_weight": class_weight, "ignore_index": ignore_index, "weight": weight,
        "reduction": reduction})


def tversky(pred: Any, target: Any, *, alpha: float = 0.5, beta: float = 0.5, mode: str = "binary",
            from_logits: bool = False, axis: int | None = 1, smooth: float = 1e-5, batch: bool = False,
            class_weight: Any = None, ignore_index: int | None = None, weight: Any = None,
            reduction: str = "mean") -> Any:
    return _loss("tversky", pred, target, _tversky(alpha, beta, smooth), {
        "alpha": alpha, "beta": beta, "mode": mode, "from_logits": from_logits, "axis": axis, "smooth": smooth,
        "batch": batch, "class_weight": class_weight, "ignore_index": ignore_index, "weight": weight,
        "reduction": reduction})


def focal_tversky(pred: Any, target: Any, *, alpha: float = 0.3, beta: float = 0.7, gamma: float = 0.75,
                  mode: str = "binary", from_logits: bool = False, axis: int | None = 1, smooth: float = 1e-5,
                  batch: bool = False, class_weight: Any = None, ignore_index: int | None = None,
                  weight: Any = None, reduction: str = "mean") -> Any:
    g = checks.real("gamma", gamma, low=0.0, low_open=True)
    return _loss("focal_tversky", pred, target, _tversky(alpha, beta, smooth, power=g), {
        "alpha": alpha, "beta": beta, "gamma": gamma, "mode": mode, "from_logits": from_logits, "axis": axis,
        "smooth": smooth, "batch": batch, "class_weight": class_weight, "ignore_index": ignore_index,
        "weight": weight, "reduction": reduction})


def dice_bce(pred: Any, target: Any, *, dice_weight: float = 1.0, bce_weight: float = 1.0,
             mode: str = "binary", from_logits: bool = False, axis: int | None = 1, smooth: float = 1e-5,
             batch: bool = False, class_weight: Any = None, ignore_index: int | None = None,
             weight: Any = None, reduction: str = "mean") -> Any:
    wd = checks.real("dice_weight", dice_weight, low=0.0)
    wc = checks.real("bce_weight", bce_weight, low=0.0)
    s = _smooth(smooth)
    score = _Score(lambda i, p, t: (2.0 * i + s, p + t + s), 2.0, 0.0, 1.0, s, dice_weight=wd, ce_weight=wc)
    return _loss("dice_bce", pred, target, score, {
        "dice_weight": dice_weight, "bce_weight": bce_weight, "mode": mode, "from_logits": from_logits,
        "axis": axis, "smooth": smooth, "batch": batch, "class_weight": class_weight,
        "ignore_index": ignore_index, "weight": weight, "reduction": reduction})
