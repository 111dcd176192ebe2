r"""Language-model losses: the cross-entropy of a linear classifier head over a large vocabulary.

A language model's output projection turns each token's hidden state into logits over the
vocabulary; with 8,192 tokens and a 128k vocabulary those logits are 4 GiB in float32, and their
gradient another 4 GiB -- the largest tensors of training. :func:`linear_cross_entropy` takes the
hidden states and the projection instead of the logits. Its reference path forms the logits (it
defines the numbers and runs on every backend); on torch tensors the fast path
(``losskit.torch._language``) takes the tokens in chunks and computes the loss and the gradients of
the hidden states, the projection and the bias in one pass, so no ``(tokens, vocabulary)`` array is
ever held: the extra memory is one chunk's logits.
"""

from __future__ import annotations

from typing import Any

from ._core import checks, classes
from ._core.backend import Array, dtype_name
from ._core.dispatch import fast_path
from ._core.inputs import Inputs, gather
from ._core.primitives import log_softmax, logsumexp, lookup, take
from ._core.registry import register

__all__ = ["linear_cross_entropy"]

CHUNK_TOKENS = 1024
"""Tokens per chunk of the torch fast path when ``chunk_size`` is not given. Fewer rows make the
matrix products slower (the gradient of the classifier is read and written once per chunk, which
costs more than the products themselves below a few hundred rows); more rows hold more logits."""


