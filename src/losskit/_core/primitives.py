"""Numerically stable building blocks, written once against the array API.

Each is finite, with a finite gradient, for every finite input: logits of +-1e4 included.
Where a branch is selected with ``where``, the branch *not* taken is also kept finite, because
autograd multiplies its derivative by zero and ``0 * inf`` is NaN.
"""

from __future__ import annotations

from array_api_compat import device, is_jax_namespace, is_torch_namespace

from .backend import Array, Namespace


def logaddexp(xp: Namespace, a: Array, b: Array | float) -> Array:
    """``log(exp(a) + exp(b))``, with finite first *and second* derivatives everywhere.

    ``max(a, b) + log1p(exp(-|a - b|))``: the exponent is never positive, so nothing overflows on
    any branch. ``torch.logaddexp``'s double backward divides infinities (NaN) once ``|a - b|``
    exceeds the exponent range, or where one side is ``-inf``.
    """
    a_larger = a > b
    gap = xp.where(a_larger, b - a, a - b)  # -|a - b|, with the derivative of the branch taken at a tie
    return xp.where(a_larger, a, b) + xp.log1p(xp.exp(gap))


def softplus(xp: Namespace, x: Array) -> Array:
    """``log(1 + exp(x))`` (see :func:`logaddexp`)."""
    return logaddexp(xp, x, 0.0)


def log_sigmoid(xp: Namespace, x: Array) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(xp, -x)


def sigmoid(xp: Namespace, x: Array) -> Array:
    """``1 / (1 + exp(-x))`` to full relative precision on both tails (``exp(log_sigmoid)`` is not)."""
    z = xp.exp(-xp.abs(x))  # in (0, 1]: nothing overflows on either branch
    return xp.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def softmax(xp: Namespace, x: Array, axis: int) -> Array:
    """``exp(x) / sum(exp(x))`` to full relative precision; ``exp(log_softmax)`` loses
    ``ulp(x)`` of it (3e-4 relative at logits of 1e4 in float32)."""
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _first_max_index(xp: Namespace, x: Array, axis: int) -> Array:
    """Index of the first maximum along ``axis`` (kept as an axis of size 1); a NaN counts as the
    maximum, as in ``argmax``."""
    classes = x.shape[axis]
    if is_jax_namespace(xp) and classes < 2 ** (xp.finfo(x.dtype).nmant + 1):
        # XLA's CPU argmax is a two-operand reduction that runs an element at a time, several times
        # slower than a max; the least index that holds the maximum (or a NaN), taken as a float
        # min, is the same index and vectorises.
        shape = [1] * x.ndim
        shape[axis] = classes
        index = xp.reshape(xp.arange(classes, dtype=x.dtype, device=device(x)), tuple(shape))
        peak = (x == xp.max(x, axis=axis, keepdims=True)) | xp.isnan(x)
        first = xp.min(xp.where(peak, index, float(classes)), axis=axis, keepdims=True)
        return xp.astype(first, xp.int32)
    return xp.argmax(x, axis=axis, keepdims=True)


def _first_max(xp: Namespace, x: Array, axis: int) -> tuple[Array, Array]:
    """The first maximum along ``axis`` (one per slice, also with ties): its index, kept as an
    axis of size 1, and its boolean mask."""
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    classes = xp.reshape(xp.arange(x.shape[axis], device=device(x)), tuple(shape))
    index = _first_max_index(xp, x, axis)
    return index, classes == index


def _shifted_logsumexp(xp: Namespace, x: Array, axis: int) -> tuple[Array, Array, Array, Array]:
    """``(index, top, m, r)`` with ``logsumexp(x) = m + r``: ``m`` the maximum, at ``index`` and
    selected by the mask ``top``, and ``r = log1p(sum of the others' exp(x - m))``.

    The maximum's term is exactly 1, so ``log p`` of it is ``-r``, to full relative precision also
    where it holds almost all the mass (``log(1 + rest)`` would round it to 0). ``m`` is the
    maximum *element*, taken by index, so that the gradient is exact for any choice among ties.
    """
    index, top = _first_max(xp, x, axis)
    shift = _index_along(xp, x, index, axis)
    # A slice that is entirely -inf has shift -inf, and x - shift would be NaN; a NaN shift (NaN
    # logits, which argmax ranks first) must stay, to propagate.
    empty = shift == -xp.inf  # every term is exp(-inf) = 0
    shift = xp.where(empty, 0.0, shift)
    # Python scalars, not filled arrays, as where's constants: no array of x's size to allocate and fill.
    rest = xp.sum(xp.where(top, 0.0, xp.exp(x - shift)), axis=axis, keepdims=True)
    return index, top, shift, xp.where(empty, -xp.inf, xp.log1p(rest))


def logsumexp(xp: Namespace, x: Array, axis: int, keepdims: bool = False) -> Array:
    """``log(sum(exp(x), axis))``, accurate to the last bits (see :func:`_shifted_logsumexp`)."""
    _, _, shift, r = _shifted_logsumexp(xp, x, axis)
    out = shift + r
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(xp: Namespace, x: Array, axis: int) -> Array:
    # The top class's log p is -r exactly, not a difference of large numbers; its x - m is set to
    # 0 rather than computed, so that its gradient is not a sum of +1 and -1 that rounds away the
    # tiny true value. (x - shift is computed anew, not shared with the log-sum-exp: sharing it
    # would sum the gradient of the shift in another order, changing its last bits.)
    _, top, shift, r = _shifted_logsumexp(xp, x, axis)
    return xp.where(top, 0.0, x - shift) - r


