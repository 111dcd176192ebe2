"""Torch fast paths of the autoencoder losses: fused KL, Jensen-Shannon and Gaussian KL; native reconstruction.

``kl_divergence`` and ``gaussian_kl`` have gradients that are cheap to compute from the inputs (a
multiple of the target; ``expm1(log_var)``, which the forward pass computes anyway and keeps as
the gradient's storage): their forward pass computes the value, and the backward pass the
gradients (:func:`recomputed`), so that at most one tensor of the inputs' size lives between the
two, where autograd on the formula keeps several and ``fused`` keeps one per gradient and writes a
second in the backward pass. ``js_divergence`` keeps its gradients from the forward pass
(:func:`fused`), where its logarithms are at hand. The loops run over blocks of rows, so that the
temporaries have a bounded size. The value checks of ``kl_divergence`` also tell whether some
probability is 0 (or below the smallest normal number): where none is, its kernel skips the clip
and the mask of ``0 log 0``. ``reconstruction`` hands its error to torch's native element-wise losses.

Each declines (returns ``NotImplemented``) a ``weight``, dtypes other than float32/float64, an
empty batch and anything the reference path would refuse: the reference path takes those, and
raises every error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import array_api_compat.torch as xp
import torch
import torch.nn.functional as F

from .._core import checks
from .._core.inputs import Call
from ._fused import _reference_grads, fused, plain_pair

Tensor = torch.Tensor
Value = Callable[..., tuple[Tensor, tuple[Tensor, ...]]]
"""``kernel(*tensors, keep, **options) -> (loss, kept)``: the loss's value, computed without autograd,
and, where ``keep`` is set (a backward pass will follow), tensors for the gradient to reuse."""
Gradient = Callable[..., Sequence[Tensor | None]]
"""``gradient(upstream, wanted, kept, *tensors, **options) -> grads``: the gradients of
``sum(upstream * loss)`` in the tensors whose flag in ``wanted`` is set (``None`` for the others).
``kept`` is the kernel's, which the gradient may overwrite (e.g. scale in place and return), or
``None`` in a second backward pass (``retain_graph=True``), which computes everything again."""

_BLOCK = 1 << 22
"""Elements per block of a loop (16 MiB of float32): temporaries of a bounded size, in few operations
(each one forks and joins the threads, which costs much on a busy machine)."""


# ---------------------------------------------------------------- recomputed gradients


class _Recomputed(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, kernel: Value, gradient: Gradient, name: str, n_grad: int,
                options: tuple[tuple[str, Any], ...], *tensors: Tensor) -> Tensor:
        ctx.gradient, ctx.name, ctx.n_grad, ctx.options = gradient, name, n_grad, options
        ctx.n_tensors = len(tensors)
        ctx.save_for_backward(*tensors)
        with torch.autocast(tensors[0].device.type, enabled=False):
            loss, ctx.kept = kernel(*tensors, keep=True, **dict(options))
        return loss

    @staticmethod
    def backward(ctx: Any, upstream: Tensor) -> tuple[Tensor | None, ...]:
        tensors = ctx.saved_tensors
        head: tuple[None, ...] = (None,) * 5
        tail: tuple[None, ...] = (None,) * (ctx.n_tensors - ctx.n_grad)
        # The kernel's tensors serve one backward pass: not saved tensors, so that the gradient may
        # overwrite them, and dropped here, so that a second pass computes them again.
        kept, ctx.kept = ctx.kept, None
        if torch.is_grad_enabled():  # create_graph=True: differentiate the reference path instead
            return (*head, *_reference_grads(ctx.name, tensors, ctx.n_grad, ctx.options, upstream), *tail)
        wanted = ctx.needs_input_grad[len(head):len(head) + ctx.n_grad]
        with torch.autocast(upstream.device.type, enabled=False):
            return (*head, *ctx.gradient(upstream, wanted, kept, *tensors, **dict(ctx.options)), *tail)


def recomputed(kernel: Value, gradient: Gradient, name: str, tensors: Sequence[Tensor], options: dict[str, Any],
               *, n_grad: int) -> Any:
    """The loss ``name``: its value by ``kernel``, its gradients in the first ``n_grad`` tensors by ``gradient``.

    Unlike :func:`fused`, which keeps the gradients computed in the forward pass, this keeps the
    inputs and what the kernel chooses, and the backward pass computes the gradients from them; a
    kept tensor may become a gradient in place. Double backward runs the reference path. Returns
    ``NotImplemented`` when one of the other tensors requires a gradient.
    """
    if any(t.requires_grad for t in tensors[n_grad:]):
        return NotImplemented
    if not torch.is_grad_enabled() or not any(t.requires_grad for t in tensors[:n_grad]):
        with torch.no_grad(), torch.autocast(tensors[0].device.type, enabled=False):
            return kernel(*tensors, keep=False, **options)[0]
    return _Recomputed.apply(kernel, gradient, name, n_grad, tuple(options.items()), *tensors)  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------- shared pieces


def _axis(axis: Any, ndim: int) -> int | None:
    """``axis`` made non-negative, or ``None`` where the reference path refuses it."""
    if isinstance(axis, bool) or not isinstance(axis, int) or not -ndim <= axis < ndim:
        return None
    return axis % ndim


def _blocks(x: Tensor, ax: int, size: int | None = None) -> list[slice]:
    """Slices of the first axis of ``x`` (unless it is the summed axis ``ax``) of about ``size`` elements
    (default ``_BLOCK``)."""
    if ax == 0:
        return [slice(None)]
    rows = max(1, (size or _BLOCK) * x.shape[0] // x.numel())
    return [slice(i, i + rows) for i in range(0, x.shape[0], rows)]


def _summed(x: Tensor, ax: int) -> Tensor:
    """An empty tensor of the shape of ``x`` without the axis ``ax``, for per-example sums."""
    return x.new_empty(x.shape[:ax] + x.shape[ax + 1:])


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / loss.numel()


def _scale(upstream: Tensor, like: Tensor, ax: int, reduction: str) -> Tensor:
    """The upstream gradient of each example, broadcasting along ``ax`` of ``like``: ``d cost / d loss_i``."""
    if reduction == "none":
        return upstream.unsqueeze(ax)
    return upstream / (like.numel() // like.shape[ax]) if reduction == "mean" else upstream


# ---------------------------------------------------------------- kl_divergence


def _kl_kernel(pred: Tensor, target: Tensor, *, keep: bool, axis: int, log_pred: bool, log_target: bool,
               reduction: str, positive: bool = False) -> tuple[Tensor, tuple[()]]:
    """``positive``: no probability is below the smallest normal number (the checks saw it), so that
    no log needs clipping and no term is ``0 * inf``."""
    ax = axis % pred.ndim
    tiny = torch.finfo(pred.dtype).smallest_normal
    loss = _summed(pred, ax)
    for rows in _blocks(pred, ax):
        x, t = pred[rows], target[rows]
        log_p = x if log_pred else _log(x, tiny, positive)
        if log_target:
            y, term = torch.exp(t), torch.sub(t, log_p)
        else:
            y, term = t, _log(t, tiny, positive).sub_(log_p)
        term.mul_(y)
        if (log_pred or log_target) and not positive:
            # 0 log 0 = 0: a zero probability drops its term, also where a log is -inf (0 * inf is NaN)
            term = torch.where(y > 0, term, 0.0)
        torch.sum(term, dim=ax, out=loss[rows])
    return _reduce(loss, reduction), ()


def _log(p: Tensor, tiny: float, positive: bool) -> Tensor:
    """The reference's ``log(clip(p, tiny))``, without the clip where no ``p`` is below ``tiny``."""
    return torch.log(p) if positive else torch.clamp(p, min=tiny).log_()


