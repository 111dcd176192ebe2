"""focal: values and gradients against optax and keras, its BCE special case, and stability."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
import torch

import losskit

GAMMAS = [0.0, 0.5, 2.0, 5.0]
ALPHAS = [None, 0.25, 0.8]


def _data(rng: np.random.Generator, soft: bool) -> tuple[np.ndarray, np.ndarray]:
    logits = rng.normal(size=(6, 5)) * 3
    labels = rng.uniform(size=(6, 5)) if soft else (rng.uniform(size=(6, 5)) > 0.7).astype(np.float64)
    return logits, labels


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("gamma", GAMMAS)
def test_matches_optax_value_and_gradient(gamma: float, alpha: float | None, soft: bool,
                                          rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft)
    y = jnp.asarray(labels)
    expected = optax.sigmoid_focal_loss(jnp.asarray(logits), y, alpha=alpha, gamma=gamma)
    ours = losskit.focal(jnp.asarray(logits), y, gamma=gamma, alpha=alpha, from_logits=True, reduction="none")
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), rtol=1e-10, atol=1e-15)
    weight = jnp.asarray(rng.uniform(size=(6, 1)))
    grad = jax.grad(lambda x: losskit.focal(x, y, gamma=gamma, alpha=alpha, from_logits=True, weight=weight,
                                            reduction="sum"))(jnp.asarray(logits))
    ref = jax.grad(lambda x: jnp.sum(weight * optax.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)))(
        jnp.asarray(logits))
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref), rtol=1e-9, atol=1e-14)
    # probabilities in, same numbers (away from the clip)
    probs = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(losskit.focal(probs, labels, gamma=gamma, alpha=alpha, reduction="none"),
                               np.asarray(expected), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_matches_keras_binary_focal_crossentropy(gamma: float, alpha: float | None, rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft=False)
    expected = keras.losses.binary_focal_crossentropy(
        labels, logits, apply_class_balancing=alpha is not None, alpha=0.25 if alpha is None else alpha,
        gamma=gamma, from_logits=True)
    ours = losskit.focal(logits, labels, gamma=gamma, alpha=alpha, from_logits=True, reduction="none")
    # keras averages over the last axis (and its mean runs in float32)
    np.testing.assert_allclose(ours.mean(axis=-1), np.asarray(expected), rtol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
def test_gamma_zero_without_alpha_is_binary_cross_entropy(from_logits: bool, rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft=True)
    x = logits if from_logits else 1 / (1 + np.exp(-logits))
    a = torch.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    focal = losskit.focal(a, torch.asarray(labels), gamma=0.0, alpha=None, from_logits=from_logits)
    bce = losskit.binary_cross_entropy(b, torch.asarray(labels), from_logits=from_logits)
    focal.backward()
    bce.backward()
    assert focal.item() == bce.item()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)


def test_torchvision_formula_default_alpha(rng: np.random.Generator) -> None:
    """torchvision.ops.sigmoid_focal_loss (alpha=0.25, gamma=2), restated: it cannot be installed beside
    the pinned torch, and optax (above) implements the same formula."""
    logits, labels = _data(rng, soft=False)
    p = 1 / (1 + np.exp(-logits))
    ce = -(labels * np.log(p) + (1 - labels) * np.log1p(-p))
    p_t = p * labels + (1 - p) * (1 - labels)
    expected = (0.25 * labels + 0.75 * (1 - labels)) * ce * (1 - p_t) ** 2
    np.testing.assert_allclose(losskit.focal(logits, labels, from_logits=True, reduction="none"), expected,
                               rtol=1e-10)


def test_easy_examples_are_down_weighted(rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft=False)
    focal = losskit.focal(logits, labels, from_logits=True, alpha=None, reduction="none")
    bce = losskit.binary_cross_entropy(logits, labels, from_logits=True, reduction="none")
    assert np.all(focal <= bce)
    right = (logits > 0) == (labels > 0.5)
    # for a hard label on the right side, 1 - p_t = sigmoid(-|x|): the factor vanishes quadratically
    factor = (1 / (1 + np.exp(np.abs(logits)))) ** 2
    np.testing.assert_allclose(focal[right] / bce[right], factor[right], rtol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_extreme_logits_and_soft_labels_are_finite(gamma: float, dtype: torch.dtype) -> None:
    logits = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4] * 3, dtype=dtype).requires_grad_(True)
    labels = torch.tensor([0.0] * 5 + [1.0] * 5 + [0.3] * 5, dtype=dtype)
    out = losskit.focal(logits, labels, gamma=gamma, from_logits=True, reduction="none")
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(logits.grad).all()
    right = torch.tensor([1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=torch.bool)  # right side by 1e4
    assert torch.all(out[right] == 0) and torch.all(logits.grad[right] == 0)
    jax_grad = jax.grad(lambda x: losskit.focal(x, jnp.asarray(labels.numpy()), gamma=gamma, from_logits=True,
                                                reduction="sum"))(jnp.asarray(logits.detach().numpy()))
    assert np.all(np.isfinite(np.asarray(jax_grad)))


def test_probability_extremes_are_finite() -> None:
    p = torch.tensor([0.0, 1.0, 0.0, 1.0, 1e-45, 1 - 1e-7], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 0.5])
    out = losskit.focal(p, y, reduction="none")
    out.sum().backward()
    out = out.detach()
    assert torch.isfinite(out).all() and torch.isfinite(p.grad).all()
    assert out[0] == 0 and out[1] == 0
    # both wrong-side extremes: alpha_t * -log(tiny), the factor (1 - p_t)^gamma being 1
    assert float(out[2]) == pytest.approx(0.25 * 87.336544, rel=1e-6)
    assert float(out[3]) == pytest.approx(0.75 * 87.336544, rel=1e-6)
