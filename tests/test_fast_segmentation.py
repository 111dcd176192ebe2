"""The segmentation fast paths beyond the generic suite: several chunks, declines, errors, MONAI in float32."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from monai.losses import DiceCELoss, DiceLoss, TverskyLoss

import losskit
import losskit.reference as reference
import losskit.torch._segmentation as fast

NAMES = ["dice", "jaccard", "tversky", "focal_tversky", "dice_bce"]
TOL64 = {"rtol": 1e-13, "atol": 1e-15}


def _fused(out: torch.Tensor) -> bool:
    """Whether the fast path computed ``out`` (its backward is the fused one)."""
    return type(out.grad_fn).__name__ == "_FusedBackward"


def _value_and_grad(fn: Callable[..., torch.Tensor], x: torch.Tensor, *args: Any,
                    **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    leaf = x.clone().requires_grad_(True)
    out = fn(leaf, *args, **kwargs)
    seed = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
    (grad,) = torch.autograd.grad((out * seed).sum(), leaf)
    return out.detach(), grad


def _one_hot(labels: torch.Tensor) -> torch.Tensor:
    return (labels[:, None] == torch.arange(4)[:, None, None]).float()


def _labels(rng: np.random.Generator, shape: tuple[int, ...], classes: int) -> torch.Tensor:
    labels = torch.tensor(rng.integers(0, classes, size=shape))
    labels[0, :2] = 255  # ignored where ignore_index=255
    return labels


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("chunk", [1, 2 * 4 * 6 * 5], ids=["one_image", "two_images"])
@pytest.mark.parametrize("target", ["labels", "masks"])
def test_several_chunks_equal_the_reference(name: str, batch: bool, chunk: int, target: str,
                                            monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    """Chunks of one image (a chunk size below one image) and of two (the last one short)."""
    monkeypatch.setattr(fast, "_CHUNK", chunk)
    x = torch.tensor(rng.normal(size=(5, 4, 6, 5)) * 3)
    if target == "labels":
        kwargs: dict[str, Any] = {"mode": "multiclass", "ignore_index": 255}
        y = _labels(rng, (5, 6, 5), 4)
    else:
        kwargs = {"ignore_index": -1}
        y = torch.tensor((rng.uniform(size=x.shape) > 0.5).astype(np.float64))
        y[1, :, :2] = -1.0
    kwargs |= {"from_logits": True, "batch": batch, "class_weight": torch.tensor([0.5, 1.0, 2.0, 1.0],
                                                                                  dtype=torch.float64)}
    for reduction in ("none", "sum", "mean"):
        fast_out, fast_grad = _value_and_grad(losskit.get(name), x, y, reduction=reduction, **kwargs)
        ref_out, ref_grad = _value_and_grad(getattr(reference, name), x, y, reduction=reduction, **kwargs)
        torch.testing.assert_close(fast_out, ref_out, **TOL64)
        torch.testing.assert_close(fast_grad, ref_grad, **TOL64)


@pytest.mark.parametrize("name", NAMES)
def test_inference_skips_the_gradient_and_leaves_inputs_alone(name: str, rng: np.random.Generator) -> None:
    x = torch.tensor(rng.normal(size=(3, 4, 5, 6)), requires_grad=True)
    y = torch.tensor(rng.integers(0, 4, size=(3, 5, 6)))
    before = (x.detach().clone(), y.clone())
    fn = losskit.get(name)
    with torch.no_grad():
        value = fn(x, y, mode="multiclass", from_logits=True)
    assert value.grad_fn is None
    torch.testing.assert_close(value, fn(x, y, mode="multiclass", from_logits=True).detach(), rtol=0, atol=0)
    assert torch.equal(x.detach(), before[0]) and torch.equal(y, before[1])


@pytest.mark.parametrize(("name", "kwargs"), [
    ("dice", {"mode": "multiclass", "from_logits": True}),
    ("tversky", {"mode": "multiclass", "from_logits": True, "alpha": 0.3, "beta": 0.7}),
    ("dice_bce", {"mode": "multiclass", "from_logits": True}),
])
def test_float32_matches_monai(name: str, kwargs: dict[str, Any], rng: np.random.Generator) -> None:
    """Images of 64 x 64 pixels in float32, many chunks: MONAI's value and gradient to float32 rounding."""
    x = torch.tensor(rng.normal(size=(6, 4, 64, 64)) * 2, dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 4, size=(6, 64, 64)))
    smooth = {"smooth_nr": 1e-5, "smooth_dr": 1e-5}
    monai = {"dice": DiceLoss(softmax=True, to_onehot_y=True, **smooth),
             "tversky": TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7, **smooth),
             "dice_bce": DiceCELoss(softmax=True, to_onehot_y=True, **smooth)}[name]
    ours, ours_grad = _value_and_grad(losskit.get(name), x, labels, **kwargs)
    theirs, theirs_grad = _value_and_grad(monai, x, labels.unsqueeze(1))
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ours_grad, theirs_grad, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize(("call", "declined"), [
    (lambda x, y: losskit.dice(x, y, from_logits=True, weight=torch.ones(3)), "weight"),
    (lambda x, y: losskit.dice(x.half(), y.half(), from_logits=True), "float16"),
    (lambda x, y: losskit.dice(x[:0], y[:0], from_logits=True), "empty batch"),
    (lambda x, y: losskit.dice(x, y.double(), from_logits=True), "target of another float dtype"),
    (lambda x, y: losskit.dice(x, y, mode="multiclass", from_logits=True, ignore_index=1),
     "mask target and ignore_index, multiclass"),
    (lambda x, y: losskit.dice_bce(torch.sigmoid(x), y), "dice_bce of probabilities"),
    (lambda x, y: losskit.dice(x, y, from_logits=True, class_weight=[1.0, 1.0, 1.0, 1.0]), "class_weight a list"),
    (lambda x, y: losskit.dice(x, y, from_logits=True, class_weight=torch.ones(4, dtype=torch.float64)),
     "class_weight dtype"),
    (lambda x, y: losskit.dice(x[:, :, 0, 0], y[:, :, 0, 0], from_logits=True), "no pixel axis"),
    (lambda x, y: losskit.dice(x, y.requires_grad_(True), from_logits=True), "target requires grad"),
])
def test_declined_calls_run_the_reference_path(call: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                                               declined: str) -> None:
    x = torch.randn(3, 4, 5, 6, requires_grad=True)
    y = (torch.rand(3, 4, 5, 6) > 0.5).float()
    out = call(x, y)
    assert torch.isfinite(out).all()
    assert not _fused(out), declined


