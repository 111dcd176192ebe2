from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]
EXTREMES = [-1e4, -100.0, -30.0, -1.0, 0.0, 1e-3, 1.0, 30.0, 100.0, 1e4]
ALPHA = [0.25, 1.0, 0.5, 2.0, 0.75]


def _t(x: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(np.asarray(x), dtype=dtype)


# ---------------------------------------------------------------- focal (sigmoid)


def _hard(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x = torch.tensor(rng.normal(size=(6, 9)) * 4, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(6, 9)) < 0.3, dtype=dtype)), {"from_logits": True}


def _soft_extremes(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Logits up to +-1e4 against hard labels on both sides and soft ones (1 - p_t far below tiny)."""
    x = torch.tensor(EXTREMES * 4, dtype=dtype)
    y = torch.tensor([0.0] * 10 + [1.0] * 10 + [0.3] * 10 + [1 - 1e-6] * 10, dtype=dtype)
    return (x, y), {"from_logits": True, "gamma": float(rng.choice([0.5, 2.0, 3.5]))}


def _labels_near_0_and_1(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Every extreme logit, also where float32's exp under- and overflows, against labels below tiny,
    near 0, 1/2 and 1."""
    x, y = np.meshgrid([*EXTREMES, -800.0, -88.0, 88.0, 800.0], [0.0, 1.0, 1e-30, 1e-7, 0.5, 1 - 1e-7])
    return (_t(x, dtype), _t(y, dtype)), {"from_logits": True, "gamma": 1.5, "alpha": 0.8}


def _soft(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Soft labels, gamma < 1 (where (1 - p_t)^(gamma - 1) blows up), no alpha."""
    x = rng.normal(size=(5, 4, 3)) * 4
    return (_t(x, dtype), _t(rng.uniform(size=(5, 4, 3)), dtype)), {"from_logits": True, "gamma": 0.5,
                                                                     "alpha": None}


def _gamma(gamma: float) -> FastCase:
    def draw(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
        x = np.concatenate([rng.normal(size=40) * 6, EXTREMES])
        y = rng.uniform(size=x.shape) * (rng.uniform(size=x.shape) < 0.5)
        return (_t(x, dtype), _t(y, dtype)), {"from_logits": True, "gamma": gamma, "alpha": 0.25}

    return FastCase("focal", draw, label=f"gamma_{gamma}")


def _no_alpha_gamma0(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x = torch.tensor(rng.normal(size=(5, 4)) * 3, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(5, 4)), dtype=dtype)), {"from_logits": True, "gamma": 0.0,
                                                                       "alpha": None}


def _chunks(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """More elements than one block, and not a multiple of it."""
    x = torch.tensor(rng.normal(size=(3, 100_001)) * 5, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(3, 100_001)) < 0.1, dtype=dtype)), {"from_logits": True,
                                                                                    "alpha": 0.75}


# ---------------------------------------------------------------- categorical_focal


def _soft_classes(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Soft targets, a class weight per class, label smoothing."""
    x = rng.normal(size=(8, 5)) * 3
    y = rng.dirichlet(np.ones(5), size=8)
    return (_t(x, dtype), _t(y, dtype)), {"from_logits": True, "alpha": _t(ALPHA, dtype), "label_smoothing": 0.1}


def _one_hot_axis_1(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """One-hot targets on axis 1 of a segmentation-like map, gamma < 1, a scalar alpha."""
    x = rng.normal(size=(3, 4, 2, 5)) * 2
    y = np.moveaxis(np.eye(4)[rng.integers(0, 4, size=(3, 2, 5))], -1, 1)
    return (_t(x, dtype), _t(y, dtype)), {"from_logits": True, "axis": 1, "gamma": 0.5, "alpha": 0.25}


# Rows in units of a size b: confidently right and wrong, ties of the top class, near ties (where
# float32 rounds log(1 - p) at the logits' scale), and a top whose probability rounds to 1.
ROWS = [([1, -1, 0], 0), ([-1, 1, 0], 0), ([1, 1, -1], 1), ([1, 1, -1], 0), ([0, -1, 1], 2), ([1, 0, -1], 2),
        ([1, 1 - 1e-3, 0], 0), ([1, 1 - 1e-3, 0], 1), ([1, 1 - 5e-4, 1 - 4e-4], 2)]


def _rows(sizes: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([np.array([row for row, _ in ROWS]) * size for size in sizes])
    labels = np.array([label for _, label in ROWS] * len(sizes))
    return x, labels


def _softmax_extremes(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """The rows at sizes 1 to 1e4, soft targets near one-hot, a 0-d alpha."""
    x, labels = _rows((1.0, 30.0, 100.0, 1e4))
    y = 0.8 * np.eye(3)[labels] + 0.2 * rng.dirichlet(np.ones(3), size=len(labels))
    return (_t(x, dtype), _t(y, dtype)), {"from_logits": True, "gamma": 1.0, "label_smoothing": 0.05,
                                            "alpha": _t(0.5, dtype)}


def _categorical_gamma0(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """gamma = 0: a cross-entropy, also where a row's rivals vanish."""
    x, labels = _rows((1.0, 1e4))
    return (_t(x, dtype), _t(np.eye(3)[labels], dtype)), {"from_logits": True, "gamma": 0.0}


# ---------------------------------------------------------------- sparse_categorical_focal


def _labels(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Labels with ignored entries, a class weight per class."""
    x = rng.normal(size=(10, 5)) * 3
    labels = rng.integers(0, 5, size=10)
    labels[[1, 4]] = -100
    return (_t(x, dtype), torch.tensor(labels)), {"from_logits": True, "alpha": _t(ALPHA, dtype)}


def _labels_axis_1_smoothed(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """int32 labels on axis 1 with label smoothing, an ignored class index, gamma 3."""
    x = rng.normal(size=(3, 4, 6)) * 2
    labels = rng.integers(0, 4, size=(3, 6)).astype(np.int32)
    return (_t(x, dtype), torch.tensor(labels)), {"from_logits": True, "axis": 1, "gamma": 3.0, "alpha": 0.5,
                                                    "ignore_index": 2, "label_smoothing": 0.2}


def _labels_extremes(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """The rows at sizes 1 to 1e4 with their labels, nothing ignored, a class weight per class."""
    x, labels = _rows((1.0, 30.0, 100.0, 1e4))
    return (_t(x, dtype), torch.tensor(labels)), {"from_logits": True, "gamma": 0.5, "ignore_index": None,
                                                    "alpha": _t([0.5, 1.0, 2.0], dtype)}


def _labels_gamma0(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x, labels = _rows((1.0, 1e4))
    return (_t(x, dtype), torch.tensor(labels)), {"from_logits": True, "gamma": 0.0}


def _all_ignored(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Every label ignored: a mean of 0 with gradient 0."""
    x = rng.normal(size=(4, 3)) * 1e3
    return (_t(x, dtype), torch.full((4,), -100)), {"from_logits": True, "label_smoothing": 0.1}


CASES = [
    FastCase("focal", _hard),
    FastCase("focal", _soft_extremes),
    FastCase("focal", _labels_near_0_and_1),
    FastCase("focal", _soft),
    *(_gamma(gamma) for gamma in (0.25, 1.0, 3.7)),
    FastCase("focal", _no_alpha_gamma0),
    FastCase("focal", _chunks),
    FastCase("categorical_focal", _soft_classes),
    FastCase("categorical_focal", _one_hot_axis_1),
    FastCase("categorical_focal", _softmax_extremes),
    FastCase("categorical_focal", _categorical_gamma0),
    FastCase("sparse_categorical_focal", _labels),
    FastCase("sparse_categorical_focal", _labels_axis_1_smoothed),
    FastCase("sparse_categorical_focal", _labels_extremes),
    FastCase("sparse_categorical_focal", _labels_gamma0),
    FastCase("sparse_categorical_focal", _all_ignored),
]
