"""Torch fast path of ``linear_cross_entropy``: the tokens in chunks, loss and gradients in one pass.

Per chunk of tokens, the logits ``h W^T + b`` are formed in one buffer, which then becomes the
softmax and, in place, the gradient of the cost by those logits; two matrix products take that
gradient to the chunk's rows of ``grad hidden`` and add it to ``grad classifier`` (and its column
sums to ``grad bias``). Forward and backward cost the three matrix products of the naive
computation, and the largest temporary is one chunk's logits (two with ``softcap``).

With ``"mean"`` or ``"sum"`` the gradients are computed in the forward call and the backward call
multiplies them by the upstream scalar. A ``"none"`` loss's gradient depends on the upstream
gradient of every token, so its forward call computes the losses only and the backward call forms
each chunk's logits again. A double backward (``create_graph=True``) differentiates the reference
path, which forms all logits.

Declined (the reference path takes the call and raises every error): dtypes other than
float32/float64 or mixed ones, an empty batch or vocabulary, a ``class_weight`` or ``weight`` that
is not a tensor of the hidden states' dtype, or that requires a gradient, and invalid labels or
weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import array_api_compat.torch as xp
import torch

from .._core import checks, classes
from .._core import reduction as reducing
from .._core.dispatch import REFERENCE
from ..language import chunk_rows, softcap_value, z_loss_value
from ._fused import FLOATS

Tensor = torch.Tensor
Grads = tuple[Tensor | None, Tensor | None, Tensor | None]
"""Gradients of the cost by ``hidden``, ``classifier`` and ``bias``; ``None`` where not wanted."""


class _Options(NamedTuple):
    ignore: int | None
    smoothing: float
    softcap: float | None
    z_loss: float
    chunk_size: int | None
    rows: int
    reduction: str


@dataclass(frozen=True)
class _Batch:
    """The call's tensors, with the tokens flattened to rows."""

    hidden: Tensor
    """``(N, H)``."""
    classifier: Tensor
    bias: Tensor | None
    labels: Tensor
    """``(N,)`` int64, ignored tokens' labels replaced by 0."""
    keep: Tensor | None
    """``(N,)`` bool: the tokens not ignored; ``None`` when none is."""
    class_weight: Tensor | None
    weight: Tensor | None
    """``(N,)``: the user's weight of each token."""
    shape: tuple[int, ...]
    """The labels' shape: the shape of a ``"none"`` loss."""

    def kept_weight(self) -> Tensor:
        """The total weight of the kept tokens: what ``"mean"`` divides by."""
        share = self.hidden.new_ones(self.labels.shape) if self.class_weight is None else self.class_weight[self.labels]
        if self.keep is not None:
            share = share * self.keep
        if self.weight is not None:
            share = share * self.weight
        return share.sum()


def _batch(hidden: Tensor, classifier: Tensor, bias: Tensor | None, labels: Tensor, class_weight: Tensor | None,
           weight: Tensor | None, ignore: int | None) -> _Batch:
    # int64 first: torch compares a uint8 label with -100 modulo 256
    y = labels.reshape(-1).to(torch.int64)
    keep = None if ignore is None else y != ignore
    if keep is not None:
        y = torch.where(keep, y, torch.zeros_like(y))
    u = None if weight is None else weight.expand(labels.shape).reshape(-1)
    return _Batch(hidden.reshape(-1, hidden.shape[-1]), classifier, bias, y, keep, class_weight, u,
                  tuple(labels.shape))


