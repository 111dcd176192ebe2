"""reconstruction, kl_divergence, js_divergence, gaussian_kl: values and gradients against torch (functional
losses, the PyTorch VAE example, torch.distributions), keras, optax, scipy and mpmath; the traps of KL
(argument order, zeros, log-space inputs); properties; bad input; every backend and jax.jit."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import keras
import mpmath
import numpy as np
import optax
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import losskit

from conftest import Backend, to_numpy

LOG2 = math.log(2.0)
F64_EPS = float(np.finfo(np.float64).eps)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _distribution(rng: np.random.Generator, shape: tuple[int, ...], axis: int = -1, zeros: bool = False,
                  scale: float = 1.5) -> np.ndarray:
    """Probabilities along ``axis``; with ``zeros``, about a third of the entries are exactly 0 (never all)."""
    p = _softmax(rng.normal(size=shape) * scale, axis)
    if zeros:
        drop = rng.uniform(size=shape) < 0.35
        keep = np.argmax(p, axis=axis)  # the largest entry of every distribution stays
        np.put_along_axis(drop, np.expand_dims(keep, axis), False, axis=axis)
        p = np.where(drop, 0.0, p)
        p = p / p.sum(axis=axis, keepdims=True)
    return p


def _kl_reference(p: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """KL(y || p) per distribution: scipy's rel_entr(y, p) = y log(y / p), 0 where y = 0."""
    return scipy.special.rel_entr(y, p).sum(axis=axis)


# ---------------------------------------------------------------------------------------------- reconstruction

KINDS = [("mse", False), ("mae", False), ("bce", False), ("bce", True)]
KIND_IDS = ["mse", "mae", "bce", "bce_logits"]
SHAPES = [(6, 5), (3, 2, 4, 5)]


def _reconstruction_data(rng: np.random.Generator, kind: str, from_logits: bool,
                         shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if kind != "bce":
        return rng.normal(size=shape) * 2, rng.normal(size=shape)
    target = rng.uniform(size=shape)
    target.flat[::4] = 0.0  # binarised pixels among grey levels
    target.flat[1::4] = 1.0
    logits = rng.normal(size=shape) * 3
    return (logits if from_logits else 1 / (1 + np.exp(-logits))), target


def _torch_elementwise(kind: str, from_logits: bool, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if kind == "mse":
        return F.mse_loss(pred, target, reduction="none")
    if kind == "mae":
        return F.l1_loss(pred, target, reduction="none")
    if from_logits:
        return F.binary_cross_entropy_with_logits(pred, target, reduction="none")
    return F.binary_cross_entropy(pred, target, reduction="none")


@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "4d"])
@pytest.mark.parametrize("features", ["sum", "mean"])
@pytest.mark.parametrize(("kind", "from_logits"), KINDS, ids=KIND_IDS)
def test_reconstruction_matches_torch_per_example(kind: str, from_logits: bool, features: str,
                                                  shape: tuple[int, ...], rng: np.random.Generator) -> None:
    pred, target = _reconstruction_data(rng, kind, from_logits, shape)
    weight = rng.uniform(0.5, 2.0, size=shape[:1])
    t_pred = torch.tensor(pred, requires_grad=True)
    ref_elem = _torch_elementwise(kind, from_logits, t_pred, torch.tensor(target)).flatten(1)
    ref = ref_elem.sum(1) if features == "sum" else ref_elem.mean(1)
    ours = losskit.reconstruction(pred, target, kind=kind, from_logits=from_logits, features=features,
                                  reduction="none")
    assert ours.shape == shape[:1]
    np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        losskit.reconstruction(pred, target, kind=kind, from_logits=from_logits, features=features, weight=weight),
        (ref.detach().numpy() * weight).sum() / weight.sum(), rtol=1e-12)
    # gradient of the weighted sum
    (ref * torch.tensor(weight)).sum().backward()
    p = torch.tensor(pred, requires_grad=True)
    losskit.reconstruction(p, torch.tensor(target), kind=kind, from_logits=from_logits, features=features,
                           weight=torch.tensor(weight), reduction="sum").backward()
    torch.testing.assert_close(p.grad, t_pred.grad, rtol=1e-11, atol=1e-14)


def test_reconstruction_bce_sum_is_the_pytorch_vae_example(rng: np.random.Generator) -> None:
    """examples/vae/main.py: BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')."""
    x = torch.tensor(rng.uniform(size=(8, 1, 28, 28)))
    x.view(-1)[::3] = 0.0
    recon = torch.sigmoid(torch.tensor(rng.normal(size=(8, 784)) * 2)).requires_grad_(True)
    expected = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
    expected.backward()
    r2 = recon.detach().clone().requires_grad_(True)
    ours = losskit.reconstruction(r2, x.view(-1, 784), kind="bce", reduction="sum")
    ours.backward()
    torch.testing.assert_close(ours, expected, rtol=1e-13, atol=0)
    torch.testing.assert_close(r2.grad, recon.grad, rtol=1e-12, atol=0)
    # the image layout, unflattened, is the same number
    image = losskit.reconstruction(recon.detach().view(8, 1, 28, 28), x, kind="bce", reduction="sum")
    torch.testing.assert_close(image, expected.detach(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "4d"])
