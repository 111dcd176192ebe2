"""Shared fixtures: the backends every loss must run on, and conversions between them."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Keras reads its backend once, at import: JAX keeps float64 (its numpy backend casts to floatx).
os.environ.setdefault("KERAS_BACKEND", "jax")

import array_api_strict
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

jax.config.update("jax_enable_x64", True)


@dataclass(frozen=True)
class Backend:
    name: str
    asarray: Callable[[Any], Any]

    def __call__(self, x: Any) -> Any:
        return self.asarray(x)

    def __repr__(self) -> str:
        return self.name


def to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()  # NumPy has no bfloat16
    if type(x).__module__.startswith("array_api_strict"):
        return np.from_dlpack(x)
    return np.asarray(x)


BACKENDS = [
    Backend("numpy", np.asarray),
    Backend("torch", torch.asarray),
    Backend("jax", jnp.asarray),
    Backend("array_api_strict", array_api_strict.asarray),
]


@pytest.fixture(params=BACKENDS, ids=repr)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)