def _softmax_rows(x: Tensor, labels: Tensor, class_weight: Tensor | None, o: _Options,
                  scale: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """The loss of each row of logits ``x``, and the gradient of ``scale * loss`` by ``x``, in ``x``.

    As the reference's log-softmax, around the top logit ``m``: ``log p = (x - m) - r`` with
    ``r = log1p(rest)``, ``rest`` the sum of the other classes' ``exp(x - m)``, so that a confident
    row keeps its tiny loss and gradient to full relative precision. Without ``scale``, ``x`` is
    left as scratch.
    """
    num_classes = x.shape[1]
    y = labels[:, None]
    m, top = x.max(dim=1, keepdim=True)
    shifted = x.sub_(m)  # the top logit is exactly 0
    nll_shift = shifted.gather(1, y)
    smooth = None
    if o.smoothing:  # sum_c w_c (x_c - m)
        smooth = shifted.sum(1, keepdim=True) if class_weight is None else shifted @ class_weight[:, None]
    e = shifted.exp_().scatter_(1, top, 0.0)
    rest = e.sum(1, keepdim=True)
    r = torch.log1p(rest)
    nll = r - nll_shift
    total_weight = float(num_classes) if class_weight is None else class_weight.sum()
    w_y = None if class_weight is None else class_weight[labels][:, None]
    loss = nll if w_y is None else w_y * nll
    if smooth is not None:  # -e/C sum_c w_c log p_c, log p_c = (x_c - m) - r
        loss = (1.0 - o.smoothing) * loss + o.smoothing / num_classes * (r * total_weight - smooth)
    lse = m + r
    if o.z_loss:
        loss = loss + o.z_loss * (lse * lse)
    if scale is None:
        return loss[:, 0], None
    # d loss / d x = a (p - onehot_y) + c p - b w, with p_top = 1 / (1 + rest) and the others e / (1 + rest)
    s = scale[:, None]
    a = (1.0 - o.smoothing) * s if w_y is None else (1.0 - o.smoothing) * w_y * s
    c = (o.smoothing / num_classes * total_weight + 2.0 * o.z_loss * lse) * s
    inverse = 1.0 / (1.0 + rest)
    grad = e.mul_((a + c) * inverse)
    # where the label is the top class, p_top - 1 = -rest / (1 + rest), not a difference that cancels
    on_top = top == y
    grad.scatter_(1, top, torch.where(on_top, (c - a * rest) * inverse, (a + c) * inverse))
    grad.scatter_add_(1, y, torch.where(on_top, torch.zeros_like(a), -a))
    if o.smoothing:
        b = o.smoothing / num_classes * s
        if class_weight is None:
            grad.sub_(b)
        else:
            grad.addr_(b[:, 0], class_weight, alpha=-1.0)
    return loss[:, 0], grad


def _sweep(batch: _Batch, o: _Options, scale: Tensor | None, needs: tuple[bool, bool, bool],
           ) -> tuple[Tensor, Grads]:
    """Every chunk of tokens: their losses (zero where ignored) and, given ``scale`` (the cost's
    derivative by each token's loss), the gradients of the cost that ``needs`` asks for."""
    h_all, classifier, bias = batch.hidden, batch.classifier, batch.bias
    n = h_all.shape[0]
    losses = h_all.new_empty(n)
    grad_h = torch.empty_like(h_all) if scale is not None and needs[0] else None
    grad_w: Tensor | None = None
    grad_b: Tensor | None = None
    for start in range(0, n, o.rows):
        stop = min(start + o.rows, n)
        h = h_all[start:stop]
        x = h @ classifier.T if bias is None else torch.addmm(bias, h, classifier.T)
        slope = None
        if o.softcap is not None:  # s tanh(x / s), whose derivative is 1 - tanh^2
            slope = x.div_(o.softcap).tanh_()
            x = slope * o.softcap
        loss, grad = _softmax_rows(x, batch.labels[start:stop], batch.class_weight, o,
                                   None if scale is None else scale[start:stop])
        losses[start:stop] = loss
        if grad is not None:
            if slope is not None:
                grad.mul_(slope.mul_(slope).neg_().add_(1.0))
            if grad_h is not None:
                grad_h[start:stop] = grad @ classifier
            if needs[1]:
                grad_w = grad.T @ h if grad_w is None else grad_w.addmm_(grad.T, h)
            if needs[2]:
                column = grad.sum(0)
                grad_b = column if grad_b is None else grad_b.add_(column)
        del x, slope, grad  # this chunk's logits go before the next chunk's are formed
    if batch.keep is not None:
        losses = torch.where(batch.keep, losses, torch.zeros_like(losses))
    return losses, (grad_h, grad_w, grad_b)


def _token_scale(batch: _Batch, factor: Tensor | None) -> Tensor:
    """The cost's derivative by each token's loss: its weight, 0 if ignored, times ``factor``."""
    scale = batch.hidden.new_ones(batch.labels.shape) if batch.weight is None else batch.weight
    if batch.keep is not None:
        scale = scale * batch.keep
    return scale if factor is None else scale * factor


def _cost(batch: _Batch, o: _Options, needs: tuple[bool, bool, bool]) -> tuple[Tensor, Grads]:
    """The reduced cost and, for ``"mean"`` and ``"sum"``, the gradients ``needs`` asks for."""
    mean = o.reduction == "mean"
    count = batch.kept_weight() if mean else batch.hidden.new_ones(())
    # A mean over no weight is 0 with gradient 0, also where label smoothing leaves a loss on the
    # classes that have a weight while the labels' have none.
    kept = count != 0
    count = torch.where(kept, count, 1.0)
    want = o.reduction != "none" and any(needs)
    scale = _token_scale(batch, kept / count if mean else None) if want else None
    losses, grads = _sweep(batch, o, scale, needs)
    if batch.weight is not None:
        losses = losses * batch.weight
    if o.reduction == "none":
        return losses.reshape(batch.shape), grads
    total = losses.sum()
    return (torch.where(kept, total / count, 0.0) if mean else total), grads


def _gradients(o: _Options, needs: tuple[bool, bool, bool], hidden: Tensor, classifier: Tensor, bias: Tensor | None,
               labels: Tensor, class_weight: Tensor | None, weight: Tensor | None,
               upstream: Tensor | None = None) -> tuple[Tensor, Grads]:
    """The cost and, from scratch, the gradients ``needs`` asks for: of the cost, or with ``upstream``
    (``"none"``), of the sum of ``upstream`` times the loss."""
    batch = _batch(hidden, classifier, bias, labels, class_weight, weight, o.ignore)
    with torch.autocast(hidden.device.type, enabled=False):
        if upstream is None:
            cost, (grad_h, grad_w, grad_b) = _cost(batch, o, needs)
        else:
            cost, (grad_h, grad_w, grad_b) = _sweep(batch, o, _token_scale(batch, upstream.reshape(-1)), needs)
    return cost, (None if grad_h is None else grad_h.reshape(hidden.shape), grad_w, grad_b)


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, options: _Options, needs: tuple[bool, bool, bool], hidden: Tensor, classifier: Tensor,
                bias: Tensor | None, labels: Tensor, class_weight: Tensor | None, weight: Tensor | None) -> Tensor:
        ctx.options = options
        inputs = (hidden, classifier, bias, labels, class_weight, weight)
        cost, grads = _gradients(options, needs, *inputs)
        # Eagerly the gradients are held on ctx, not saved: backward scales them in place and hands them
        # over, where a saved tensor would stay referenced until the graph is freed (autograd then copies
        # it into .grad, and the scaling needs a second one). torch.compile traces saved tensors only.
        ctx.traced = torch.compiler.is_compiling()
        ctx.save_for_backward(*inputs, *(grads if ctx.traced else ()))
        if not ctx.traced:
            ctx.grads = grads
        return cost

    @staticmethod
    def backward(ctx: Any, upstream: Tensor) -> tuple[Tensor | None, ...]:
        hidden, classifier, bias, labels, class_weight, weight, *saved = ctx.saved_tensors
        inputs = (hidden, classifier, bias, labels, class_weight, weight)
        o: _Options = ctx.options
        needs: tuple[bool, bool, bool] = tuple(ctx.needs_input_grad[2:5])
        grads: Sequence[Tensor | None]
        if torch.is_grad_enabled():  # create_graph=True: differentiate the reference path instead
            grads = _reference_grads(o, needs, *inputs, upstream)
        elif o.reduction == "none":  # the gradient of each chunk's logits depends on the upstream gradient
            grads = _gradients(o, needs, *inputs, upstream)[1]
        elif ctx.traced:
            grads = [None if g is None else g * upstream for g in saved]
        else:
            held, ctx.grads = ctx.grads, None
            # a second backward through a retained graph finds them used up: computed again
            held = held or _gradients(o, needs, *inputs)[1]
            grads = [None if g is None else g.mul_(upstream) for g in held]
        return None, None, *grads, None, None, None


