"""Cost = the loss aggregated over the data + a regularisation of the parameters.

A loss scores one example; the cost is what training minimises: the loss reduced over a batch
(``"mean"`` or ``"sum"``) plus, optionally, an L1 and an L2 penalty on the model's parameters.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ._core import checks
from ._core.backend import Array, namespace
from ._core.registry import get

__all__ = ["Cost", "CostParts"]


class CostParts(NamedTuple):
    """The parts of a cost; ``total = data + l1 + l2``."""

    data: Array
    """The loss aggregated over the examples."""
    l1: Array | float
    """``l1 * sum |theta|`` (0.0 when ``l1=0``)."""
    l2: Array | float
    """``l2 * sum theta^2`` (0.0 when ``l2=0``)."""

    @property
    def total(self) -> Array:
        return self.data + self.l1 + self.l2


class Cost:
    r"""A loss turned into a cost: aggregated over the data, plus L1/L2 regularisation.

    .. math::
        J(\theta) = \operatorname{reduce}_i \ell(\hat y_i, y_i) + \lambda_1 \sum |\theta| + \lambda_2 \sum \theta^2

    Args:
      loss: a losskit loss, or its name (any alias: ``"l2"``, ``"bce"``, ...).
      l1: :math:`\lambda_1 \ge 0`, the lasso penalty (pushes parameters to exactly 0).
      l2: :math:`\lambda_2 \ge 0`, the ridge penalty. Its gradient :math:`2 \lambda_2 \theta` is
        the ``weight_decay=2 * l2`` of plain SGD (not of Adam: use AdamW's decoupled decay there).
      reduction: ``"mean"`` or ``"sum"`` over the examples (a cost is one number).
      **loss_kwargs: the loss's hyper-parameters (``delta=...``, ``from_logits=True``, ...),
        checked against its signature now rather than at the first call.

    Call it as ``cost(pred, target, params=model.parameters(), weight=None)``: ``params`` is an
    iterable of parameter arrays of the same library as ``pred`` (for a JAX pytree, pass
    ``jax.tree_util.tree_leaves(params)``). :meth:`parts` returns the terms separately.

    Example:
      >>> import numpy as np, losskit
      >>> cost = losskit.Cost("mse", l2=0.1)
      >>> theta = [np.array([1.0, -2.0])]
      >>> float(cost(np.array([1.0, 2.0]), np.array([1.0, 4.0]), params=theta))  # 2.0 + 0.1 * 5
      2.5
      >>> [float(x) for x in cost.parts(np.array([1.0, 2.0]), np.array([1.0, 4.0]), params=theta)]
      [2.0, 0.0, 0.5]
    """

    def __init__(self, loss: str | Callable[..., Array], *, l1: float = 0.0, l2: float = 0.0,
                 reduction: str = "mean", **loss_kwargs: Any) -> None:
        self.loss: Callable[..., Array] = get(loss) if isinstance(loss, str) else loss
        if not callable(self.loss):
            raise TypeError(f"loss must be a loss function or its name, got {type(loss).__name__}")
        self.l1 = checks.real("l1", l1, low=0.0)
        self.l2 = checks.real("l2", l2, low=0.0)
        self.reduction = checks.choice("reduction", reduction, ("mean", "sum"))
        accepted = {p.name for p in inspect.signature(self.loss).parameters.values()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY} - {"weight", "reduction"}
        unknown = sorted(set(loss_kwargs) - accepted)
        if unknown:
            name = getattr(self.loss, "__name__", repr(self.loss))
            raise TypeError(f"{name} has no hyper-parameter {', '.join(map(repr, unknown))}; "
                            f"it takes {', '.join(sorted(accepted)) or 'none'}")
        self.loss_kwargs = loss_kwargs

    def __repr__(self) -> str:
        args = [getattr(self.loss, "__name__", repr(self.loss))]
        args += [f"{k}={v!r}" for k, v in self.loss_kwargs.items()]
        args += [f"{k}={v!r}" for k, v in (("l1", self.l1), ("l2", self.l2)) if v]
        return f"Cost({', '.join(args)}, reduction={self.reduction!r})"

    def parts(self, *arrays: Array, params: Iterable[Array] = (), weight: Array | None = None) -> CostParts:
        """The data term and the two penalties, separately (``.total`` adds them)."""
        data = self.loss(*arrays, **self.loss_kwargs, weight=weight, reduction=self.reduction)
        if not (self.l1 or self.l2):
            return CostParts(data, 0.0, 0.0)
        params = list(params)
        if not params:
            raise ValueError("params must hold the parameter arrays to regularise when l1 or l2 > 0")
        xp = namespace(pred=data, **{f"params[{i}]": p for i, p in enumerate(params)})
        l1: Array | float = 0.0
        l2: Array | float = 0.0
        if self.l1:
            l1 = self.l1 * sum((xp.sum(xp.abs(p)) for p in params), start=xp.zeros_like(data))
        if self.l2:
            l2 = self.l2 * sum((xp.sum(p * p) for p in params), start=xp.zeros_like(data))
        return CostParts(data, l1, l2)

    def __call__(self, *arrays: Array, params: Iterable[Array] = (), weight: Array | None = None) -> Array:
        return self.parts(*arrays, params=params, weight=weight).total
