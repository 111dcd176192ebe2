"""The focal losses' fast paths beyond the generic suite: inputs of several blocks, the calls they
decline, and the reference path's errors."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import losskit
import losskit.reference as reference

from conftest import spy_fast_paths

detection = importlib.import_module("losskit.torch._detection")

NAMES = ("focal", "categorical_focal", "sparse_categorical_focal")


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the focal losses whose fast path computed the result (did not decline)."""
    return spy_fast_paths(monkeypatch, NAMES)


def _agree(name: str, pred: torch.Tensor, target: torch.Tensor, **kwargs: Any) -> None:
    """The public loss and the reference path agree in value and gradient, for every reduction."""
    for reduction in ("none", "mean", "sum"):
        results = []
        for fn in (getattr(losskit, name), getattr(reference, name)):
            x = pred.clone().requires_grad_(True)
            out = fn(x, target, reduction=reduction, **kwargs)
            seed = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
            results.append((out.detach(), torch.autograd.grad((out * seed).sum(), x)[0]))
        (fast, fast_grad), (ref, ref_grad) = results
        torch.testing.assert_close(fast, ref, rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(fast_grad, ref_grad, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("block", [7, 64, 1 << 18])
def test_blocks_cover_the_input(block: int, monkeypatch: pytest.MonkeyPatch, taken: list[str],
                                rng: np.random.Generator) -> None:
    """Many blocks, a last partial one, and rows split into columns where a row exceeds a block."""
    monkeypatch.setattr(detection, "_BLOCK", block)
    monkeypatch.setattr(detection, "_SPARSE_BLOCK", block)
    x = torch.tensor(rng.normal(size=(5, 4, 9)) * 3)
    y = torch.tensor(rng.uniform(size=(5, 4, 9)))
    labels = torch.tensor(rng.integers(0, 4, size=(5, 9)))
    labels[0, :3] = -100
    _agree("focal", x, y, from_logits=True, gamma=1.5)
    _agree("categorical_focal", x, torch.softmax(torch.tensor(rng.normal(size=(5, 4, 9))), 1), from_logits=True,
           axis=1, alpha=torch.tensor([1.0, 0.5, 2.0, 0.25], dtype=torch.float64))
    for smoothing in (0.0, 0.1):
        _agree("sparse_categorical_focal", x, labels, from_logits=True, axis=1, label_smoothing=smoothing)
    _agree("sparse_categorical_focal", x.movedim(1, -1).reshape(45, 4), labels.reshape(45), from_logits=True,
           gamma=0.5)
    assert set(taken) == set(NAMES)


def test_label_dtypes_and_layouts(taken: list[str], rng: np.random.Generator) -> None:
    """Narrow label dtypes (uint8 cannot hold the default ignore_index -100: nothing is ignored) and
    a class axis that is not contiguous."""
    x = torch.tensor(rng.normal(size=(7, 5)) * 2)
    labels = torch.tensor(rng.integers(0, 5, size=7))
    for dtype in (torch.int8, torch.uint8, torch.int32):
        _agree("sparse_categorical_focal", x, labels.to(dtype), from_logits=True, label_smoothing=0.1)
    _agree("sparse_categorical_focal", x.T, labels, from_logits=True, axis=0)
    _agree("categorical_focal", x.T, torch.eye(5, dtype=x.dtype)[labels].T, from_logits=True, axis=0)
    _agree("focal", x.T, torch.eye(5, dtype=x.dtype)[labels].T, from_logits=True)
    assert len(taken) == 3 * 4 + 3 * 2


def test_inputs_are_not_modified(taken: list[str], rng: np.random.Generator) -> None:
    x = torch.tensor(rng.normal(size=(6, 5)), requires_grad=True)
    y = torch.tensor(rng.uniform(size=(6, 5)))
    labels = torch.tensor(rng.integers(0, 5, size=6))
    alpha = torch.tensor(rng.uniform(size=5))
    copies = [t.detach().clone() for t in (x, y, labels, alpha)]
    calls = [lambda: losskit.focal(x, y, from_logits=True),
             lambda: losskit.categorical_focal(x, y, from_logits=True, alpha=alpha, label_smoothing=0.1),
             lambda: losskit.sparse_categorical_focal(x, labels, from_logits=True, alpha=alpha)]
    for call in calls:
        call().backward()
    assert taken == list(NAMES)
    for t, copy in zip((x, y, labels, alpha), copies, strict=True):
        assert torch.equal(t.detach(), copy)


def test_value_checks_off_give_the_same_numbers(taken: list[str], rng: np.random.Generator) -> None:
    x = torch.tensor(rng.normal(size=(6, 5)) * 3)
    labels = torch.tensor(rng.integers(0, 5, size=6))
    with losskit.checks(False):
        off = losskit.sparse_categorical_focal(x, labels, from_logits=True, alpha=torch.ones(5, dtype=x.dtype))
    on = losskit.sparse_categorical_focal(x, labels, from_logits=True, alpha=torch.ones(5, dtype=x.dtype))
    assert taken == ["sparse_categorical_focal"] * 2 and off.item() == on.item()


X = torch.randn(6, 5)
Y = torch.rand(6, 5)
ONE_HOT = torch.eye(5)[torch.tensor([0, 1, 2, 3, 4, 0])]
LABELS = torch.tensor([0, 1, 2, 3, 4, -100])
DECLINED: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
    ("focal of probabilities", lambda x: losskit.focal(torch.sigmoid(x), Y)),
    ("focal weight", lambda x: losskit.focal(x, Y, from_logits=True, weight=torch.ones(6, 1))),
    ("focal float16", lambda x: losskit.focal(x.half(), Y.half(), from_logits=True)),
    ("focal target dtype", lambda x: losskit.focal(x, Y.double(), from_logits=True)),
    ("focal bool target", lambda x: losskit.focal(x, Y > 0.5, from_logits=True)),
    ("focal empty", lambda x: losskit.focal(x[:0], Y[:0], from_logits=True)),
    ("categorical of probabilities", lambda x: losskit.categorical_focal(torch.softmax(x, -1), ONE_HOT)),
    ("categorical alpha list", lambda x: losskit.categorical_focal(x, ONE_HOT, from_logits=True, alpha=[1.0] * 5)),
    ("categorical alpha float64", lambda x: losskit.categorical_focal(x, ONE_HOT, from_logits=True,
                                                                      alpha=torch.ones(5, dtype=torch.float64))),
    ("categorical alpha with grad", lambda x: losskit.categorical_focal(x, ONE_HOT, from_logits=True,
                                                                        alpha=torch.ones(5, requires_grad=True))),
    ("categorical weight", lambda x: losskit.categorical_focal(x, ONE_HOT, from_logits=True, weight=torch.ones(6))),
    ("sparse of probabilities", lambda x: losskit.sparse_categorical_focal(torch.softmax(x, -1), LABELS)),
    ("sparse weight", lambda x: losskit.sparse_categorical_focal(x, LABELS, from_logits=True, weight=torch.ones(6))),
]


@pytest.mark.parametrize("call", [call for _, call in DECLINED], ids=[name for name, _ in DECLINED])
def test_declined_calls_run_the_reference_path(call: Callable[[torch.Tensor], torch.Tensor],
                                               taken: list[str]) -> None:
    out = call(X.clone().requires_grad_(True))
    assert torch.isfinite(out).all()
    assert taken == []


ERRORS: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("focal gamma", lambda: losskit.focal(X, Y, from_logits=True, gamma=-1.0), ValueError, "gamma"),
    ("focal alpha", lambda: losskit.focal(X, Y, from_logits=True, alpha=1.5), ValueError, "alpha"),
    ("focal reduction", lambda: losskit.focal(X, Y, from_logits=True, reduction="avg"), ValueError, "reduction"),
    ("focal target nan", lambda: losskit.focal(X, torch.where(Y > 0.5, float("nan"), Y), from_logits=True),
     ValueError, "target must be finite"),
    ("focal target above 1", lambda: losskit.focal(X, Y + 1, from_logits=True), ValueError, "target must lie in"),
    ("focal target then gamma", lambda: losskit.focal(X, Y + 1, from_logits=True, gamma=-1.0), ValueError, "gamma"),
    ("categorical target", lambda: losskit.categorical_focal(X, -ONE_HOT, from_logits=True), ValueError,
     "target must lie in"),
    ("categorical target before gamma", lambda: losskit.categorical_focal(X, -ONE_HOT, from_logits=True, gamma=-1.0),
     ValueError, "target must lie in"),
    ("categorical smoothing", lambda: losskit.categorical_focal(X, ONE_HOT, from_logits=True, label_smoothing=2.0),
     ValueError, "label_smoothing"),
    ("categorical alpha negative", lambda: losskit.categorical_focal(X, ONE_HOT, from_logits=True,
                                                                     alpha=-torch.ones(5)),
     ValueError, "alpha must be finite and non-negative"),
    ("categorical alpha shape", lambda: losskit.categorical_focal(X, ONE_HOT, from_logits=True, alpha=torch.ones(4)),
     ValueError, r"alpha must have shape \(5,\)"),
    ("categorical axis", lambda: losskit.categorical_focal(X, ONE_HOT, from_logits=True, axis=2), ValueError, "axis"),
    ("sparse label", lambda: losskit.sparse_categorical_focal(X, LABELS.clamp(0, 5) + 1, from_logits=True),
     ValueError, r"target holds class labels in \[0, 5\)"),
    ("sparse ignored only when asked", lambda: losskit.sparse_categorical_focal(X, LABELS, from_logits=True,
                                                                                ignore_index=None),
     ValueError, "found -100"),
    ("sparse ignore_index", lambda: losskit.sparse_categorical_focal(X, LABELS, from_logits=True, ignore_index=1.5),
     TypeError, "ignore_index"),
    ("sparse one class", lambda: losskit.sparse_categorical_focal(X[:, :1], LABELS.clamp(0, 0), from_logits=True),
     ValueError, "at least 2 classes"),
    ("sparse label shape", lambda: losskit.sparse_categorical_focal(X, LABELS[:, None], from_logits=True),
     ValueError, "target must have the shape of pred without its class axis"),
    ("sparse gamma", lambda: losskit.sparse_categorical_focal(X, LABELS, from_logits=True, gamma=float("nan")),
     ValueError, "gamma"),
    ("sparse alpha nan", lambda: losskit.sparse_categorical_focal(X, LABELS, from_logits=True, alpha=float("nan")),
     ValueError, "alpha"),
]


@pytest.mark.parametrize(("call", "error", "match"), [row[1:] for row in ERRORS], ids=[row[0] for row in ERRORS])
def test_errors_are_the_reference_paths(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()