def _reference_grads(o: _Options, needs: tuple[bool, bool, bool], hidden: Tensor, classifier: Tensor,
                     bias: Tensor | None, labels: Tensor, class_weight: Tensor | None, weight: Tensor | None,
                     upstream: Tensor) -> list[Tensor | None]:
    inputs = (hidden, classifier, bias)
    with torch.enable_grad():
        cost = REFERENCE["linear_cross_entropy"](
            hidden, classifier, labels, bias=bias, class_weight=class_weight, ignore_index=o.ignore,
            label_smoothing=o.smoothing, softcap=o.softcap, z_loss=o.z_loss, chunk_size=o.chunk_size, weight=weight,
            reduction=o.reduction)
        wanted = [t for t, need in zip(inputs, needs, strict=True) if need and t is not None]
        found = iter(torch.autograd.grad(cost, wanted, upstream, create_graph=True, allow_unused=True))
    return [next(found) if need and t is not None else None for t, need in zip(inputs, needs, strict=True)]


def _same_kind(x: Any, like: Tensor) -> bool:
    return isinstance(x, Tensor) and x.dtype == like.dtype and x.device == like.device


def _plain(hidden: Any, classifier: Any, labels: Any, bias: Any, class_weight: Any, weight: Any) -> bool:
    """Tensors of one float32/float64 dtype and device, of valid shapes, none of them empty."""
    if not (isinstance(hidden, Tensor) and hidden.dtype in FLOATS and hidden.ndim >= 1 and hidden.numel() > 0):
        return False
    if not (_same_kind(classifier, hidden) and classifier.ndim == 2 and classifier.shape[1] == hidden.shape[-1]
            and classifier.shape[0] > 0):
        return False
    num_classes = classifier.shape[0]
    vectors_ok = all(v is None or (_same_kind(v, hidden) and tuple(v.shape) == (num_classes,))
                     for v in (bias, class_weight))
    if not (isinstance(labels, Tensor) and labels.device == hidden.device and not labels.dtype.is_floating_point
            and not labels.dtype.is_complex and labels.dtype != torch.bool
            and tuple(labels.shape) == tuple(hidden.shape[:-1])):
        return False
    weight_ok = weight is None or (_same_kind(weight, hidden) and weight.ndim in (0, labels.ndim)
                                   and all(a in (1, b) for a, b in zip(weight.shape, labels.shape, strict=False)))
    return vectors_ok and weight_ok


