"""Segmentation losses: the overlap between a predicted soft mask and the true mask.

Every loss here reduces a prediction of shape ``(N, C, *spatial)`` (classes along ``axis``, the
batch along axis 0) to per-class sums over the pixels of each image --
:math:`I = \\sum p\\,y` (soft true positives), :math:`P = \\sum p`, :math:`T = \\sum y` -- and
scores them. The per-class losses are averaged over the classes (weighted by ``class_weight``),
giving one loss per image; ``batch=True`` sums over the whole batch first, the usual choice when
foreground is rare and many images hold none of it.

The target is a mask of ``pred``'s shape (binary, one-hot or soft), or an integer label map
without the class axis (``mode="multiclass"``). ``mode="binary"`` treats every channel as its own
yes/no mask (sigmoid, multi-label); ``mode="multiclass"`` treats the channels as exclusive classes
(softmax over ``axis``).

``smooth`` (default ``1e-5``, as MONAI) is added to numerator and denominator: an image where
both the target and the prediction are empty scores a perfect overlap (loss 0), while an empty
target with a non-empty prediction costs close to 1. With ``smooth=0`` the empty-empty case is
defined as loss 0 as well, never NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._core import checks, classes, logprob
from ._core.backend import Array, Namespace, asarray, is_integer, namespace
from ._core.dispatch import fast_path
from ._core.inputs import Inputs, prepare
from ._core.primitives import one_hot, sigmoid, softmax
from ._core.registry import register

__all__ = ["dice", "dice_bce", "focal_tversky", "jaccard", "tversky"]


@dataclass(frozen=True)
class _Masks:
    """A segmentation call resolved: probabilities and targets with the class axis at 1."""

    a: Inputs
    p: Array
    """Probabilities, ``(N, C, *spatial)``, 0 where ignored."""
    y: Array
    """Targets in [0, 1] of ``p``'s shape, 0 where ignored."""
    keep: Array | None
    """1 for counted entries, 0 for ignored ones, broadcastable to ``p``; ``None`` if all count."""
    log_p: Array | None
    log_q: Array | None
    """``log p`` and (binary mode) ``log(1 - p)``, for the cross-entropy of :func:`dice_bce`."""

    def sums(self, x: Array, batch: bool) -> Array:
        """Sums of ``x`` over the pixels (and the batch): shape ``(N, C)``, or ``(C,)``."""
        axes = tuple(i for i in range(x.ndim) if i != 1 and (batch or i != 0))
        # torch sums over every axis when given an empty tuple of axes
        return self.a.xp.sum(x, axis=axes) if axes else x


