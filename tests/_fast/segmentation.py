from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import Draw, FastCase

Call = tuple[tuple[torch.Tensor, ...], dict[str, Any]]
SHAPE = (3, 4, 5, 6)  # (N, C, H, W)


def _labels(rng: np.random.Generator, shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    """(N, H, W) labels; class 3 is absent from image 0, so that an empty target is covered."""
    labels = rng.integers(0, shape[1], size=(shape[0], *shape[2:]))
    labels[0][labels[0] == 3] = 0
    return torch.tensor(labels)


def _masks(rng: np.random.Generator, dtype: torch.dtype, shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    """Hard masks; channel 1 of image 0 is empty."""
    y = (rng.uniform(size=shape) > 0.6).astype(np.float64)
    y[0, 1] = 0.0
    return torch.tensor(y, dtype=dtype)


def _logits(rng: np.random.Generator, dtype: torch.dtype, shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    return torch.tensor(rng.normal(size=shape) * 3, dtype=dtype)


def _multiclass_labels(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    return (_logits(rng, dtype), _labels(rng)), {"mode": "multiclass", "from_logits": True}


def _binary_masks(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    return (_logits(rng, dtype), _masks(rng, dtype)), {"from_logits": True}


def _one_hot(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """A float one-hot target in multiclass mode, per-class weights, pooled over the batch."""
    y = torch.nn.functional.one_hot(_labels(rng), SHAPE[1]).movedim(-1, 1).to(dtype)
    weights = torch.tensor([0.0, 1.0, 2.0, 0.5], dtype=dtype)
    return (_logits(rng, dtype), y), {"mode": "multiclass", "from_logits": True, "class_weight": weights,
                                      "batch": True}


def _soft_masks(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """Soft binary targets, channels last (axis=-1), squared where the loss has it, no smoothing."""
    x = torch.tensor(rng.normal(size=(3, 5, 6, 4)) * 2, dtype=dtype)
    y = torch.tensor(rng.uniform(size=(3, 5, 6, 4)), dtype=dtype)
    return (x, y), {"from_logits": True, "axis": -1, "smooth": 0.0}


def _ignored_labels(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """uint8 labels with ignored pixels (255), class weights, a large smoothing."""
    labels = _labels(rng).to(torch.uint8)
    labels[1, :2] = 255
    labels[2, 3, 4] = 255
    weights = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=dtype)
    kwargs = {"mode": "multiclass", "from_logits": True, "ignore_index": 255, "class_weight": weights, "smooth": 0.5}
    return (_logits(rng, dtype), labels), kwargs


def _ignored_class(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """ignore_index is a class (0, the background), pooled over the batch; image 0 ignored entirely."""
    labels = _labels(rng)
    labels[0] = 0
    kwargs = {"mode": "multiclass", "from_logits": True, "ignore_index": 0, "batch": True}
    return (_logits(rng, dtype), labels), kwargs


def _ignored_mask(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """Binary masks with ignored entries (-1); channel 0 of image 1 ignored entirely."""
    y = _masks(rng, dtype)
    y[rng.uniform(size=SHAPE) < 0.2] = -1.0
    y[1, 0] = -1.0
    return (_logits(rng, dtype), y), {"from_logits": True, "ignore_index": -1}


def _extreme(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """Logits of +-1e4 (saturated probabilities) and moderate ones, no smoothing: empty images score 0."""
    # no logit is exactly 0, where the reference path's sigmoid has a gradient of 0 (that of |x|)
    x = torch.tensor(rng.choice([-1e4, 1.0, 1e4], size=SHAPE) * rng.uniform(0.5, 1.5, size=SHAPE), dtype=dtype)
    y = _masks(rng, dtype)
    x[0, 1] = -1e4  # an empty target predicted empty: 0/0, a perfect score
    return (x, y), {"from_logits": True, "smooth": 0.0}


def _extreme_softmax(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    x = torch.tensor(rng.choice([-1e4, 0.0, 1e4], size=SHAPE) + rng.normal(size=SHAPE), dtype=dtype)
    return (x, _labels(rng)), {"mode": "multiclass", "from_logits": True}


def _one_channel(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """axis=None: (N, D, H, W) logits, one binary channel, 3-D images."""
    return (_logits(rng, dtype, (3, 2, 5, 6)), _masks(rng, dtype, (3, 2, 5, 6))), {"from_logits": True,
                                                                                   "axis": None}


def _probabilities(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """Probabilities (from_logits=False) of a softmax, classes on axis 2, labels."""
    x = torch.softmax(torch.tensor(rng.normal(size=(3, 5, 4, 6)), dtype=dtype), 2)
    labels = torch.tensor(rng.integers(0, 4, size=(3, 5, 6)))
    return (x, labels), {"mode": "multiclass", "axis": 2}


def _probability_masks(rng: np.random.Generator, dtype: torch.dtype) -> Call:
    """Sigmoid probabilities, boolean masks, class weights."""
    x = torch.sigmoid(_logits(rng, dtype))
    return (x, _masks(rng, dtype) > 0), {"class_weight": torch.tensor([1.0, 0.0, 2.0, 1.0], dtype=dtype)}


def _with(draw: Draw, name: str, **extra: Any) -> Draw:
    """``draw`` with more keyword arguments."""

    def drawn(rng: np.random.Generator, dtype: torch.dtype) -> Call:
        tensors, kwargs = draw(rng, dtype)
        return tensors, {**kwargs, **extra}

    drawn.__name__ = name
    return drawn


_ALL = [_multiclass_labels, _binary_masks, _one_hot, _soft_masks, _ignored_labels, _ignored_class, _ignored_mask,
        _extreme, _extreme_softmax, _one_channel, _probabilities, _probability_masks]
_SQUARED = [_with(_soft_masks, "soft_masks_squared", squared=True),
            _with(_multiclass_labels, "labels_squared", squared=True, batch=True),
            _with(_probability_masks, "probability_masks_squared", squared=True)]
_TVERSKY = {"alpha": 0.3, "beta": 0.9}
_DICE_BCE = [_multiclass_labels, _binary_masks, _one_hot, _soft_masks, _ignored_labels, _ignored_class,
             _ignored_mask, _extreme, _extreme_softmax, _one_channel,
             _with(_binary_masks, "binary_masks_weighted", dice_weight=0.3, bce_weight=2.0, batch=True)]

CASES = [
    *(FastCase("dice", draw) for draw in [*_ALL, *_SQUARED]),
    *(FastCase("jaccard", draw) for draw in [*_ALL, *_SQUARED]),
    *(FastCase("tversky", draw) for draw in _ALL),
    FastCase("tversky", _with(_multiclass_labels, "labels_recall", **_TVERSKY)),
    FastCase("tversky", _with(_binary_masks, "masks_recall", alpha=1.5, beta=0.0)),
    *(FastCase("focal_tversky", draw) for draw in _ALL),
    FastCase("focal_tversky", _with(_multiclass_labels, "labels_gamma2", gamma=2.0, **_TVERSKY)),
    FastCase("focal_tversky", _with(_binary_masks, "masks_gamma1", gamma=1.0)),
    *(FastCase("dice_bce", draw) for draw in _DICE_BCE),
]
