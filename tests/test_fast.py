"""The torch fast paths give the reference path's values and gradients, and decline what they cannot do.

Each case of ``tests/_fast`` runs eagerly, under ``torch.compile(fullgraph=True)``, under autocast
and with a double backward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import losskit
import losskit.reference as reference
from _fast import CASES, FastCase
from losskit._core.dispatch import FAST, REFERENCE

from conftest import spy_fast_paths

DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: {"rtol": 2e-6, "atol": 1e-7}, torch.float64: {"rtol": 1e-13, "atol": 1e-15}}
IDS = [case.id for case in CASES]


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the losses whose fast path computed the result (did not decline)."""
    return spy_fast_paths(monkeypatch, FAST)


def _leaves(case: FastCase, tensors: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Fresh copies of the call's tensors, the first ``case.grads`` requiring a gradient."""
    return tuple(t.clone().requires_grad_(i < case.grads) for i, t in enumerate(tensors))


def _value_and_grads(fn: Callable[..., torch.Tensor], case: FastCase, tensors: tuple[torch.Tensor, ...],
                     kwargs: dict[str, Any], seed: Callable[[torch.Tensor], torch.Tensor],
                     ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    leaves = _leaves(case, tensors)
    out = fn(*leaves, **kwargs)
    grads = torch.autograd.grad((out * seed(out)).sum(), leaves[:case.grads])
    return out.detach(), grads


def _seed(rng: np.random.Generator, dtype: torch.dtype) -> Callable[[torch.Tensor], torch.Tensor]:
    """A non-uniform upstream gradient, so that a wrongly broadcast "none" gradient shows; the same
    one for every call of the test."""
    seed = int(rng.integers(2**31))

    def upstream(out: torch.Tensor) -> torch.Tensor:
        return torch.rand(out.shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) + 0.5
    return upstream


def test_every_fast_path_is_tested() -> None:
    assert {case.name for case in CASES} == set(REFERENCE)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_fast_path_equals_reference_in_value_and_gradient(case: FastCase, dtype: torch.dtype, reduction: str,
                                                          taken: list[str], rng: np.random.Generator) -> None:
    tensors, kwargs = case.draw(rng, dtype)
    kwargs = {**kwargs, "reduction": reduction}
    upstream = _seed(rng, dtype)
    fast, fast_grads = _value_and_grads(losskit.get(case.name), case, tensors, kwargs, upstream)
    # the public function took the fast path for the reductions it handles, the reference did not
    assert taken == ([case.name] if reduction in case.reductions else [])
    ref, ref_grads = _value_and_grads(getattr(reference, case.name), case, tensors, kwargs, upstream)
    assert fast.dtype == ref.dtype and fast.shape == ref.shape
    torch.testing.assert_close(fast, ref, **TOL[dtype])
    tol = TOL[dtype]
    if case.cancels and dtype == torch.float32:
        tol = {**tol, "atol": 2 * torch.finfo(dtype).eps}
    for f, r in zip(fast_grads, ref_grads, strict=True):
        torch.testing.assert_close(f, r, **tol)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_retained_graph_gives_the_gradient_again(case: FastCase, rng: np.random.Generator) -> None:
    """Backward hands the held gradient over, scaled in place: a second backward through a retained
    graph computes it again, and leaves the first one's result as it was."""
    tensors, kwargs = case.draw(rng, torch.float64)
    reduction = "mean" if "mean" in case.reductions else case.reductions[0]
    leaves = _leaves(case, tensors)
    out = losskit.get(case.name)(*leaves, **{**kwargs, "reduction": reduction}).sum()
    first = torch.autograd.grad(out, leaves[:case.grads], retain_graph=True)
    kept = [g.clone() for g in first]
    second = torch.autograd.grad(out, leaves[:case.grads], torch.tensor(3.0, dtype=torch.float64))
    for f, k, g in zip(first, kept, second, strict=True):
        torch.testing.assert_close(f, k, rtol=0, atol=0)
        torch.testing.assert_close(g, 3.0 * k, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_compiled_fast_path_equals_eager(case: FastCase, taken: list[str], rng: np.random.Generator) -> None:
    """``torch.compile(fullgraph=True)`` of a step that calls the loss: no graph break, the same numbers."""
    tensors, kwargs = case.draw(rng, torch.float64)
    fn = losskit.get(case.name)
    for reduction in case.reductions:
        call = {**kwargs, "reduction": reduction}
        upstream = _seed(rng, torch.float64)

        def step(*args: torch.Tensor, _call: dict[str, Any] = call) -> torch.Tensor:
            return fn(*args, **_call)

        torch._dynamo.reset()
        compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
        expected, expected_grads = _value_and_grads(step, case, tensors, {}, upstream)
        assert taken and set(taken) == {case.name}
        got, got_grads = _value_and_grads(compiled, case, tensors, {}, upstream)
        torch.testing.assert_close(got, expected, **TOL[torch.float64])
        for g, e in zip(got_grads, expected_grads, strict=True):
            torch.testing.assert_close(g, e, **TOL[torch.float64])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_autocast_leaves_the_fast_path_in_float32(case: FastCase, rng: np.random.Generator) -> None:
    """Under autocast (bfloat16) a float32 loss is what it is without: losses are computed in float32."""
    tensors, kwargs = case.draw(rng, torch.float32)
    fn = losskit.get(case.name)
    for reduction in case.reductions:
        call = {**kwargs, "reduction": reduction}
        upstream = _seed(rng, torch.float32)
        expected, expected_grads = _value_and_grads(fn, case, tensors, call, upstream)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got, got_grads = _value_and_grads(fn, case, tensors, call, upstream)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
        for g, e in zip(got_grads, expected_grads, strict=True):
            torch.testing.assert_close(g, e, rtol=0, atol=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_double_backward_is_the_reference_paths(case: FastCase, rng: np.random.Generator) -> None:
    """``create_graph=True``: the Hessian-vector product of the fast path is the reference path's."""
    tensors, kwargs = case.draw(rng, torch.float64)
    call = {**kwargs, "reduction": case.reductions[-1]}
    results = []
    for fn in (losskit.get(case.name), getattr(reference, case.name)):
        leaves = _leaves(case, tensors)
        out = fn(*leaves, **call).sum()
        grads = torch.autograd.grad(out, leaves[:case.grads], create_graph=True)
        # a piecewise-linear loss may return a constant gradient, with no graph: its Hessian is zero
        live = [g for g in grads if g.requires_grad]
        if not live:
            results.append((None,) * case.grads)
            continue
        direction = [torch.ones_like(g) for g in live]
        results.append(torch.autograd.grad(live, leaves[:case.grads], direction, allow_unused=True))
    for f, r in zip(*results, strict=True):
        if f is None or r is None:
            assert all(h is None or torch.all(h == 0) for h in (f, r))
        else:
            torch.testing.assert_close(f, r, **TOL[torch.float64])


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
    (lambda p, t: losskit.binary_cross_entropy(p, t.clamp(0, 1), from_logits=True,
                                               pos_weight=torch.ones(5, requires_grad=True)), "pos_weight's gradient"),
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
        reference.no_such_loss  # noqa: B018
