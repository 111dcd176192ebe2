from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import Draw, FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]


def _around(rng: np.random.Generator, x: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Points at the given distance from the rows of ``x``, in random directions."""
    v = rng.normal(size=x.shape)
    return x + v / np.linalg.norm(v, axis=-1, keepdims=True) * radius[..., None]


def _triplets(shape: tuple[int, ...], scale: float = 1.0, **kwargs: Any) -> Draw:
    """Triplets whose euclidean hinge (margin 1, with or without swap) is at least 0.3 from its kink:
    positives 0.1 to 0.5 away, negatives 0.3 (violating) or 2.5 (satisfied) away."""
    def draw(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
        a = rng.normal(size=shape)
        p = _around(rng, a, rng.uniform(0.1, 0.5, size=shape[:-1]))
        n = _around(rng, a, rng.choice([0.3, 2.5], size=shape[:-1]))
        return tuple(torch.tensor(v * scale, dtype=dtype) for v in (a, p, n)), kwargs

    return draw


def _pairs(same_dtype: torch.dtype, **kwargs: Any) -> Draw:
    def draw(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
        x1 = rng.normal(size=(10, 4))
        x2 = _around(rng, x1, rng.uniform(0.2, 3.0, size=10))  # on both sides of the margin 2
        same = torch.tensor(rng.integers(0, 2, size=10)).to(same_dtype)
        return (torch.tensor(x1, dtype=dtype), torch.tensor(x2, dtype=dtype), same), kwargs

    return draw


def _batch(n: int = 16, classes: int = 4, scale: float = 1.0, **kwargs: Any) -> Draw:
    def draw(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
        labels = torch.tensor(rng.permutation(np.arange(n) % classes))
        return (torch.tensor(rng.normal(size=(n, 5)) * scale, dtype=dtype), labels), kwargs

    return draw


def _grid(margin: float, **kwargs: Any) -> Draw:
    """Embeddings on a grid of step 2**-8 with squared distances: exact distances, many of them
    equal, and triplets exactly at the margin (``margin`` steps squared: the hinge's kink), where
    the counts must follow the reference's rounding and ties."""
    step = 2.0**-8

    def draw(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
        x = rng.integers(0, 3, size=(14, 2)) * step
        x[1] = x[0]  # a duplicate: distance 0
        labels = torch.tensor(rng.permutation(np.arange(14) % 3), dtype=torch.int32)
        options = {"distance": "squared_euclidean", "margin": margin * step**2, **kwargs}
        return (torch.tensor(x, dtype=dtype), labels), options

    return draw


def _collapsed(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Batch-hard mining where one class has collapsed to a point: its anchors' farthest positive is
    0, tied with every masked-out entry, whose shares of the gradient go nowhere."""
    (x, labels), options = _grid(1.0, mining="hard")(rng, dtype)
    x[labels == 0] = x[labels == 0][0]
    return (x, labels), options


def _in_batch(name: str, label: str, draw: Draw) -> FastCase:
    """An in-batch loss: "none" is declined (an anchor's loss moves every embedding)."""
    return FastCase(name, draw, reductions=("mean", "sum"), label=label)


# The float32 comparison is element-wise (rtol 2e-6, atol 1e-7), while a gradient of the in-batch
# losses sums many terms whose rounding (about 1e-7 of the largest) differs between the two paths:
# the draws scale the embeddings so that the gradients are a fraction of 1 (squared distances:
# small embeddings and margin; cosines: large embeddings). The euclidean distance's gradient is
# scale-free (unit vectors times counts): tests/test_fast_embedding.py checks it, relative to the
# gradient's size.
SQUARED = {"distance": "squared_euclidean", "scale": 0.005, "margin": 4.0 * 0.005**2}
COSINE = {"distance": "cosine", "scale": 100.0, "margin": 0.3}

CASES = [
    FastCase("triplet", _triplets((9, 4)), grads=3, label="native"),
    FastCase("triplet", _triplets((2, 3, 4), swap=True, eps=1e-2), grads=3, label="native-swap-leading-axes"),
    FastCase("triplet", _triplets((9, 4), eps=0.0, swap=True), grads=3, label="eps0-swap"),
    FastCase("triplet", _triplets((9, 4), margin=0.0), grads=3, label="margin0"),
    FastCase("triplet", _triplets((9, 4), distance="squared_euclidean", swap=True), grads=3, label="squared-swap"),
    FastCase("triplet", _triplets((9, 4), 100.0, distance="cosine", margin=0.2), grads=3, label="cosine"),
    FastCase("triplet", _triplets((9, 4), 100.0, distance="cosine", eps=0.0, swap=True), grads=3,
             label="cosine-eps0-swap"),
    FastCase("contrastive", _pairs(torch.bool, margin=2.0), grads=2, label="euclidean"),
    FastCase("contrastive", _pairs(torch.int64, distance="squared_euclidean", margin=4.0), grads=2, label="squared"),
    FastCase("contrastive", _pairs(torch.float32, distance="cosine", margin=0.5), grads=2, label="cosine"),
    *[_in_batch("batch_triplet", f"{mining}-{options['distance']}-{average}",
                _batch(mining=mining, average=average, **options))
      for mining in ("all", "hard", "semi_hard") for options in (SQUARED, COSINE)
      for average in ("nonzero", "mined")],
    _in_batch("batch_triplet", "grid-all", _grid(1.0, mining="all")),
    _in_batch("batch_triplet", "grid-hard", _grid(1.0, mining="hard", average="mined")),
    _in_batch("batch_triplet", "grid-hard-collapsed", _collapsed),
    _in_batch("batch_triplet", "grid-semi_hard", _grid(2.0, mining="semi_hard")),
    _in_batch("batch_triplet", "grid-margin0", _grid(0.0, mining="all")),
    _in_batch("info_nce", "classes", _batch(scale=100.0, temperature=0.1)),
    _in_batch("info_nce", "view-pairs", _batch(n=12, classes=6, scale=100.0, temperature=0.5)),
    _in_batch("info_nce", "loners-cold", _batch(n=9, classes=7, scale=1e4, temperature=1e-3)),
    _in_batch("info_nce", "one-class", _batch(n=6, classes=1, temperature=0.2)),
]
