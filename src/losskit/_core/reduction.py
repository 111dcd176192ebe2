"""The loss-vs-cost boundary: one place that turns per-example losses into a cost.

A loss function hands over its per-example loss ``l`` *already multiplied* by its own weights
(class weights, 0 for ignored entries) together with ``d``, the weight each example carries in the
denominator (``None`` when every example counts once). With the user's ``weight`` ``w``:

* ``"none"``: ``w * l`` -- one value per example;
* ``"sum"``:  ``sum(w * l)``;
* ``"mean"``: ``sum(w * l) / sum(w * d)`` -- the weighted mean; 0 when the total weight is 0
  (an empty batch, every target ignored), so that gradients stay finite. The sum need not be 0
  there: label smoothing spreads a target over classes other than the one whose weight ``d`` is.

A mean over several calls (the ranks of data-parallel training, the micro-batches of gradient
accumulation) needs both parts of each call, the sum and the count ``sum(w * d)``: while
:func:`counting` is open, every ``"sum"`` also records the count that ``"mean"`` would divide by
(:func:`losskit.mean_parts`). A torch fast path that computes a ``"sum"`` without :func:`reduce`
records its count with :func:`record`; the others leave such calls to the reference path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from array_api_compat import device

from .backend import Array, Namespace


class _Counting(threading.local):
    def __init__(self) -> None:
        self.records: list[list[Array]] = []
        """One list per open :func:`counting`, innermost last."""


_counting = _Counting()


@contextmanager
def counting() -> Iterator[list[Array]]:
    """Collect, in this thread, the count of every ``"sum"`` reduced inside the block, in order."""
    counts: list[Array] = []
    _counting.records.append(counts)
    try:
        yield counts
    finally:
        _counting.records.pop()


def is_counting() -> bool:
    """Whether a :func:`counting` block is open in this thread."""
    return bool(_counting.records)


def record(xp: Namespace, count: Array | int, like: Array) -> None:
    """Add ``count`` (a number of elements, or a 0-d array) to the innermost open :func:`counting`."""
    if not _counting.records:
        return
    if isinstance(count, int):
        count = xp.full((), float(count), dtype=like.dtype, device=device(like))
    _counting.records[-1].append(count)


def _count(xp: Namespace, loss: Array, weight: Array | None, denominator: Array | None) -> Array | int:
    """``sum(w * d)`` over ``loss``'s shape: its number of elements when neither is given."""
    if weight is None and denominator is None:
        count = 1
        for n in loss.shape:
            count *= n
        return count
    if denominator is None:
        denominator = xp.ones_like(loss)
    if weight is not None:
        denominator = denominator * weight
    return xp.sum(xp.broadcast_to(denominator, loss.shape))


def reduce(xp: Namespace, loss: Array, reduction: str, weight: Array | None = None,
           denominator: Array | None = None) -> Array:
    if weight is not None:
        loss = loss * weight
    if reduction == "none":
        return loss
    total = xp.sum(loss)
    if reduction == "sum":
        if is_counting():
            record(xp, _count(xp, loss, weight, denominator), total)
        return total
    count = _count(xp, loss, weight, denominator)
    if isinstance(count, int):
        return total / count if count else total
    empty = count == 0
    return xp.where(empty, xp.zeros_like(total), total / xp.where(empty, xp.ones_like(count), count))


def mean_parts(loss: Callable[..., Array], *arrays: Any, **options: Any) -> tuple[Array, Array]:
    r"""The two parts of ``loss(*arrays, **options)``'s ``"mean"``: its sum and its count.

    .. math::
        \text{total} = \sum_i w_i\, \ell_i, \qquad \text{count} = \sum_i w_i\, d_i, \qquad
        \text{mean} = \text{total} / \text{count}\ \ (0 \text{ where count} = 0)

    with the user's ``weight`` :math:`w_i` and the weight :math:`d_i` each example carries inside
    the loss (its class weight, 0 where ignored, 1 otherwise; the number of triplets or positive
    pairs of the in-batch losses): exactly what ``reduction="mean"`` divides. The mean of a batch
    split over several calls -- the ranks of data-parallel training, the micro-batches of gradient
    accumulation -- is the sum of the totals over the sum of the counts, which
    :func:`losskit.torch.distributed.global_mean` takes across ranks.

    ``total`` is ``loss(..., reduction="sum")``, differentiable as that is (the torch fast paths of
    ``sparse_categorical_cross_entropy`` and ``linear_cross_entropy`` compute it; other losses run
    their reference path); ``count`` is a 0-d array in the compute dtype (float32 for float16 and
    bfloat16 inputs), with no gradient of interest.

    Args:
      loss: a losskit loss, e.g. ``losskit.sparse_categorical_cross_entropy``.
      *arrays, **options: its arguments, without ``reduction``.

    Returns:
      ``(total, count)``.

    Example:
      >>> import numpy as np, losskit
      >>> logits = np.array([[2.0, 0.5], [0.0, 3.0], [1.0, 1.0]])
      >>> total, count = losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits,
      ...                                   np.array([0, -100, 1]), from_logits=True)
      >>> float(count), bool(np.isclose(total / count, losskit.sparse_categorical_cross_entropy(
      ...     logits, np.array([0, -100, 1]), from_logits=True)))
      (2.0, True)
    """
    name = getattr(loss, "__name__", repr(loss))
    if not callable(loss):
        raise TypeError(f"loss must be a losskit loss function, got {name}")
    if "reduction" in options:
        raise TypeError(f"mean_parts takes no reduction (it computes 'sum' and the count), "
                        f"got reduction={options['reduction']!r}")
    with counting() as counts:
        total = loss(*arrays, reduction="sum", **options)
    if not counts:
        raise TypeError(f"loss must be a losskit loss with a reduction; {name} recorded no count")
    # A loss that calls other losses records their counts first: its own reduction comes last.
    return total, counts[-1]
