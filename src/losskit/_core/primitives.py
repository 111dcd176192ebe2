"""Numerically stable building blocks, written once against the array API.

Each is finite, with a finite gradient, for every finite input: logits of +-1e4 included.
Where a branch is selected with ``where``, the branch *not* taken is also kept finite, because
autograd multiplies its derivative by zero and ``0 * inf`` is NaN.
"""

from __future__ import annotations

from array_api_compat import device, is_torch_namespace

from .backend import Array, Namespace


def softplus(xp: Namespace, x: Array) -> Array:
    """``log(1 + exp(x))``."""
    return xp.logaddexp(xp.zeros_like(x), x)


def log_sigmoid(xp: Namespace, x: Array) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(xp, -x)


def logsumexp(xp: Namespace, x: Array, axis: int, keepdims: bool = False) -> Array:
    """``log(sum(exp(x), axis))``, shifted by the maximum so that nothing overflows."""
    shift = xp.max(x, axis=axis, keepdims=True)
    # A slice that is entirely -inf has shift -inf, and x - shift would be NaN.
    shift = xp.where(xp.isfinite(shift), shift, xp.zeros_like(shift))
    out = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(xp: Namespace, x: Array, axis: int) -> Array:
    return x - logsumexp(xp, x, axis, keepdims=True)


def log_prob(xp: Namespace, p: Array, floor: float) -> Array:
    """``log(p)`` for a probability, with ``p`` clipped below at ``floor`` so that ``log(0)`` is finite."""
    return xp.log(xp.clip(p, min=floor))


def log1m_prob(xp: Namespace, p: Array, floor: float) -> Array:
    """``log(1 - p)`` for a probability, accurate near 0 and 1, with ``1 - p`` clipped at ``floor``.

    ``1 - p`` is exact for ``p >= 1/2`` (Sterbenz), so ``log(1 - p)`` is accurate there and can be
    clipped exactly like :func:`log_prob`; below 1/2, ``log1p(-p)`` keeps the digits of small ``p``.
    Clipping ``1 - p`` (not ``p``) at the same floor makes ``BCE(p=1, y=0) == BCE(p=0, y=1)`` exactly.
    """
    small = p < 0.5
    zero = xp.zeros_like(p)
    near_zero = xp.log1p(-xp.where(small, p, zero))
    near_one = log_prob(xp, 1 - xp.where(small, zero, p), floor)
    return xp.where(small, near_zero, near_one)


def _index(xp: Namespace, index: Array) -> Array:
    if is_torch_namespace(xp) and index.dtype != xp.int64:  # torch gathers with int64 only
        return xp.astype(index, xp.int64)
    return index


def take(xp: Namespace, x: Array, index: Array, axis: int) -> Array:
    """``x[..., index, ...]`` along ``axis`` for an index array of ``x``'s shape without ``axis``."""
    index = xp.expand_dims(_index(xp, index), axis=axis)
    return xp.squeeze(xp.take_along_axis(x, index, axis=axis), axis=axis)


def lookup(xp: Namespace, table: Array, index: Array) -> Array:
    """``table[index]`` for a 1-D ``table`` and an index array of any shape."""
    flat = xp.take(table, xp.reshape(_index(xp, index), (-1,)), axis=0)
    return xp.reshape(flat, tuple(index.shape))


def one_hot(xp: Namespace, labels: Array, num_classes: int, axis: int, like: Array) -> Array:
    """Boolean one-hot mask of ``labels`` with the class axis inserted at ``axis``."""
    shape = [1] * (labels.ndim + 1)
    shape[axis] = num_classes
    # The default integer dtype: a narrow label dtype may not hold every class index.
    classes = xp.arange(num_classes, device=device(like))
    return xp.expand_dims(labels, axis=axis) == xp.reshape(classes, tuple(shape))