def _masks(pred: Any, target: Any, *, mode: Any, from_logits: bool, axis: Any, ignore_index: Any, weight: Any,
           reduction: Any, batch: Any, logs: bool = False) -> _Masks:
    mode = checks.choice("mode", mode, ("binary", "multiclass"))
    ignore = classes.ignore_index(ignore_index)
    if not isinstance(batch, bool):
        raise TypeError(f"batch must be a bool, got {batch!r}")
    if batch and weight is not None:
        raise ValueError("weight holds one weight per image; with batch=True the loss is one number for the batch")
    xp = namespace(pred=pred, target=target)
    pred_ndim = asarray(pred, xp).ndim
    target = asarray(target, xp)
    labels = is_integer(xp, target.dtype) and target.ndim == pred_ndim - 1
    if labels and mode == "binary":
        raise ValueError("target is an integer label map (pred's shape without the class axis); "
                         "it needs mode='multiclass'")
    if axis is None:
        if mode == "multiclass":
            raise ValueError("mode='multiclass' needs a class axis; axis=None means one binary channel")
        a = prepare(pred, target, weight=weight, reduction=reduction)
        a = Inputs(a.xp, a.like, a.dtype, a.out_dtype, a.weight, a.reduction,
                   xp.expand_dims(a.pred, axis=1), xp.expand_dims(a.target, axis=1))
        ax = 1
    else:
        a = prepare(pred, target, weight=weight, reduction=reduction, labels=labels)
        ax = checks.axis(axis, a.pred.ndim)
    if ax == 0:
        raise ValueError("axis 0 is the batch axis; the class axis must be another one")
    if a.pred.ndim < 2:
        raise ValueError(f"pred must have a batch axis and a class axis, got shape {tuple(a.pred.shape)}")

    keep = None
    if labels:
        y_labels, kept = classes.labels(a, ax, ignore)
        y = one_hot(xp, y_labels, a.pred.shape[ax], ax, a.pred)
        if kept is not None:
            keep = xp.expand_dims(kept, axis=ax)
            y = y & keep  # an ignored pixel's placeholder label 0 must not count as class 0
        y = xp.astype(y, a.dtype)
    else:
        y = a.target
        if ignore is not None:
            keep = y != ignore
            y = xp.where(keep, y, xp.zeros_like(y))
        checks.within(xp, "target", y, 0.0, 1.0)

    # logprob checks probabilities; logits are turned into probabilities directly (not exp(log p),
    # which loses ulp(logit) of relative precision).
    log_p = log_q = None
    if mode == "binary":
        if logs:
            log_p, log_q = logprob.binary(a, from_logits)
        elif not from_logits:
            logprob.check_probabilities(a, a.pred)
        p = sigmoid(xp, a.pred) if from_logits else a.pred
    else:
        if logs:
            log_p = logprob.categorical(a, ax, from_logits)
        elif not from_logits:
            logprob.check_probabilities(a, a.pred, ax)
        p = softmax(xp, a.pred, ax) if from_logits else a.pred

    if keep is not None:
        keep = xp.astype(keep, a.dtype)
        p = p * keep
    # The class axis moves to 1 so that the sums are (N, C) whatever the layout.
    move = [0, ax, *(i for i in range(1, a.pred.ndim) if i != ax)]

    def to_front(x: Array | None) -> Array | None:
        return None if x is None else xp.permute_dims(x, tuple(move))

    keep_ = None
    if keep is not None:
        keep_ = xp.permute_dims(xp.broadcast_to(keep, tuple(a.pred.shape)), tuple(move))
    return _Masks(a, to_front(p), to_front(y), keep_, to_front(log_p), to_front(log_q))


def _ratio(xp: Namespace, num: Array, den: Array) -> Array:
    """``num / den``, and 1 (a perfect score) where ``den == 0``: the empty-empty case with ``smooth=0``."""
    empty = den <= 0
    return xp.where(empty, xp.ones_like(num), num / xp.where(empty, xp.ones_like(den), den))


def _smooth(value: Any) -> float:
    return checks.real("smooth", value, low=0.0)


def _class_mean(m: _Masks, loss: Array, class_weight: Any) -> Array:
    """Per-class losses ``(N, C)`` or ``(C,)`` averaged over the classes, weighted by ``class_weight``."""
    xp = m.a.xp
    if class_weight is None:
        return xp.mean(loss, axis=-1)
    cw = classes.vector(m.a, class_weight, loss.shape[-1], "class_weight")
    total = xp.sum(cw)
    if checks.any_true(xp, total <= 0, "class_weight must not be all zero"):
        raise ValueError("class_weight must not be all zero")
    return xp.sum(loss * cw, axis=-1) / total


Score = Callable[[Namespace, Array, Array, Array], Array]
"""``(xp, I, P, T) -> overlap score`` in [0, 1], 1 for a perfect prediction."""