def _invalid(labels: Tensor, num_classes: int, ignore: int | None, class_weight: Tensor | None,
             weight: Tensor | None) -> bool:
    """Labels out of range or bad weights, which the reference path reports (when value checks run)."""
    if not (checks.active(xp) or checks.traced(xp)):
        return False
    y = labels.to(torch.int64)
    bad = (y < 0) | (y >= num_classes)
    if ignore is not None:
        bad &= y != ignore
    if checks.any_true(xp, bad, classes.labels_expected(num_classes, ignore)):
        return True
    return any(v is not None and checks.negative_or_not_finite(xp, name, v)
               for v, name in ((class_weight, "class_weight"), (weight, "weight")))


def linear_cross_entropy(hidden: Any, classifier: Any, labels: Any, *, bias: Any = None, class_weight: Any = None,
                         ignore_index: int | None = -100, label_smoothing: float = 0.0, softcap: float | None = None,
                         z_loss: float = 0.0, chunk_size: int | None = None, weight: Any = None,
                         reduction: str = "mean") -> Any:
    if not _plain(hidden, classifier, labels, bias, class_weight, weight):
        return NotImplemented
    # the reference's checks, in its order
    smoothing = classes.smoothing(label_smoothing)
    ignore = classes.ignore_index(ignore_index)
    cap = softcap_value(softcap)
    z = z_loss_value(z_loss)
    reduction = checks.reduction(reduction)
    rows = chunk_rows(chunk_size)
    grad_on = torch.is_grad_enabled()
    if grad_on and any(v is not None and v.requires_grad for v in (class_weight, weight)):
        return NotImplemented  # their gradients are the reference path's
    if ignore is not None and not -(2**63) <= ignore < 2**63:
        return NotImplemented  # no int64 label can equal it, and torch refuses to compare
    if _invalid(labels, classifier.shape[0], ignore, class_weight, weight):
        return NotImplemented
    if reduction == "sum" and reducing.is_counting():
        count = _batch(hidden, classifier, bias, labels, class_weight, weight, ignore).kept_weight()
        reducing.record(xp, count, count)
    options = _Options(ignore, smoothing, cap, z, chunk_size, rows, reduction)
    needs = (hidden.requires_grad, classifier.requires_grad, bias is not None and bias.requires_grad)
    if not (grad_on and any(needs)):
        with torch.no_grad():
            return _gradients(options, (False, False, False), hidden, classifier, bias, labels, class_weight,
                              weight)[0]
    return _LinearCrossEntropy.apply(options, needs, hidden, classifier, bias, labels, class_weight,  # type: ignore[no-untyped-call]
                                     weight)
