"""GAN losses: each kind against a NumPy restatement, the game's closed forms, BCE, reduction over two
batches, stability at logits of +-1e4, every backend, jax.jit / jax.grad, and the gradient penalties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_strict
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from jax.test_util import check_grads

import losskit
from losskit.gan import KINDS

from conftest import Backend, to_numpy

PLAIN = [kind for kind in KINDS if kind != "relativistic"]
LOG4 = float(np.log(4.0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# The definitions in probability form, as the papers write them (fine in float64 for |logit| < 30).
D_TERMS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "minimax": (lambda r: -np.log(_sigmoid(r)), lambda f: -np.log1p(-_sigmoid(f))),
    "non_saturating": (lambda r: -np.log(_sigmoid(r)), lambda f: -np.log1p(-_sigmoid(f))),
    "least_squares": (lambda r: 0.5 * (r - 1.0) ** 2, lambda f: 0.5 * (f - 0.0) ** 2),
    "wasserstein": (lambda r: -r, lambda f: f),
    "hinge": (lambda r: np.maximum(0.0, 1.0 - r), lambda f: np.maximum(0.0, 1.0 + f)),
}
G_LOSS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "minimax": lambda f: np.log1p(-_sigmoid(f)),
    "non_saturating": lambda f: -np.log(_sigmoid(f)),
    "least_squares": lambda f: 0.5 * (f - 1.0) ** 2,
    "wasserstein": lambda f: -f,
    "hinge": lambda f: -f,
}


def _d_expected(kind: str, real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    if kind == "relativistic":
        return -np.log(_sigmoid(real - fake))
    on_real, on_fake = D_TERMS[kind]
    return on_real(real) + on_fake(fake)


def _g_expected(kind: str, fake: np.ndarray, real: np.ndarray) -> np.ndarray:
    return -np.log(_sigmoid(fake - real)) if kind == "relativistic" else G_LOSS[kind](fake)


def _g_kwargs(kind: str, real: Any) -> dict[str, Any]:
    return {"kind": kind, "real": real} if kind == "relativistic" else {"kind": kind}


def _scores(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(size=shape) * 3


# --- formulas and closed forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_discriminator_loss_matches_the_definition(kind: str, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 7), _scores(rng, 7)
    expected = _d_expected(kind, real, fake)
    np.testing.assert_allclose(losskit.gan_discriminator_loss(real, fake, kind=kind, reduction="none"), expected,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(losskit.gan_discriminator_loss(real, fake, kind=kind, reduction="sum"),
                               expected.sum(), rtol=1e-9)
    np.testing.assert_allclose(losskit.gan_discriminator_loss(real, fake, kind=kind), expected.mean(), rtol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_generator_loss_matches_the_definition(kind: str, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 2, 3), _scores(rng, 2, 3)  # any shape: a patch discriminator's map
    expected = _g_expected(kind, fake, real)
    out = losskit.gan_generator_loss(fake, **_g_kwargs(kind, real), reduction="none")
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(losskit.gan_generator_loss(fake, **_g_kwargs(kind, real)), expected.mean(),
                               rtol=1e-9)


def test_minimax_value_at_the_equilibrium_is_minus_log_4() -> None:
    assert float(losskit.gan_minimax_value(np.zeros(5), np.zeros(3))) == pytest.approx(-LOG4, rel=1e-15)
    assert float(losskit.gan_minimax_value(torch.zeros(4), torch.zeros(4))) == pytest.approx(-LOG4, rel=1e-7)
    # D = 1/2 is also where both cross-entropy discriminator losses are log 4
    assert float(losskit.gan_discriminator_loss(np.zeros(4), np.zeros(4))) == pytest.approx(LOG4, rel=1e-15)


def test_minimax_value_is_the_negated_minimax_discriminator_loss(rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 6), _scores(rng, 4)
    value = losskit.gan_minimax_value(real, fake)
    expected = np.mean(np.log(_sigmoid(real))) + np.mean(np.log1p(-_sigmoid(fake)))
    assert float(value) == pytest.approx(expected, rel=1e-12)
    assert float(value) == -float(losskit.gan_discriminator_loss(real, fake, kind="minimax"))
    assert value.shape == ()
    assert float(losskit.gan_minimax_value(np.zeros(0), np.zeros(0))) == 0.0


def test_minimax_generator_is_minus_non_saturating_at_the_flipped_logit(rng: np.random.Generator) -> None:
    fake = _scores(rng, 9)
    minimax = losskit.gan_generator_loss(fake, kind="minimax", reduction="none")
    flipped = losskit.gan_generator_loss(-fake, kind="non_saturating", reduction="none")
    np.testing.assert_array_equal(minimax, -flipped)


def test_minimax_generator_saturates_where_non_saturating_does_not() -> None:
    """When D rejects the fakes (logit -10), log(1 - D) has gradient -sigmoid(-10) ~ -4.5e-5; -log D has ~ -1."""
    grads = {}
    for kind in ("minimax", "non_saturating"):
        fake = torch.tensor([-10.0], dtype=torch.float64, requires_grad=True)
        losskit.gan_generator_loss(fake, kind=kind).backward()
        grads[kind] = float(fake.grad[0])
    assert grads["minimax"] == pytest.approx(-1 / (1 + np.exp(10.0)), rel=1e-12)
    assert grads["non_saturating"] == pytest.approx(-1 / (1 + np.exp(-10.0)), rel=1e-12)


def test_least_squares_uses_the_half_convention() -> None:
    # D(real) = 0, D(fake) = 1: each term is (1 - 0)^2 / 2
    assert float(losskit.gan_discriminator_loss(np.array([0.0]), np.array([1.0]), kind="least_squares")) == 1.0
    assert float(losskit.gan_generator_loss(np.array([3.0]), kind="least_squares")) == 2.0


def test_wasserstein_and_hinge_are_differences_of_means(rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 5), _scores(rng, 8)
    critic = losskit.gan_discriminator_loss(real, fake, kind="wasserstein")
    assert float(critic) == pytest.approx(fake.mean() - real.mean(), rel=1e-12)
    hinge = losskit.gan_discriminator_loss(real, fake, kind="hinge")
    expected = np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean()
    assert float(hinge) == pytest.approx(expected, rel=1e-12)
    for kind in ("wasserstein", "hinge"):
        assert float(losskit.gan_generator_loss(fake, kind=kind)) == pytest.approx(-fake.mean(), rel=1e-12)


def test_relativistic_is_bce_of_the_score_difference(rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 6), _scores(rng, 6)
    d = losskit.gan_discriminator_loss(real, fake, kind="relativistic", reduction="none")
    np.testing.assert_allclose(
        d, losskit.binary_cross_entropy(real - fake, np.ones(6), from_logits=True, reduction="none"), rtol=1e-14)
    # the generator plays the same game with the roles of real and fake swapped
    g = losskit.gan_generator_loss(fake, kind="relativistic", real=real, reduction="none")
    np.testing.assert_array_equal(g, losskit.gan_discriminator_loss(fake, real, kind="relativistic", reduction="none"))


@pytest.mark.parametrize("kind", ["minimax", "non_saturating"])
def test_cross_entropy_discriminator_is_bce_with_labels_one_and_zero(kind: str, rng: np.random.Generator) -> None:
    for n_real, n_fake in ((6, 6), (6, 4)):
        real, fake = _scores(rng, n_real), _scores(rng, n_fake)
        a, b = torch.tensor(real, requires_grad=True), torch.tensor(fake, requires_grad=True)
        ours = losskit.gan_discriminator_loss(a, b, kind=kind)
        ours.backward()
        c, d = torch.tensor(real, requires_grad=True), torch.tensor(fake, requires_grad=True)
        bce = (losskit.binary_cross_entropy(c, torch.ones(n_real, dtype=torch.float64), from_logits=True)
               + losskit.binary_cross_entropy(d, torch.zeros(n_fake, dtype=torch.float64), from_logits=True))
        bce.backward()
        assert ours.item() == pytest.approx(bce.item(), rel=1e-14)
        torch.testing.assert_close(a.grad, c.grad, rtol=1e-14, atol=0)
        torch.testing.assert_close(b.grad, d.grad, rtol=1e-14, atol=0)
        # and the DCGAN recipe with torch's own BCE
        dcgan = (torch.nn.functional.binary_cross_entropy_with_logits(c, torch.ones_like(c))
                 + torch.nn.functional.binary_cross_entropy_with_logits(d, torch.zeros_like(d)))
        assert ours.item() == pytest.approx(dcgan.item(), rel=1e-14)
    fake = _scores(rng, 5)
    np.testing.assert_allclose(losskit.gan_generator_loss(fake, kind="non_saturating"),
                               losskit.binary_cross_entropy(fake, np.ones(5), from_logits=True), rtol=1e-14)


# --- reduction over two batches ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PLAIN)
def test_batches_of_different_sizes_mean_and_sum(kind: str, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 5), _scores(rng, 3)
    on_real, on_fake = D_TERMS[kind]
    mean = losskit.gan_discriminator_loss(real, fake, kind=kind)
    total = losskit.gan_discriminator_loss(real, fake, kind=kind, reduction="sum")
    assert mean.shape == () and total.shape == ()
    assert float(mean) == pytest.approx(on_real(real).mean() + on_fake(fake).mean(), rel=1e-12, abs=1e-15)
    assert float(total) == pytest.approx(on_real(real).sum() + on_fake(fake).sum(), rel=1e-12, abs=1e-15)
    # an empty fake batch contributes a mean of 0
    alone = losskit.gan_discriminator_loss(real, np.zeros(0), kind=kind)
    assert float(alone) == pytest.approx(on_real(real).mean(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("kind", PLAIN)
def test_same_sizes_mean_is_sum_of_means_and_sum_over_n(kind: str, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 6), _scores(rng, 6)
    on_real, on_fake = D_TERMS[kind]
    mean = float(losskit.gan_discriminator_loss(real, fake, kind=kind))
    assert mean == pytest.approx(on_real(real).mean() + on_fake(fake).mean(), rel=1e-12)
    assert mean == pytest.approx(float(losskit.gan_discriminator_loss(real, fake, kind=kind, reduction="sum")) / 6,
                                 rel=1e-14)


def test_weight_applies_to_both_terms_of_a_pair(rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 6), _scores(rng, 6)
    w = rng.uniform(0.0, 2.0, size=6)
    on_real, on_fake = D_TERMS["hinge"]
    mean = losskit.gan_discriminator_loss(real, fake, kind="hinge", weight=w)
    expected = (w * on_real(real)).sum() / w.sum() + (w * on_fake(fake)).sum() / w.sum()
    assert float(mean) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(losskit.gan_discriminator_loss(real, fake, kind="hinge", weight=w, reduction="none"),
                               w * (on_real(real) + on_fake(fake)), rtol=1e-14)


def test_a_two_dimensional_weight_of_patch_maps(rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 2, 1, 3, 3), _scores(rng, 2, 1, 3, 3)  # PatchGAN outputs
    w = np.array([1.0, 3.0]).reshape(2, 1, 1, 1)
    loss = losskit.gan_discriminator_loss(real, fake, weight=w, reduction="none")
    np.testing.assert_allclose(loss, w * _d_expected("non_saturating", real, fake), rtol=1e-12)


# --- stability ---------------------------------------------------------------------------------------------------

EXTREMES = [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_finite_loss_and_gradient_at_logits_of_1e4(kind: str, dtype: torch.dtype) -> None:
    values = np.array(np.meshgrid(EXTREMES, EXTREMES)).reshape(2, -1)
    real = torch.tensor(values[0], dtype=dtype, requires_grad=True)
    fake = torch.tensor(values[1], dtype=dtype, requires_grad=True)
    d = losskit.gan_discriminator_loss(real, fake, kind=kind, reduction="none")
    g = losskit.gan_generator_loss(fake, **_g_kwargs(kind, real), reduction="none")
    assert d.dtype == dtype and torch.isfinite(d).all() and torch.isfinite(g).all()
    (d.sum() + g.sum()).backward()
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    if kind in ("minimax", "non_saturating"):
        # right side by 1e4: loss and gradient exactly 0; wrong side: loss 1e4 and gradient 1 in size
        right = (values[0] == 1e4) & (values[1] == -1e4)
        wrong = (values[0] == -1e4) & (values[1] == 1e4)
        assert d[right][0].item() == 0.0 and d[wrong][0].item() == 2e4
    jax_grads = jax.grad(lambda r, f: losskit.gan_discriminator_loss(r, f, kind=kind)
                         + losskit.gan_generator_loss(f, **_g_kwargs(kind, r)), argnums=(0, 1))(
        jnp.asarray(values[0], dtype=jnp.float32 if dtype == torch.float32 else jnp.float64),
        jnp.asarray(values[1], dtype=jnp.float32 if dtype == torch.float32 else jnp.float64))
    assert all(np.all(np.isfinite(np.asarray(grad))) for grad in jax_grads)


# --- backends, jit, grad ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_backend(kind: str, backend: Backend, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 5), _scores(rng, 5)
    for reduction in ("none", "mean", "sum"):
        d = losskit.gan_discriminator_loss(backend(real), backend(fake), kind=kind, reduction=reduction)
        g = losskit.gan_generator_loss(backend(fake), **_g_kwargs(kind, backend(real)), reduction=reduction)
        assert type(d).__module__.split(".")[0] == type(backend(real)).__module__.split(".")[0]
        expected_d, expected_g = _d_expected(kind, real, fake), _g_expected(kind, fake, real)
        if reduction != "none":
            reduce = np.mean if reduction == "mean" else np.sum
            expected_d, expected_g = reduce(expected_d), reduce(expected_g)
        np.testing.assert_allclose(to_numpy(d), expected_d, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(to_numpy(g), expected_g, rtol=1e-9, atol=1e-12)
    if kind != "relativistic":
        other = losskit.gan_discriminator_loss(backend(real), backend(fake[:2]), kind=kind)
        on_real, on_fake = D_TERMS[kind]
        np.testing.assert_allclose(to_numpy(other), on_real(real).mean() + on_fake(fake[:2]).mean(), rtol=1e-9)
    value = losskit.gan_minimax_value(backend(real), backend(fake))
    np.testing.assert_allclose(to_numpy(value), -_d_expected("minimax", real, fake).mean(), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_jax_jit_and_grad_agree_with_torch(kind: str, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 6), _scores(rng, 6) + 0.05  # off the hinge kinks

    def loss(r: Any, f: Any) -> Any:
        return (losskit.gan_discriminator_loss(r, f, kind=kind)
                + 0.5 * losskit.gan_generator_loss(f, **_g_kwargs(kind, r), reduction="sum"))

    a, b = torch.tensor(real, requires_grad=True), torch.tensor(fake, requires_grad=True)
    loss(a, b).backward()
    grads = jax.jit(jax.grad(loss, argnums=(0, 1)))(jnp.asarray(real), jnp.asarray(fake))
    np.testing.assert_allclose(np.asarray(grads[0]), a.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(grads[1]), b.grad.numpy(), rtol=1e-12, atol=1e-15)
    jitted = jax.jit(lambda r, f: losskit.gan_discriminator_loss(r, f, kind=kind, reduction="none"))
    np.testing.assert_allclose(np.asarray(jitted(jnp.asarray(real), jnp.asarray(fake))),
                               _d_expected(kind, real, fake), rtol=1e-9, atol=1e-12)
    if kind != "relativistic":  # batches of different sizes compile too: shapes are static
        mean = jax.jit(lambda r, f: losskit.gan_discriminator_loss(r, f, kind=kind))(
            jnp.asarray(real), jnp.asarray(fake[:4]))
        on_real, on_fake = D_TERMS[kind]
        assert float(mean) == pytest.approx(on_real(real).mean() + on_fake(fake[:4]).mean(), rel=1e-12)


def test_torch_gradcheck_of_every_kind(rng: np.random.Generator) -> None:
    real, fake = torch.tensor(_scores(rng, 4), requires_grad=True), torch.tensor(_scores(rng, 4) + 0.05,
                                                                                 requires_grad=True)
    w = torch.tensor(rng.uniform(0.5, 2.0, size=4))
    for kind in KINDS:
        assert torch.autograd.gradcheck(lambda r, f, k=kind: losskit.gan_discriminator_loss(r, f, kind=k, weight=w),
                                        (real, fake))
        assert torch.autograd.gradcheck(
            lambda r, f, k=kind: losskit.gan_generator_loss(f, **_g_kwargs(k, r), weight=w, reduction="sum"),
            (real, fake) if kind == "relativistic" else (real.detach(), fake))


def test_float16_is_computed_in_float32_and_returned_as_float16(rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 8), _scores(rng, 8)
    for kind in KINDS:
        out = losskit.gan_discriminator_loss(torch.tensor(real).half(), torch.tensor(fake).half(), kind=kind)
        assert out.dtype == torch.float16
        r16, f16 = real.astype(np.float16).astype(np.float64), fake.astype(np.float16).astype(np.float64)
        assert float(out) == pytest.approx(_d_expected(kind, r16, f16).mean(), rel=2e-3, abs=2e-3)


# --- gradient penalties -----------------------------------------------------------------------------------------


def _torch_mlp(params: tuple[torch.Tensor, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    w1, b1, w2 = params
    return lambda x: torch.tanh(x.reshape(x.shape[0], -1) @ w1 + b1) @ w2


def _jax_mlp(params: tuple[Any, ...]) -> Callable[[Any], Any]:
    w1, b1, w2 = params
    return lambda x: jnp.tanh(x.reshape(x.shape[0], -1) @ w1 + b1) @ w2


def _mlp_params(rng: np.random.Generator, features: int = 6, hidden: int = 5) -> tuple[np.ndarray, ...]:
    return rng.normal(size=(features, hidden)), rng.normal(size=hidden), rng.normal(size=hidden)


def _reference_wgan_gp(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                       t: torch.Tensor) -> torch.Tensor:
    """The penalty as the WGAN-GP reference code writes it."""
    alpha = t.reshape(-1, *([1] * (real.ndim - 1)))
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out, x, torch.ones_like(out), create_graph=True)
    return ((grad.reshape(grad.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()


@pytest.mark.parametrize("target", [1.0, 0.0, 2.5])
def test_gradient_penalty_of_a_linear_critic(target: float, rng: np.random.Generator) -> None:
    """A linear critic's input gradient is w everywhere: the penalty is (||w|| - target)^2, its gradient
    2 (||w|| - target) w / ||w||."""
    w, real, fake, t = rng.normal(size=(2, 3)), rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3)), rng.uniform(
        size=4)
    norm = np.linalg.norm(w)
    wt = torch.tensor(w, requires_grad=True)
    out = losskit.gradient_penalty(lambda x: (x * wt).sum(dim=(1, 2)), torch.tensor(real), torch.tensor(fake),
                                   torch.tensor(t), target=target)
    out.backward()
    assert out.item() == pytest.approx((norm - target) ** 2, rel=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), 2 * (norm - target) * w / norm, rtol=1e-12)

    def jax_penalty(v: Any) -> Any:
        return losskit.gradient_penalty(lambda x: jnp.sum(x * v, axis=(1, 2)), jnp.asarray(real), jnp.asarray(fake),
                                        jnp.asarray(t), target=target)

    value, grad = jax.jit(jax.value_and_grad(jax_penalty))(jnp.asarray(w))
    assert float(value) == pytest.approx((norm - target) ** 2, rel=1e-12)
    np.testing.assert_allclose(np.asarray(grad), 2 * (norm - target) * w / norm, rtol=1e-12)


def test_r1_penalty_of_a_linear_critic(rng: np.random.Generator) -> None:
    w, real = rng.normal(size=3), rng.normal(size=(5, 3))
    wt = torch.tensor(w, requires_grad=True)
    out = losskit.r1_penalty(lambda x: x @ wt, torch.tensor(real))
    out.backward()
    assert out.item() == pytest.approx(float(w @ w), rel=1e-13)
    np.testing.assert_allclose(wt.grad.numpy(), 2 * w, rtol=1e-13)
    value, grad = jax.value_and_grad(lambda v: losskit.r1_penalty(lambda x: x @ v, jnp.asarray(real)))(jnp.asarray(w))
    assert float(value) == pytest.approx(float(w @ w), rel=1e-13)
    np.testing.assert_allclose(np.asarray(grad), 2 * w, rtol=1e-13)


def test_gradient_penalty_interpolates_each_example_with_its_own_t(rng: np.random.Generator) -> None:
    """critic(x) = ||x||^2 has input gradient 2x: the penalty is mean (2 ||t r + (1 - t) f|| - 1)^2."""
    real, fake, t = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.uniform(size=6)
    t[:2] = [0.0, 1.0]
    x = t[:, None] * real + (1 - t[:, None]) * fake
    expected = np.mean((2 * np.linalg.norm(x, axis=1) - 1) ** 2)
    torch_out = losskit.gradient_penalty(lambda v: (v * v).sum(dim=1), *map(torch.tensor, (real, fake, t)))
    jax_out = losskit.gradient_penalty(lambda v: jnp.sum(v * v, axis=1), *map(jnp.asarray, (real, fake, t)))
    assert torch_out.item() == pytest.approx(expected, rel=1e-12)
    assert float(jax_out) == pytest.approx(expected, rel=1e-12)
    # r1 at the real points alone: mean ||2 r||^2
    r1 = losskit.r1_penalty(lambda v: (v * v).sum(dim=1, keepdim=True), torch.tensor(real))  # (N, 1) scores
    assert r1.item() == pytest.approx(np.mean(4 * (real * real).sum(axis=1)), rel=1e-12)


def test_gradient_penalty_matches_the_reference_code_and_jax(rng: np.random.Generator) -> None:
    params = _mlp_params(rng)
    real, fake, t = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3)), rng.uniform(size=4)
    inputs = tuple(map(torch.tensor, (real, fake, t)))
    ours_params = tuple(torch.tensor(p, requires_grad=True) for p in params)
    ref_params = tuple(torch.tensor(p, requires_grad=True) for p in params)
    ours = losskit.gradient_penalty(_torch_mlp(ours_params), *inputs)
    ref = _reference_wgan_gp(_torch_mlp(ref_params), *inputs)
    ours.backward()
    ref.backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-13)
    for a, b in zip(ours_params, ref_params, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-14)

    def jax_penalty(p: tuple[Any, ...]) -> Any:
        return losskit.gradient_penalty(_jax_mlp(p), *map(jnp.asarray, (real, fake, t)))

    value, grads = jax.jit(jax.value_and_grad(jax_penalty))(tuple(map(jnp.asarray, params)))
    assert float(value) == pytest.approx(ref.item(), rel=1e-12)
    for grad, b in zip(grads, ref_params, strict=True):
        np.testing.assert_allclose(np.asarray(grad), b.grad.numpy(), rtol=1e-10, atol=1e-13)
    check_grads(jax_penalty, (tuple(map(jnp.asarray, params)),), order=1, modes=["rev"])


def test_penalties_pass_torch_gradcheck_in_the_critic_parameters(rng: np.random.Generator) -> None:
    params = tuple(torch.tensor(p, requires_grad=True) for p in _mlp_params(rng))
    real, fake, t = torch.tensor(rng.normal(size=(3, 6))), torch.tensor(rng.normal(size=(3, 6))), torch.tensor(
        rng.uniform(size=3))
    assert torch.autograd.gradcheck(lambda *p: losskit.gradient_penalty(_torch_mlp(p), real, fake, t), params)
    assert torch.autograd.gradcheck(lambda *p: losskit.r1_penalty(_torch_mlp(p), real), params)
    # also through the inputs: the penalty is a function of real and fake as well
    x = (real.clone().requires_grad_(True), fake.clone().requires_grad_(True))
    assert torch.autograd.gradcheck(lambda r, f: losskit.gradient_penalty(_torch_mlp(params), r, f, t), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_penalties_are_finite_at_scores_of_1e4_and_at_a_zero_gradient(dtype: str) -> None:
    """A saturated tanh critic has input gradient exactly 0: the norm's derivative must not be NaN there.
    A linear critic with scores of +-1e4 feeds the discriminator loss at its extreme as well."""
    tdtype = getattr(torch, dtype)
    real = torch.full((3, 2), 1e4, dtype=tdtype)
    fake = torch.full((3, 2), -1e4, dtype=tdtype)
    t = torch.tensor([0.0, 1.0, 1.0], dtype=tdtype)  # no interpolate at 0, where tanh is not saturated
    w = torch.tensor([1.0, 2.0], dtype=tdtype, requires_grad=True)

    def saturated(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ w)

    gp = losskit.gradient_penalty(saturated, real, fake, t)
    r1 = losskit.r1_penalty(saturated, real)
    assert gp.item() == 1.0 and r1.item() == 0.0  # (0 - 1)^2 and 0
    (grad,) = torch.autograd.grad(gp + r1, w)
    assert torch.isfinite(grad).all()

    def linear(x: torch.Tensor) -> torch.Tensor:
        return x @ w

    total = (losskit.gan_discriminator_loss(linear(real), linear(fake), kind="non_saturating")
             + 10 * losskit.gradient_penalty(linear, real, fake, t) + losskit.r1_penalty(linear, real))
    (grad,) = torch.autograd.grad(total, w)
    assert torch.isfinite(total) and torch.isfinite(grad).all()

    jdtype = getattr(jnp, dtype)
    jr, jf, jt = (jnp.asarray(x.numpy(), dtype=jdtype) for x in (real, fake, t))

    def jax_total(v: Any) -> Any:
        sat = lambda x: jnp.tanh(x @ v)  # noqa: E731
        return losskit.gradient_penalty(sat, jr, jf, jt) + losskit.r1_penalty(sat, jr)

    value, grad_j = jax.value_and_grad(jax_total)(jnp.asarray([1.0, 2.0], dtype=jdtype))
    assert float(value) == 1.0 and np.all(np.isfinite(np.asarray(grad_j)))


def test_penalty_dtype_empty_batch_and_inputs_untouched(rng: np.random.Generator) -> None:
    real = torch.tensor(rng.normal(size=(4, 3)), dtype=torch.float32)
    fake = torch.tensor(rng.normal(size=(4, 3)), dtype=torch.float32)
    w = torch.ones(3, requires_grad=True)
    out = losskit.gradient_penalty(lambda x: x @ w, real, fake, torch.rand(4))
    assert out.dtype == torch.float32 and out.shape == ()
    assert not real.requires_grad and not fake.requires_grad  # inputs are never modified
    assert losskit.gradient_penalty(lambda x: x @ w, real[:0], fake[:0], torch.rand(0)).item() == 0.0
    assert losskit.r1_penalty(lambda x: x @ w, real[:0]).item() == 0.0
    half = losskit.r1_penalty(lambda x: x @ w.half(), real.half())  # the critic runs in the caller's precision
    assert half.dtype == torch.float16 and half.item() == 3.0
    with torch.no_grad():
        evaluated = losskit.r1_penalty(lambda x: x @ w, real)
    assert float(evaluated) == pytest.approx(3.0, rel=1e-6) and not evaluated.requires_grad


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
def test_penalties_need_autograd(library: str) -> None:
    asarray = {"numpy": np.asarray, "array_api_strict": array_api_strict.asarray}[library]
    real, fake, t = asarray(np.ones((2, 3))), asarray(np.zeros((2, 3))), asarray(np.full(2, 0.5))
    with pytest.raises(TypeError, match=rf"gradient_penalty needs automatic differentiation.*real.*{library}"):
        losskit.gradient_penalty(lambda x: x[:, 0], real, fake, t)
    with pytest.raises(TypeError, match=rf"r1_penalty needs automatic differentiation.*real.*{library}"):
        losskit.r1_penalty(lambda x: x[:, 0], real)


# --- bad input ---------------------------------------------------------------------------------------------------

r5, f5, f3 = np.linspace(-2, 2, 5), np.linspace(-1, 1, 5), np.zeros(3)
tr, tf = torch.ones(4, 3), torch.zeros(4, 3)


def _linear(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=1)


BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("unknown kind", lambda: losskit.gan_discriminator_loss(r5, f5, kind="wgan"), ValueError, "kind must be one of"),
    ("unknown generator kind", lambda: losskit.gan_generator_loss(f5, kind="saturating"), ValueError, "kind"),
    ("kind not a string", lambda: losskit.gan_discriminator_loss(r5, f5, kind=None), ValueError, "kind"),
    ("real given where unused", lambda: losskit.gan_generator_loss(f5, real=r5), ValueError,
     "real is used only by kind='relativistic'"),
    ("real given to hinge", lambda: losskit.gan_generator_loss(f5, kind="hinge", real=r5), ValueError, "real"),
    ("relativistic without real", lambda: losskit.gan_generator_loss(f5, kind="relativistic"), ValueError,
     "kind='relativistic' needs real"),
    ("none with different sizes", lambda: losskit.gan_discriminator_loss(r5, f3, reduction="none"), ValueError,
     r"reduction='none'.*real \(5,\) and fake \(3,\)"),
    ("none with (N,1) against (N,)", lambda: losskit.gan_discriminator_loss(r5[:, None], f5, reduction="none"),
     ValueError, "real.*fake"),
    ("weight with different sizes", lambda: losskit.gan_discriminator_loss(r5, f3, weight=np.ones(5)), ValueError,
     r"weight.*real \(5,\) and fake \(3,\)"),
    ("weight of the wrong shape", lambda: losskit.gan_discriminator_loss(r5, f5, weight=np.ones(3)), ValueError,
     "weight"),
    ("negative weight", lambda: losskit.gan_generator_loss(f5, weight=-np.ones(5)), ValueError, "weight"),
    ("relativistic different sizes", lambda: losskit.gan_discriminator_loss(r5, f3, kind="relativistic"),
     ValueError, r"relativistic.*fake must have the shape of real \(5,\)"),
    ("relativistic generator different sizes",
     lambda: losskit.gan_generator_loss(f3, kind="relativistic", real=r5), ValueError, "fake.*real"),
    ("integer real", lambda: losskit.gan_discriminator_loss(np.array([1, 2]), f5), TypeError, "real must be a real "
     "floating"),
    ("integer fake", lambda: losskit.gan_generator_loss(np.array([1, 2])), TypeError, "fake"),
    ("mixed libraries", lambda: losskit.gan_discriminator_loss(torch.tensor(r5), f5), TypeError,
     r"real is a torch\.Tensor, fake is a numpy\.ndarray"),
    ("bad reduction", lambda: losskit.gan_discriminator_loss(r5, f5, reduction="batchmean"), ValueError,
     "reduction"),
    ("minimax value integer", lambda: losskit.gan_minimax_value(r5, np.array([0, 1])), TypeError, "fake"),
    ("gp numpy input", lambda: losskit.gradient_penalty(lambda x: x[:, 0], np.ones((2, 2)), np.ones((2, 2)),
                                                        np.ones(2)), TypeError, "real, fake and t"),
    ("r1 numpy input", lambda: losskit.r1_penalty(lambda x: x[:, 0], np.ones((2, 2))), TypeError, "real"),
    ("gp t of shape (N, 1)", lambda: losskit.gradient_penalty(_linear, tr, tf, torch.rand(4, 1)), ValueError,
     r"t must have shape \(4,\)"),
    ("gp t outside [0, 1]", lambda: losskit.gradient_penalty(_linear, tr, tf, torch.full((4,), 1.5)), ValueError,
     r"t must lie in \[0, 1\]"),
    ("gp fake shape", lambda: losskit.gradient_penalty(_linear, tr, tf[:3], torch.rand(4)), ValueError,
     r"fake must have the shape of real \(4, 3\)"),
    ("gp 0-d real", lambda: losskit.gradient_penalty(_linear, torch.tensor(1.0), torch.tensor(0.0),
                                                     torch.tensor(0.5)), ValueError, "real must hold a batch"),
    ("r1 0-d real", lambda: losskit.r1_penalty(_linear, torch.tensor(1.0)), ValueError, "real must hold a batch"),
    ("gp negative target", lambda: losskit.gradient_penalty(_linear, tr, tf, torch.rand(4), target=-1.0),
     ValueError, "target"),
    ("gp critic returns a map", lambda: losskit.gradient_penalty(lambda x: x, tr, tf, torch.rand(4)), ValueError,
     r"critic must return one score per example.*\(4, 3\)"),
    ("r1 critic returns a map in jax", lambda: losskit.r1_penalty(lambda x: x, jnp.ones((4, 3))), ValueError,
     "critic"),
    ("gp mixed libraries", lambda: losskit.gradient_penalty(_linear, tr, np.zeros((4, 3)), torch.rand(4)),
     TypeError, "different array libraries"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_call_raises_a_clear_error(call: Callable[[], Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) is error


def test_registered_under_aliases_and_penalties_are_not() -> None:
    assert losskit.get("discriminator_loss") is losskit.gan_discriminator_loss
    assert losskit.get("gan-g-loss") is losskit.gan_generator_loss
    for name in ("gan_minimax_value", "gradient_penalty", "r1_penalty"):
        assert name in losskit.__all__ and name not in losskit.names()