def chunk_rows(chunk_size: Any) -> int:
    """Tokens per chunk: ``chunk_size``, or :data:`CHUNK_TOKENS`."""
    if chunk_size is None:
        return CHUNK_TOKENS
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise TypeError(f"chunk_size must be an int or None, got {type(chunk_size).__name__} {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    return chunk_size


def softcap_value(value: Any) -> float | None:
    return None if value is None else checks.real("softcap", value, low=0.0, low_open=True)


def z_loss_value(value: Any) -> float:
    return checks.real("z_loss", value, low=0.0)


def _shapes(hidden: Array, classifier: Array, bias: Array | None, labels: Array) -> None:
    if hidden.ndim == 0:
        raise ValueError("hidden must have a feature axis (the last), got a 0-d array")
    features = hidden.shape[-1]
    if classifier.ndim != 2 or classifier.shape[1] != features:
        raise ValueError(f"classifier must have shape (V, {features}), one row of hidden's {features} features "
                         f"per class, got {tuple(classifier.shape)}")
    if bias is not None and tuple(bias.shape) != (classifier.shape[0],):
        raise ValueError(f"bias must have shape ({classifier.shape[0]},), one per class, got {tuple(bias.shape)}")
    if tuple(labels.shape) != tuple(hidden.shape[:-1]):
        raise ValueError(f"labels must have the shape of hidden without its feature axis, "
                         f"{tuple(hidden.shape[:-1])}; got {tuple(labels.shape)}")


@register("fused_linear_cross_entropy", "cut_cross_entropy", "lm_head_cross_entropy")
@fast_path("_language", counts=True)
def linear_cross_entropy(hidden: Array, classifier: Array, labels: Array, *, bias: Array | None = None,
                         class_weight: Array | None = None, ignore_index: int | None = -100,
                         label_smoothing: float = 0.0, softcap: float | None = None, z_loss: float = 0.0,
                         chunk_size: int | None = None, weight: Array | None = None,
                         reduction: str = "mean") -> Array:
    r"""Cross-entropy of the logits ``hidden @ classifier.T + bias``, without holding them (torch).

    .. math::
        z = h W^\top + b, \qquad
        \ell = -(1 - e)\, w_y \log p_y - \frac{e}{C} \sum_c w_c \log p_c
               + \lambda \,\big(\log \textstyle\sum_c e^{z_c}\big)^2, \qquad p = \mathrm{softmax}(z)

    :func:`sparse_categorical_cross_entropy` of the logits ``z`` (``from_logits=True``), with the
    same ``class_weight``, ``ignore_index``, ``label_smoothing`` and reduction, plus PaLM's
    auxiliary z-loss :math:`\lambda \log^2 Z` (``z_loss``), which keeps the softmax normaliser near
    1. With ``softcap=s`` the logits are first capped to ``s * tanh(z / s)`` (Gemma 2).

    On torch tensors the tokens are taken ``chunk_size`` at a time: each chunk's logits are formed,
    turned into the loss and the logits' gradient, and multiplied into the gradients of ``hidden``,
    ``classifier`` and ``bias`` at once, so the extra memory is one chunk's logits instead of all of
    them, and forward plus backward cost the three matrix products of the naive computation (with
    ``reduction="none"``, the backward call forms each chunk's logits again: four). The reference
    path (other backends, float16/bfloat16, a double backward) forms all logits.

    For a mean over data-parallel ranks or micro-batches, :func:`losskit.mean_parts` returns the
    ``"sum"`` (by the fast path) and the count :math:`\sum_i u_i\, w_{y_i}` over the kept tokens,
    and :func:`losskit.torch.distributed.global_mean` divides the sums over the ranks
    (``docs/conventions.md``, "Distributed training and gradient accumulation").

    Args:
      hidden: ``(..., H)`` hidden states, one per token.
      classifier: ``(V, H)`` output projection, one row per class (``torch.nn.Linear(H, V).weight``).
      labels: integer labels in ``[0, V)`` of ``hidden``'s shape without its last axis (the next
        tokens, already shifted).
      bias: optional ``(V,)`` bias of the projection.
      class_weight: optional ``(V,)`` non-negative weights :math:`w_c`.
      ignore_index: label whose tokens are ignored (padding, prompts): loss 0, gradient exactly 0,
        no share in the mean's denominator. ``None`` ignores nothing.
      label_smoothing: :math:`e \in [0, 1]`.
      softcap: ``None``, or :math:`s > 0` to cap the logits at :math:`\pm s` smoothly.
      z_loss: :math:`\lambda \ge 0`, the weight of :math:`\log^2 Z` per kept token (PaLM uses
        ``1e-4``); not multiplied by ``class_weight``.
      chunk_size: tokens per chunk of the torch fast path (default 1024: a chunk's logits are
        ``1024 * V`` values); the result does not depend on it beyond rounding.
      weight: optional non-negative weights of ``labels``'s shape, or broadcastable.
      reduction: ``"mean"`` divides by :math:`\sum_i u_i\, w_{y_i}` over the kept tokens (their
        number without weights); 0 when every token is ignored.

    Returns:
      The loss of ``labels``'s shape, or the 0-d cost.

    Equals ``F.cross_entropy(hidden @ classifier.T + bias, labels, weight=class_weight,
    ignore_index=..., label_smoothing=...)`` (where an all-ignored batch gives NaN instead of 0),
    Liger Kernel's ``LigerFusedLinearCrossEntropyLoss`` and Cut Cross-Entropy's
    ``linear_cross_entropy`` (``softcap`` and, in Liger, ``lse_square_scale`` for ``z_loss``).

    Reference: Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", ICLR 2025;
    Hsu et al., "Liger Kernel: Efficient Triton Kernels for LLM Training", 2024; Chowdhery et al.,
    "PaLM: Scaling Language Modeling with Pathways", JMLR 2023 (z-loss).

    Example:
      >>> import numpy as np, losskit
      >>> hidden = np.array([[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]])
      >>> classifier = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])  # 3 classes
      >>> labels = np.array([0, 2, -100])  # the last token is padding
      >>> round(float(losskit.linear_cross_entropy(hidden, classifier, labels)), 6)
      0.612401
    """
    smoothing = classes.smoothing(label_smoothing)
    ignore = classes.ignore_index(ignore_index)
    cap = softcap_value(softcap)
    z = z_loss_value(z_loss)
    floats = {"hidden": hidden, "classifier": classifier, **({} if bias is None else {"bias": bias})}
    call, arrays = gather(floats, weight=weight, reduction=reduction, others={"labels": labels})
    xp = call.xp
    h, w, y = arrays[0], arrays[1], arrays[-1]
    b = None if bias is None else arrays[2]
    if not xp.isdtype(y.dtype, "integral"):
        raise TypeError(f"labels must hold integer class labels, got dtype {dtype_name(y.dtype)}")
    _shapes(h, w, b, y)
    num_classes = w.shape[0]
    chunk_rows(chunk_size)  # only the torch fast path chunks; the argument is checked everywhere
    logits = xp.matmul(h, xp.permute_dims(w, (1, 0)))
    if b is not None:
        logits = logits + b
    if cap is not None:
        logits = cap * xp.tanh(logits / cap)
    a = Inputs(xp, call.like, call.dtype, call.out_dtype, call.weight, call.reduction, logits, y)
    ax = logits.ndim - 1
    safe, keep = classes.labels(a, ax, ignore)
    log_p = log_softmax(xp, logits, ax)
    loss = -take(xp, log_p, safe, ax)
    denominator = None
    if class_weight is None:
        if smoothing:
            loss = (1.0 - smoothing) * loss - smoothing / num_classes * xp.sum(log_p, axis=ax)
    else:
        cw = classes.vector(a, class_weight, num_classes, "class_weight")
        denominator = lookup(xp, cw, safe)
        loss = denominator * loss
        if smoothing:
            loss = (1.0 - smoothing) * loss + smoothing / num_classes * -xp.sum(cw * log_p, axis=ax)
    if z:
        lse = logsumexp(xp, logits, ax)
        loss = loss + z * (lse * lse)
    if keep is not None:
        zero = xp.zeros_like(loss)
        loss = xp.where(keep, loss, zero)
        denominator = xp.where(keep, xp.ones_like(loss) if denominator is None else denominator, zero)
    return a.finish(loss, denominator)