def _overlap_loss(pred: Any, target: Any, score: Score, *, mode: Any, from_logits: bool, axis: Any,
                  squared: bool, batch: Any, class_weight: Any, ignore_index: Any, weight: Any, reduction: Any,
                  power: float = 1.0) -> Array:
    m = _masks(pred, target, mode=mode, from_logits=from_logits, axis=axis, ignore_index=ignore_index,
               weight=weight, reduction=reduction, batch=batch)
    xp = m.a.xp
    inter = m.sums(m.p * m.y, batch)
    p_sum = m.sums(m.p * m.p if squared else m.p, batch)
    y_sum = m.sums(m.y * m.y if squared else m.y, batch)
    # Rounding can leave 1 - score a hair below 0, where a fractional power is NaN.
    loss = xp.clip(1.0 - score(xp, inter, p_sum, y_sum), min=0.0)
    if power != 1.0:
        positive = loss > 0
        loss = xp.where(positive, xp.where(positive, loss, xp.ones_like(loss)) ** power, xp.zeros_like(loss))
    return m.a.finish(_class_mean(m, loss, class_weight))


_SHARED_ARGS = """      pred: probabilities, or logits with ``from_logits=True``; ``(N, C, *spatial)`` with classes
        along ``axis``, or ``(N, *spatial)`` with ``axis=None`` (one binary channel).
      target: a mask of ``pred``'s shape with values in [0, 1] (binary, one-hot or soft), or, with
        ``mode="multiclass"``, integer labels of ``pred``'s shape without ``axis``.
      mode: ``"binary"`` (each channel its own mask; sigmoid of logits) or ``"multiclass"``
        (exclusive classes; softmax of logits over ``axis``).
      from_logits: whether ``pred`` holds logits.
      axis: the class axis (``1``, channels first; ``-1`` for channels last), or ``None``.
      smooth: :math:`s \\ge 0`, added to numerator and denominator.
      batch: pool the sums over the whole batch (one loss for the batch) instead of per image.
      class_weight: optional ``(C,)`` non-negative weights of the per-class losses in their mean
        (``[0, 1, ..., 1]`` leaves out a background class 0).
      ignore_index: a label (or, for masks, a value) whose pixels count in neither the numerator
        nor the denominator.
      weight: optional ``(N,)`` weights of the images (not with ``batch=True``).
      reduction: ``"none"`` (one loss per image), ``"mean"`` or ``"sum"``; with ``batch=True``
        the loss is already one number."""


def _doc(fn: Any) -> Any:
    fn.__doc__ = fn.__doc__.replace("    Args:\n", "    Args:\n" + _SHARED_ARGS + "\n", 1)
    return fn


