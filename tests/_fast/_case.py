from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

Draw = Callable[[np.random.Generator, torch.dtype], tuple[tuple[torch.Tensor, ...], dict[str, Any]]]


@dataclass(frozen=True)
class FastCase:
    name: str
    """The loss, as ``losskit.get`` knows it."""
    draw: Draw
    """``draw(rng, dtype) -> (tensors, kwargs)``: the call's positional tensors and keyword arguments."""
    grads: int = 1
    """How many of the leading tensors are differentiated."""
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    """The reductions the fast path takes (the others go to the reference path)."""
    label: str = field(default="")
    cancels: bool = False
    """Whether a gradient is a sum of terms of order 1 that cancel (a matrix product): its float32
    rounding is then an ulp of 1, not of the result, and the absolute tolerance is 2 ulps of 1."""

    @property
    def id(self) -> str:
        return f"{self.name}-{self.label or self.draw.__name__.lstrip('_')}"