def test_the_fast_path_takes_the_common_calls() -> None:
    x = torch.randn(3, 4, 5, 6, requires_grad=True)
    labels = torch.randint(0, 4, (3, 5, 6))
    assert _fused(losskit.dice(x, labels, mode="multiclass", from_logits=True))
    assert _fused(losskit.dice_bce(x, _one_hot(labels), from_logits=True))


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda x, y: losskit.dice(x, y.clamp(max=3) + (y == 0) * 4, mode="multiclass", from_logits=True), ValueError,
     r"target holds class labels in \[0, 4\)"),
    (lambda x, y: losskit.dice(x, y - 1, mode="multiclass", from_logits=True, ignore_index=255), ValueError,
     r"target holds class labels in \[0, 4\) or ignore_index=255"),
    (lambda x, y: losskit.dice(x, _one_hot(y) * 2, from_logits=True), ValueError, "target must lie in"),
    (lambda x, y: losskit.dice(x, _one_hot(y) / 0, from_logits=True), ValueError, "target must be finite"),
    (lambda x, y: losskit.dice(x, y, mode="multi"), ValueError, "mode"),
    (lambda x, y: losskit.tversky(x, y, mode="multiclass", alpha=-1.0), ValueError, "alpha"),
    (lambda x, y: losskit.focal_tversky(x, y, mode="multiclass", gamma=0.0), ValueError, "gamma"),
    (lambda x, y: losskit.dice(x, y, mode="multiclass", smooth=-1.0), ValueError, "smooth"),
    (lambda x, y: losskit.dice(x, y, mode="multiclass", ignore_index=1.5), TypeError, "ignore_index"),
    (lambda x, y: losskit.dice(x, y, mode="multiclass", from_logits=True,
                               class_weight=torch.tensor([1.0, -1.0, 1.0, 1.0])), ValueError, "class_weight"),
    (lambda x, y: losskit.dice(x, y, mode="multiclass", from_logits=True, class_weight=torch.zeros(4)), ValueError,
     "all zero"),
    (lambda x, y: losskit.dice(torch.sigmoid(x), y, mode="multiclass"), ValueError, "sum to 1"),
    (lambda x, y: losskit.dice(x, y, mode="multiclass", from_logits=True, weight=torch.ones(3), batch=True),
     ValueError, "weight"),
])
def test_errors_are_the_reference_paths(call: Callable[[torch.Tensor, torch.Tensor], Any], error: type[Exception],
                                        match: str) -> None:
    x = torch.randn(3, 4, 5, 6)
    y = torch.randint(0, 4, (3, 5, 6))
    with pytest.raises(error, match=match):
        call(x, y)
