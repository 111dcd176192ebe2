"""losskit: the loss functions of deep learning, on NumPy, PyTorch, JAX and any array-API library.

A *loss* is the error of one example (``reduction="none"``); a *cost* aggregates it over the data
(``reduction="mean"`` or ``"sum"``, with optional ``weight``). See ``docs/conventions.md``.
"""

from ._core.checks import checks, set_checks
from ._core.registry import get, names
from .classification import (
    binary_cross_entropy,
    categorical_cross_entropy,
    hinge,
    multiclass_hinge,
    sparse_categorical_cross_entropy,
    squared_hinge,
)
from .detection import focal
from .regression import huber, log_cosh, mae, mse, quantile

__version__ = "0.1.0"

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "checks",
    "focal",
    "get",
    "hinge",
    "huber",
    "log_cosh",
    "mae",
    "mse",
    "multiclass_hinge",
    "names",
    "quantile",
    "set_checks",
    "sparse_categorical_cross_entropy",
    "squared_hinge",
]
