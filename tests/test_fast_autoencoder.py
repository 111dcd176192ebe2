"""The autoencoder fast paths beyond the generic suite (tests/test_fast.py): blocks, a second backward pass,
declines and the reference path's errors, and the conventions of KL that torch's kl_div lacks."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.reference as reference

from conftest import spy_fast_paths

_autoencoder = importlib.import_module("losskit.torch._autoencoder")
NAMES = ("kl_divergence", "js_divergence", "gaussian_kl", "reconstruction")


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the autoencoder losses whose fast path computed the result (did not decline)."""
    return spy_fast_paths(monkeypatch, NAMES)


def _distribution(rng: np.random.Generator, shape: tuple[int, ...], axis: int = -1, zeros: float = 0.0) -> np.ndarray:
    p = np.exp(rng.normal(size=shape) * 2)
    drop = rng.uniform(size=shape) < zeros
    np.put_along_axis(drop, np.expand_dims(np.argmax(p, axis=axis), axis), False, axis=axis)
    p = np.where(drop, 0.0, p)
    return p / p.sum(axis=axis, keepdims=True)


def _value_and_grads(fn: Callable[..., torch.Tensor], tensors: tuple[torch.Tensor, ...], n_grad: int,
                     **kwargs: Any) -> tuple[torch.Tensor, ...]:
    leaves = [t.clone().requires_grad_(i < n_grad) for i, t in enumerate(tensors)]
    out = fn(*leaves, **kwargs)
    return (out.detach(), *torch.autograd.grad(out.sum(), leaves[:n_grad]))


def _calls(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> list[tuple[str, tuple[torch.Tensor, ...],
                                                                                      dict[str, Any], int]]:
    p, y = _distribution(rng, shape, axis, zeros=0.2), _distribution(rng, shape, axis, zeros=0.3)
    with np.errstate(divide="ignore"):
        log_p, log_y = torch.tensor(np.log(p)), torch.tensor(np.log(y))
    mu, log_var = torch.tensor(rng.normal(size=shape)), torch.tensor(rng.normal(size=shape))
    tp, ty = torch.tensor(p), torch.tensor(y)
    return [
        ("kl_divergence", (tp, ty), {"axis": axis}, 2),
        ("kl_divergence", (log_p, log_y), {"axis": axis, "log_pred": True, "log_target": True}, 2),
        ("js_divergence", (tp, ty), {"axis": axis}, 2),
        ("gaussian_kl", (mu, log_var), {"axis": axis}, 2),
    ]


@pytest.mark.parametrize(("shape", "axis"), [((37, 5, 3), 1), ((37, 6), -1), ((6, 37), 0)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_blocks_of_rows_give_the_one_block_numbers(shape: tuple[int, ...], axis: int, reduction: str,
                                                   monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    """A loop over blocks of a few rows (here 2 or 3, the last one shorter) computes what one block does."""
    for name, tensors, kwargs, n_grad in _calls(rng, shape, axis):
        fn = getattr(losskit, name)
        whole = _value_and_grads(fn, tensors, n_grad, reduction=reduction, **kwargs)
        monkeypatch.setattr(_autoencoder, "_BLOCK", 2 * tensors[0].numel() // tensors[0].shape[0] + 1)
        blocks = _value_and_grads(fn, tensors, n_grad, reduction=reduction, **kwargs)
        monkeypatch.undo()
        ref = _value_and_grads(getattr(reference, name), tensors, n_grad, reduction=reduction, **kwargs)
        for b, w, r in zip(blocks, whole, ref, strict=True):
            torch.testing.assert_close(b, w, rtol=1e-15, atol=0)
            torch.testing.assert_close(b, r, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["kl_divergence", "gaussian_kl"])
def test_a_second_backward_pass_computes_the_gradients_again(name: str, rng: np.random.Generator,
                                                             taken: list[str]) -> None:
    """The gradient may reuse what the forward pass kept (gaussian_kl's expm1) only once: retain_graph=True and a
    second pass gives the same gradients, and the first pass's gradients are left alone."""
    a, b = (torch.tensor(_distribution(rng, (5, 4))) for _ in range(2))
    leaves = a.requires_grad_(True), b.requires_grad_(True)
    out = getattr(losskit, name)(*leaves, reduction="sum")
    first = torch.autograd.grad(out, leaves, retain_graph=True)
    kept = [g.clone() for g in first]
    second = torch.autograd.grad(out, leaves)
    expected = torch.autograd.grad(getattr(reference, name)(*leaves, reduction="sum"), leaves)
    assert taken == [name]
    for f, k, s, e in zip(first, kept, second, expected, strict=True):
        assert torch.equal(f, k)
        torch.testing.assert_close(s, f, rtol=1e-15, atol=0)
        torch.testing.assert_close(f, e, rtol=1e-13, atol=1e-15)


def test_gaussian_kl_gradient_of_the_mean_only_or_the_log_variance_only(rng: np.random.Generator,
                                                                        taken: list[str]) -> None:
    mu, lv = torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(size=(4, 3)))
    for wanted in ((True, False), (False, True)):
        leaves = [t.clone().requires_grad_(w) for t, w in zip((mu, lv), wanted, strict=True)]
        (grad,) = torch.autograd.grad(losskit.gaussian_kl(*leaves), [x for x in leaves if x.requires_grad])
        expected = mu / 4 if wanted[0] else torch.expm1(lv) / 8
        torch.testing.assert_close(grad, expected, rtol=1e-15, atol=0)
    assert taken == ["gaussian_kl", "gaussian_kl"]


def test_kl_keeps_its_conventions_where_torch_kl_div_gives_nan(taken: list[str]) -> None:
    """0 log 0 = 0 and log targets of -inf: finite on the fast path, NaN in torch's kl_div."""
    p = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype=torch.float64)
    y = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], dtype=torch.float64)
    log_p, log_y = torch.log(p).requires_grad_(True), torch.log(y)
    assert torch.isnan(F.kl_div(log_p, y, reduction="batchmean"))
    assert torch.isnan(F.kl_div(torch.log(p + 1e-3), log_y, reduction="batchmean", log_target=True))
    for log_target in (False, True):
        out = losskit.kl_divergence(log_p, log_y if log_target else y, log_pred=True, log_target=log_target)
        (grad,) = torch.autograd.grad(out, log_p)
        assert out.item() == pytest.approx(0.25 * np.log(5 / 3), rel=1e-14)  # the mean of 0 and KL of row 2
        torch.testing.assert_close(grad, -y / 2, rtol=0, atol=0)
    assert taken == ["kl_divergence", "kl_divergence"]


def test_kl_with_checks_off_takes_minus_inf_log_targets(taken: list[str]) -> None:
    p = torch.tensor([[0.2, 0.3, 0.5]], dtype=torch.float64)
    log_y = torch.log(torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64)).requires_grad_(True)
    with losskit.checks(False):
        out = losskit.kl_divergence(p, log_y, log_target=True, reduction="sum")
        (grad,) = torch.autograd.grad(out, log_y)
    assert taken == ["kl_divergence"]
    assert out.item() == pytest.approx(0.5 * np.log(0.5 / 0.3) + 0.5 * np.log(0.5 / 0.5), rel=1e-14)
    torch.testing.assert_close(grad, torch.tensor([[0.0, 0.5 * (np.log(0.5 / 0.3) + 1), 0.5]],
                                                  dtype=torch.float64), rtol=1e-14, atol=0)