def _kl_gradient(upstream: Tensor, wanted: tuple[bool, bool], kept: Any, pred: Tensor, target: Tensor, *, axis: int,
                 log_pred: bool, log_target: bool, reduction: str,
                 positive: bool = False) -> tuple[Tensor | None, Tensor | None]:
    ax = axis % pred.ndim
    tiny = torch.finfo(pred.dtype).smallest_normal
    scale = _scale(upstream, pred, ax, reduction)
    y = torch.exp(target) if log_target else target
    grad_pred = grad_target = None
    if wanted[0]:
        if log_pred:
            grad_pred = y * scale.neg()
        elif positive:
            grad_pred = torch.div(y, pred).mul_(scale.neg())
        else:  # -y / p, and 0 where p is clipped (log p is constant there)
            clipped = torch.clamp(pred, min=tiny)
            grad_pred = torch.div(y, clipped, out=clipped).mul_(scale.neg()).masked_fill_(pred < tiny, 0.0)
    if wanted[1]:
        log_p = pred if log_pred else _log(pred, tiny, positive)
        if log_target:  # d/dt e^t (t - log p) = y (t - log p + 1)
            grad_target = torch.sub(target, log_p).add_(1.0).mul_(y)
        else:  # d/dy y (log y - log p) = log y - log p + y d(log y)/dy
            grad_target = _log(target, tiny, positive).sub_(log_p).add_(target >= tiny)
        grad_target = grad_target.mul_(scale) if positive else torch.where(y > 0, grad_target.mul_(scale), 0.0)
    return grad_pred, grad_target


