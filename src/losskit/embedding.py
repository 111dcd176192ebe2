r"""Embedding (metric-learning) losses: pull vectors of one class together, push other classes apart.

The model maps each example to a vector, its embedding; the event axis is the last one. Distances:

* ``"euclidean"``: :math:`\lVert x - y \rVert_2`, with gradient 0 (a subgradient) at ``x = y``;
* ``"squared_euclidean"``: :math:`\lVert x - y \rVert_2^2`;
* ``"cosine"``: :math:`1 - \cos(x, y)`, each norm floored so that a zero vector has cosine 0.

:func:`triplet` and :func:`contrastive` take the tuples (pairs) as given, one loss per tuple. The
in-batch losses :func:`batch_triplet` and :func:`info_nce` take a batch of embeddings with integer
class labels and form the tuples themselves, one loss per anchor; their ``"mean"`` divides by the
number of triplets or positive pairs, not of anchors.
"""

from __future__ import annotations

import math

from array_api_compat import device

from ._core import checks
from ._core.backend import Array, Namespace, dtype_name, is_integer
from ._core.dispatch import fast_path
from ._core.inputs import Call, gather
from ._core.primitives import binary_scale, logsumexp, norm, safe_sqrt, softplus
from ._core.registry import register

__all__ = ["batch_triplet", "contrastive", "info_nce", "triplet"]

DISTANCES = ("euclidean", "squared_euclidean", "cosine")
MININGS = ("all", "hard", "semi_hard")
AVERAGES = ("nonzero", "mined")


def _vectors(name: str, x: Array) -> None:
    if x.ndim == 0:
        raise ValueError(f"{name} must have a feature axis (the last), got a 0-d array")


def _matrix(name: str, x: Array) -> None:
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, D), one embedding per row, D >= 1; got {tuple(x.shape)}")


def _cosine_floor(call: Call) -> float:
    """optax's floor of a norm in its cosine similarity: the square root of the dtype's epsilon."""
    return math.sqrt(float(call.xp.finfo(call.dtype).eps))


def _unit(xp: Namespace, x: Array, floor: float) -> Array:
    """``x / max(|x|, floor)`` along the last axis."""
    return x / xp.clip(norm(xp, x, axis=-1, keepdims=True), min=floor)


def _paired(xp: Namespace, x: Array, y: Array, distance: str, eps: float, floor: float) -> Array:
    """The distance between ``x`` and ``y`` along the last axis; ``eps`` as torch's ``pairwise_distance``."""
    if distance == "cosine":
        return 1.0 - xp.sum(_unit(xp, x, floor) * _unit(xp, y, floor), axis=-1)
    diff = x - y
    if distance == "squared_euclidean":
        return xp.sum(diff * diff, axis=-1)
    return norm(xp, diff + eps if eps else diff, axis=-1)


def _diagonal(xp: Namespace, n: int, like: Array) -> Array:
    index = xp.arange(n, device=device(like))
    return xp.expand_dims(index, axis=1) == xp.expand_dims(index, axis=0)


def _gram(xp: Namespace, x: Array) -> Array:
    return xp.matmul(x, xp.permute_dims(x, (1, 0)))


def _distance_matrix(call: Call, x: Array, distance: str) -> Array:
    """``(N, N)`` distances between the rows of ``x``, exactly 0 on the diagonal."""
    xp = call.xp
    eye = _diagonal(xp, x.shape[0], x)
    zero = xp.zeros((x.shape[0], x.shape[0]), dtype=x.dtype, device=device(x))
    if distance == "cosine":
        u = _unit(xp, x, _cosine_floor(call))
        return xp.where(eye, zero, 1.0 - _gram(xp, u))
    # |x_i|^2 + |x_j|^2 - 2 x_i.x_j, on rows scaled by a power of two near the largest magnitude so that
    # no square overflows or underflows; rounding can make it slightly negative, hence the clip.
    scale = binary_scale(xp, xp.max(xp.abs(x)))
    y = x / scale
    sq = xp.sum(y * y, axis=1)
    squared = xp.clip(xp.expand_dims(sq, axis=1) + xp.expand_dims(sq, axis=0) - 2.0 * _gram(xp, y), min=0.0)
    squared = xp.where(eye, zero, squared)
    if distance == "squared_euclidean":
        return (scale * scale) * squared
    return scale * safe_sqrt(xp, squared)


