from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]


def _tokens(rng: np.random.Generator, dtype: torch.dtype, shape: tuple[int, ...], features: int,
            classes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hidden states, a classifier whose logits spread over about +-6, and labels with one ignored."""
    hidden = torch.tensor(rng.normal(size=(*shape, features)), dtype=dtype)
    classifier = torch.tensor(rng.normal(size=(classes, features)) * 2 / np.sqrt(features), dtype=dtype)
    labels = torch.tensor(rng.integers(0, classes, size=shape))
    labels.view(-1)[1] = -100
    return hidden, classifier, labels


def _plain(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Chunks of 4 tokens out of 11: the last chunk is shorter."""
    hidden, classifier, labels = _tokens(rng, dtype, (11,), 6, 9)
    return (hidden, classifier, labels), {"chunk_size": 4}


def _every_option(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """(batch, time) tokens, uint8 labels, bias, class weights, smoothing, softcap, z-loss and token weights."""
    hidden, classifier, labels = _tokens(rng, dtype, (3, 5), 4, 7)
    labels = torch.where(labels == -100, 6, labels).to(torch.uint8)  # class 6 is ignored
    kwargs = {
        "bias": torch.tensor(rng.normal(size=7), dtype=dtype),
        "class_weight": torch.tensor(rng.uniform(0.2, 2.0, size=7), dtype=dtype),
        "ignore_index": 6, "label_smoothing": 0.15, "softcap": 2.5, "z_loss": 1e-2, "chunk_size": 4,
        "weight": torch.tensor(rng.uniform(0.5, 2.0, size=(3, 1)), dtype=dtype),
    }
    return (hidden, classifier, labels), kwargs


def _extreme(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Logits near +-1e4: probabilities of exactly 0 and 1, and confident rows (top class = label)."""
    hidden, classifier, labels = _tokens(rng, dtype, (8,), 3, 5)
    hidden = hidden * 3e3
    logits = hidden.double() @ classifier.double().T
    labels = logits.argmax(1)
    labels[:3] = torch.tensor(rng.integers(0, 5, size=3))
    return (hidden, classifier, labels), {"label_smoothing": 0.05, "chunk_size": 3}


CASES = [
    FastCase("linear_cross_entropy", _plain, grads=2, cancels=True),
    FastCase("linear_cross_entropy", _every_option, grads=2, cancels=True),
    FastCase("linear_cross_entropy", _extreme, grads=2, cancels=True),
]