def test_reconstruction_mse_features_mean_is_keras_mse_on_flattened_examples(shape: tuple[int, ...],
                                                                            rng: np.random.Generator) -> None:
    pred, target = _reconstruction_data(rng, "mse", False, shape)
    n = shape[0]
    expected = np.asarray(keras.losses.mean_squared_error(target.reshape(n, -1), pred.reshape(n, -1)))
    ours = losskit.reconstruction(pred, target, features="mean", reduction="none")
    np.testing.assert_allclose(ours, expected, rtol=1e-6)  # keras' ops.mean accumulates float64 in float32
    cost = np.asarray(keras.losses.MeanSquaredError()(target.reshape(n, -1), pred.reshape(n, -1)))
    np.testing.assert_allclose(losskit.reconstruction(pred, target, features="mean"), cost, rtol=1e-6)
    # ... which is the element-wise losskit.mse averaged per example
    np.testing.assert_allclose(ours, losskit.mse(pred, target, reduction="none").reshape(n, -1).mean(1), rtol=1e-14)


def test_reconstruction_is_on_the_scale_of_a_log_likelihood(rng: np.random.Generator) -> None:
    """Gaussian decoder with unit variance: -log N(x; x_hat, 1) = mse / 2 + D/2 log 2 pi; Bernoulli: bce."""
    x_hat, x = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    nll = -scipy.stats.norm.logpdf(x, loc=x_hat).sum(1)
    np.testing.assert_allclose(losskit.reconstruction(x_hat, x, reduction="none") / 2 + 3.5 * math.log(2 * math.pi),
                               nll, rtol=1e-13)
    p, bits = 1 / (1 + np.exp(-rng.normal(size=(5, 7)))), (rng.uniform(size=(5, 7)) < 0.5).astype(np.float64)
    np.testing.assert_allclose(losskit.reconstruction(p, bits, kind="bce", reduction="none"),
                               -scipy.stats.bernoulli.logpmf(bits, p).sum(1), rtol=1e-13)


def test_reconstruction_docstring_example() -> None:
    x = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
    np.testing.assert_allclose(losskit.reconstruction(x + 0.1, x, reduction="none"), [0.03, 0.03], rtol=1e-13)


@pytest.mark.parametrize("kind", ["mse", "mae"])
def test_reconstruction_from_logits_needs_bce(kind: str) -> None:
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="from_logits"):
        losskit.reconstruction(x, x, kind=kind, from_logits=True)


# ---------------------------------------------------------------------------------------------- kl_divergence

@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_kl_matches_torch_kl_div(reduction: str, log_target: bool, rng: np.random.Generator) -> None:
    """losskit "mean" is torch "batchmean"; "none" is torch's element-wise "none" summed over the classes."""
    p, y = _distribution(rng, (7, 6)), _distribution(rng, (7, 6), zeros=not log_target)
    target = np.log(y) if log_target else y
    t_torch = {"mean": "batchmean", "sum": "sum", "none": "none"}[reduction]
    log_p = torch.tensor(np.log(p), requires_grad=True)
    expected = F.kl_div(log_p, torch.tensor(target), reduction=t_torch, log_target=log_target)
    if reduction == "none":
        expected = expected.sum(-1)
    expected.sum().backward()
    for log_pred in (False, True):
        x = torch.tensor(np.log(p) if log_pred else p, requires_grad=True)
        ours = losskit.kl_divergence(x, torch.tensor(target), log_pred=log_pred, log_target=log_target,
                                     reduction=reduction)
        ours.sum().backward()
        torch.testing.assert_close(ours, expected.detach(), rtol=1e-12, atol=1e-15)
        # chain rule through log p: d/dp = d/dlog p / p
        grad = x.grad if log_pred else x.grad * torch.tensor(p)
        torch.testing.assert_close(grad, log_p.grad, rtol=1e-12, atol=1e-15)


def test_kl_matches_keras_away_from_its_clip(rng: np.random.Generator) -> None:
    """keras clips both inputs to [1e-7, 1]: without entries below 1e-7 it is the same number."""
    p, y = _distribution(rng, (8, 5)), _distribution(rng, (8, 5))
    assert min(p.min(), y.min()) > 1e-4
    expected = np.asarray(keras.losses.kl_divergence(y, p))  # keras: (y_true, y_pred)
    assert expected.dtype == np.float64
    np.testing.assert_allclose(losskit.kl_divergence(p, y, reduction="none"), expected, rtol=1e-12)
    cost = np.asarray(keras.losses.KLDivergence()(y, p))
    np.testing.assert_allclose(losskit.kl_divergence(p, y), cost, rtol=1e-6)  # keras' Loss class reduces in f32


def test_kl_matches_optax(rng: np.random.Generator) -> None:
    """optax.losses.kl_divergence(log_predictions, targets) per distribution, and its log-target variant."""
    p, y = _distribution(rng, (8, 5)), _distribution(rng, (8, 5), zeros=True)
    log_p = jnp.log(jnp.asarray(p))
    expected = np.asarray(optax.losses.kl_divergence(log_p, jnp.asarray(y)))
    np.testing.assert_allclose(np.asarray(losskit.kl_divergence(jnp.asarray(p), jnp.asarray(y), reduction="none")),
                               expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        np.asarray(losskit.kl_divergence(log_p, jnp.asarray(y), log_pred=True, reduction="none")), expected,
        rtol=1e-12, atol=1e-15)
    y_full = _distribution(rng, (8, 5))
    expected_log = np.asarray(optax.losses.kl_divergence_with_log_targets(log_p, jnp.log(jnp.asarray(y_full))))
    np.testing.assert_allclose(
        np.asarray(losskit.kl_divergence(log_p, jnp.log(jnp.asarray(y_full)), log_pred=True, log_target=True,
                                         reduction="none")), expected_log, rtol=1e-12)
    # gradient in the log-probabilities
    grad = jax.grad(lambda lp: losskit.kl_divergence(lp, jnp.asarray(y), log_pred=True, reduction="sum"))(log_p)
    ref = jax.grad(lambda lp: jnp.sum(optax.losses.kl_divergence(lp, jnp.asarray(y))))(log_p)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref), rtol=1e-12, atol=1e-15)


