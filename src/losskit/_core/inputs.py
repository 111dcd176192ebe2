"""The first and last steps of every loss: arguments in, cost out.

:func:`prepare` validates the arguments every loss shares, resolves the namespace and the compute
dtype; :meth:`Inputs.finish` applies ``weight`` and ``reduction`` and returns the result in the
caller's dtype. Between the two, a loss body is its formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import checks
from .backend import Array, Namespace, asarray, compute_dtype, is_floating, namespace, tiny
from .reduction import reduce


@dataclass(frozen=True)
class Inputs:
    xp: Namespace
    pred: Array
    """Predictions in the compute dtype."""
    target: Array
    """Real targets in the compute dtype, or integer labels as given."""
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
        namespace(pred=self.pred, **{name: value})  # refuses a second array library, naming it
        x = asarray(value, self.xp, like=self.pred)
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


def prepare(pred: Any, target: Any, *, weight: Any, reduction: Any, labels: bool = False) -> Inputs:
    """Check the arguments every loss shares and bring them into one namespace and dtype.

    ``labels=True``: ``target`` holds integer class labels (kept as they are). Otherwise it holds
    real values (any real dtype, bool included), cast to the compute dtype and checked finite.
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
            checks.finite(xp, "target", target)
    dtype = compute_dtype(xp, out_dtype)
    if pred.dtype != dtype:
        pred = xp.astype(pred, dtype)
    if not labels and target.dtype != dtype:
        target = xp.astype(target, dtype)
    return Inputs(xp, pred, target, dtype, out_dtype, weight, reduction)
