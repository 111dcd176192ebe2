"""The classification fast paths beyond ``tests/test_fast.py``: precision where torch rounds, chunks,
checks folded into the kernels, declines and errors."""

from __future__ import annotations

import contextlib
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

fast = importlib.import_module("losskit.torch._classification")


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The losses whose fast path computed the result."""
    return spy_fast_paths(monkeypatch, ("binary_cross_entropy", "categorical_cross_entropy", "hinge", "squared_hinge",
                                        "multiclass_hinge"))


def _grad(fn: Callable[..., torch.Tensor], x: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, ...]:
    leaf = x.clone().requires_grad_(True)
    out = fn(leaf, *args, **kwargs)
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    return out.detach(), grad


# ------------------------------------------------------------------ confident predictions


def test_categorical_keeps_a_confident_rows_tiny_loss_and_gradient(taken: list[str]) -> None:
    """p of the label within 1e-13 of 1: loss and gradient to full relative precision, where torch gives 0."""
    x = torch.tensor([[30.0, 0.0, -2.0], [0.0, 45.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    loss, grad = _grad(losskit.categorical_cross_entropy, x, y, from_logits=True, reduction="none")
    assert taken == ["categorical_cross_entropy"]
    rest = torch.tensor([np.exp(-30.0) + np.exp(-32.0), np.exp(-45.0) + np.exp(-44.0)], dtype=torch.float64)
    torch.testing.assert_close(loss, torch.log1p(rest), rtol=1e-15, atol=0)
    top = grad[[0, 1], [0, 1]]
    torch.testing.assert_close(top, -rest / (1 + rest), rtol=1e-14, atol=0)
    assert F.cross_entropy(x, y, reduction="none")[1] == 0  # what the naive form gives


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_categorical_near_ties_at_the_top(dtype: torch.dtype, taken: list[str]) -> None:
    """A rival within rounding of the maximum, exact ties, and the maximum alone: no rival is lost."""
    tiny = float(torch.finfo(dtype).eps) / 4
    x = torch.tensor([[0.0, -tiny, -9.0], [1.0, 1.0, -tiny], [0.0, -0.6, -0.7], [2.0, 2.0, 2.0]], dtype=dtype)
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], dtype=dtype)
    got = _grad(losskit.categorical_cross_entropy, x, y, from_logits=True, reduction="none")
    expected = _grad(reference.categorical_cross_entropy, x, y, from_logits=True, reduction="none")
    assert taken == ["categorical_cross_entropy"]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)


def test_binary_keeps_a_confident_logits_tiny_loss(taken: list[str]) -> None:
    x = torch.tensor([40.0, -40.0, 3.0], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    loss, grad = _grad(losskit.binary_cross_entropy, x, y, from_logits=True, pos_weight=2.0, reduction="none")
    assert taken == ["binary_cross_entropy"]
    expected = torch.tensor([2 * np.log1p(np.exp(-40.0)), np.log1p(np.exp(-40.0)), 2 * np.log1p(np.exp(-3.0))],
                            dtype=torch.float64)
    torch.testing.assert_close(loss, expected, rtol=1e-15, atol=0)
    torch.testing.assert_close(grad[:2], torch.sigmoid(torch.tensor([-40.0, -40.0], dtype=torch.float64))
                               * torch.tensor([-2.0, 1.0], dtype=torch.float64), rtol=1e-15, atol=0)


# ------------------------------------------------------------------ chunks


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_chunks_cover_every_row_and_broadcast_weights(monkeypatch: pytest.MonkeyPatch, taken: list[str],
                                                      reduction: str) -> None:
    """Chunks of 3 rows (the last one shorter), with per-label and per-example weights sliced along."""
    monkeypatch.setattr(fast, "CHUNK", 12)
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(size=(11, 4, 2)) * 3)
    y = torch.tensor(rng.uniform(size=(11, 4, 2)))
    options = {"from_logits": True, "pos_weight": torch.tensor(rng.uniform(0.5, 2, size=(4, 1))),
               "weight": torch.tensor(rng.uniform(size=(11, 1, 1))), "label_smoothing": 0.2, "reduction": reduction}
    got = _grad(losskit.binary_cross_entropy, x, y, **options)
    expected = _grad(reference.binary_cross_entropy, x, y, **options)
    soft = torch.softmax(torch.tensor(rng.normal(size=(11, 4, 2))), dim=1)
    options = {"from_logits": True, "axis": 1, "class_weight": torch.tensor([0.5, 1.0, 2.0, 0.0], dtype=x.dtype),
               "label_smoothing": 0.1, "reduction": reduction}
    got += _grad(losskit.categorical_cross_entropy, x, soft, **options)
    expected += _grad(reference.categorical_cross_entropy, x, soft, **options)
    assert taken == ["binary_cross_entropy", "categorical_cross_entropy"]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-13, atol=1e-15)


def test_inputs_are_not_modified() -> None:
    rng = np.random.default_rng(6)
    x = torch.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    y = torch.softmax(torch.tensor(rng.normal(size=(5, 3))), dim=1)
    labels = torch.tensor(rng.integers(0, 2, size=(5, 3)))
    before = [t.detach().clone() for t in (x, y, labels)]
    losses = [losskit.categorical_cross_entropy(x, y, from_logits=True, label_smoothing=0.1),
              losskit.binary_cross_entropy(x, y, from_logits=True, pos_weight=2.0),
              losskit.hinge(x, labels), losskit.squared_hinge(x, labels)]
    torch.autograd.grad(sum(losses), x)
    for t, b in zip((x, y, labels), before, strict=True):
        assert torch.equal(t, b)


# ------------------------------------------------------------------ checks, declines, errors


@pytest.mark.parametrize(("call", "match"), [
    (lambda x, y: losskit.categorical_cross_entropy(x, y + 1, from_logits=True), "target must lie in"),
    (lambda x, y: losskit.categorical_cross_entropy(x, y.index_fill(0, torch.tensor([2]), float("nan")),
                                                    from_logits=True), "target must be finite"),
    (lambda x, y: losskit.binary_cross_entropy(x, y - 0.5, from_logits=True, label_smoothing=0.1),
     "target must lie in"),
    (lambda x, y: losskit.binary_cross_entropy(x, y, from_logits=True, pos_weight=-1.0), "pos_weight must be"),
    (lambda x, y: losskit.binary_cross_entropy(x, y, from_logits=True, weight=-torch.ones(4, 1, dtype=x.dtype)),
     "weight must be"),
    # both wrong: the reference path names the target first
    (lambda x, y: losskit.categorical_cross_entropy(x, y + 1, from_logits=True,
                                                    class_weight=-torch.ones(3, dtype=x.dtype)), "target must lie in"),
    (lambda x, y: losskit.binary_cross_entropy(x, y + 1, from_logits=True, pos_weight=-1.0), "target must lie in"),
    (lambda x, y: losskit.hinge(x, y), "target must hold labels"),
    (lambda x, y: losskit.hinge(x, torch.tensor([[0, -1, 1]] * 4)), "found both 0 and -1"),
    (lambda x, y: losskit.squared_hinge(x, torch.tensor([[0.0, 1.0, 2.0]] * 4)), "target must hold labels"),
    (lambda x, y: losskit.multiclass_hinge(x, torch.tensor([0, 1, 3, 2]), kind="weston_watkins"),
     "target holds class labels"),
    (lambda x, y: losskit.hinge(x, y.round(), margin=-1.0), "margin"),
])
def test_errors_are_the_reference_paths(call: Callable[..., Any], match: str) -> None:
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.softmax(torch.randn(4, 3, dtype=torch.float64), dim=1)
    with pytest.raises(ValueError, match=match):
        call(x, y)


def test_checks_off_still_map_hinge_labels(taken: list[str]) -> None:
    """With value checks off, hinge labels are still mapped from their values, as on the reference path."""
    x = torch.randn(6, dtype=torch.float64)
    for labels in (torch.tensor([0, 1, 1, 0, 1, 1]), torch.tensor([-1.0, 1, 1, -1, 1, 1], dtype=torch.float64)):
        with losskit.checks(False):
            got = losskit.hinge(x, labels, reduction="none")
        torch.testing.assert_close(got, reference.hinge(x, labels, reduction="none"))
    assert taken == ["hinge", "hinge"]


@pytest.mark.parametrize(("call", "declined"), [
    (lambda x, y: losskit.categorical_cross_entropy(torch.softmax(x, 1), y), "probabilities"),
    (lambda x, y: losskit.categorical_cross_entropy(x, y, from_logits=True, weight=torch.ones(4)), "weight"),
    (lambda x, y: losskit.binary_cross_entropy(x, y, from_logits=True, weight=torch.ones(4)), "weight of rank 1"),
    (lambda x, y: losskit.multiclass_hinge(x, torch.tensor([0, 1, 2, 1])), "crammer_singer"),
    (lambda x, y: losskit.hinge(x, y.round().half()), "float16 labels"),
])
def test_declined_calls_run_the_reference_path(call: Callable[..., Any], declined: str, taken: list[str]) -> None:
    x = torch.randn(4, 3)
    y = torch.softmax(torch.randn(4, 3), dim=1)
    with contextlib.suppress(ValueError):  # the reference path's error (an (N,) weight of an (N, C) loss)
        call(x, y)
    assert taken == [], declined


def test_plain_binary_cross_entropy_is_torchs(taken: list[str]) -> None:
    x, y = torch.randn(6, 5), torch.rand(6, 5)
    assert torch.equal(losskit.binary_cross_entropy(x, y, from_logits=True), F.binary_cross_entropy_with_logits(x, y))
    assert taken == ["binary_cross_entropy"]


def test_weston_watkins_double_backward_is_the_reference_paths() -> None:
    """torch cannot differentiate multi_margin_loss's backward: a gradient penalty runs the reference path."""
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 3, 1, 1, 2])
    loss = losskit.multiclass_hinge(x, labels, kind="weston_watkins", margin=0.5)
    (grad,) = torch.autograd.grad(loss, x, create_graph=True)
    (expected,) = torch.autograd.grad(reference.multiclass_hinge(x, labels, kind="weston_watkins", margin=0.5), x)
    torch.testing.assert_close(grad, expected)