@register("dice_loss", "soft_dice", "f1_loss")
@fast_path("_segmentation")
@_doc
def dice(pred: Array, target: Array, *, mode: str = "binary", from_logits: bool = False, axis: int | None = 1,
         smooth: float = 1e-5, squared: bool = False, batch: bool = False, class_weight: Array | None = None,
         ignore_index: int | None = None, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Soft Dice loss, one minus the soft Sørensen-Dice coefficient (F1 score) of the masks.

    .. math:: \ell_c = 1 - \frac{2 \sum p\,y + s}{\sum p + \sum y + s}

    Insensitive to the share of the image the foreground covers, so a small organ weighs as much
    as a large one; but its gradient is unstable when the masks are small, which is why it is
    often paired with a cross-entropy (:func:`dice_bce`). ``squared=True`` uses
    :math:`\sum p^2 + \sum y^2` in the denominator (Milletari et al.'s V-Net form).

    Args:
      squared: the V-Net denominator.

    Returns:
      The loss of each image, ``(N,)``, or the 0-d cost.

    Equals MONAI's ``DiceLoss`` (``smooth_nr = smooth_dr = smooth``, ``squared_pred=squared``,
    ``batch=batch``, channels first). segmentation_models_pytorch's ``DiceLoss(smooth=s, eps=0)``
    (0.6) always pools the batch and smooths as :func:`tversky`: it is ``batch=True, smooth=2 s``
    here, for hard targets, except that smp gives a class absent from the batch's target loss 0
    even when it is predicted (no such free pass here). kornia's ``dice_loss`` has ``s = 0``, adds
    ``eps`` to the denominator only and leaves classes absent from an image out of its mean;
    keras' ``dice`` pools the batch and the channels (``s = 0``); ``optax.dice_loss(smooth=s)`` is
    ``smooth=2 s`` here.

    Reference: Milletari, Navab & Ahmadi, "V-Net", 3DV 2016; Sudre et al., DLMIA 2017.

    Example:
      >>> import numpy as np, losskit
      >>> p = np.array([[[0.9, 0.8, 0.1, 0.0]]])  # (N=1, C=1, 4 pixels)
      >>> y = np.array([[[1.0, 1.0, 0.0, 0.0]]])
      >>> round(float(losskit.dice(p, y, smooth=0)), 6)
      0.105263
    """
    s = _smooth(smooth)
    return _overlap_loss(pred, target, lambda xp, i, p, t: _ratio(xp, 2.0 * i + s, p + t + s), mode=mode,
                         from_logits=from_logits, axis=axis, squared=squared, batch=batch,
                         class_weight=class_weight, ignore_index=ignore_index, weight=weight, reduction=reduction)


@register("jaccard_loss", "iou_loss", "soft_iou")
@fast_path("_segmentation")
@_doc
def jaccard(pred: Array, target: Array, *, mode: str = "binary", from_logits: bool = False, axis: int | None = 1,
            smooth: float = 1e-5, squared: bool = False, batch: bool = False, class_weight: Array | None = None,
            ignore_index: int | None = None, weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Soft Jaccard (IoU) loss, one minus the soft intersection over union of the masks.

    .. math:: \ell_c = 1 - \frac{\sum p\,y + s}{\sum p + \sum y - \sum p\,y + s}

    Ranks predictions as Dice does (:math:`J = D / (2 - D)`) but penalises a poor overlap more;
    it is the soft form of the IoU metric reported for detection and segmentation.

    Args:
      squared: :math:`\sum p^2 + \sum y^2` in the denominator.

    Returns:
      The loss of each image, ``(N,)``, or the 0-d cost.

    Equals segmentation_models_pytorch's ``JaccardLoss(smooth=s, eps=0)`` with ``batch=True`` on
    hard targets of classes present in the batch (see :func:`dice`); MONAI's
    ``DiceLoss(jaccard=True)`` is :math:`1 - (2I + s)/(2(P + T - I) + s)`, i.e. ``smooth=s/2`` here.

    Reference: Rahman & Wang, "Optimizing Intersection-Over-Union in Deep Neural Networks for Image
    Segmentation", ISVC 2016.

    Example:
      >>> import numpy as np, losskit
      >>> p = np.array([[[0.9, 0.8, 0.1, 0.0]]])
      >>> y = np.array([[[1.0, 1.0, 0.0, 0.0]]])
      >>> round(float(losskit.jaccard(p, y, smooth=0)), 6)
      0.190476
    """
    s = _smooth(smooth)
    return _overlap_loss(pred, target, lambda xp, i, p, t: _ratio(xp, i + s, p + t - i + s), mode=mode,
                         from_logits=from_logits, axis=axis, squared=squared, batch=batch,
                         class_weight=class_weight, ignore_index=ignore_index, weight=weight, reduction=reduction)


def _tversky_score(alpha: Any, beta: Any, smooth: Any) -> Score:
    a = checks.real("alpha", alpha, low=0.0)
    b = checks.real("beta", beta, low=0.0)
    s = _smooth(smooth)
    # False positives sum p (1 - y) = P - I, false negatives sum (1 - p) y = T - I.
    return lambda xp, i, p, t: _ratio(xp, i + s, i + a * (p - i) + b * (t - i) + s)


@register("tversky_loss")
@fast_path("_segmentation")
@_doc
def tversky(pred: Array, target: Array, *, alpha: float = 0.5, beta: float = 0.5, mode: str = "binary",
            from_logits: bool = False, axis: int | None = 1, smooth: float = 1e-5, batch: bool = False,
            class_weight: Array | None = None, ignore_index: int | None = None, weight: Array | None = None,
            reduction: str = "mean") -> Array:
    r"""Tversky loss: an overlap loss that weighs false positives and false negatives apart.

    .. math::
        \ell_c = 1 - \frac{TP + s}{TP + \alpha\, FP + \beta\, FN + s},
        \quad TP = \sum p\,y,\; FP = \sum p\,(1 - y),\; FN = \sum (1 - p)\,y

    ``alpha = beta = 1/2`` is :func:`dice` with ``smooth=2 s``; ``alpha = beta = 1`` is :func:`jaccard`.
    ``beta > alpha`` trades precision for recall, the usual need with small lesions.

    Args:
      alpha: weight :math:`\alpha \ge 0` of the false positives.
      beta: weight :math:`\beta \ge 0` of the false negatives.

    Returns:
      The loss of each image, ``(N,)``, or the 0-d cost.

    Equals ``optax.dice_loss`` (``smooth=s``; its ``class_weights`` divide by :math:`C`, not by
    their sum), MONAI's ``TverskyLoss`` (``smooth_nr = smooth_dr = s``),
    segmentation_models_pytorch's ``TverskyLoss`` (``batch=True``, hard targets, as for
    :func:`dice`) and kornia's ``tversky_loss`` (which adds ``eps`` to the denominator only).
    keras' ``tversky`` pools the batch and weighs the false *negatives* by its ``alpha``: keras'
    ``(alpha=a, beta=b)`` is ``(alpha=b, beta=a)`` here.

    Reference: Salehi, Erdogmus & Gholipour, "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017.

    Example:
      >>> import numpy as np, losskit
      >>> p = np.array([[[0.9, 0.8, 0.1, 0.0]]])
      >>> y = np.array([[[1.0, 1.0, 0.0, 0.0]]])
      >>> round(float(losskit.tversky(p, y, alpha=0.3, beta=0.7, smooth=0)), 6)
      0.123711
    """
    return _overlap_loss(pred, target, _tversky_score(alpha, beta, smooth), mode=mode, from_logits=from_logits,
                         axis=axis, squared=False, batch=batch, class_weight=class_weight,
                         ignore_index=ignore_index, weight=weight, reduction=reduction)


@register("focal_tversky_loss")
@fast_path("_segmentation")
@_doc
def focal_tversky(pred: Array, target: Array, *, alpha: float = 0.3, beta: float = 0.7, gamma: float = 0.75,
                  mode: str = "binary", from_logits: bool = False, axis: int | None = 1, smooth: float = 1e-5,
                  batch: bool = False, class_weight: Array | None = None, ignore_index: int | None = None,
                  weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Focal Tversky loss: the Tversky loss raised to a power :math:`\gamma`.

    .. math:: \ell_c = \big(1 - TI_c\big)^{\gamma}

    with :math:`TI_c` the smoothed Tversky index of :func:`tversky`. :math:`\gamma < 1` raises
    the loss of classes that are already well segmented less than that of poor ones, but keeps
    their gradient large, so training keeps improving small structures. The paper writes the
    exponent :math:`1/\gamma` and recommends :math:`\gamma = 4/3`: the default ``0.75`` here.
    The gradient at a perfect overlap is taken as 0 (it is infinite for :math:`\gamma < 1`).

    Args:
      alpha, beta: as :func:`tversky`; defaults 0.3 and 0.7, the paper's.
      gamma: the exponent :math:`\gamma > 0`.

    Returns:
      The loss of each image, ``(N,)``, or the 0-d cost.

    segmentation_models_pytorch's ``TverskyLoss(gamma=gamma)`` raises the *mean* over the classes
    to :math:`\gamma`, not each class's loss: the two agree for one channel (with ``batch=True``,
    as for :func:`tversky`).

    Reference: Abraham & Khan, "A Novel Focal Tversky loss function with improved Attention U-Net
    for lesion segmentation", ISBI 2019.

    Example:
      >>> import numpy as np, losskit
      >>> p = np.array([[[0.9, 0.8, 0.1, 0.0]]])
      >>> y = np.array([[[1.0, 1.0, 0.0, 0.0]]])
      >>> round(float(losskit.focal_tversky(p, y, smooth=0)), 6)
      0.208597
    """
    g = checks.real("gamma", gamma, low=0.0, low_open=True)
    return _overlap_loss(pred, target, _tversky_score(alpha, beta, smooth), mode=mode, from_logits=from_logits,
                         axis=axis, squared=False, batch=batch, class_weight=class_weight,
                         ignore_index=ignore_index, weight=weight, reduction=reduction, power=g)


@register("dice_ce", "bce_dice", "dice_cross_entropy")
@fast_path("_segmentation")
@_doc
def dice_bce(pred: Array, target: Array, *, dice_weight: float = 1.0, bce_weight: float = 1.0,
             mode: str = "binary", from_logits: bool = False, axis: int | None = 1, smooth: float = 1e-5,
             batch: bool = False, class_weight: Array | None = None, ignore_index: int | None = None,
             weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Dice plus cross-entropy, the usual combined segmentation loss.

    .. math:: \ell = w_D\, \ell_{\text{dice}} + w_{CE}\, \overline{\ell_{\text{CE}}}

    where :math:`\overline{\ell_{\text{CE}}}` is the cross-entropy averaged over the image's
    counted pixels: binary cross-entropy (also over channels) in ``"binary"`` mode, categorical
    cross-entropy in ``"multiclass"`` mode. The cross-entropy gives every pixel a smooth,
    well-scaled gradient; Dice keeps rare classes from being ignored.

    Args:
      dice_weight: :math:`w_D \ge 0`.
      bce_weight: :math:`w_{CE} \ge 0`.

    Returns:
      The loss of each image, ``(N,)``, or the 0-d cost. With ``batch=True`` the cross-entropy
      is averaged over every pixel of the batch.

    Equals MONAI's ``DiceCELoss`` / ``DiceFocalLoss`` layout with ``lambda_dice``, ``lambda_ce``
    (MONAI averages the cross-entropy over the whole batch, i.e. ``batch=True`` here for the CE
    term) and segmentation_models_pytorch's habit of adding ``DiceLoss`` and ``SoftBCEWithLogitsLoss``.
    ``class_weight`` weighs the Dice term's classes only.

    Example:
      >>> import numpy as np, losskit
      >>> p = np.array([[[0.9, 0.8, 0.1, 0.0]]])
      >>> y = np.array([[[1.0, 1.0, 0.0, 0.0]]])
      >>> round(float(losskit.dice_bce(p, y, smooth=0)), 6)
      0.213729
    """
    wd = checks.real("dice_weight", dice_weight, low=0.0)
    wc = checks.real("bce_weight", bce_weight, low=0.0)
    s = _smooth(smooth)
    m = _masks(pred, target, mode=mode, from_logits=from_logits, axis=axis, ignore_index=ignore_index,
               weight=weight, reduction=reduction, batch=batch, logs=True)
    xp = m.a.xp
    inter, p_sum, y_sum = m.sums(m.p * m.y, batch), m.sums(m.p, batch), m.sums(m.y, batch)
    dice_loss = xp.clip(1.0 - _ratio(xp, 2.0 * inter + s, p_sum + y_sum + s), min=0.0)
    if m.log_q is not None:  # binary: every channel of every pixel is one yes/no decision
        ce = -(m.y * m.log_p + (1.0 - m.y) * m.log_q)
    else:
        ce = -xp.sum(m.y * m.log_p, axis=1, keepdims=True)
    keep = xp.ones_like(ce) if m.keep is None else m.keep[:, :ce.shape[1], ...]
    ce = xp.where(keep > 0, ce, xp.zeros_like(ce))
    axes = tuple(range(0 if batch else 1, ce.ndim))
    counted = xp.sum(keep, axis=axes)
    mean_ce = xp.sum(ce, axis=axes) / xp.where(counted > 0, counted, xp.ones_like(counted))
    return m.a.finish(wd * _class_mean(m, dice_loss, class_weight) + wc * mean_ce)