@pytest.mark.parametrize(("call", "declined"), [
    (lambda p, y: losskit.kl_divergence(p, y, weight=torch.ones(4)), "weight"),
    (lambda p, y: losskit.kl_divergence(p.half(), y.half()), "float16"),
    (lambda p, y: losskit.kl_divergence(p, y.float()), "two dtypes"),
    (lambda p, y: losskit.kl_divergence(p[:0], y[:0]), "empty batch"),
    (lambda p, y: losskit.js_divergence(p, y, weight=torch.ones(4)), "weight"),
    (lambda p, y: losskit.gaussian_kl(p, y, weight=torch.ones(4)), "weight"),
    (lambda p, y: losskit.gaussian_kl(p.bfloat16(), y.bfloat16()), "bfloat16"),
    (lambda p, y: losskit.reconstruction(p, y, kind="bce"), "probabilities"),
    (lambda p, y: losskit.reconstruction(p, y, weight=torch.ones(4)), "weight"),
])
def test_declined_calls_run_the_reference_path(call: Callable[..., torch.Tensor], declined: str,
                                               rng: np.random.Generator, taken: list[str]) -> None:
    p, y = (torch.tensor(_distribution(rng, (4, 5)), requires_grad=True) for _ in range(2))
    assert torch.isfinite(call(p, y)).all()
    assert taken == [], declined


P = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], dtype=torch.float64)
Y = torch.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: losskit.kl_divergence(P - 0.3, Y), ValueError, "pred must lie in"),
    (lambda: losskit.kl_divergence(P, Y * 0.9), ValueError, "target must sum to 1"),
    (lambda: losskit.kl_divergence(P, torch.where(Y == 1.0, torch.nan, Y)), ValueError, "target must be finite"),
    (lambda: losskit.kl_divergence(P, Y, log_pred=True), ValueError, "pred.*log_pred"),
    (lambda: losskit.kl_divergence(torch.log(P), torch.log(Y) - 0.1, log_pred=True, log_target=True), ValueError,
     r"exp\(target\) must sum to 1"),
    (lambda: losskit.kl_divergence(P, Y, axis=2), ValueError, "axis"),
    (lambda: losskit.kl_divergence(P, Y, reduction="batchmean"), ValueError, "reduction"),
    (lambda: losskit.js_divergence(P, 2 * Y - 0.5), ValueError, "target"),
    (lambda: losskit.gaussian_kl(P, torch.where(Y == 1.0, torch.inf, Y)), ValueError, "log_var must be finite"),
    (lambda: losskit.gaussian_kl(P, Y, axis=1.0), TypeError, "axis"),
    (lambda: losskit.reconstruction(P, Y, from_logits=True), ValueError, "from_logits"),
    (lambda: losskit.reconstruction(P, Y + 1.0, kind="bce", from_logits=True), ValueError, "target must lie in"),
    (lambda: losskit.reconstruction(P[0, 0], Y[0, 0]), ValueError, "batch axis"),
])
def test_errors_are_the_reference_paths(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_inputs_are_not_modified(rng: np.random.Generator) -> None:
    p, y = (torch.tensor(_distribution(rng, (4, 5), zeros=0.3), requires_grad=True) for _ in range(2))
    before = p.detach().clone(), y.detach().clone()
    for name in ("kl_divergence", "js_divergence", "gaussian_kl"):
        torch.autograd.grad(getattr(losskit, name)(p, y), (p, y))
    torch.autograd.grad(losskit.reconstruction(p, y, kind="bce", from_logits=True), (p,))
    assert torch.equal(p.detach(), before[0]) and torch.equal(y.detach(), before[1])
