from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._case import FastCase

Drawn = tuple[tuple[torch.Tensor, ...], dict[str, Any]]


def _distribution(rng: np.random.Generator, shape: tuple[int, ...], axis: int = -1, zeros: float = 0.0,
                  scale: float = 1.5) -> np.ndarray:
    """Probabilities along ``axis``; a share ``zeros`` of them exactly 0 (never a whole distribution)."""
    p = np.exp(rng.normal(size=shape) * scale)
    drop = rng.uniform(size=shape) < zeros
    np.put_along_axis(drop, np.expand_dims(np.argmax(p, axis=axis), axis), False, axis=axis)
    p = np.where(drop, 0.0, p)
    return p / p.sum(axis=axis, keepdims=True)


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _kl(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Probabilities with zeros in both; pred is 0 at some of the target's zeros."""
    y = _distribution(rng, (9, 6), zeros=0.3)
    p = _distribution(rng, (9, 6), zeros=0.2, scale=2.0)
    p = np.where((y == 0) | (p > 0), p, 0.0)
    p[0], y[0] = [0.0, 0.5, 0.5, 0.0, 0.0, 0.0], [0.0, 0.25, 0.75, 0.0, 0.0, 0.0]
    return (torch.tensor(p, dtype=dtype), torch.tensor(y, dtype=dtype)), {}


def _kl_positive(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """No zero probability: the checks let the kernel skip the clip and the mask."""
    y, p = _distribution(rng, (6, 7)), _distribution(rng, (6, 7), scale=3.0)
    return (torch.tensor(p, dtype=dtype), torch.tensor(y, dtype=dtype)), {}


def _kl_log_positive(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    y, p = _distribution(rng, (6, 7)), _distribution(rng, (6, 7), scale=3.0)
    return (torch.tensor(np.log(p), dtype=dtype), torch.tensor(y, dtype=dtype)), {"log_pred": True}


def _kl_log_pred(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Log-probabilities (a log_softmax output), -inf where the target is 0 too."""
    y = _distribution(rng, (4, 7, 3), axis=1, zeros=0.3)
    p = _distribution(rng, (4, 7, 3), axis=1, scale=3.0)
    p[0, :, 0], y[0, :, 0] = [0.5, 0.5, 0, 0, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0, 0]
    return (torch.tensor(_log(p), dtype=dtype), torch.tensor(y, dtype=dtype)), {"axis": 1, "log_pred": True}


def _kl_log_target(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Log-probability targets with -inf (a probability of 0)."""
    y, p = _distribution(rng, (8, 5), zeros=0.3), _distribution(rng, (8, 5))
    return (torch.tensor(p, dtype=dtype), torch.tensor(_log(y), dtype=dtype)), {"log_target": True}


def _kl_log_both(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    y, p = _distribution(rng, (5, 8), zeros=0.3), _distribution(rng, (5, 8), scale=2.0)
    tensors = torch.tensor(_log(p), dtype=dtype), torch.tensor(_log(y), dtype=dtype)
    return tensors, {"log_pred": True, "log_target": True, "axis": -1}


def _js(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Zeros in both, at the same and at different places, and disjoint supports."""
    p, y = _distribution(rng, (9, 6), zeros=0.3), _distribution(rng, (9, 6), zeros=0.3)
    p[0], y[0] = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    return (torch.tensor(p, dtype=dtype), torch.tensor(y, dtype=dtype)), {}


def _js_axis(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    p, y = _distribution(rng, (3, 5, 4), axis=1, zeros=0.2), _distribution(rng, (3, 5, 4), axis=1, scale=3.0)
    return (torch.tensor(p, dtype=dtype), torch.tensor(y, dtype=dtype)), {"axis": -2}


def _latents(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """Log-variances from 0 and below 2^-10 (the Taylor series) to +-20, means from 0 to 1e2."""
    mu = rng.normal(size=(7, 12)) * 10.0 ** rng.uniform(-3, 2, size=(7, 12))
    log_var = rng.normal(size=(7, 12)) * 10.0 ** rng.uniform(-12, 1.3, size=(7, 12))
    mu[0, :4], log_var[0, :4] = 0.0, [0.0, 2.0**-11, -(2.0**-10), 2.0**-10]
    return (torch.tensor(mu, dtype=dtype), torch.tensor(log_var, dtype=dtype)), {}


def _latents_axis0(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    mu, log_var = rng.normal(size=(2, 6, 3, 2))
    return (torch.tensor(mu, dtype=dtype), torch.tensor(log_var * 1e-4, dtype=dtype)), {"axis": 0}


def _images(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    pred, target = rng.normal(size=(2, 4, 2, 3, 3))
    return (torch.tensor(pred, dtype=dtype), torch.tensor(target, dtype=dtype)), {}


def _images_mae_mean(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    (pred, target), _ = _images(rng, dtype)
    pred.view(-1)[::5] = target.view(-1)[::5]  # residuals of 0: the gradient's 0 of |r|
    return (pred, target), {"kind": "mae", "features": "mean"}


def _pixels(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    logits = rng.normal(size=(6, 10)) * 4
    target = rng.uniform(size=(6, 10))
    target.flat[::3] = 0.0
    target.flat[1::3] = 1.0
    return (torch.tensor(logits, dtype=dtype), torch.tensor(target, dtype=dtype)), {"kind": "bce", "from_logits": True}


def _pixels_mean(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    tensors, kwargs = _pixels(rng, dtype)
    return tensors, {**kwargs, "features": "mean"}


def _vector(rng: np.random.Generator, dtype: torch.dtype) -> Drawn:
    """One feature per example: a 1-d batch."""
    pred, target = rng.normal(size=(2, 8))
    return (torch.tensor(pred, dtype=dtype), torch.tensor(target, dtype=dtype)), {"features": "mean"}


CASES = [
    FastCase("kl_divergence", _kl),
    FastCase("kl_divergence", _kl_positive, grads=2),
    FastCase("kl_divergence", _kl_log_positive, grads=2),
    FastCase("kl_divergence", _kl_log_pred, grads=2),
    FastCase("kl_divergence", _kl_log_target),
    FastCase("kl_divergence", _kl_log_both, grads=2),
    FastCase("js_divergence", _js, grads=2),
    FastCase("js_divergence", _js_axis, grads=2),
    FastCase("gaussian_kl", _latents, grads=2),
    FastCase("gaussian_kl", _latents_axis0, grads=2),
    FastCase("reconstruction", _images),
    FastCase("reconstruction", _images_mae_mean),
    FastCase("reconstruction", _pixels),
    FastCase("reconstruction", _pixels_mean),
    FastCase("reconstruction", _vector),
]