def _pairs(call: Call, labels: Array, n: int) -> tuple[Array, Array]:
    """The masks of positive pairs (same label, not the anchor itself) and negative pairs."""
    xp = call.xp
    if not is_integer(xp, labels.dtype):
        raise TypeError(f"labels must hold integer class labels, got dtype {dtype_name(labels.dtype)}")
    if tuple(labels.shape) != (n,):
        raise ValueError(f"labels must have shape ({n},), one per embedding, got {tuple(labels.shape)}")
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(labels, axis=0)
    return same & ~_diagonal(xp, n, labels), ~same


def _need_positive_pair(xp: Namespace, positive: Array, loss: str) -> None:
    message = f"labels hold no two embeddings of one class: {loss} needs a positive pair in the batch"
    if checks.any_true(xp, ~xp.any(positive), message):
        raise ValueError(message)


def _empty(call: Call, x: Array) -> Array:
    """The ``(0,)`` loss of an empty batch, still connected to ``x`` for autograd."""
    return call.finish(0.0 * call.xp.sum(x, axis=-1))


@register("triplet_margin", "triplet_margin_loss", "triplet_loss")
@fast_path("_embedding")
def triplet(anchor: Array, positive: Array, negative: Array, *, margin: float = 1.0, distance: str = "euclidean",
            swap: bool = False, eps: float = 1e-6, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Triplet margin loss: the anchor must be closer to the positive than to the negative by ``margin``.

    .. math::
        \ell = \max\big(0,\; d(a, p) - d(a, n) + m\big)

    With ``swap=True`` (Balntas et al.'s distance swap), :math:`d(a, n)` becomes
    :math:`\min(d(a, n), d(p, n))`: the harder of the two negatives' distances.

    Args:
      anchor: embeddings ``(N, D)`` (any leading shape; the last axis is the feature axis).
      positive: embeddings of the anchors' class, of ``anchor``'s shape.
      negative: embeddings of other classes, of ``anchor``'s shape.
      margin: :math:`m \ge 0`.
      distance: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"`` (``1 - cosine similarity``).
      swap: use the distance swap.
      eps: :math:`\varepsilon \ge 0`. For ``"euclidean"`` it is added to the difference, as torch does:
        :math:`d(x, y) = \lVert x - y + \varepsilon \rVert_2`, so identical vectors are
        :math:`\varepsilon \sqrt{D}` apart; ``eps=0`` gives the exact distance (its gradient at
        ``x = y`` is 0). For ``"cosine"`` it floors each norm, as ``torch.nn.functional.cosine_similarity``
        (``eps=0``: the square root of the dtype's smallest normal number). Unused by ``"squared_euclidean"``.
      weight: optional non-negative weights of the loss's shape, e.g. ``(N,)``, or 0-d.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The loss of ``anchor``'s shape without its last axis, or the 0-d cost.

    Equals ``torch.nn.functional.triplet_margin_loss`` (``p=2``, same ``eps`` and ``swap``; torch
    refuses ``margin=0``) and, with ``distance="cosine"``, ``triplet_margin_with_distance_loss`` with
    ``1 - cosine_similarity``. ``optax.losses.triplet_margin_loss`` adds ``eps`` under the square root
    instead, :math:`\sqrt{\lVert x - y \rVert^2 + \varepsilon}`: both agree for ``eps=0`` and differ
    by up to :math:`\sqrt{\varepsilon}` (1e-3 for its default) otherwise.

    Reference: Balntas et al., "Learning local feature descriptors with triplets and shallow
    convolutional neural networks", BMVC 2016.

    Example:
      >>> import numpy as np, losskit
      >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[0.3, 0.4]]), np.array([[1.0, 0.0]])
      >>> losskit.triplet(a, p, n, eps=0.0, reduction="none").tolist()
      [0.5]
    """
    m = checks.real("margin", margin, low=0.0)
    e = checks.real("eps", eps, low=0.0)
    kind = checks.choice("distance", distance, DISTANCES)
    if not isinstance(swap, bool):
        raise TypeError(f"swap must be a bool, got {type(swap).__name__} {swap!r}")
    call, (a, p, n) = gather({"anchor": anchor, "positive": positive, "negative": negative},
                             weight=weight, reduction=reduction)
    _vectors("anchor", a)
    checks.same_shape(a, p, "positive", "anchor")
    checks.same_shape(a, n, "negative", "anchor")
    xp = call.xp
    floor = e if e > 0 else math.sqrt(call.eps)
    d_pos = _paired(xp, a, p, kind, e, floor)
    d_neg = _paired(xp, a, n, kind, e, floor)
    if swap:
        d_neg = xp.minimum(d_neg, _paired(xp, p, n, kind, e, floor))
    return call.finish(xp.clip(d_pos - d_neg + m, min=0.0))


@register("online_triplet", "triplet_mining", "batch_triplet_loss")
@fast_path("_embedding")
def batch_triplet(embeddings: Array, labels: Array, *, margin: float = 0.2, mining: str = "all",
                  distance: str = "euclidean", average: str = "nonzero", weight: Array | None = None,
                  reduction: str = "mean") -> Array:
    r"""Triplet margin loss over the triplets mined inside a labelled batch.

    .. math::
        \ell_a = \sum_{(p, n) \in T(a)} \max\big(0,\; d(a, p) - d(a, n) + m\big)

    for each anchor :math:`a`, over its mined triplets :math:`T(a)`, where :math:`p \ne a` has
    :math:`a`'s label and :math:`n` another one:

    * ``"all"``: every such :math:`(p, n)`;
    * ``"hard"`` (batch hard, Hermans et al.): one triplet, the farthest positive with the closest
      negative, :math:`\max(0, \max_p d(a, p) - \min_n d(a, n) + m)`;
    * ``"semi_hard"`` (FaceNet): every :math:`(p, n)` whose negative is farther than the positive but
      inside the margin, :math:`d(a, p) < d(a, n) < d(a, p) + m`: the triplets that still have a loss
      but not the hardest ones, whose gradients can collapse the embedding early in training.

    ``"mean"`` averages over the triplets with a positive loss (``average="nonzero"``, the default,
    as pytorch-metric-learning's ``AvgNonZeroReducer``: triplets already satisfied do not dilute the
    mean) or over every mined triplet (``average="mined"``); ``weight`` weighs each anchor's triplets.
    A batch without any counted triplet has mean 0.

    Memory is :math:`O(N^2)` for ``"hard"`` and :math:`O(N^3)` for ``"all"`` and ``"semi_hard"``.
    Pairwise distances come from the Gram matrix (:math:`|x|^2 + |y|^2 - 2 x \cdot y`, on embeddings
    scaled by a power of two so that no square overflows): cancellation leaves distances below about
    :math:`\sqrt{\epsilon}` times the embeddings' norm (1e-8 in float64, 3e-4 in float32) inexact.
    Distances are taken on the embeddings as given; normalise them first, or use
    ``distance="cosine"``, for distances on the unit sphere.

    Args:
      embeddings: ``(N, D)`` embeddings.
      labels: ``(N,)`` integer class labels, any integer dtype. A non-empty batch needs a positive
        pair and two classes (a ``ValueError`` otherwise, checked while value checks run).
      margin: :math:`m \ge 0`.
      mining: ``"all"``, ``"hard"`` or ``"semi_hard"``.
      distance: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"`` (norms floored at the square
        root of the dtype's epsilon).
      average: what ``"mean"`` divides by: ``"nonzero"`` or ``"mined"`` triplets.
      weight: optional ``(N,)`` non-negative weights of the anchors, or 0-d.
      reduction: ``"none"`` (each anchor's sum :math:`\ell_a`), ``"mean"`` or ``"sum"``.

    Returns:
      The ``(N,)`` loss of each anchor, or the 0-d cost.

    Equals pytorch-metric-learning's ``TripletMarginLoss`` (no miner for ``"all"``, ``BatchHardMiner``
    for ``"hard"``, ``TripletMarginMiner(type_of_triplets="semihard")`` with the same margin for
    ``"semi_hard"``) when given its distance: pml's default ``LpDistance()`` normalises the
    embeddings first, and its default margin is 0.05. pml's semi-hard window includes
    :math:`d(a, n) = d(a, p) + m`, where the loss is 0: only ``average="mined"`` can tell.

    References: Schroff et al., "FaceNet", CVPR 2015; Hermans et al., "In Defense of the Triplet
    Loss for Person Re-Identification", 2017.

    Example:
      >>> import numpy as np, losskit
      >>> x = np.array([[0.0, 0.0], [0.0, 0.5], [1.0, 0.0], [1.0, 0.3]])
      >>> y = np.array([0, 0, 1, 1])
      >>> losskit.batch_triplet(x, y, margin=1.0, mining="hard", reduction="none").round(6).tolist()
      [0.5, 0.480196, 0.3, 0.280196]
    """
    m = checks.real("margin", margin, low=0.0)
    mine = checks.choice("mining", mining, MININGS)
    kind = checks.choice("distance", distance, DISTANCES)
    count = checks.choice("average", average, AVERAGES)
    call, (x, y) = gather({"embeddings": embeddings}, weight=weight, reduction=reduction, others={"labels": labels})
    _matrix("embeddings", x)
    num = x.shape[0]
    positive, negative = _pairs(call, y, num)
    if num == 0:
        return _empty(call, x)
    xp = call.xp
    _need_positive_pair(xp, positive, "batch_triplet")
    message = "labels hold a single class: batch_triplet needs a negative (a second class) in the batch"
    if checks.any_true(xp, ~xp.any(negative), message):
        raise ValueError(message)
    d = _distance_matrix(call, x, kind)
    if mine == "hard":
        zero = xp.zeros_like(d)
        farthest = xp.max(xp.where(positive, d, zero), axis=1)
        # +inf where there is no negative: that anchor's violation is -inf, then masked out.
        closest = xp.min(xp.where(negative, d, xp.full_like(d, xp.inf)), axis=1)
        valid = xp.any(positive, axis=1) & xp.any(negative, axis=1)
        loss = xp.where(valid, xp.clip(farthest - closest + m, min=0.0), xp.zeros_like(farthest))
        counted = valid & (loss > 0) if count == "nonzero" else valid
        return call.finish(loss, xp.astype(counted, call.dtype))
    d_pos = xp.expand_dims(d, axis=2)  # [a, p, -]
    d_neg = xp.expand_dims(d, axis=1)  # [a, -, n]
    mined = xp.expand_dims(positive, axis=2) & xp.expand_dims(negative, axis=1)
    if mine == "semi_hard":
        mined = mined & (d_pos < d_neg) & (d_neg < d_pos + m)
    losses = xp.clip(d_pos - d_neg + m, min=0.0)
    losses = xp.where(mined, losses, xp.zeros_like(losses))
    counted = mined & (losses > 0) if count == "nonzero" else mined
    return call.finish(xp.sum(losses, axis=(1, 2)), xp.sum(xp.astype(counted, call.dtype), axis=(1, 2)))


@register("contrastive_loss", "siamese")
@fast_path("_embedding")
def contrastive(x1: Array, x2: Array, same: Array, *, margin: float = 1.0, distance: str = "euclidean",
                weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Contrastive loss of a pair: pull a similar pair together, push a dissimilar one beyond ``margin``.

    .. math::
        \ell = \tfrac12\, s\, d^2 + \tfrac12\,(1 - s) \max(0,\; m - d)^2, \qquad d = d(x_1, x_2)

    with :math:`s = 1` for a similar pair. The factor :math:`\tfrac12` is Hadsell et al.'s: the
    gradient of a similar pair is then :math:`d` itself. Dissimilar pairs farther apart than
    :math:`m` cost 0.

    Args:
      x1: embeddings ``(N, D)`` (any leading shape; the last axis is the feature axis).
      x2: embeddings of ``x1``'s shape.
      same: whether each pair is similar: bool, integer or floating 0/1, of ``x1``'s shape without
        its last axis.
      margin: :math:`m \ge 0`.
      distance: ``"euclidean"`` (gradient 0 at ``x1 = x2``), ``"squared_euclidean"`` or ``"cosine"``
        (norms floored at the square root of the dtype's epsilon).
      weight: optional non-negative weights of the loss's shape, e.g. ``(N,)``, or 0-d.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The loss of ``same``'s shape, or the 0-d cost.

    Without the :math:`\tfrac12` it is tensorflow-addons' ``contrastive_loss`` (``y_pred`` being the
    distance). Per pair it is half the square of pytorch-metric-learning's ``ContrastiveLoss``
    (``pos_margin=0``, ``neg_margin=m``), which reduces differently: the non-zero mean of the similar
    pairs plus that of the dissimilar ones.

    Reference: Hadsell, Chopra & LeCun, "Dimensionality Reduction by Learning an Invariant
    Mapping", CVPR 2006.

    Example:
      >>> import numpy as np, losskit
      >>> x1, x2 = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[0.6, 0.8], [0.3, 0.4]])
      >>> losskit.contrastive(x1, x2, np.array([1, 0]), reduction="none").round(6).tolist()
      [0.5, 0.125]
    """
    m = checks.real("margin", margin, low=0.0)
    kind = checks.choice("distance", distance, DISTANCES)
    call, (a, b, s) = gather({"x1": x1, "x2": x2}, weight=weight, reduction=reduction, others={"same": same})
    xp = call.xp
    _vectors("x1", a)
    checks.same_shape(a, b, "x2", "x1")
    checks.real_or_label_dtype(xp, "same", s)
    if tuple(s.shape) != tuple(a.shape[:-1]):
        raise ValueError(
            f"same must have the shape of x1 without its feature axis, {tuple(a.shape[:-1])}; got {tuple(s.shape)}"
        )
    if s.dtype != xp.bool:
        bad = ~((s == 0) | (s == 1))
        if checks.any_true(xp, bad, "same must hold 0 or 1 (or booleans)"):
            raise ValueError(f"same must hold 0 or 1 (or booleans), found {checks.first(xp, s, bad)}")
    s = xp.astype(s, call.dtype)
    d = _paired(xp, a, b, kind, 0.0, _cosine_floor(call))
    gap = xp.clip(m - d, min=0.0)
    return call.finish(0.5 * (s * (d * d) + (1.0 - s) * (gap * gap)))


@register("nt_xent", "ntxent", "infonce")
@fast_path("_embedding")
def info_nce(embeddings: Array, labels: Array, *, temperature: float = 0.07, weight: Array | None = None,
             reduction: str = "mean") -> Array:
    r"""InfoNCE / NT-Xent: each positive pair is a softmax classification against the anchor's negatives.

    .. math::
        \ell_a = \sum_{p \in P(a)} -\log \frac{e^{s_{ap}}}{e^{s_{ap}} + \sum_{n \in N(a)} e^{s_{an}}},
        \qquad s_{ij} = \cos(x_i, x_j) / \tau

    over the anchor's positives :math:`P(a)` (its label, itself excluded) and negatives
    :math:`N(a)` (other labels). ``"mean"`` divides by the number of positive pairs. A SimCLR batch
    of two views per image gives each image its own label. Computed as
    :math:`\mathrm{softplus}(\mathrm{logsumexp}_n s_{an} - s_{ap})`: stable for any temperature.
    An anchor without negatives costs 0; a non-empty batch needs a positive pair (a ``ValueError``
    otherwise, where optax returns NaN).

    Args:
      embeddings: ``(N, D)`` embeddings; norms are floored at the square root of the dtype's
        epsilon (optax's cosine similarity).
      labels: ``(N,)`` integer labels; equal labels mark positive pairs.
      temperature: :math:`\tau > 0`.
      weight: optional ``(N,)`` non-negative weights of the anchors, or 0-d.
      reduction: ``"none"`` (each anchor's sum :math:`\ell_a`), ``"mean"`` (over positive pairs)
        or ``"sum"``.

    Returns:
      The ``(N,)`` loss of each anchor, or the 0-d cost.

    The mean equals ``optax.losses.ntxent(embeddings, labels, temperature)`` and
    pytorch-metric-learning's ``NTXentLoss`` (whose cosine floors norms at 1e-12 instead).

    Reference: Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations"
    (SimCLR), ICML 2020; van den Oord et al., "Representation Learning with Contrastive Predictive
    Coding", 2018.

    Example:
      >>> import numpy as np, losskit
      >>> x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> round(float(losskit.info_nce(x, np.array([0, 0, 1, 1]), temperature=0.5)), 6)
      0.289878
    """
    t = checks.real("temperature", temperature, low=0.0, low_open=True)
    call, (x, y) = gather({"embeddings": embeddings}, weight=weight, reduction=reduction, others={"labels": labels})
    _matrix("embeddings", x)
    num = x.shape[0]
    positive, negative = _pairs(call, y, num)
    if num == 0:
        return _empty(call, x)
    xp = call.xp
    _need_positive_pair(xp, positive, "info_nce")
    u = _unit(xp, x, _cosine_floor(call))
    s = _gram(xp, u) / t
    has_negative = xp.any(negative, axis=1, keepdims=True)
    scores = xp.where(negative, s, xp.full_like(s, -xp.inf))
    # A row without negatives would be all -inf, whose log-sum-exp has an infinite gradient (log'(0)):
    # it is replaced by finite values, and its pairs' losses by 0.
    scores = xp.where(has_negative, scores, xp.zeros_like(s))
    lse = logsumexp(xp, scores, axis=1, keepdims=True)
    pairs = xp.where(positive & has_negative, softplus(xp, lse - s), xp.zeros_like(s))
    return call.finish(xp.sum(pairs, axis=1), xp.sum(xp.astype(positive, call.dtype), axis=1))