def test_kl_matches_scipy_rel_entr_with_zeros(rng: np.random.Generator) -> None:
    p, y = _distribution(rng, (10, 7), zeros=False), _distribution(rng, (10, 7), zeros=True)
    assert np.any(y == 0)
    np.testing.assert_allclose(losskit.kl_divergence(p, y, reduction="none"), _kl_reference(p, y), rtol=1e-12)
    np.testing.assert_allclose(losskit.kl_divergence(p, y), _kl_reference(p, y).mean(), rtol=1e-12)


def test_kl_axis_1_on_a_3d_input(rng: np.random.Generator) -> None:
    p, y = _distribution(rng, (4, 5, 3), axis=1), _distribution(rng, (4, 5, 3), axis=1, zeros=True)
    ours = losskit.kl_divergence(p, y, axis=1, reduction="none")
    assert ours.shape == (4, 3)
    np.testing.assert_allclose(ours, _kl_reference(p, y, axis=1), rtol=1e-12)
    np.testing.assert_allclose(losskit.kl_divergence(p, y, axis=-2, reduction="none"), ours, rtol=0)
    # torch's kl_div on the moved axis
    expected = F.kl_div(torch.tensor(np.log(p)), torch.tensor(y), reduction="none").sum(1)
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("zeros", [False, True])
def test_kl_of_identical_distributions_is_exactly_zero(zeros: bool, rng: np.random.Generator) -> None:
    y = _distribution(rng, (6, 5), zeros=zeros)
    assert np.all(losskit.kl_divergence(y.copy(), y, reduction="none") == 0.0)
    with np.errstate(divide="ignore"):
        log_y = np.log(y)
    if not zeros:  # log-space inputs (log_target with -inf: see test_kl_log_target_with_minus_inf)
        assert np.all(losskit.kl_divergence(log_y, y, log_pred=True, reduction="none") == 0.0)
        assert np.all(losskit.kl_divergence(log_y, log_y, log_pred=True, log_target=True, reduction="none") == 0.0)


def test_kl_target_zeros_give_finite_loss_and_gradient(rng: np.random.Generator) -> None:
    """The `where` trap: y log y at y = 0 must not send NaN (0 * -inf) into the gradient of pred or target."""
    p, y = _distribution(rng, (6, 5)), _distribution(rng, (6, 5), zeros=True)
    p[0, np.argmin(y[0])] = 0.0  # pred also 0 where the target is 0
    p[0] /= p[0].sum()
    assert np.any(y == 0) and y[0].min() == 0 and p[0].min() == 0
    tp, ty = torch.tensor(p, requires_grad=True), torch.tensor(y, requires_grad=True)
    loss = losskit.kl_divergence(tp, ty, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), _kl_reference(p, y).sum(), rtol=1e-12)
    assert torch.isfinite(tp.grad).all() and torch.isfinite(ty.grad).all()
    present = y > 0
    # d/dp = -y / p; d/dy = log y - log p + 1 where y > 0, and 0 (no term) where y = 0
    np.testing.assert_allclose(tp.grad.numpy()[present], -y[present] / p[present], rtol=1e-12)
    assert np.all(tp.grad.numpy()[~present] == 0) and np.all(ty.grad.numpy()[~present] == 0)
    np.testing.assert_allclose(ty.grad.numpy()[present], np.log(y[present]) - np.log(p[present]) + 1, rtol=1e-12)
    gp, gy = jax.grad(lambda a, b: losskit.kl_divergence(a, b, reduction="sum"), argnums=(0, 1))(
        jnp.asarray(p), jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(gp), tp.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.asarray(gy), ty.grad.numpy(), rtol=1e-12, atol=0)


def _log_target_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    y = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(divide="ignore"):
        return p, y, np.log(y)


def test_kl_log_target_with_minus_inf_gives_finite_loss_and_gradient() -> None:
    p, y, log_y = _log_target_case()
    tp, tl = torch.tensor(p, requires_grad=True), torch.tensor(log_y, requires_grad=True)
    loss = losskit.kl_divergence(tp, tl, log_target=True, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), _kl_reference(p, y).sum(), rtol=1e-12)
    assert torch.isfinite(tp.grad).all() and torch.isfinite(tl.grad).all()
    gp, gl = jax.grad(lambda a, b: losskit.kl_divergence(a, b, log_target=True, reduction="sum"), argnums=(0, 1))(
        jnp.asarray(p), jnp.asarray(log_y))
    assert np.all(np.isfinite(np.asarray(gp))) and np.all(np.isfinite(np.asarray(gl)))


