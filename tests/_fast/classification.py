from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase


def _logits01(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    x = torch.tensor(rng.normal(size=(7, 5)) * 4, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(7, 5)), dtype=dtype)), {"from_logits": True}


def _labels(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    labels = torch.tensor(rng.integers(0, 6, size=(9,)))
    labels[2] = -100
    return (torch.tensor(rng.normal(size=(9, 6)) * 3, dtype=dtype), labels), {"from_logits": True}


def _labels_map(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    labels = torch.tensor(rng.integers(0, 4, size=(3, 5, 2)), dtype=torch.uint8)
    weights = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=dtype)
    kwargs = {"from_logits": True, "axis": 1, "class_weight": weights, "label_smoothing": 0.1, "ignore_index": 3}
    return (torch.tensor(rng.normal(size=(3, 4, 5, 2)), dtype=dtype), labels), kwargs


CASES = [
    FastCase("binary_cross_entropy", _logits01),
    FastCase("sparse_categorical_cross_entropy", _labels),
    FastCase("sparse_categorical_cross_entropy", _labels_map),
]
