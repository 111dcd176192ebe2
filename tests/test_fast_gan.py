"""The GAN fast paths beyond the generic suite (tests/test_fast.py): batches of different sizes, the gradients of
the piecewise-linear kinds under create_graph, declines and the reference path's errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import losskit
import losskit.reference as reference
from losskit.gan import KINDS

from conftest import spy_fast_paths

PLAIN = [kind for kind in KINDS if kind != "relativistic"]
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: {"rtol": 2e-6, "atol": 1e-7}, torch.float64: {"rtol": 1e-13, "atol": 1e-15}}


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the GAN losses whose fast path computed the result (did not decline)."""
    return spy_fast_paths(monkeypatch, ("gan_discriminator_loss", "gan_generator_loss"))


def _scores(rng: np.random.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(rng.normal(size=shape) * 3, dtype=dtype)


def _value_and_grads(fn: Callable[..., torch.Tensor], tensors: tuple[torch.Tensor, ...],
                     **kwargs: Any) -> tuple[torch.Tensor, ...]:
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    out = fn(*leaves, **kwargs)
    return (out.detach(), *torch.autograd.grad(out, leaves))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("kind", PLAIN)
def test_batches_of_different_sizes(kind: str, reduction: str, dtype: torch.dtype, rng: np.random.Generator,
                                    taken: list[str]) -> None:
    """The sum of the two means (or sums), each batch with its own size and shape."""
    tensors = _scores(rng, 13, dtype=dtype), _scores(rng, 9, 1, dtype=dtype)
    tensors[0][:2] = torch.tensor([1.0, 1e4])  # a tie at the hinge, and a far score
    fast = _value_and_grads(losskit.gan_discriminator_loss, tensors, kind=kind, reduction=reduction)
    ref = _value_and_grads(reference.gan_discriminator_loss, tensors, kind=kind, reduction=reduction)
    assert taken == ["gan_discriminator_loss"]
    for f, r in zip(fast, ref, strict=True):
        assert f.shape == r.shape and f.dtype == r.dtype
        torch.testing.assert_close(f, r, **TOL[dtype])


@pytest.mark.parametrize("kind", ["wasserstein", "hinge"])
def test_create_graph_of_the_piecewise_linear_kinds(kind: str, rng: np.random.Generator, taken: list[str]) -> None:
    """Their gradients are constant (the generic double-backward test needs a second derivative, which the
    reference path does not build for these kinds): with create_graph=True, the reference path's, and any
    second derivative 0."""
    real, fake = _scores(rng, 6).requires_grad_(True), _scores(rng, 6).requires_grad_(True)
    real.data[0] = 1.0  # a tie at the hinge
    calls = [(losskit.gan_discriminator_loss, reference.gan_discriminator_loss, (real, fake), {"kind": kind}),
             (losskit.gan_generator_loss, reference.gan_generator_loss, (fake,), {"kind": kind})]
    for fast, ref, leaves, kwargs in calls:
        expected = torch.autograd.grad(ref(*leaves, **kwargs), leaves)
        grads = torch.autograd.grad(fast(*leaves, **kwargs), leaves, create_graph=True)
        for g, e in zip(grads, expected, strict=True):
            torch.testing.assert_close(g, e, rtol=0, atol=0)
        if any(g.requires_grad for g in grads):
            second = torch.autograd.grad([g.sum() for g in grads], leaves, allow_unused=True)
            assert all(s is None or torch.all(s == 0) for s in second)
    assert taken == ["gan_discriminator_loss", "gan_generator_loss"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_second_backward_pass_gives_the_same_gradients(kind: str, rng: np.random.Generator) -> None:
    real, fake = _scores(rng, 5).requires_grad_(True), _scores(rng, 5).requires_grad_(True)
    out = losskit.gan_discriminator_loss(real, fake, kind=kind) + losskit.gan_generator_loss(
        fake, kind=kind, real=real if kind == "relativistic" else None)
    first = torch.autograd.grad(out, (real, fake), retain_graph=True)
    second = torch.autograd.grad(out, (real, fake))
    for f, s in zip(first, second, strict=True):
        assert torch.equal(f, s)


def test_the_generators_relativistic_loss_differentiates_real_too(rng: np.random.Generator, taken: list[str]) -> None:
    real, fake = _scores(rng, 2, 3), _scores(rng, 2, 3)
    fast = _value_and_grads(lambda f, r: losskit.gan_generator_loss(f, kind="relativistic", real=r), (fake, real))
    ref = _value_and_grads(lambda f, r: reference.gan_generator_loss(f, kind="relativistic", real=r), (fake, real))
    assert taken == ["gan_generator_loss"]
    for f, r in zip(fast, ref, strict=True):
        torch.testing.assert_close(f, r, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("call", "declined"), [
    (lambda r, f: losskit.gan_discriminator_loss(r, f, weight=torch.ones(6, dtype=torch.float64)), "weight"),
    (lambda r, f: losskit.gan_discriminator_loss(r.half(), f.half()), "float16"),
    (lambda r, f: losskit.gan_discriminator_loss(r, f.float()), "two dtypes"),
    (lambda r, f: losskit.gan_discriminator_loss(r, f[:0]), "an empty batch"),
    (lambda r, f: losskit.gan_generator_loss(f, weight=torch.ones(6, dtype=torch.float64)), "weight"),
    (lambda r, f: losskit.gan_generator_loss(f.bfloat16()), "bfloat16"),
])
def test_declined_calls_run_the_reference_path(call: Callable[..., torch.Tensor], declined: str,
                                               rng: np.random.Generator, taken: list[str]) -> None:
    real, fake = _scores(rng, 6).requires_grad_(True), _scores(rng, 6).requires_grad_(True)
    assert torch.isfinite(call(real, fake)).all()
    assert taken == [], declined


R, F_ = torch.zeros(4), torch.zeros(3)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: losskit.gan_discriminator_loss(R, F_, reduction="none"), ValueError, "same shape"),
    (lambda: losskit.gan_discriminator_loss(R, F_, kind="relativistic"), ValueError, "relativistic"),
    (lambda: losskit.gan_discriminator_loss(R, R, kind="wgan"), ValueError, "kind"),
    (lambda: losskit.gan_discriminator_loss(R, R, reduction="avg"), ValueError, "reduction"),
    (lambda: losskit.gan_discriminator_loss(R, R.long()), TypeError, "fake"),
    (lambda: losskit.gan_generator_loss(R, kind="relativistic"), ValueError, "needs real"),
    (lambda: losskit.gan_generator_loss(R, real=R), ValueError, "real is used only"),
    (lambda: losskit.gan_generator_loss(F_, kind="relativistic", real=R), ValueError, "shape"),
    (lambda: losskit.gan_generator_loss(R, reduction="avg"), ValueError, "reduction"),
])
def test_errors_are_the_reference_paths(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("generator", [False, True])
def test_least_squares_sums_a_million_scores_to_float32_rounding(generator: bool, taken: list[str]) -> None:
    """The squares are summed pairwise: a BLAS dot product, summing each lane in order, was 2e-7 off."""
    gen = torch.Generator().manual_seed(2)
    real = torch.randn(1 << 20, generator=gen).mul_(0.1).add_(3.0)
    fake = torch.randn(1 << 20, generator=gen).mul_(0.1).sub_(2.5)
    if generator:
        loss = losskit.gan_generator_loss(fake.requires_grad_(), kind="least_squares")
        exact = 0.5 * (fake.detach().double() - 1.0).square().mean()
    else:
        loss = losskit.gan_discriminator_loss(real.requires_grad_(), fake.requires_grad_(), kind="least_squares")
        exact = 0.5 * ((real.detach().double() - 1.0).square().mean() + fake.detach().double().square().mean())
    assert taken
    assert abs(loss.item() - exact.item()) <= 5e-8 * exact.item()
