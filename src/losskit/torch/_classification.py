"""Torch fast paths of the classification losses.

Each declines (returns ``NotImplemented``) what it does not handle exactly like the reference path
(a ``weight``, dtypes other than float32/float64, an empty batch, options the kernel lacks): the
reference path takes those, and raises every error.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp
import torch
import torch.nn.functional as F

from .._core import checks, classes
from .._core.primitives import lookup
from ._fused import FLOATS, plain_pair

Tensor = torch.Tensor


def binary_cross_entropy(pred: Any, target: Any, *, from_logits: bool = False, pos_weight: Any = None,
                         label_smoothing: float = 0.0, weight: Any = None, reduction: str = "mean") -> Any:
    # Probabilities go to the reference path: torch floors log p at -100, losskit at log(tiny).
    if not (from_logits and pos_weight is None and label_smoothing == 0.0 and plain_pair(pred, target, weight)):
        return NotImplemented
    reduction = checks.reduction(reduction)
    checks.finite(xp, "target", target)
    checks.within(xp, "target", target, 0.0, 1.0)
    return F.binary_cross_entropy_with_logits(pred, target, reduction=reduction)


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
    keep = target != ignore if ignore is not None else None
    bad = (target < 0) | (target >= num_classes)
    if checks.any_true(xp, bad if keep is None else bad & keep):
        return NotImplemented  # the reference path raises, naming the label
    if class_weight is not None:
        invalid = ~((class_weight >= 0) & class_weight.isfinite())
        if class_weight.shape != (num_classes,) or checks.any_true(xp, invalid):
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
    if reduction != "mean":
        return loss
    # torch's "mean" is NaN when every label is ignored; losskit's is 0 (docs/conventions.md).
    if class_weight is None:
        count = loss.new_tensor(target.numel()) if keep is None else keep.sum().to(loss.dtype)
    else:
        safe = target if keep is None else torch.where(keep, target, torch.zeros_like(target))
        shares = lookup(xp, class_weight, safe)
        count = (shares if keep is None else shares * keep).sum()
    return loss / torch.where(count == 0, torch.ones_like(count), count)
