"""The loss-vs-cost boundary: one place that turns per-example losses into a cost.

A loss function hands over its per-example loss ``l`` *already multiplied* by its own weights
(class weights, 0 for ignored entries) together with ``d``, the weight each example carries in the
denominator (``None`` when every example counts once). With the user's ``weight`` ``w``:

* ``"none"``: ``w * l`` -- one value per example;
* ``"sum"``:  ``sum(w * l)``;
* ``"mean"``: ``sum(w * l) / sum(w * d)`` -- the weighted mean; 0 when the total weight is 0
  (an empty batch, every target ignored), so that gradients stay finite.
"""

from __future__ import annotations

from .backend import Array, Namespace


def reduce(xp: Namespace, loss: Array, reduction: str, weight: Array | None = None,
           denominator: Array | None = None) -> Array:
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    total = xp.sum(loss)
    if reduction == "sum":
        return total
    if weight is None and denominator is None:
        count = 1
        for n in loss.shape:
            count *= n
        return total / count if count else total
    if denominator is None:
        denominator = xp.ones_like(loss)
    if weight is not None:
        denominator = denominator * weight
    count = xp.sum(xp.broadcast_to(denominator, loss.shape))
    # total is exactly 0 when every weight is 0, so dividing by 1 returns the documented 0.
    return total / xp.where(count == 0, xp.ones_like(count), count)
