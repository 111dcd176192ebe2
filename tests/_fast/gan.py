from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch

from losskit.gan import KINDS

from ._case import FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]
EXTREMES = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4])


def _scores(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Scores of every size, the extremes +-1e4 among them, and ties at the hinge kinks (+-1)."""
    x = rng.normal(size=shape) * 10.0 ** rng.uniform(-1, 1, size=shape)
    flat = x.reshape(-1)
    flat[:len(EXTREMES)] = rng.permutation(EXTREMES)
    flat[len(EXTREMES):len(EXTREMES) + 2] = [1.0, -1.0]
    return x


def _pairs(kind: str, rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """A patch discriminator's maps on real and fake examples, paired."""
    real, fake = _scores(rng, (3, 1, 4, 4)), _scores(rng, (3, 1, 4, 4))
    return (torch.tensor(real, dtype=dtype), torch.tensor(fake, dtype=dtype)), {"kind": kind}


def _fakes(kind: str, rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    fake = torch.tensor(_scores(rng, (5, 6)), dtype=dtype)
    if kind != "relativistic":
        return (fake,), {"kind": kind}
    return (fake,), {"kind": kind, "real": torch.tensor(_scores(rng, (5, 6)), dtype=dtype)}


def _case(name: str, draw: Any, kind: str, grads: int) -> FastCase:
    return FastCase(name, partial(draw, kind), grads=grads, label=f"{draw.__name__.lstrip('_')}-{kind}")


CASES = [
    *(_case("gan_discriminator_loss", _pairs, kind, grads=2) for kind in KINDS),
    *(_case("gan_generator_loss", _fakes, kind, grads=1) for kind in KINDS),
]
