"""The torch fast paths give the reference path's values and gradients, and decline what they cannot do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import losskit
import losskit._torch as fast_module
import losskit.reference as reference
from losskit._core.dispatch import REFERENCE

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: {"rtol": 2e-6, "atol": 1e-7}, torch.float64: {"rtol": 1e-13, "atol": 1e-15}}

Draw = Callable[[np.random.Generator, torch.dtype], tuple[torch.Tensor, torch.Tensor, dict[str, Any]]]


def _real(rng: np.random.Generator, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    pred, target = rng.normal(size=(2, 7, 5)) * [[[2.0]], [[1.0]]]
    return torch.tensor(pred, dtype=dtype), torch.tensor(target, dtype=dtype), {}


def _logits01(rng: np.random.Generator, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    x = torch.tensor(rng.normal(size=(7, 5)) * 4, dtype=dtype)
    return x, torch.tensor(rng.uniform(size=(7, 5)), dtype=dtype), {"from_logits": True}


def _labels(rng: np.random.Generator, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    labels = torch.tensor(rng.integers(0, 6, size=(9,)))
    labels[2] = -100
    return torch.tensor(rng.normal(size=(9, 6)) * 3, dtype=dtype), labels, {"from_logits": True}


def _labels_map(rng: np.random.Generator, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    labels = torch.tensor(rng.integers(0, 4, size=(3, 5, 2)), dtype=torch.uint8)
    weights = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=dtype)
    kwargs = {"from_logits": True, "axis": 1, "class_weight": weights, "label_smoothing": 0.1, "ignore_index": 3}
    return torch.tensor(rng.normal(size=(3, 4, 5, 2)), dtype=dtype), labels, kwargs


FAST: list[tuple[str, Draw]] = [
    ("mse", _real),
    ("mae", _real),
    ("huber", _real),
    ("binary_cross_entropy", _logits01),
    ("sparse_categorical_cross_entropy", _labels),
    ("sparse_categorical_cross_entropy", _labels_map),
]


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the losses whose fast path computed the result (did not decline)."""
    calls: list[str] = []
    for name in REFERENCE:
        fast = getattr(fast_module, name)

        def spy(*args: Any, _fast: Callable[..., Any] = fast, _name: str = name, **kwargs: Any) -> Any:
            out = _fast(*args, **kwargs)
            if out is not NotImplemented:
                calls.append(_name)
            return out

        monkeypatch.setattr(fast_module, name, spy)
    return calls


def test_every_fast_path_is_tested() -> None:
    assert {name for name, _ in FAST} == set(REFERENCE)


@pytest.mark.parametrize(("name", "draw"), FAST, ids=[f"{n}-{d.__name__}" for n, d in FAST])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_fast_path_equals_reference_in_value_and_gradient(name: str, draw: Draw, dtype: torch.dtype, reduction: str,
                                                          taken: list[str], rng: np.random.Generator) -> None:
    pred, target, kwargs = draw(rng, dtype)
    fast_pred, ref_pred = pred.clone().requires_grad_(True), pred.clone().requires_grad_(True)
    fast = losskit.get(name)(fast_pred, target, reduction=reduction, **kwargs)
    ref = getattr(reference, name)(ref_pred, target, reduction=reduction, **kwargs)
    assert taken == [name]  # the public function took the fast path, the reference did not
    assert fast.dtype == ref.dtype and fast.shape == ref.shape
    torch.testing.assert_close(fast, ref, **TOL[dtype])
    seed = torch.tensor(rng.uniform(0.5, 1.5, size=tuple(fast.shape)), dtype=dtype)
    (fast * seed).sum().backward()
    (ref * seed).sum().backward()
    torch.testing.assert_close(fast_pred.grad, ref_pred.grad, **TOL[dtype])


def test_all_ignored_labels_cost_zero_on_the_fast_path_too(taken: list[str]) -> None:
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    out = losskit.sparse_categorical_cross_entropy(logits, torch.full((4,), -100), from_logits=True)
    out.backward()
    assert taken == ["sparse_categorical_cross_entropy"]
    assert out.item() == 0.0 and torch.all(logits.grad == 0)


@pytest.mark.parametrize(("call", "declined"), [
    (lambda p, t: losskit.mse(p, t, weight=torch.ones(7, 1)), "weight"),
    (lambda p, t: losskit.mse(p.half(), t.half()), "float16"),
    (lambda p, t: losskit.mse(p[:0], t[:0]), "empty batch"),
    (lambda p, t: losskit.binary_cross_entropy(torch.sigmoid(p), t.clamp(0, 1)), "probabilities"),
    (lambda p, t: losskit.binary_cross_entropy(p, t.clamp(0, 1), from_logits=True, label_smoothing=0.1), "smoothing"),
])
def test_declined_calls_run_the_reference_path(call: Callable[..., torch.Tensor], declined: str,
                                               taken: list[str]) -> None:
    pred, target = torch.randn(7, 5).requires_grad_(True), torch.randn(7, 5)
    assert torch.isfinite(call(pred, target)).all()
    assert taken == [], declined


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: losskit.mse(torch.zeros(3), torch.tensor([0.0, float("nan"), 1.0])), ValueError, "target must be finite"),
    (lambda: losskit.mse(torch.zeros(3), torch.zeros(3), reduction="avg"), ValueError, "reduction"),
    (lambda: losskit.huber(torch.zeros(3), torch.zeros(3), delta=0.0), ValueError, "delta"),
    (lambda: losskit.binary_cross_entropy(torch.zeros(3), torch.tensor([0.0, 2.0, 1.0]), from_logits=True),
     ValueError, "target must lie in"),
    (lambda: losskit.sparse_categorical_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3]), from_logits=True),
     ValueError, r"target holds class labels in \[0, 3\)"),
    (lambda: losskit.sparse_categorical_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), from_logits=True,
                                                      class_weight=torch.tensor([1.0, -1.0, 1.0])),
     ValueError, "class_weight"),
])
def test_errors_are_the_reference_paths(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_reference_namespace_lists_the_fast_losses() -> None:
    assert set(dir(reference)) == set(REFERENCE)
    with pytest.raises(AttributeError, match="losses with a fast path"):
        reference.dice  # noqa: B018