def test_kl_log_target_with_minus_inf_is_right_where_values_are_not_checked() -> None:
    """The formula itself handles -inf (the refusal above is the value check): under jax.jit and with checks
    off, value and gradient are finite and right."""
    p, y, log_y = _log_target_case()
    expected = _kl_reference(p, y).sum()
    cost = jax.jit(lambda a, b: losskit.kl_divergence(a, b, log_target=True, reduction="sum"))
    np.testing.assert_allclose(float(cost(jnp.asarray(p), jnp.asarray(log_y))), expected, rtol=1e-12)
    gp, gl = jax.jit(jax.grad(lambda a, b: losskit.kl_divergence(a, b, log_target=True, reduction="sum"),
                              argnums=(0, 1)))(jnp.asarray(p), jnp.asarray(log_y))
    np.testing.assert_allclose(np.asarray(gp), np.where(y > 0, -y / p, 0.0), rtol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_gl = np.where(y > 0, y * (np.log(y) - np.log(p) + 1), 0.0)  # d/dlog y of e^l (l - log p)
    np.testing.assert_allclose(np.asarray(gl), expected_gl, rtol=1e-12, atol=0)
    with losskit.checks(False):
        tl = torch.tensor(log_y, requires_grad=True)
        loss = losskit.kl_divergence(torch.tensor(p), tl, log_target=True, reduction="sum")
        loss.backward()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(tl.grad.numpy(), expected_gl, rtol=1e-12, atol=0)


def test_kl_log_pred_minus_inf_where_target_is_zero_has_finite_target_gradient() -> None:
    with np.errstate(divide="ignore"):
        log_p = np.log(np.array([[0.5, 0.5, 0.0]]))
    y = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64, requires_grad=True)
    loss = losskit.kl_divergence(torch.tensor(log_p), y, log_pred=True, reduction="sum")
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(y.grad).all()


def test_kl_target_not_summing_to_one_is_refused(rng: np.random.Generator) -> None:
    p, y = _distribution(rng, (3, 4)), _distribution(rng, (3, 4))
    with pytest.raises(ValueError, match="target must sum to 1"):
        losskit.kl_divergence(p, y * 0.9)
    with pytest.raises(ValueError, match="pred must sum to 1"):
        losskit.kl_divergence(p * 1.1, y)
    with pytest.raises(ValueError, match=r"exp\(target\) must sum to 1"):
        losskit.kl_divergence(p, np.log(y) - 0.1, log_target=True)
    with pytest.raises(ValueError, match="target must sum to 1"):
        losskit.js_divergence(p, y * 0.9)


def test_kl_torch_argument_order_is_refused_then_log_pred_gives_torch(rng: np.random.Generator) -> None:
    """F.kl_div(log_softmax(logits), target): passing the same arguments here must not give a silent number."""
    logits = torch.tensor(rng.normal(size=(5, 4)) * 2)
    log_p = F.log_softmax(logits, dim=-1)
    target = torch.tensor(_distribution(rng, (5, 4)))
    with pytest.raises(ValueError, match="log_pred=True"):
        losskit.kl_divergence(log_p, target)
    expected = F.kl_div(log_p, target, reduction="batchmean")
    torch.testing.assert_close(losskit.kl_divergence(log_p, target, log_pred=True), expected, rtol=1e-12, atol=0)
    # a log-probability target without log_target=True is refused the same way
    with pytest.raises(ValueError, match="log_target=True"):
        losskit.kl_divergence(target, torch.log(target))


def test_kl_swapped_probabilities_is_the_other_direction(rng: np.random.Generator) -> None:
    """Both arrays hold probabilities, so the order cannot be checked: swapped, the result is KL(p || y)."""
    p, y = _distribution(rng, (6, 5)), _distribution(rng, (6, 5), scale=3.0)
    forward = losskit.kl_divergence(p, y, reduction="none")
    swapped = losskit.kl_divergence(y, p, reduction="none")
    np.testing.assert_allclose(forward, scipy.special.rel_entr(y, p).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(swapped, scipy.special.rel_entr(p, y).sum(-1), rtol=1e-12)
    assert np.all(np.abs(forward - swapped) > 1e-3 * np.maximum(forward, swapped))


def test_kl_docstring_example() -> None:
    p, y = np.array([[0.5, 0.25, 0.25]]), np.array([[1.0, 0.0, 0.0]])
    assert float(losskit.kl_divergence(p, y)) == pytest.approx(LOG2, rel=1e-15)


# ---------------------------------------------------------------------------------------------- js_divergence

@pytest.mark.parametrize("axis", [-1, 1])
def test_js_matches_scipy_jensenshannon_squared(axis: int, rng: np.random.Generator) -> None:
    shape = (6, 5) if axis == -1 else (4, 5, 3)
    p, y = _distribution(rng, shape, axis, zeros=True), _distribution(rng, shape, axis, zeros=True)
    expected = scipy.spatial.distance.jensenshannon(p, y, axis=axis) ** 2  # natural log by default
    ours = losskit.js_divergence(p, y, axis=axis, reduction="none")
    np.testing.assert_allclose(ours, expected, rtol=1e-11, atol=1e-15)
    assert np.all(ours >= 0)
    np.testing.assert_allclose(losskit.js_divergence(p, y, axis=axis), expected.mean(), rtol=1e-11)


def test_js_is_symmetric_and_zero_for_identical(rng: np.random.Generator) -> None:
    p, y = _distribution(rng, (7, 5), zeros=True), _distribution(rng, (7, 5), zeros=True)
    forward = losskit.js_divergence(p, y, reduction="none")
    np.testing.assert_array_equal(losskit.js_divergence(y, p, reduction="none"), forward)
    np.testing.assert_allclose(forward, scipy.spatial.distance.jensenshannon(y, p, axis=-1) ** 2, rtol=1e-11)
    assert np.all(losskit.js_divergence(p.copy(), p, reduction="none") == 0.0)


def test_js_reaches_log_2_on_disjoint_supports() -> None:
    p = np.array([[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.0, 0.2, 0.0, 0.8]])
    y = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.25, 0.75], [0.6, 0.0, 0.4, 0.0]])
    np.testing.assert_allclose(losskit.js_divergence(p, y, reduction="none"), [LOG2] * 3, rtol=1e-15)
    np.testing.assert_allclose(scipy.spatial.distance.jensenshannon(p, y, axis=-1) ** 2, [LOG2] * 3, rtol=1e-15)