def _distribution_check(x: Tensor, ax: int, is_log: bool) -> tuple[bool, bool]:
    """Whether ``x`` passes the reference path's checks of a distribution (probabilities or their
    logs), and whether its probabilities are all at least the smallest normal number (logs: > -inf).

    In [0, 1] (NaN fails) or, for logs, <= 0; summing to 1 within the reference's tolerance. One
    read pass for the range and one for the sums, without a temporary of the size of ``x``.
    """
    low, high = torch.aminmax(x)
    ok = high <= 0.0 if is_log else (low >= 0.0) & (high <= 1.0)
    tolerance = math.sqrt(torch.finfo(x.dtype).eps * max(x.shape[ax], 1))
    # the sums of exp(x) a block at a time
    total = torch.cat([torch.exp(x[rows]).sum(dim=ax) for rows in _blocks(x, ax)]) if is_log else x.sum(dim=ax)
    positive = low > -math.inf if is_log else low >= torch.finfo(x.dtype).smallest_normal
    return bool(ok & ~((total - 1.0).abs() > tolerance).any()), bool(positive)


def _require_distributions(pred: Tensor, target: Tensor, ax: int, log_pred: bool, log_target: bool) -> None:
    """Under ``torch.compile`` with checks on: the reference path's checks of both distributions,
    compiled in as assertions (their results are unused, and left out of the compiled code)."""
    from ..autoencoder import _distribution

    call = Call(xp, pred, pred.dtype, pred.dtype, None, "none")
    _distribution(call, pred, ax, "pred", log_pred)
    _distribution(call, target, ax, "target", log_target)


def kl_divergence(pred: Any, target: Any, *, axis: int = -1, log_pred: bool = False, log_target: bool = False,
                  weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight) or (ax := _axis(axis, pred.ndim)) is None:
        return NotImplemented
    reduction = checks.reduction(reduction)
    kernel, gradient = _kl_kernel, _kl_gradient
    if checks.traced(xp):
        _require_distributions(pred, target, ax, bool(log_pred), bool(log_target))
    if checks.active(xp):
        valid_p, positive_p = _distribution_check(pred, ax, bool(log_pred))
        valid_y, positive_y = _distribution_check(target, ax, bool(log_target))
        if not (valid_p and valid_y):
            return NotImplemented  # the reference path raises, naming the argument
        if positive_p and positive_y:
            kernel, gradient = partial(_kl_kernel, positive=True), partial(_kl_gradient, positive=True)
    options = {"axis": axis, "log_pred": log_pred, "log_target": log_target, "reduction": reduction}
    return recomputed(kernel, gradient, "kl_divergence", (pred, target), options, n_grad=2)


