"""What every torch fast path shares: which calls it may take, and fused forward + backward.

A *fused* loss computes its value and its gradient in one pass, in the forward call, and autograd
keeps only that gradient (plus references to the inputs, which the caller holds anyway). The
backward call is then one multiplication by the upstream gradient. Compared with autograd on the
reference formula, which saves every temporary of the forward pass and replays each operation's
derivative, this saves memory passes and peak memory; it is how fused cross-entropy kernels work.

A kernel is written as plain torch code, run under ``no_grad``, with the loss's signature::

    kernel(*tensors, **options) -> (loss, grads)

``loss`` is what the public function returns; ``grads`` holds, for each of the first ``n_grad``
tensors, the gradient of ``loss`` with respect to it -- of the reduced cost for ``"mean"`` and
``"sum"``, of each element's own loss for ``"none"`` (so the kernel of a loss that is not
separable per example must decline ``"none"``). ``axes`` names the axes of those tensors that a
``"none"`` loss has summed over (e.g. the class axis), so that the upstream gradient broadcasts.

Double backward (``create_graph=True``, e.g. a Hessian-vector product or a gradient penalty on
the loss) does not use the saved gradient, which is a constant: it runs the reference path on
the saved inputs and differentiates that, so higher derivatives are the reference path's.

Eagerly, backward scales the gradients in place and hands them over (a loss's own backward, whose
upstream gradient is 1, leaves them as they are on the CPU): the fused loss then costs one
gradient-sized buffer in all. A second backward through a retained graph runs the kernel again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._core.dispatch import REFERENCE

Tensor = torch.Tensor
FLOATS = (torch.float32, torch.float64)
Kernel = Callable[..., tuple[Tensor, Sequence[Tensor | None]]]
"""``kernel(*tensors, **options) -> (loss, grads)``, see the module's docstring."""


def plain_pair(pred: Any, target: Any, weight: Any) -> bool:
    """Same-shape, same-dtype float32/float64 tensors on one device, a non-empty batch, no weight."""
    return (
        weight is None
        and isinstance(pred, Tensor) and isinstance(target, Tensor)
        and pred.dtype in FLOATS and target.dtype == pred.dtype
        and pred.shape == target.shape and pred.device == target.device
        and pred.numel() > 0
    )


def float_tensors(*arrays: Any) -> bool:
    """Float32/float64 tensors of one dtype on one device, none of them empty."""
    first = arrays[0]
    return all(
        isinstance(a, Tensor) and a.dtype in FLOATS and a.dtype == first.dtype and a.device == first.device
        and a.numel() > 0
        for a in arrays
    )


class _Fused(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, kernel: Kernel, name: str, n_grad: int, axes: tuple[int, ...],
                options: tuple[tuple[str, Any], ...], *tensors: Tensor) -> Tensor:
        loss, grads = _run(kernel, tensors, dict(options))
        ctx.kernel, ctx.name, ctx.n_grad, ctx.options, ctx.n_tensors = kernel, name, n_grad, options, len(tensors)
        ctx.present = tuple(g is not None for g in grads)
        # Where a "none" loss summed over axes, the upstream gradient is viewed with those axes kept.
        ctx.keep = tuple(
            tuple(1 if i in {a % t.ndim for a in axes} else n for i, n in enumerate(t.shape))
            for t in tensors[:n_grad]
        )
        held = tuple(g for g in grads if g is not None)
        # Eagerly the gradients are held on ctx, not saved, so that backward can scale them in place
        # and hand them over: no second gradient-sized buffer and no pass to fill it. torch.compile
        # traces saved tensors only.
        ctx.traced = torch.compiler.is_compiling()
        ctx.save_for_backward(*tensors, *(held if ctx.traced else ()))
        ctx.held = None if ctx.traced else held
        return loss

    @staticmethod
    def backward(ctx: Any, upstream: Tensor) -> tuple[Tensor | None, ...]:
        saved = ctx.saved_tensors
        tensors = saved[:ctx.n_tensors]
        head: tuple[None, ...] = (None,) * 5
        tail: tuple[None, ...] = (None,) * (ctx.n_tensors - ctx.n_grad)
        if torch.is_grad_enabled():  # create_graph=True: differentiate the reference path instead
            return (*head, *_reference_grads(ctx.name, tensors, ctx.n_grad, ctx.options, upstream), *tail)
        if ctx.traced:
            grads, own = iter(saved[ctx.n_tensors:]), False
        else:
            held, ctx.held = ctx.held, None
            if held is None:  # a second backward through a retained graph finds them handed over
                held = tuple(g for g in _run(ctx.kernel, tensors, dict(ctx.options))[1] if g is not None)
            grads, own = iter(held), _distinct(held, tensors)
        # the upstream gradient of a loss's own backward is 1: on the CPU, reading it costs nothing
        unit = upstream.ndim == 0 and upstream.device.type == "cpu" and not ctx.traced and bool(upstream == 1.0)
        out: list[Tensor | None] = []
        for present, keep in zip(ctx.present, ctx.keep, strict=True):
            if not present:
                out.append(None)
                continue
            g = next(grads)
            factor = upstream if upstream.ndim == 0 else upstream.reshape(keep)
            out.append(g if unit else g.mul_(factor) if own else g * factor)
        return (*head, *out, *tail)


def _distinct(grads: Sequence[Tensor], tensors: Sequence[Tensor]) -> bool:
    """Whether the gradients may be scaled in place: contiguous (so no two elements share memory),
    none of them twice, and none an input."""
    return (all(g.is_contiguous() for g in grads) and len({id(g) for g in grads}) == len(grads)
            and not any(g is t for g in grads for t in tensors))


def _run(kernel: Kernel, tensors: Sequence[Tensor], options: dict[str, Any]) -> tuple[Tensor, Sequence[Tensor | None]]:
    # A loss is computed in its inputs' dtype: autocast would round a kernel's matrix products to
    # bfloat16/float16 (torch's own losses run in float32 under autocast too).
    with torch.autocast(tensors[0].device.type, enabled=False):
        return kernel(*tensors, **options)


def _reference_grads(name: str, tensors: Sequence[Tensor], n_grad: int, options: tuple[tuple[str, Any], ...],
                     upstream: Tensor) -> list[Tensor | None]:
    with torch.enable_grad():
        loss = REFERENCE[name](*tensors, **dict(options))
        wanted = [i for i, t in enumerate(tensors[:n_grad]) if t.requires_grad]
        found = torch.autograd.grad(loss, [tensors[i] for i in wanted], upstream, create_graph=True,
                                    allow_unused=True)
    out: list[Tensor | None] = [None] * n_grad
    for i, g in zip(wanted, found, strict=True):
        out[i] = g
    return out


def fused(kernel: Kernel, name: str, tensors: Sequence[Tensor], options: dict[str, Any], *, n_grad: int,
          axes: tuple[int, ...] = ()) -> Any:
    """The loss ``name`` by ``kernel``, differentiable in the first ``n_grad`` of ``tensors``.

    ``options`` are the keyword arguments of the call, passed to the kernel and, for a double
    backward, to the reference path. Returns ``NotImplemented`` (the reference path takes the
    call) when one of the other tensors (targets, labels) requires a gradient.
    """
    if any(t.requires_grad for t in tensors[n_grad:]):
        return NotImplemented
    if not torch.is_grad_enabled() or not any(t.requires_grad for t in tensors[:n_grad]):
        with torch.no_grad():
            return _run(kernel, tensors, options)[0]
    return _Fused.apply(kernel, name, n_grad, axes, tuple(options.items()), *tensors)  # type: ignore[no-untyped-call]
