"""Classes along an axis: integer labels, per-class vectors, label smoothing, ignored entries.

Shared by every loss whose prediction has a class axis (cross-entropies, focal, segmentation).
"""

from __future__ import annotations

from typing import Any

from . import checks
from .backend import Array
from .inputs import Call, Inputs


def ignore_index(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"ignore_index must be an int or None, got {value!r}")
    return value


def smoothing(value: Any) -> float:
    return checks.real("label_smoothing", value, low=0.0, high=1.0)


def vector(call: Call, value: Any, num_classes: int, name: str) -> Array:
    """A validated ``(C,)`` vector of non-negative per-class weights."""
    v = call.array(value, name)
    if tuple(v.shape) != (num_classes,):
        raise ValueError(f"{name} must have shape ({num_classes},), one per class, got {tuple(v.shape)}")
    checks.non_negative(call.xp, name, v)
    return v


def along(call: Call, vector: Array, axis: int, ndim: int) -> Array:
    """A per-class vector shaped to broadcast along ``axis`` of an ``ndim``-d prediction."""
    shape = [1] * ndim
    shape[axis] = vector.shape[0]
    return call.xp.reshape(vector, tuple(shape))


def labels_expected(num_classes: int, ignore: int | None) -> str:
    """What a label map must hold, as the errors say it (without the culprit)."""
    allowed = f" or ignore_index={ignore}" if ignore is not None else ""
    return f"target holds class labels in [0, {num_classes}){allowed}"


def labels(a: Inputs, axis: int, ignore: int | None = None) -> tuple[Array, Array | None]:
    """Validated integer labels, with ignored ones replaced by class 0, and the mask of kept ones."""
    xp = a.xp
    expected = tuple(s for i, s in enumerate(a.pred.shape) if i != axis)
    if tuple(a.target.shape) != expected:
        raise ValueError(
            f"target must have the shape of pred without its class axis {axis}, i.e. {expected}; "
            f"got {tuple(a.target.shape)}"
        )
    num_classes = a.pred.shape[axis]
    y = a.target
    # Bounds outside the label dtype's range are left out: no label can reach them, and strict
    # array libraries refuse to compare, e.g., uint8 labels with -100.
    info = xp.iinfo(y.dtype)
    valid = y >= 0
    if num_classes <= info.max:
        valid = valid & (y < num_classes)
    keep = None
    if ignore is not None and info.min <= ignore <= info.max:
        keep = y != ignore
        valid = valid | ~keep
    bad = ~valid
    message = labels_expected(num_classes, ignore)
    if checks.any_true(xp, bad, message):
        raise ValueError(f"{message}; found {checks.first(xp, y, bad)}")
    if keep is not None:
        y = xp.where(keep, y, xp.zeros_like(y))
    return y, keep
