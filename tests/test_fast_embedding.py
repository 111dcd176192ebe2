"""The embedding family's torch fast paths: checks beyond tests/test_fast.py.

The generic suite compares gradients element by element (rtol 2e-6 in float32), which a gradient
summed from many terms only meets where it is small (its draws scale the embeddings). Here every
option of the in-batch losses, the euclidean distance included, is compared with the reference
path relative to the gradient's size; mining is checked on exact ties and against
pytorch-metric-learning at the benchmark's size; declined calls and errors are the reference's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from pytorch_metric_learning import distances, losses, miners

import losskit
import losskit.reference as reference

MININGS = ["all", "hard", "semi_hard"]
DISTANCES = ["euclidean", "squared_euclidean", "cosine"]
MARGINS = {"euclidean": 1.0, "squared_euclidean": 4.0, "cosine": 0.3}


def _fused(out: torch.Tensor) -> bool:
    """Whether the fused fast path computed ``out``."""
    return out.grad_fn is not None and "Fused" in type(out.grad_fn).__name__


def _value_and_grad(fn: Callable[..., torch.Tensor], x: torch.Tensor, *args: Any,
                    **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor, bool]:
    leaf = x.clone().requires_grad_(True)
    out = fn(leaf, *args, **kwargs)
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    return out.detach(), grad, _fused(out)


def _assert_close(fast: torch.Tensor, ref: torch.Tensor, rtol: float) -> None:
    """Equal to ``rtol`` of the largest element: the rounding of a sum of many terms."""
    scale = float(ref.abs().max()) or 1.0
    torch.testing.assert_close(fast, ref, rtol=0.0, atol=rtol * scale)


def _batch(rng: np.random.Generator, n: int = 24, classes: int = 4, dim: int = 6,
           dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.tensor(rng.permutation(np.arange(n) % classes))
    return torch.tensor(rng.normal(size=(n, dim)), dtype=dtype), labels


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize(("mining", "distance", "average", "reduction"),
                         list(itertools.product(MININGS, DISTANCES, ["nonzero", "mined"], ["mean", "sum"])))
def test_batch_triplet_equals_the_reference_relative_to_the_gradient(
        mining: str, distance: str, average: str, reduction: str, dtype: torch.dtype,
        rng: np.random.Generator) -> None:
    x, labels = _batch(rng, dtype=dtype)
    kwargs = {"margin": MARGINS[distance], "mining": mining, "distance": distance, "average": average,
              "reduction": reduction}
    value, grad, fused = _value_and_grad(losskit.batch_triplet, x, labels, **kwargs)
    ref_value, ref_grad, _ = _value_and_grad(reference.batch_triplet, x, labels, **kwargs)
    assert fused and ref_value > 0
    rtol = 1e-6 if dtype == torch.float32 else 1e-13
    torch.testing.assert_close(value, ref_value, rtol=rtol, atol=0.0)
    _assert_close(grad, ref_grad, rtol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("temperature", [0.5, 0.07, 1e-3])
def test_info_nce_equals_the_reference_relative_to_the_gradient(temperature: float, dtype: torch.dtype,
                                                                rng: np.random.Generator) -> None:
    x, labels = _batch(rng, n=20, classes=7, dtype=dtype)
    for reduction in ("mean", "sum"):
        value, grad, fused = _value_and_grad(losskit.info_nce, x, labels, temperature=temperature,
                                             reduction=reduction)
        ref_value, ref_grad, _ = _value_and_grad(reference.info_nce, x, labels, temperature=temperature,
                                                 reduction=reduction)
        assert fused
        # s ~ 1 / t rounds to 1e-7 of itself in float32: the gradient of log-sum-exp differences too
        rtol = (2e-6 / temperature if dtype == torch.float32 else 1e-12 / temperature)
        torch.testing.assert_close(value, ref_value, rtol=rtol, atol=0.0)
        _assert_close(grad, ref_grad, rtol)


@pytest.mark.parametrize("mining", MININGS)
@pytest.mark.parametrize("margin", [0.0, 1.0, 2.0])
def test_mining_follows_exact_ties_as_the_reference(mining: str, margin: float, rng: np.random.Generator) -> None:
    """Points on a line at integer positions: exact, equal distances; triplets exactly on the margin
    (loss 0, where the clamp still passes the gradient) and duplicates (distance 0)."""
    x = np.zeros((18, 2))
    x[:, 0] = rng.integers(0, 4, size=18)
    labels = torch.tensor(rng.permutation(np.arange(18) % 3))
    embeddings = torch.tensor(x)
    for average, reduction in itertools.product(["nonzero", "mined"], ["mean", "sum"]):
        kwargs = {"margin": margin, "mining": mining, "average": average, "reduction": reduction}
        value, grad, fused = _value_and_grad(losskit.batch_triplet, embeddings, labels, **kwargs)
        ref_value, ref_grad, _ = _value_and_grad(reference.batch_triplet, embeddings, labels, **kwargs)
        assert fused
        torch.testing.assert_close(value, ref_value, rtol=1e-14, atol=1e-14)
        _assert_close(grad, ref_grad, 1e-14)


@pytest.mark.parametrize("mining", MININGS)
def test_batch_triplet_matches_pml_at_the_benchmark_size(mining: str) -> None:
    """512 embeddings of 128 features, 16 classes: pml's value and gradient (float64)."""
    rng = np.random.default_rng(0)
    x, labels = _batch(rng, n=512, classes=16, dim=128)
    distance = distances.LpDistance(normalize_embeddings=False)
    loss = losses.TripletMarginLoss(margin=0.2, distance=distance)
    miner = {"all": None, "hard": miners.BatchHardMiner(distance=distance),
             "semi_hard": miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard", distance=distance)}[mining]
    ours, ours_grad, fused = _value_and_grad(losskit.batch_triplet, x, labels, margin=0.2, mining=mining)
    expected, expected_grad, _ = _value_and_grad(
        lambda e, y: loss(e, y, miner(e, y) if miner is not None else None), x, labels)
    assert fused and expected > 0
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=0.0)
    _assert_close(ours_grad, expected_grad, 1e-10)