# ---------------------------------------------------------------- js_divergence


def _js_kernel(pred: Tensor, target: Tensor, *, axis: int, reduction: str) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    ax = axis % pred.ndim
    tiny = torch.finfo(pred.dtype).smallest_normal
    loss = _summed(pred, ax)
    grads = torch.empty_like(pred), torch.empty_like(target)
    half = 0.5 / (loss.numel() if reduction == "mean" else 1)
    for rows in _blocks(pred, ax, _BLOCK // 4):  # smaller blocks: some eight temporaries live at once
        p, y = pred[rows], target[rows]
        m = torch.add(p, y).mul_(0.5)
        log_m = torch.clamp(m, min=tiny).log_()
        # log m's share of the gradient of both terms: -(p + y) / 2m = -1, or 0 where m is clipped
        shared = (m >= tiny).to(p.dtype)
        terms = []
        for x, grad in ((p, grads[0]), (y, grads[1])):
            present = x > 0
            ratio = torch.clamp(x, min=tiny).log_().sub_(log_m)
            terms.append(torch.where(present, ratio * x, 0.0))
            # the term's own share, where it is present: log x - log m + x d(log x)/dx
            own = torch.where(present, ratio.add_(x >= tiny), 0.0)
            torch.sub(own, shared, out=grad[rows]).mul_(half)
        torch.sum(terms[0].add_(terms[1]), dim=ax, out=loss[rows])
    return _reduce(loss.mul_(0.5), reduction), grads


def js_divergence(pred: Any, target: Any, *, axis: int = -1, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(pred, target, weight) or (ax := _axis(axis, pred.ndim)) is None:
        return NotImplemented
    reduction = checks.reduction(reduction)
    if checks.traced(xp):
        _require_distributions(pred, target, ax, False, False)
    if checks.active(xp) and not all(_distribution_check(x, ax, False)[0] for x in (pred, target)):
        return NotImplemented
    return fused(_js_kernel, "js_divergence", (pred, target), {"axis": axis, "reduction": reduction}, n_grad=2,
                 axes=(ax,))


# ---------------------------------------------------------------- gaussian_kl


_SERIES = (1 / 120, 1 / 24, 1 / 6, 0.5)
"""The coefficients of ``(e^v - 1 - v) / v^2 = 1/2 + v/6 + v^2/24 + v^3/120 + v^4/720``, from ``v^3`` down."""
_SMALL = 2.0**-10
"""Below it in size, ``e^v - 1 - v`` is the reference's Taylor series."""


def _excess(v: Tensor, expm1: Tensor, coefficients: Sequence[Tensor]) -> Tensor:
    """``e^v - 1 - v`` from ``expm1(v)``: the reference's Taylor series for ``|v| < 2^-10`` (where
    ``expm1(v) - v`` cancels), ``expm1(v) - v`` above. ``coefficients`` are ``_SERIES`` as 0-d tensors.

    The two are blended by a 0/1 mask made by arithmetic, not by ``where`` (whose kernel and the
    comparison's are several times slower than these): ``(|v| - 2^-10) 2^100 + 1`` clipped to
    [0, 1] is 1 where ``|v| >= 2^-10`` and 0 below, since ``|v| - 2^-10`` is 0 or at least an ulp of
    ``2^-10`` in size. The series runs on ``v`` masked to 0 where it is not used, so that no inf
    meets a 0.
    """
    large = torch.abs(v).sub_(_SMALL).mul_(2.0**100).add_(1.0).clamp_(0.0, 1.0)
    small = torch.addcmul(v, v, large, value=-1.0)
    series = torch.div(small, 720.0)
    for c in coefficients:  # Horner's rule, one fused multiply-add per term
        torch.addcmul(c, series, small, out=series)
    return series.mul_(small).mul_(small).addcmul_(torch.sub(expm1, v), large)


def _gaussian_kl_kernel(mean: Tensor, log_var: Tensor, *, keep: bool, axis: int,
                        reduction: str) -> tuple[Tensor, tuple[Tensor, ...]]:
    ax = axis % mean.ndim
    loss = _summed(mean, ax)
    # expm1(log_var) is also the gradient in log_var, up to a factor: kept, it is the gradient's storage
    kept = torch.empty_like(log_var) if keep and log_var.requires_grad else None
    coefficients = [torch.tensor(c, dtype=mean.dtype, device=mean.device) for c in _SERIES]
    # Smaller blocks: with the kept expm1, the four temporaries of a block stay below the backward
    # pass's peak (two gradients), where the autograd formula holds five tensors of the inputs' size.
    for rows in _blocks(mean, ax, _BLOCK // 8):
        mu, v = mean[rows], log_var[rows]
        expm1 = torch.expm1(v) if kept is None else torch.expm1(v, out=kept[rows])
        torch.sum(_excess(v, expm1, coefficients).addcmul_(mu, mu), dim=ax, out=loss[rows])
    return _reduce(loss.mul_(0.5), reduction), () if kept is None else (kept,)


def _gaussian_kl_gradient(upstream: Tensor, wanted: tuple[bool, bool], kept: tuple[Tensor, ...] | None, mean: Tensor,
                          log_var: Tensor, *, axis: int, reduction: str) -> tuple[Tensor | None, Tensor | None]:
    scale = _scale(upstream, mean, axis % mean.ndim, reduction)
    if not wanted[1]:
        return mean * scale, None
    # d/dv (e^v - 1 - v) / 2 = expm1(v) / 2, to full precision near v = 0 as the series is
    expm1 = kept[0] if kept else torch.expm1(log_var)
    return mean * scale if wanted[0] else None, expm1.mul_(scale * 0.5)


def gaussian_kl(mean: Any, log_var: Any, *, axis: int = -1, weight: Any = None, reduction: str = "mean") -> Any:
    if not plain_pair(mean, log_var, weight) or _axis(axis, mean.ndim) is None:
        return NotImplemented
    reduction = checks.reduction(reduction)
    checks.finite(xp, "log_var", log_var)
    return recomputed(_gaussian_kl_kernel, _gaussian_kl_gradient, "gaussian_kl", (mean, log_var),
                      {"axis": axis, "reduction": reduction}, n_grad=2)


# ---------------------------------------------------------------- reconstruction

_ELEMENTWISE: dict[str, Callable[..., Tensor]] = {
    "mse": F.mse_loss, "mae": F.l1_loss, "bce": F.binary_cross_entropy_with_logits,
}


def reconstruction(pred: Any, target: Any, *, kind: str = "mse", from_logits: bool = False, features: str = "sum",
                   weight: Any = None, reduction: str = "mean") -> Any:
    kind = checks.choice("kind", kind, tuple(_ELEMENTWISE))
    features = checks.choice("features", features, ("sum", "mean"))
    # Declined: from_logits with "mse" or "mae" (the reference path raises), and probabilities with
    # "bce" (torch floors log p at -100, losskit at log(tiny)).
    if bool(from_logits) != (kind == "bce") or not plain_pair(pred, target, weight) or pred.ndim == 0:
        return NotImplemented
    reduction = checks.reduction(reduction)
    checks.finite(xp, "target", target)
    if kind == "bce":
        checks.within(xp, "target", target, 0.0, 1.0)
    error = _ELEMENTWISE[kind]
    if reduction == "none":
        loss = error(pred, target, reduction="none")
        if pred.ndim == 1:
            return loss
        axes = tuple(range(1, pred.ndim))
        return loss.mean(dim=axes) if features == "mean" else loss.sum(dim=axes)
    if reduction == "mean" and features == "mean":
        return error(pred, target, reduction="mean")
    # the sum over examples of the sum over features, over the examples or the features for a mean
    total = error(pred, target, reduction="sum")
    if reduction == "sum":
        return total if features == "sum" else total / (pred.numel() // pred.shape[0])
    return total / pred.shape[0]
