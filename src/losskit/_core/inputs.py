"""The first and last steps of every loss: arguments in, cost out.

:func:`prepare` (for ``pred, target``) and :func:`gather` (for any other array arguments) validate
what every loss shares and resolve the namespace and the compute dtype; :meth:`Call.finish` applies
``weight`` and ``reduction`` and returns the result in the caller's dtype. Between the two, a loss
body is its formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import checks
from .backend import Array, Namespace, asarray, compute_dtype, is_floating, namespace, tiny
from .reduction import reduce


@dataclass(frozen=True)
class Call:
    """What one loss call has resolved: its namespace, dtypes, weight and reduction."""

    xp: Namespace
    like: Array
    """An argument array: other arrays are created on its device and checked against its library."""
    dtype: Any
    """The compute dtype: the inputs' floating dtype, at least float32."""
    out_dtype: Any
    weight: Array | None
    reduction: str

    @property
    def eps(self) -> float:
        """The clipping epsilon of the compute dtype (see :func:`losskit._core.backend.tiny`)."""
        return tiny(self.xp, self.dtype)

    def array(self, value: Any, name: str) -> Array:
        """A hyper-parameter array (class weights, ...) in this call's namespace and compute dtype."""
        namespace(pred=self.like, **{name: value})  # refuses a second array library, naming it
        x = asarray(value, self.xp, like=self.like)
        checks.real_or_label_dtype(self.xp, name, x)
        return self.xp.astype(x, self.dtype)

    def finish(self, loss: Array, denominator: Array | None = None) -> Array:
        """Weight and reduce the per-example ``loss`` (see :mod:`losskit._core.reduction`)."""
        xp = self.xp
        weight = None
        if self.weight is not None:
            weight = self.array(self.weight, "weight")
            checks.broadcasts_to("weight", weight, tuple(loss.shape), same_ndim=True)
            checks.non_negative(xp, "weight", weight)
        out = reduce(xp, loss, self.reduction, weight, denominator)
        return out if out.dtype == self.out_dtype else xp.astype(out, self.out_dtype)


@dataclass(frozen=True)
class Inputs(Call):
    pred: Array
    """Predictions in the compute dtype."""
    target: Array
    """Real targets in the compute dtype, or integer labels as given."""


def prepare(pred: Any, target: Any, *, weight: Any, reduction: Any, labels: bool = False,
            finite: bool = True) -> Inputs:
    """Check the arguments every loss shares and bring them into one namespace and dtype.

    ``labels=True``: ``target`` holds integer class labels (kept as they are). Otherwise it holds
    real values (any real dtype, bool included), cast to the compute dtype and checked finite
    unless ``finite=False`` (log-probabilities, where ``-inf`` is a probability of 0).
    """
    reduction = checks.reduction(reduction)
    xp = namespace(pred=pred, target=target, weight=weight)
    pred = asarray(pred, xp)
    checks.floating(xp, "pred", pred)
    target = asarray(target, xp, like=pred)
    out_dtype = pred.dtype
    if labels:
        checks.labels_dtype(xp, "target", target)
    else:
        checks.real_or_label_dtype(xp, "target", target)
        checks.same_shape(pred, target)
        if is_floating(xp, target.dtype):
            out_dtype = xp.result_type(pred.dtype, target.dtype)
            if finite:
                checks.finite(xp, "target", target)
    dtype = compute_dtype(xp, out_dtype)
    if pred.dtype != dtype:
        pred = xp.astype(pred, dtype)
    if not labels and target.dtype != dtype:
        target = xp.astype(target, dtype)
    return Inputs(xp, pred, dtype, out_dtype, weight, reduction, pred, target)


def gather(floats: dict[str, Any], *, weight: Any, reduction: Any,
           others: dict[str, Any] | None = None) -> tuple[Call, list[Array]]:
    """:func:`prepare` for losses whose array arguments are not ``pred, target``.

    ``floats`` are floating arrays (embeddings, logits, ...), promoted together to one compute
    dtype; ``others`` (labels, masks) are only brought into the namespace, for the loss to check.
    Returns the call and the arrays in the order given, ``floats`` first. Shapes are the loss's
    to check.
    """
    reduction = checks.reduction(reduction)
    others = others or {}
    xp = namespace(**floats, **others, weight=weight)
    arrays: list[Array] = []
    for name, value in floats.items():
        x = asarray(value, xp, like=arrays[0] if arrays else None)
        checks.floating(xp, name, x)
        arrays.append(x)
    out_dtype = xp.result_type(*arrays)
    dtype = compute_dtype(xp, out_dtype)
    arrays = [x if x.dtype == dtype else xp.astype(x, dtype) for x in arrays]
    arrays += [asarray(value, xp, like=arrays[0]) for value in others.values()]
    return Call(xp, arrays[0], dtype, out_dtype, weight, reduction), arrays