def test_js_zeros_in_either_input_give_finite_gradient(rng: np.random.Generator) -> None:
    p, y = _distribution(rng, (6, 5), zeros=True), _distribution(rng, (6, 5), zeros=True)
    p[0], y[0] = [1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]  # disjoint
    tp, ty = torch.tensor(p, requires_grad=True), torch.tensor(y, requires_grad=True)
    loss = losskit.js_divergence(tp, ty, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), (scipy.spatial.distance.jensenshannon(p, y, axis=-1) ** 2).sum(),
                               rtol=1e-11)
    assert torch.isfinite(tp.grad).all() and torch.isfinite(ty.grad).all()
    # where p > 0: dJS/dp = (log p - log m) / 2 (the +1s cancel); symmetric in y
    m = (p + y) / 2
    for x, g in ((p, tp.grad.numpy()), (y, ty.grad.numpy())):
        np.testing.assert_allclose(g[x > 0], 0.5 * (np.log(x[x > 0]) - np.log(m[x > 0])), rtol=1e-11, atol=1e-15)
    gp, gy = jax.grad(lambda a, b: losskit.js_divergence(a, b, reduction="sum"), argnums=(0, 1))(
        jnp.asarray(p), jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(gp), tp.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(gy), ty.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------- gaussian_kl

def _vae_example_kld(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """examples/vae/main.py, per example: -0.5 * sum(1 + logvar - mu^2 - logvar.exp())."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


def test_gaussian_kl_zero_at_the_standard_normal() -> None:
    out = losskit.gaussian_kl(np.zeros((3, 4)), np.zeros((3, 4)), reduction="none")
    np.testing.assert_array_equal(out, np.zeros(3))
    mean = np.array([[0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(losskit.gaussian_kl(mean, np.zeros((2, 2)), reduction="none"), [0.0, 0.5])


def test_gaussian_kl_is_the_pytorch_vae_example_and_torch_distributions(rng: np.random.Generator) -> None:
    mu, lv = torch.tensor(rng.normal(size=(8, 6))), torch.tensor(rng.normal(size=(8, 6)) * 2)
    ours = losskit.gaussian_kl(mu, lv, reduction="none")
    torch.testing.assert_close(ours, _vae_example_kld(mu, lv), rtol=1e-12, atol=1e-14)
    closed = torch.distributions.kl_divergence(torch.distributions.Normal(mu, torch.exp(lv / 2)),
                                               torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(ours, closed, rtol=1e-12, atol=1e-14)
    # the example sums over the batch
    torch.testing.assert_close(losskit.gaussian_kl(mu, lv, reduction="sum"), _vae_example_kld(mu, lv).sum(),
                               rtol=1e-12, atol=0)
    # latents along axis 0
    torch.testing.assert_close(losskit.gaussian_kl(mu.T, lv.T, axis=0, reduction="none"), ours, rtol=1e-14, atol=0)


def test_the_whole_pytorch_vae_loss_function(rng: np.random.Generator) -> None:
    """loss_function(recon_x, x, mu, logvar) = BCE(sum) + KLD of the example, value and gradients."""
    x = torch.tensor(rng.uniform(size=(4, 1, 28, 28)))
    logits = torch.tensor(rng.normal(size=(4, 784)), requires_grad=True)
    mu = torch.tensor(rng.normal(size=(4, 20)), requires_grad=True)
    lv = torch.tensor(rng.normal(size=(4, 20)), requires_grad=True)
    expected = (F.binary_cross_entropy(torch.sigmoid(logits), x.view(-1, 784), reduction="sum")
                + _vae_example_kld(mu, lv).sum())
    expected_grads = torch.autograd.grad(expected, (logits, mu, lv))
    ours = (losskit.reconstruction(logits, x.view(-1, 784), kind="bce", from_logits=True, reduction="sum")
            + losskit.gaussian_kl(mu, lv, reduction="sum"))
    grads = torch.autograd.grad(ours, (logits, mu, lv))
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=0)
    for g, e in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-14)


def _mp_gaussian_kl(mu: float, v: float) -> float:
    with mpmath.workdps(60):
        m, lv = mpmath.mpf(float(mu)), mpmath.mpf(float(v))
        return float((m * m + mpmath.expm1(lv) - lv) / 2)


@pytest.mark.parametrize("v", [1e-10, -1e-10, 3e-8, 1e-6, -1e-4, 1e-2])
def test_gaussian_kl_near_unit_variance_against_mpmath(v: float) -> None:
    """expm1(v) - v keeps the leading v^2 / 2; the naive exp(v) - 1 - v loses every digit below |v| ~ 1e-8.

    What is left is the rounding of expm1(v) itself, an absolute error of about eps |v|: the relative
    error of the term is ~ 4 eps / |v| (6.8e-7 at |v| = 1e-10)."""
    ours = float(losskit.gaussian_kl(np.zeros((1, 1)), np.array([[v]]), reduction="none")[0])
    expected = _mp_gaussian_kl(0.0, v)
    assert abs(ours - expected) <= 2 * F64_EPS * abs(v)
    assert abs(ours - expected) <= 1e-5 * expected
    naive = 0.5 * (math.exp(v) - 1 - v)
    if abs(v) <= 1e-8:
        assert abs(naive - expected) > 100 * expected  # the naive formula is wrong by orders of magnitude


@pytest.mark.parametrize("v", [1e-10, 1e-17])
def test_gaussian_kl_is_relatively_exact_near_unit_variance(v: float) -> None:
    ours = float(losskit.gaussian_kl(np.zeros((1, 1)), np.array([[v]]), reduction="none")[0])
    assert ours == pytest.approx(_mp_gaussian_kl(0.0, v), rel=1e-12, abs=0)


@pytest.mark.parametrize(("dtype", "big"), [(torch.float64, 700.0), (torch.float32, 80.0)])
def test_gaussian_kl_is_finite_at_extreme_log_variances(dtype: torch.dtype, big: float) -> None:
    mu = torch.tensor([[0.0, 0.0, 0.5], [3.0, -1.0, 0.0]], dtype=dtype, requires_grad=True)
    lv = torch.tensor([[big, -big, 0.0], [-big, 0.0, big]], dtype=dtype, requires_grad=True)
    out = losskit.gaussian_kl(mu, lv, reduction="none")
    out.sum().backward()
    assert out.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(mu.grad).all() and torch.isfinite(lv.grad).all()
    m64, v64 = mu.detach().double().numpy(), lv.detach().double().numpy()
    expected = [sum(_mp_gaussian_kl(a, b) for a, b in zip(m64[i], v64[i], strict=True)) for i in range(2)]
    rtol = 1e-14 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(out.detach().double().numpy(), expected, rtol=rtol)
    np.testing.assert_allclose(mu.grad.double().numpy(), m64, rtol=rtol)
    np.testing.assert_allclose(lv.grad.double().numpy(), 0.5 * np.expm1(v64), rtol=10 * rtol)  # d/dv = (e^v - 1)/2


def test_gaussian_kl_gradcheck_and_jax_grad(rng: np.random.Generator) -> None:
    mu = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    lv = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    w = torch.tensor(rng.uniform(0.5, 2.0, size=(4,)))
    assert torch.autograd.gradcheck(lambda m, v: losskit.gaussian_kl(m, v, weight=w), (mu, lv))
    assert torch.autograd.gradgradcheck(lambda m, v: losskit.gaussian_kl(m, v, reduction="sum"), (mu, lv))
    losskit.gaussian_kl(mu, lv, weight=w).backward()
    gm, gv = jax.grad(lambda m, v: losskit.gaussian_kl(m, v, weight=jnp.asarray(w.numpy())), argnums=(0, 1))(
        jnp.asarray(mu.detach().numpy()), jnp.asarray(lv.detach().numpy()))
    np.testing.assert_allclose(np.asarray(gm), mu.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(gv), lv.grad.numpy(), rtol=1e-13)
    # and the closed form: d/dmu = w mu / sum w, d/dv = w (e^v - 1) / (2 sum w)
    scale = (w / w.sum()).numpy()[:, None]
    np.testing.assert_allclose(mu.grad.numpy(), scale * mu.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(lv.grad.numpy(), scale * np.expm1(lv.detach().numpy()) / 2, rtol=1e-13)


# ---------------------------------------------------------------------------------------------- properties

@st.composite
def _distribution_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 12))
    concentration = draw(st.sampled_from([0.05, 0.5, 1.0, 20.0]))
    relation = draw(st.sampled_from(["independent", "near", "equal", "sparse"]))
    p = rng.dirichlet(np.full(c, concentration), size=n)
    if relation == "independent":
        y = rng.dirichlet(np.full(c, concentration), size=n)
    elif relation == "near":
        y = p * np.exp(rng.normal(size=p.shape) * draw(st.sampled_from([1e-12, 1e-6, 1e-2])))
        y /= y.sum(-1, keepdims=True)
    elif relation == "equal":
        y = p.copy()
    else:
        y = np.where(rng.uniform(size=p.shape) < 0.5, 0.0, rng.dirichlet(np.ones(c), size=n))
        y[:, 0] += y.sum(-1) == 0
        y /= y.sum(-1, keepdims=True)
    return (p, y) if draw(st.booleans()) else (y, p)


ROUNDING = 32 * F64_EPS  # KL of nearly equal distributions is a sum of terms of both signs: a few ulps below 0


@settings(max_examples=150, deadline=None)
@given(pair=_distribution_pairs())
def test_divergence_properties(pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, y = pair
    l1 = np.abs(p - y).sum(-1)
    kl = losskit.kl_divergence(p, y, reduction="none")
    js = losskit.js_divergence(p, y, reduction="none")
    # KL >= 0, zero iff equal: Pinsker, KL(y || p) >= ||p - y||_1^2 / 2; exactly 0 when equal
    assert np.all(kl >= 0.5 * l1**2 - ROUNDING)
    assert np.all(kl[np.all(p == y, axis=-1)] == 0.0)
    # JS in [0, log 2]; zero iff equal: Pinsker on each half, JS >= ||p - y||_1^2 / 8
    assert np.all(js >= l1**2 / 8 - ROUNDING)
    assert np.all(js <= LOG2 * (1 + 4 * F64_EPS))
    assert np.all(js[np.all(p == y, axis=-1)] == 0.0)
    m = (p + y) / 2  # scipy's jensenshannon takes the square root of these few-ulp negatives: NaN
    expected = 0.5 * (scipy.special.rel_entr(p, m) + scipy.special.rel_entr(y, m)).sum(-1)
    np.testing.assert_allclose(js, expected, rtol=1e-9, atol=ROUNDING)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-12, 1e-3, 1.0, 10.0]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_gaussian_kl_non_negative(seed: int, scale: float, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    mu, lv = (rng.normal(size=(5, 4)) * scale).astype(dtype), (rng.normal(size=(5, 4)) * scale).astype(dtype)
    out = losskit.gaussian_kl(mu, lv, reduction="none")
    assert np.all(out >= 0)
    # against mpmath, within the rounding of the sum: a few ulps of the terms' magnitudes
    eps = float(np.finfo(dtype).eps)
    m64, v64 = mu.astype(np.float64), lv.astype(np.float64)
    for i in range(5):
        expected = sum(_mp_gaussian_kl(a, b) for a, b in zip(m64[i], v64[i], strict=True))
        magnitude = 0.5 * np.sum(m64[i] ** 2 + np.exp(v64[i]) + 1 + np.abs(v64[i]))
        assert abs(float(out[i]) - expected) <= 8 * eps * magnitude


# ---------------------------------------------------------------------------------------------- bad input

P = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])
Y = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
BAD: list[tuple[Any, type[Exception], str]] = [
    (lambda: losskit.reconstruction(np.zeros((2, 3)), np.zeros((2, 4))), ValueError, "target"),
    (lambda: losskit.reconstruction(np.zeros((2, 3)), np.zeros((3, 2))), ValueError, "target"),
    (lambda: losskit.reconstruction(np.array(0.5), np.array(0.5)), ValueError, "pred"),
    (lambda: losskit.reconstruction(np.zeros((2, 3)), np.zeros((2, 3)), kind="l2"), ValueError, "kind"),
    (lambda: losskit.reconstruction(np.zeros((2, 3)), np.zeros((2, 3)), features="max"), ValueError, "features"),
    (lambda: losskit.reconstruction(np.full((2, 3), 0.5), np.full((2, 3), 1.5), kind="bce"), ValueError, "target"),
    (lambda: losskit.reconstruction(np.full((2, 3), -0.1), np.full((2, 3), 0.5), kind="bce"), ValueError,
     "from_logits"),
    (lambda: losskit.reconstruction(np.zeros((2, 3)), np.zeros((2, 3)), weight=np.ones((3,))), ValueError, "weight"),
    (lambda: losskit.reconstruction(np.zeros((2, 3)), np.zeros((2, 3)), reduction="batchmean"), ValueError,
     "reduction"),
    (lambda: losskit.kl_divergence(P, Y[:, :2]), ValueError, "target"),
    (lambda: losskit.kl_divergence(P, Y.T), ValueError, "target"),
    (lambda: losskit.kl_divergence(P - 0.3, Y), ValueError, "pred"),
    (lambda: losskit.kl_divergence(P, Y - 0.25), ValueError, "target"),
    (lambda: losskit.kl_divergence(P, Y, log_pred=True), ValueError, "pred.*log_pred"),
    (lambda: losskit.kl_divergence(P, Y, log_target=True), ValueError, "target.*log_target"),
    (lambda: losskit.kl_divergence(np.log(P), Y, log_pred=True, axis=0), ValueError, r"exp\(pred\)"),
    (lambda: losskit.kl_divergence(P, Y, axis=2), ValueError, "axis"),
    (lambda: losskit.kl_divergence(P, Y, axis=-3), ValueError, "axis"),
    (lambda: losskit.kl_divergence(P, Y, axis=1.0), TypeError, "axis"),
    (lambda: losskit.kl_divergence(P, np.where(Y == 1.0, np.nan, Y)), ValueError, "target"),
    (lambda: losskit.kl_divergence(P.astype(np.int64), Y), TypeError, "pred"),
    (lambda: losskit.kl_divergence(P, Y, weight=np.ones((2, 1))), ValueError, "weight"),
    (lambda: losskit.kl_divergence(torch.tensor(P), jnp.asarray(Y)), TypeError, "torch"),
    (lambda: losskit.js_divergence(P, Y[:1]), ValueError, "target"),
    (lambda: losskit.js_divergence(-P, Y), ValueError, "pred"),
    (lambda: losskit.js_divergence(P, 2 * Y - 0.5), ValueError, "target"),
    (lambda: losskit.js_divergence(P, Y, axis=5), ValueError, "axis"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 4))), ValueError, "log_var"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3, 1))), ValueError, "log_var"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3)), np.array([[0.0, np.nan, 0.0]] * 2)), ValueError, "log_var"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3)), np.array([[0.0, np.inf, 0.0]] * 2)), ValueError, "log_var"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3)), np.array([[0.0, -np.inf, 0.0]] * 2)), ValueError, "log_var"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3)), axis=2), ValueError, "axis"),
    (lambda: losskit.gaussian_kl(np.array(0.0), np.array(0.0)), ValueError, "mean"),
    (lambda: losskit.gaussian_kl(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 3))), TypeError, "mean"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD, ids=[f"{i}-{m}" for i, (_, _, m) in enumerate(BAD)])
def test_bad_input_names_the_argument(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_inputs_are_not_modified(rng: np.random.Generator) -> None:
    p, y = _distribution(rng, (4, 5), zeros=True), _distribution(rng, (4, 5), zeros=True)
    p0, y0 = p.copy(), y.copy()
    losskit.kl_divergence(p, y)
    losskit.js_divergence(p, y)
    losskit.gaussian_kl(p, y)
    losskit.reconstruction(p, y, kind="bce")
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(y, y0)


# ---------------------------------------------------------------------------------------------- backends, jit

def _backend_cases(rng: np.random.Generator) -> list[tuple[str, tuple[np.ndarray, ...], dict[str, Any], Any]]:
    """(loss, arrays, keyword arguments, per-example reference computed without losskit)."""
    x_hat, x = rng.normal(size=(4, 2, 3, 3)), rng.normal(size=(4, 2, 3, 3))
    logits, bits = rng.normal(size=(4, 6)) * 3, rng.uniform(size=(4, 6))
    p, y = _distribution(rng, (4, 5, 3), axis=1), _distribution(rng, (4, 5, 3), axis=1, zeros=True)
    mu, lv = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    bce = np.logaddexp(0, -logits) * bits + np.logaddexp(0, logits) * (1 - bits)
    return [
        ("reconstruction", (x_hat, x), {}, ((x_hat - x) ** 2).reshape(4, -1).sum(1)),
        ("reconstruction", (x_hat, x), {"kind": "mae", "features": "mean"}, np.abs(x_hat - x).reshape(4, -1).mean(1)),
        ("reconstruction", (logits, bits), {"kind": "bce", "from_logits": True}, bce.sum(1)),
        ("kl_divergence", (p, y), {"axis": 1}, _kl_reference(p, y, axis=1)),
        ("kl_divergence", (np.log(p), y), {"axis": 1, "log_pred": True}, _kl_reference(p, y, axis=1)),
        ("js_divergence", (p, y), {"axis": 1}, scipy.spatial.distance.jensenshannon(p, y, axis=1) ** 2),
        ("gaussian_kl", (mu, lv), {}, 0.5 * (mu**2 + np.exp(lv) - 1 - lv).sum(1)),
    ]


@pytest.mark.parametrize("index", range(7))
def test_every_backend_gives_the_reference_numbers(index: int, backend: Backend, rng: np.random.Generator) -> None:
    name, arrays, kwargs, expected = _backend_cases(rng)[index]
    loss = getattr(losskit, name)
    weight = rng.uniform(0.5, 2.0, size=expected.shape)
    args = [backend(a) for a in arrays]
    for dtype_name, rtol in (("float64", 1e-12), ("float32", 2e-5)):
        if dtype_name == "float32":
            args = [backend(a.astype(np.float32)) for a in arrays]
        none = loss(*args, reduction="none", **kwargs)
        assert type(none).__module__.split(".")[0] == type(args[0]).__module__.split(".")[0]
        assert str(none.dtype).endswith(dtype_name)
        np.testing.assert_allclose(to_numpy(none), expected, rtol=rtol, atol=1e-6 if dtype_name == "float32" else 0)
        total = loss(*args, weight=backend(weight.astype(dtype_name)), reduction="sum", **kwargs)
        mean = loss(*args, weight=backend(weight.astype(dtype_name)), **kwargs)
        np.testing.assert_allclose(float(to_numpy(total)), (weight * expected).sum(), rtol=rtol)
        np.testing.assert_allclose(float(to_numpy(mean)), (weight * expected).sum() / weight.sum(), rtol=rtol)


@pytest.mark.parametrize("index", range(7))
def test_jax_jit_value_and_grad_agree_with_torch(index: int, rng: np.random.Generator) -> None:
    name, arrays, kwargs, expected = _backend_cases(rng)[index]
    loss = getattr(losskit, name)
    weight = rng.uniform(0.5, 2.0, size=expected.shape)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    cost_t = loss(*tensors, weight=torch.tensor(weight), **kwargs)
    grads_t = torch.autograd.grad(cost_t, tensors)

    def cost(*a: Any) -> Any:
        return loss(*a, weight=jnp.asarray(weight), **kwargs)

    jargs = [jnp.asarray(a) for a in arrays]
    np.testing.assert_allclose(float(jax.jit(cost)(*jargs)), (weight * expected).sum() / weight.sum(), rtol=1e-12)
    np.testing.assert_allclose(float(jax.jit(cost)(*jargs)), cost_t.item(), rtol=1e-13)
    grads_j = jax.jit(jax.grad(cost, argnums=tuple(range(len(jargs)))))(*jargs)
    for gj, gt in zip(grads_j, grads_t, strict=True):
        np.testing.assert_allclose(np.asarray(gj), gt.numpy(), rtol=1e-11, atol=1e-15)
    none = jax.jit(lambda *a: loss(*a, reduction="none", **kwargs))(*jargs)
    np.testing.assert_allclose(np.asarray(none), expected, rtol=1e-12)