def log_softmax_at(xp: Namespace, x: Array, index: Array, axis: int) -> Array:
    """``take(log_softmax(x), index, axis)``, value and gradient to the bit, without the other
    classes' log-probabilities: the gradient needs no array of ``x``'s size for them."""
    first, _, shift, r = _shifted_logsumexp(xp, x, axis)
    first, shift, r = (xp.squeeze(v, axis=axis) for v in (first, shift, r))
    picked = take(xp, x, index, axis)
    top = xp.astype(index, first.dtype) == first
    return xp.where(top, 0.0, picked - shift) - r


def log1m_softmax(xp: Namespace, x: Array, axis: int) -> Array:
    """``log(1 - softmax(x))`` along ``axis``, accurate where a probability is close to 1.

    For the top class, ``1 - p`` is the rivals' share, a log-sum-exp that leaves the top out: exact
    and finite even where ``p`` rounds to 1. Every other class has ``p <= 1/2``, where
    ``log1p(-p)`` is accurate.
    """
    _, top, shift, r = _shifted_logsumexp(xp, x, axis)
    _, _, rival_shift, rival_r = _shifted_logsumexp(xp, xp.where(top, -xp.inf, x), axis)
    # Differences of logits before the small terms: the log-sum-exps themselves (m + r) would round
    # to an ulp of the logits, 1e-3 at 1e4 in float32, and exp of that is 3e-4 off.
    # p of the top class may be 1: it is kept out of log1p, whose gradient would be infinite there.
    p = xp.where(top, 0.0, xp.exp(xp.where(top, 0.0, x - shift) - r))
    return xp.where(top, (rival_shift - shift) + (rival_r - r), xp.log1p(-p))


def log_prob(xp: Namespace, p: Array, floor: float) -> Array:
    """``log(p)`` for a probability, with ``p`` clipped below at ``floor`` so that ``log(0)`` is finite.

    The clip is a ``where``, not ``clip``: JAX differentiates ``clip`` by multiplying the upstream
    gradient ``w / floor`` (infinite once a weight ``w`` exceeds 4) by 0, which is NaN; ``where``
    selects the 0.
    """
    return xp.log(xp.where(p < floor, floor, p))


def log1m_prob(xp: Namespace, p: Array, floor: float) -> Array:
    """``log(1 - p)`` for a probability, accurate near 0 and 1, with ``1 - p`` clipped at ``floor``.

    ``1 - p`` is exact for ``p >= 1/2`` (Sterbenz), so ``log(1 - p)`` is accurate there and can be
    clipped exactly like :func:`log_prob`; below 1/2, ``log1p(-p)`` keeps the digits of small ``p``.
    Clipping ``1 - p`` (not ``p``) at the same floor makes ``BCE(p=1, y=0) == BCE(p=0, y=1)`` exactly.
    """
    small = p < 0.5
    near_zero = xp.log1p(-xp.where(small, p, 0.0))
    near_one = log_prob(xp, 1 - xp.where(small, 0.0, p), floor)
    return xp.where(small, near_zero, near_one)


def _index(xp: Namespace, index: Array) -> Array:
    if is_torch_namespace(xp) and index.dtype != xp.int64:  # torch gathers with int64 only
        return xp.astype(index, xp.int64)
    return index


def _index_along(xp: Namespace, x: Array, index: Array, axis: int) -> Array:
    """``x[..., index, ...]`` along ``axis`` for an index array of ``x``'s shape with ``axis`` of size 1."""
    return xp.take_along_axis(x, _index(xp, index), axis=axis)


def take(xp: Namespace, x: Array, index: Array, axis: int) -> Array:
    """``x[..., index, ...]`` along ``axis`` for an index array of ``x``'s shape without ``axis``."""
    return xp.squeeze(_index_along(xp, x, xp.expand_dims(index, axis=axis), axis), axis=axis)


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


def safe_sqrt(xp: Namespace, x: Array) -> Array:
    """``sqrt(x)`` for ``x >= 0`` with gradient 0 (a subgradient) at 0, where ``sqrt'`` is infinite."""
    positive = x > 0
    # The untaken branch must stay finite too: sqrt'(0) * 0 is NaN.
    return xp.where(positive, xp.sqrt(xp.where(positive, x, 1.0)), 0.0)


def binary_scale(xp: Namespace, peak: Array) -> Array:
    """The power of two at or below ``peak > 0`` (1 where ``peak`` is 0), with gradient 0.

    Dividing by it is exact, so a computation on the scaled values gives the unscaled result to the
    last bit wherever that does not overflow or underflow; ``floor`` carries no gradient.
    """
    positive = peak > 0
    return 2.0 ** xp.floor(xp.log2(xp.where(positive, peak, 1.0)))


def norm(xp: Namespace, x: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """Euclidean norm along ``axis``, with gradient 0 at the zero vector.

    Scaled by a power of two near the largest magnitude, so the squares neither overflow nor
    underflow: the norm of ``1e200`` in float64 or ``1e30`` in float32 is finite, that of ``1e-200``
    not 0; elsewhere it is ``sqrt(sum(x**2))`` to the last bit.
    """
    if x.shape[axis] == 0:  # max has no identity: the norm of an empty vector is 0
        return xp.sum(x, axis=axis, keepdims=keepdims)
    peak = xp.max(xp.abs(x), axis=axis, keepdims=True)
    nonzero = peak > 0
    scale = binary_scale(xp, peak)
    unit = x / scale
    # The sum is at least 1 where the vector is not zero; 1 elsewhere keeps sqrt' finite there.
    squares = xp.where(nonzero, xp.sum(unit * unit, axis=axis, keepdims=True), 1.0)
    out = xp.where(nonzero, scale * xp.sqrt(squares), 0.0)
    return out if keepdims else xp.squeeze(out, axis=axis)
