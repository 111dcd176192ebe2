from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase


def _real(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    pred, target = rng.normal(size=(2, 7, 5)) * [[[2.0]], [[1.0]]]
    return (torch.tensor(pred, dtype=dtype), torch.tensor(target, dtype=dtype)), {}


def _wide(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    """Residuals from 1e-9 to 1e3: both of log-cosh's forms, and the far tail."""
    r = 10.0 ** rng.uniform(-9, 3, size=(6, 8)) * rng.choice([-1.0, 1.0], size=(6, 8))
    target = rng.normal(size=(6, 8))
    return (torch.tensor(target + r, dtype=dtype), torch.tensor(target, dtype=dtype)), {}


def _blocks(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    """Residuals from 1e-9 to 1e3 over 2.3 blocks of the log-cosh kernel: the last one shorter."""
    r = 10.0 ** rng.uniform(-9, 3, size=(3, 200_000)) * rng.choice([-1.0, 1.0], size=(3, 200_000))
    target = rng.normal(size=(3, 200_000))
    return (torch.tensor(target + r, dtype=dtype), torch.tensor(target, dtype=dtype)), {}


def _ties(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    """Exact ties in every third row, where a kink's subgradient is taken."""
    (pred, target), _ = _real(rng, dtype)
    pred[::3] = target[::3]
    return (pred, target), {}


def _quantile(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    """A high quantile, with exact ties (where the subgradient is 1/2 - q)."""
    return _ties(rng, dtype)[0], {"q": 0.9}


def _low_quantile(rng: np.random.Generator, dtype: torch.dtype) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
    """A small q, whose loss above the target (q r) is tiny next to 1 - q."""
    (pred, target), _ = _real(rng, dtype)
    return (pred, target), {"q": 0.01}


CASES = [
    FastCase("mse", _real),
    FastCase("mae", _real),
    FastCase("mae", _ties),
    FastCase("huber", _real),
    FastCase("log_cosh", _real),
    FastCase("log_cosh", _wide),
    FastCase("log_cosh", _blocks),
    FastCase("quantile", _real),
    FastCase("quantile", _quantile),
    FastCase("quantile", _low_quantile),
]
