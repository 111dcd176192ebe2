from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]


def _logits01(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x = torch.tensor(rng.normal(size=(7, 5)) * 4, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(7, 5)), dtype=dtype)), {"from_logits": True}


def _confident(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hard labels and logits of +-1e4, +-30 and +-3 on either side of them: losses of 0, 1e-13 and 1e4."""
    y = rng.integers(0, 2, size=(6, 4)).astype(float)
    size = rng.choice([1e4, 30.0, 3.0], size=(6, 4))
    right = rng.uniform(size=(6, 4)) < 0.7
    return np.where(right, 1.0, -1.0) * np.where(y == 1, 1.0, -1.0) * size, y


def _bce_options(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """pos_weight per label, label smoothing and a weight per example (two of them 0)."""
    x, y = _confident(rng)
    weight = rng.uniform(0.5, 2.0, size=(6, 1))
    weight[[1, 4]] = 0.0
    kwargs = {"from_logits": True, "pos_weight": torch.tensor(rng.uniform(0.0, 3.0, size=4), dtype=dtype),
              "label_smoothing": 0.1, "weight": torch.tensor(weight, dtype=dtype)}
    return (torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)), kwargs


def _bce_extreme(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Extreme logits, bool labels and a scalar pos_weight."""
    x, y = _confident(rng)
    return (torch.tensor(x, dtype=dtype), torch.tensor(y == 1)), {"from_logits": True, "pos_weight": 2.5}


def _bce_vector(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """1-d logits of soft targets, all weights zero but one (the weighted mean of one example)."""
    weight = np.zeros(9)
    weight[3] = 0.5
    kwargs = {"from_logits": True, "weight": torch.tensor(weight, dtype=dtype), "label_smoothing": 0.3}
    return (torch.tensor(rng.normal(size=9) * 3, dtype=dtype), torch.tensor(rng.uniform(size=9), dtype=dtype)), kwargs


def _soft_targets(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> np.ndarray:
    y = rng.uniform(size=shape) ** 3
    return y / y.sum(axis=axis, keepdims=True)


def _cce(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x = torch.tensor(rng.normal(size=(9, 6)) * 3, dtype=dtype)
    return (x, torch.tensor(_soft_targets(rng, (9, 6), -1), dtype=dtype)), {"from_logits": True}


def _cce_map(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """(N, C, H, W) maps: class axis 1, class weights and smoothing."""
    x = torch.tensor(rng.normal(size=(3, 4, 5, 2)) * 2, dtype=dtype)
    kwargs = {"from_logits": True, "axis": 1, "class_weight": torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=dtype),
              "label_smoothing": 0.1}
    return (x, torch.tensor(_soft_targets(rng, (3, 4, 5, 2), 1), dtype=dtype)), kwargs


def _cce_first_axis(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Classes along axis 0, with class weights and one-hot targets."""
    labels = rng.integers(0, 5, size=7)
    y = np.eye(5)[labels].T
    kwargs = {"from_logits": True, "axis": 0, "class_weight": torch.tensor(rng.uniform(0.2, 2.0, 5), dtype=dtype)}
    return (torch.tensor(rng.normal(size=(5, 7)), dtype=dtype), torch.tensor(y, dtype=dtype)), kwargs


def _cce_extreme(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Logits of +-1e4 and confident rows (one-hot on the top class, p within 1e-13 of 1), ties at the top."""
    x = rng.normal(size=(8, 5))
    x[:3] *= 1e4
    x[3:6] *= 3.0
    x[3:6, 0] = 40.0
    x[6] = [2.0, 5.0, 5.0, 1.0, 5.0]
    x[7] = [1e4, 1e4, -1e4, 0.0, 1e4 - 1.0]
    y = np.eye(5)[x.argmax(axis=1)]
    y[6] = [0.0, 0.5, 0.0, 0.5, 0.0]
    y[1] = _soft_targets(rng, (5,), 0)
    return (torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)), {"from_logits": True, "label_smoothing": 0.05}


def _labels(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    labels = torch.tensor(rng.integers(0, 6, size=(9,)))
    labels[2] = -100
    return (torch.tensor(rng.normal(size=(9, 6)) * 3, dtype=dtype), labels), {"from_logits": True}


def _labels_map(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    labels = torch.tensor(rng.integers(0, 4, size=(3, 5, 2)), dtype=torch.uint8)
    weights = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=dtype)
    kwargs = {"from_logits": True, "axis": 1, "class_weight": weights, "label_smoothing": 0.1, "ignore_index": 3}
    return (torch.tensor(rng.normal(size=(3, 4, 5, 2)), dtype=dtype), labels), kwargs


def _hinge01(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Integer labels in {0, 1}, and scores exactly on the margin (where the gradient still flows)."""
    y = rng.integers(0, 2, size=(7, 4))
    x = rng.normal(size=(7, 4)) * 2
    x[::2, 0] = np.where(y[::2, 0] == 1, 0.75, -0.75)
    return (torch.tensor(x, dtype=dtype), torch.tensor(y)), {"margin": 0.75}


def _hinge_signed(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Float labels in {-1, +1}."""
    y = rng.choice([-1.0, 1.0], size=11)
    return (torch.tensor(rng.normal(size=11) * 2, dtype=dtype), torch.tensor(y, dtype=dtype)), {}


def _hinge_bool(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Boolean labels, large scores."""
    x = torch.tensor(rng.normal(size=(5, 3)) * 1e3, dtype=dtype)
    return (x, torch.tensor(rng.integers(0, 2, size=(5, 3)) == 1)), {"margin": 2.0}


def _hinge_float01(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Float labels in {0, 1}."""
    y = rng.integers(0, 2, size=(6, 2)).astype(float)
    return (torch.tensor(rng.normal(size=(6, 2)), dtype=dtype), torch.tensor(y, dtype=dtype)), {"margin": 0.5}


def _weston_watkins(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    labels = torch.tensor(rng.integers(0, 5, size=8), dtype=torch.int32)
    x = torch.tensor(rng.normal(size=(8, 5)) * 1.5, dtype=dtype)
    return (x, labels), {"kind": "weston_watkins", "margin": 0.5}


def _weston_watkins_one(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """One example: (C,) scores and a 0-d label."""
    x = torch.tensor(rng.normal(size=6), dtype=dtype)
    return (x, torch.tensor(int(rng.integers(0, 6)))), {"kind": "weston_watkins", "axis": 0}


CASES = [
    FastCase("binary_cross_entropy", _logits01),
    FastCase("binary_cross_entropy", _bce_options),
    FastCase("binary_cross_entropy", _bce_extreme),
    FastCase("binary_cross_entropy", _bce_vector),
    FastCase("categorical_cross_entropy", _cce),
    FastCase("categorical_cross_entropy", _cce_map),
    FastCase("categorical_cross_entropy", _cce_first_axis),
    FastCase("categorical_cross_entropy", _cce_extreme),
    FastCase("sparse_categorical_cross_entropy", _labels),
    FastCase("sparse_categorical_cross_entropy", _labels_map),
    FastCase("hinge", _hinge01),
    FastCase("hinge", _hinge_signed),
    FastCase("hinge", _hinge_bool),
    FastCase("squared_hinge", _hinge01),
    FastCase("squared_hinge", _hinge_float01),
    FastCase("squared_hinge", _hinge_bool),
    FastCase("multiclass_hinge", _weston_watkins),
    FastCase("multiclass_hinge", _weston_watkins_one),
]