@pytest.mark.parametrize(("loss", "kwargs"), [
    ("batch_triplet", {"mining": "all"}), ("batch_triplet", {"mining": "semi_hard", "margin": 1.0}),
    ("batch_triplet", {"mining": "hard", "distance": "cosine"}), ("info_nce", {"temperature": 0.1}),
])
def test_compiled_in_batch_losses_equal_eager(loss: str, kwargs: dict[str, Any], rng: np.random.Generator) -> None:
    """Under torch.compile the positives are laid out N wide (sizes cannot depend on values)."""
    x, labels = _batch(rng, n=12, classes=3)
    fn = losskit.get(loss)

    def step(e: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return fn(e, y, **kwargs)

    torch._dynamo.reset()
    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    value, grad, fused = _value_and_grad(step, x, labels)
    got, got_grad, _ = _value_and_grad(compiled, x, labels)
    assert fused
    torch.testing.assert_close(got, value, rtol=1e-14, atol=0.0)
    _assert_close(got_grad, grad, 1e-14)


def test_triplet_takes_torch_native_kernel_and_fused_kernels(rng: np.random.Generator) -> None:
    a, p, n = (torch.tensor(rng.normal(size=(6, 3)), requires_grad=True) for _ in range(3))
    native = losskit.triplet(a, p, n)
    assert native.grad_fn is not None and not _fused(native)
    assert _fused(losskit.triplet(a, p, n, eps=0.0))
    assert _fused(losskit.triplet(a, p, n, margin=0.0))
    assert _fused(losskit.triplet(a, p, n, distance="cosine"))
    assert _fused(losskit.contrastive(a, p, torch.tensor([1, 0, 1, 1, 0, 0])))


def test_triplet_beyond_torch_norm_range_goes_to_the_reference() -> None:
    """torch's norm squares unscaled and overflows at 1e30 in float32, the reference's does not."""
    a = torch.full((2, 3), 1e30)
    p, n = a * 1.5, a * -1.0
    out = losskit.triplet(a, p, n, margin=1e30, reduction="none")
    expected = reference.triplet(a, p, n, margin=1e30, reduction="none")
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=0.0)


E = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 0.5]], dtype=torch.float64)
Y = torch.tensor([0, 0, 1, 1])


@pytest.mark.parametrize(("call", "why"), [
    (lambda e: losskit.batch_triplet(e, Y, weight=torch.ones(4, dtype=torch.float64)), "weight"),
    (lambda e: losskit.batch_triplet(e, Y, reduction="none"), "none"),
    (lambda e: losskit.info_nce(e, Y, reduction="none"), "none"),
    (lambda e: losskit.batch_triplet(e.half(), Y), "float16"),
    (lambda e: losskit.batch_triplet(e * torch.tensor([[1.0], [float("nan")], [1.0], [1.0]],
                                                      dtype=torch.float64), Y), "nan"),
    (lambda e: losskit.batch_triplet(e * 1e200, Y, distance="squared_euclidean"), "overflow"),
    (lambda e: losskit.contrastive(e, e.flip(0), torch.tensor([1, 0, 1, 0]), weight=torch.ones(4)), "weight"),
])
def test_declined_calls_run_the_reference_path(call: Callable[[torch.Tensor], torch.Tensor], why: str) -> None:
    e = E.clone().requires_grad_(True)
    out = call(e)
    assert not _fused(out), why
    ref = call(e.detach())  # the same call without a gradient: the reference path again
    torch.testing.assert_close(out.detach(), ref, equal_nan=True)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: losskit.batch_triplet(E, torch.zeros(4, dtype=torch.int64)), ValueError, "single class"),
    (lambda: losskit.batch_triplet(E, torch.arange(4)), ValueError, "no two embeddings of one class"),
    (lambda: losskit.info_nce(E, torch.arange(4)), ValueError, "no two embeddings of one class"),
    (lambda: losskit.batch_triplet(E, Y.double()), TypeError, "labels must hold integer"),
    (lambda: losskit.batch_triplet(E, Y, margin=-1.0), ValueError, "margin"),
    (lambda: losskit.batch_triplet(E, Y, mining="semihard"), ValueError, "mining"),
    (lambda: losskit.batch_triplet(E, Y, reduction="avg"), ValueError, "reduction"),
    (lambda: losskit.info_nce(E, Y, temperature=0.0), ValueError, "temperature"),
    (lambda: losskit.contrastive(E, E, torch.tensor([0, 1, 2, 1])), ValueError, "same must hold 0 or 1"),
    (lambda: losskit.triplet(E, E, E, swap=1), TypeError, "swap"),
    (lambda: losskit.triplet(E, E, E, distance="l1"), ValueError, "distance"),
])
def test_errors_are_the_reference_paths(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_without_value_checks_a_single_class_costs_zero() -> None:
    e = E.clone().requires_grad_(True)
    with losskit.checks(False):
        out = losskit.batch_triplet(e, torch.zeros(4, dtype=torch.int64))
        out.backward()
    assert _fused(out) and out.item() == 0.0 and e.grad is not None and torch.all(e.grad == 0)
