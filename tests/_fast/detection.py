from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]
EXTREMES = [-1e4, -100.0, -30.0, -1.0, 0.0, 1e-3, 1.0, 30.0, 100.0, 1e4]


def _hard(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x = torch.tensor(rng.normal(size=(6, 9)) * 4, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(6, 9)) < 0.3, dtype=dtype)), {"from_logits": True}


def _soft_extremes(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Logits up to +-1e4 against hard labels on both sides and soft ones (1 - p_t far below tiny)."""
    x = torch.tensor(EXTREMES * 4, dtype=dtype)
    y = torch.tensor([0.0] * 10 + [1.0] * 10 + [0.3] * 10 + [1 - 1e-6] * 10, dtype=dtype)
    return (x, y), {"from_logits": True, "gamma": float(rng.choice([0.5, 2.0, 3.5]))}


def _no_alpha_gamma0(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    x = torch.tensor(rng.normal(size=(5, 4)) * 3, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(5, 4)), dtype=dtype)), {"from_logits": True, "gamma": 0.0,
                                                                       "alpha": None}


def _chunks(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """More elements than one chunk, and not a multiple of it."""
    x = torch.tensor(rng.normal(size=(3, 70_001)) * 5, dtype=dtype)
    return (x, torch.tensor(rng.uniform(size=(3, 70_001)) < 0.1, dtype=dtype)), {"from_logits": True,
                                                                                   "alpha": 0.75}


CASES = [
    FastCase("focal", _hard),
    FastCase("focal", _soft_extremes),
    FastCase("focal", _no_alpha_gamma0),
    FastCase("focal", _chunks),
]
