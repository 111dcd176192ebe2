"""Segmentation losses: dice, jaccard, tversky, focal_tversky and dice_bce.

Against MONAI, kornia, keras, optax and segmentation_models_pytorch (each with the settings under which it
computes the same quantity, and the documented differences), their closed forms, the empty-mask and
``ignore_index`` traps, gradients, bad inputs and every backend.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import keras
import kornia
import numpy as np
import optax
import pytest
import torch
from monai.losses import DiceCELoss, DiceLoss, TverskyLoss

import losskit

from conftest import Backend, to_numpy

LOSSES: dict[str, Callable[..., Any]] = {
    "dice": losskit.dice,
    "jaccard": losskit.jaccard,
    "tversky": losskit.tversky,
    "focal_tversky": losskit.focal_tversky,
    "dice_bce": losskit.dice_bce,
}
OVERLAP = ["dice", "jaccard", "tversky", "focal_tversky"]
MODES = ["binary", "multiclass"]
SPATIAL = [(5, 6), (3, 4, 5)]
SPATIAL_IDS = ["2d", "3d"]
TOL = {"rtol": 1e-12, "atol": 1e-12}
# The default of every loss here, as MONAI's smooth_nr and smooth_dr.
SMOOTH = 1e-5


# ---------------------------------------------------------------------------------------------------------------
# data and an independent NumPy reference


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, *spatial) labels -> (N, C, *spatial) one-hot floats."""
    return np.moveaxis(np.eye(num_classes)[labels], -1, 1)


def _labels(rng: np.random.Generator, n: int, c: int, spatial: tuple[int, ...]) -> np.ndarray:
    """Integer label maps in which every class occurs in every image (kornia and smp leave absent classes out)."""
    labels = rng.integers(0, c, size=(n, *spatial))
    flat = labels.reshape(n, -1)
    for image in flat:
        image[rng.permutation(image.size)[:c]] = np.arange(c)
    return labels


def _masks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Hard masks with foreground in every channel of every image."""
    y = (rng.uniform(size=shape) > 0.6).astype(np.float64)
    y.reshape(shape[0], shape[1], -1)[:, :, 0] = 1.0
    return y


def _case(rng: np.random.Generator, mode: str, n: int = 3, c: int = 4,
          spatial: tuple[int, ...] = (5, 6)) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Logits ``(N, C, *spatial)``, the target losskit takes (masks or labels), its one-hot/mask form, and the
    probabilities."""
    x = rng.normal(size=(n, c, *spatial)) * 2
    if mode == "binary":
        y = _masks(rng, x.shape)
        return x, y, y, _sigmoid(x)
    labels = _labels(rng, n, c, spatial)
    return x, labels, _one_hot(labels, c), _softmax(x)


def _sums(p: np.ndarray, y: np.ndarray, batch: bool,
          squared: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """I, P, T per image and class ``(N, C)``, or per class ``(C,)`` with ``batch``."""
    axes = tuple(i for i in range(p.ndim) if i != 1 and (batch or i != 0))
    return (p * y).sum(axes), (p * p if squared else p).sum(axes), (y * y if squared else y).sum(axes)


def _per_class_reference(name: str, p: np.ndarray, y: np.ndarray, *, smooth: float = SMOOTH, batch: bool = False,
                         squared: bool = False, alpha: float = 0.5, beta: float = 0.5,
                         gamma: float = 1.0) -> np.ndarray:
    i, ps, t = _sums(p, y, batch, squared)
    if name == "dice":
        num, den = 2 * i + smooth, ps + t + smooth
    elif name == "jaccard":
        num, den = i + smooth, ps + t - i + smooth
    else:
        num, den = i + smooth, i + alpha * (ps - i) + beta * (t - i) + smooth
    score = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)  # empty-empty is a perfect score
    return np.clip(1.0 - score, 0.0, None) ** gamma


def _reference(name: str, p: np.ndarray, y: np.ndarray, *, class_weight: Any = None, **kw: Any) -> np.ndarray:
    """The loss of each image ``(N,)`` (0-d with ``batch=True``): per-class losses, weighted mean over classes."""
    loss = _per_class_reference(name, p, y, **kw)
    w = np.ones(loss.shape[-1]) if class_weight is None else np.asarray(class_weight, dtype=np.float64)
    return (loss * w).sum(axis=-1) / w.sum()


def _bce_reference(x: np.ndarray, y: np.ndarray, mode: str, batch: bool) -> np.ndarray:
    """Cross-entropy from logits, averaged over each image's pixels (and channels, binary), or over the batch."""
    if mode == "binary":
        ce = np.logaddexp(0.0, x) - x * y
    else:
        shifted = x - x.max(axis=1, keepdims=True)
        ce = -(y * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))).sum(axis=1)
    return ce.mean() if batch else ce.reshape(len(ce), -1).mean(axis=1)


# The hyper-parameters each loss has by default, for the reference.
DEFAULTS: dict[str, dict[str, float]] = {
    "dice": {}, "jaccard": {}, "tversky": {"alpha": 0.5, "beta": 0.5},
    "focal_tversky": {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}, "dice_bce": {},
}


def _expected(name: str, x: np.ndarray, p: np.ndarray, y: np.ndarray, mode: str, **kw: Any) -> np.ndarray:
    """The reference of any loss at its defaults (overridden by ``kw``): dice_bce is dice plus the mean cross-entropy
    of the logits ``x``."""
    if name == "dice_bce":
        return _reference("dice", p, y, **kw) + _bce_reference(x, y, mode, kw.get("batch", False))
    return _reference(name, p, y, **(DEFAULTS[name] | kw))


def _per_class(fn: Callable[..., Any], pred: Any, target: Any, c: int, **kw: Any) -> np.ndarray:
    """The per-class losses ``(N, C)`` of a losskit loss, read off with one-hot class weights."""
    return np.stack([to_numpy(fn(pred, target, class_weight=np.eye(c)[k], reduction="none", **kw))
                     for k in range(c)], axis=-1)


def _assert_torch_match(ours: Callable[[torch.Tensor], torch.Tensor], theirs: Callable[[torch.Tensor], torch.Tensor],
                        x: np.ndarray, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    """Same values and the same gradient of their mean with respect to ``x``."""
    a = torch.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    la, lb = ours(a), theirs(b)
    torch.testing.assert_close(la, lb, rtol=rtol, atol=atol)
    la.mean().backward()
    lb.mean().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------------------------
# 1. MONAI


def _monai_target(mode: str, target: np.ndarray) -> torch.Tensor:
    """Masks as they are; label maps as MONAI's (N, 1, *spatial) for ``to_onehot_y=True``."""
    return torch.tensor(target) if mode == "binary" else torch.tensor(target)[:, None]


def _monai_per_image(loss: torch.Tensor, batch: bool) -> torch.Tensor:
    """MONAI's ``reduction="none"`` is ``(N, C, 1, ...)`` (``(C, 1, ...)`` with batch): average the classes."""
    return loss.reshape(loss.shape[0] if batch else loss.shape[:2]).mean(dim=-1)


@pytest.mark.parametrize("spatial", SPATIAL, ids=SPATIAL_IDS)
@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("squared", [False, True], ids=["linear", "squared"])
@pytest.mark.parametrize("mode", MODES)
def test_dice_matches_monai(mode: str, squared: bool, batch: bool, spatial: tuple[int, ...],
                            rng: np.random.Generator) -> None:
    x, target, y, _ = _case(rng, mode, spatial=spatial)
    if mode == "multiclass" and squared:
        # MONAI's to_onehot_y builds a float32 one-hot whose squared norm goes through vector_norm in float32
        # (errors ~5e-8); a float64 one-hot target takes the exact path.
        monai_target = torch.tensor(y)
        monai = DiceLoss(softmax=True, squared_pred=True, batch=batch, smooth_nr=0.3, smooth_dr=0.3,
                         reduction="none")
    else:
        monai_target = _monai_target(mode, target)
        monai = DiceLoss(sigmoid=mode == "binary", softmax=mode == "multiclass", to_onehot_y=mode == "multiclass",
                         squared_pred=squared, batch=batch, smooth_nr=0.3, smooth_dr=0.3, reduction="none")
    _assert_torch_match(
        lambda z: losskit.dice(z, torch.tensor(target), mode=mode, from_logits=True, smooth=0.3, squared=squared,
                               batch=batch, reduction="none"),
        lambda z: _monai_per_image(monai(z, monai_target), batch), x)
    # MONAI's defaults (smooth_nr = smooth_dr = 1e-5) are losskit's
    default = DiceLoss(sigmoid=mode == "binary", softmax=mode == "multiclass", to_onehot_y=mode == "multiclass",
                       batch=batch)
    expected = default(torch.tensor(x), _monai_target(mode, target))
    ours = losskit.dice(torch.tensor(x), torch.tensor(target), mode=mode, from_logits=True, batch=batch)
    torch.testing.assert_close(ours, expected, **TOL)


@pytest.mark.parametrize("smooth", [0.0, 0.3])
@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("mode", MODES)
def test_jaccard_matches_monai_with_doubled_smoothing(mode: str, batch: bool, smooth: float,
                                                      rng: np.random.Generator) -> None:
    """MONAI's DiceLoss(jaccard=True) is 1 - (2I + s) / (2(P + T - I) + s): ours with s is MONAI's with 2s, and the
    two agree at s = 0 as documented."""
    x, target, y, p = _case(rng, mode, spatial=(4, 5, 3))
    kw = {"sigmoid": mode == "binary", "softmax": mode == "multiclass", "to_onehot_y": mode == "multiclass",
          "jaccard": True, "batch": batch, "reduction": "none"}
    monai = DiceLoss(smooth_nr=2 * smooth, smooth_dr=2 * smooth, **kw)
    _assert_torch_match(
        lambda z: losskit.jaccard(z, torch.tensor(target), mode=mode, from_logits=True, smooth=smooth, batch=batch,
                                  reduction="none"),
        lambda z: _monai_per_image(monai(z, _monai_target(mode, target)), batch), x)
    # MONAI with the same smooth: its own formula, which differs from ours unless s = 0
    same = DiceLoss(smooth_nr=smooth, smooth_dr=smooth, **kw)(torch.tensor(x), _monai_target(mode, target))
    i, ps, t = _sums(p, y, batch)
    monai_formula = (1 - (2 * i + smooth) / (2 * (ps + t - i) + smooth)).mean(axis=-1)
    np.testing.assert_allclose(to_numpy(_monai_per_image(same, batch)), monai_formula, **TOL)
    ours = losskit.jaccard(x, target, mode=mode, from_logits=True, smooth=smooth, batch=batch, reduction="none")
    if smooth == 0:
        np.testing.assert_allclose(ours, monai_formula, **TOL)
    else:
        assert np.all(np.abs(ours - monai_formula) > 1e-4)


@pytest.mark.parametrize("spatial", SPATIAL, ids=SPATIAL_IDS)
@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize(("alpha", "beta"), [(0.5, 0.5), (0.3, 0.7), (1.0, 1.0), (0.8, 0.0)])
@pytest.mark.parametrize("mode", MODES)
def test_tversky_matches_monai(mode: str, alpha: float, beta: float, batch: bool, spatial: tuple[int, ...],
                               rng: np.random.Generator) -> None:
    x, target, _, _ = _case(rng, mode, spatial=spatial)
    monai = TverskyLoss(sigmoid=mode == "binary", softmax=mode == "multiclass", to_onehot_y=mode == "multiclass",
                        alpha=alpha, beta=beta, batch=batch, smooth_nr=0.3, smooth_dr=0.3, reduction="none")
    # TverskyLoss's "none" is (N, C), or (C,) with batch
    _assert_torch_match(
        lambda z: losskit.tversky(z, torch.tensor(target), alpha=alpha, beta=beta, mode=mode, from_logits=True,
                                  smooth=0.3, batch=batch, reduction="none"),
        lambda z: monai(z, _monai_target(mode, target)).mean(dim=-1), x)


@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("mode", MODES)
def test_dice_bce_matches_monai_dice_ce(mode: str, batch: bool, rng: np.random.Generator) -> None:
    """MONAI's DiceCELoss takes BCE-with-logits only for one channel (cross-entropy otherwise)."""
    x, target, _, _ = _case(rng, mode, c=1 if mode == "binary" else 4, spatial=(4, 5, 3))
    monai = DiceCELoss(sigmoid=mode == "binary", softmax=mode == "multiclass", to_onehot_y=mode == "multiclass",
                       batch=batch, smooth_nr=0.3, smooth_dr=0.3, lambda_dice=0.7, lambda_ce=1.3)
    _assert_torch_match(
        lambda z: losskit.dice_bce(z, torch.tensor(target), mode=mode, from_logits=True, smooth=0.3, batch=batch,
                                   dice_weight=0.7, bce_weight=1.3),
        lambda z: monai(z, _monai_target(mode, target)), x)


@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
def test_class_weight_against_monai(batch: bool, rng: np.random.Generator) -> None:
    """[0, 1, ..., 1] is MONAI's include_background=False; MONAI's weight=w divides by C, not by sum(w)."""
    x, labels, _, _ = _case(rng, "multiclass", c=4)
    kw = {"softmax": True, "to_onehot_y": True, "batch": batch}
    no_background = DiceLoss(include_background=False, **kw)(torch.tensor(x), torch.tensor(labels)[:, None])
    ours = losskit.dice(torch.tensor(x), torch.tensor(labels), mode="multiclass", from_logits=True, batch=batch,
                        class_weight=[0.0, 1.0, 1.0, 1.0])
    torch.testing.assert_close(ours, no_background, **TOL)
    w = [0.5, 1.0, 2.0, 0.0]
    weighted = DiceLoss(weight=w, **kw)(torch.tensor(x), torch.tensor(labels)[:, None])
    ours = losskit.dice(torch.tensor(x), torch.tensor(labels), mode="multiclass", from_logits=True, batch=batch,
                        class_weight=w)
    torch.testing.assert_close(ours * sum(w) / 4, weighted, **TOL)



@pytest.mark.parametrize("name", ["dice", "tversky"])
@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
def test_ignore_index_matches_monai(name: str, batch: bool, rng: np.random.Generator) -> None:
    x, labels, _, _ = _case(rng, "multiclass", c=4, spatial=(6, 7))
    labels[:, :2] = 255
    monai_cls = DiceLoss if name == "dice" else TverskyLoss
    monai = monai_cls(softmax=True, to_onehot_y=True, batch=batch, ignore_index=255, reduction="none")
    expected = monai(torch.tensor(x), torch.tensor(labels)[:, None])
    expected = _monai_per_image(expected, batch) if name == "dice" else expected.mean(dim=-1)
    ours = LOSSES[name](torch.tensor(x), torch.tensor(labels), mode="multiclass", from_logits=True, batch=batch,
                        ignore_index=255, reduction="none")
    torch.testing.assert_close(ours, expected, **TOL)


# ---------------------------------------------------------------------------------------------------------------
# 2. kornia: softmax over the class axis, eps in the denominator only, macro mean over the classes present


@pytest.mark.parametrize("size", [(5, 6), (128, 128)], ids=["small", "cpu_fast_path"])
def test_dice_matches_kornia(size: tuple[int, int], rng: np.random.Generator) -> None:
    """kornia's dice_loss is 1 - 2I / (P + T + eps): ours with smooth=0 is kornia's with eps=0 ('macro' when every
    class is present, 'micro' as one binary mask over all classes and pixels); with kornia's default eps=1e-8 the
    gap is eps/(P+T) per class (exactly restated below), at most 1e-8 / min(P + T). From 2**15 logits kornia takes
    another code path on the CPU, hence the large size."""
    x, labels, y, p = _case(rng, "multiclass", n=2, c=4, spatial=size)
    xt, lt = torch.tensor(x), torch.tensor(labels)
    _assert_torch_match(lambda z: losskit.dice(z, lt, mode="multiclass", from_logits=True, smooth=0.0),
                        lambda z: kornia.losses.dice_loss(z, lt, average="macro", eps=0.0), x)
    # 'micro': one Dice per image over every class and pixel
    micro = kornia.losses.dice_loss(xt, lt, average="micro", eps=0.0)
    flat = losskit.dice(torch.tensor(p.reshape(2, 1, -1)), torch.tensor(y.reshape(2, 1, -1)), smooth=0.0)
    torch.testing.assert_close(flat, micro, **TOL)
    # kornia's default eps, restated exactly from our per-class losses
    eps = 1e-8
    default = float(kornia.losses.dice_loss(xt, lt, average="macro"))
    per_class = _per_class(losskit.dice, x, labels, 4, mode="multiclass", from_logits=True, smooth=0.0)
    _, ps, t = _sums(p, y, batch=False)
    restated = (1 - (1 - per_class) * (ps + t) / (ps + t + eps)).mean()
    assert default == pytest.approx(restated, rel=1e-12, abs=1e-14)
    ours = float(losskit.dice(x, labels, mode="multiclass", from_logits=True, smooth=0.0))
    assert -1e-15 <= default - ours <= eps / (ps + t).min()


@pytest.mark.parametrize(("alpha", "beta"), [(0.5, 0.5), (0.3, 0.7), (1.0, 1.0)])
def test_tversky_matches_kornia(alpha: float, beta: float, rng: np.random.Generator) -> None:
    x, labels, y, p = _case(rng, "multiclass", n=2, c=4, spatial=(5, 6))
    lt = torch.tensor(labels)
    _assert_torch_match(
        lambda z: losskit.tversky(z, lt, alpha=alpha, beta=beta, mode="multiclass", from_logits=True, smooth=0.0),
        lambda z: kornia.losses.tversky_loss(z, lt, alpha=alpha, beta=beta, eps=0.0), x)
    eps = 1e-8
    default = float(kornia.losses.tversky_loss(torch.tensor(x), lt, alpha=alpha, beta=beta))
    i, ps, t = _sums(p, y, batch=False)
    den = i + alpha * (ps - i) + beta * (t - i)
    per_class = _per_class(losskit.tversky, x, labels, 4, alpha=alpha, beta=beta, mode="multiclass",
                           from_logits=True, smooth=0.0)
    assert default == pytest.approx((1 - (1 - per_class) * den / (den + eps)).mean(), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("name", ["dice", "tversky"])
def test_kornia_leaves_absent_classes_out(name: str, rng: np.random.Generator) -> None:
    """kornia's macro mean runs over the classes present in the target; ours counts every class, an absent but
    predicted class costing 1 at smooth=0: C * ours = (present) * kornia + (absent)."""
    x = rng.normal(size=(1, 4, 5, 6))
    labels = rng.integers(0, 2, size=(1, 5, 6))  # classes 2 and 3 absent
    xt, lt = torch.tensor(x), torch.tensor(labels)
    if name == "dice":
        theirs = float(kornia.losses.dice_loss(xt, lt, average="macro", eps=0.0))
    else:
        theirs = float(kornia.losses.tversky_loss(xt, lt, alpha=0.3, beta=0.7, eps=0.0))
    kw = {} if name == "dice" else {"alpha": 0.3, "beta": 0.7}
    ours = float(LOSSES[name](x, labels, mode="multiclass", from_logits=True, smooth=0.0, **kw))
    assert 4 * ours == pytest.approx(2 * theirs + 2, rel=1e-12)
    present = float(LOSSES[name](x, labels, mode="multiclass", from_logits=True, smooth=0.0,
                                 class_weight=[1.0, 1.0, 0.0, 0.0], **kw))
    assert present == pytest.approx(theirs, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# 3. keras and optax


@pytest.fixture
def keras_epsilon() -> Iterator[Callable[[float], None]]:
    saved = keras.config.epsilon()
    yield keras.config.set_epsilon
    keras.config.set_epsilon(saved)


def _binary_probs(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return _sigmoid(rng.normal(size=shape) * 2), _masks(rng, shape)


def test_dice_matches_keras(keras_epsilon: Callable[[float], None], rng: np.random.Generator) -> None:
    """keras' dice sums over every axis it is given (all of them by default: the batch pooled, batch=True) and adds
    its epsilon (1e-7) to the denominator only."""
    p, y = _binary_probs(rng, (4, 1, 5, 6))
    pc, yc = _binary_probs(rng, (4, 3, 5, 6))
    default = float(keras.losses.dice(y, p))
    keras_epsilon(0.0)
    pooled = losskit.dice(p, y, smooth=0.0, batch=True)
    np.testing.assert_allclose(float(keras.losses.dice(y, p)), pooled, **TOL)
    per_image = losskit.dice(p, y, smooth=0.0, reduction="none")
    np.testing.assert_allclose(np.asarray(keras.losses.dice(y, p, axis=(1, 2, 3))), per_image, **TOL)
    # several channels: keras pools them with the pixels (one mask per image)
    np.testing.assert_allclose(np.asarray(keras.losses.dice(yc, pc, axis=(1, 2, 3))),
                               losskit.dice(pc.reshape(4, 1, -1), yc.reshape(4, 1, -1), smooth=0.0, reduction="none"),
                               **TOL)
    # the Loss class computes in floatx (float32)
    np.testing.assert_allclose(float(keras.losses.Dice()(y, p)), pooled, rtol=1e-6)
    # with keras' epsilon: 1 - 2I / (P + T + 1e-7)
    _, ps, t = _sums(p, y, batch=True)
    assert default == pytest.approx(1 - (1 - pooled) * (ps + t) / (ps + t + 1e-7), rel=1e-12)
    assert 0 < default - pooled <= 1e-7 / (ps + t)


def test_tversky_matches_keras_with_alpha_and_beta_swapped(keras_epsilon: Callable[[float], None],
                                                            rng: np.random.Generator) -> None:
    """keras' tversky weighs sum((1 - p) y), the false negatives, by its alpha and sum(p (1 - y)) by beta, although
    its docstring calls alpha the weight of the false positives: keras (alpha=a, beta=b) is ours (alpha=b, beta=a)."""
    p, y = _binary_probs(rng, (4, 1, 5, 6))
    keras_epsilon(0.0)
    theirs = float(keras.losses.tversky(y, p, alpha=0.3, beta=0.7))
    np.testing.assert_allclose(theirs, losskit.tversky(p, y, alpha=0.7, beta=0.3, smooth=0.0, batch=True), **TOL)
    np.testing.assert_allclose(theirs, _reference("tversky", p, y, alpha=0.7, beta=0.3, smooth=0.0, batch=True),
                               **TOL)
    unswapped = float(losskit.tversky(p, y, alpha=0.3, beta=0.7, smooth=0.0, batch=True))
    assert abs(theirs - unswapped) > 1e-3
    np.testing.assert_allclose(float(keras.losses.Tversky(alpha=0.3, beta=0.7)(y, p)), theirs, rtol=1e-6)
    np.testing.assert_allclose(float(keras.losses.tversky(y, p, alpha=0.5, beta=0.5)),
                               losskit.dice(p, y, smooth=0.0, batch=True), **TOL)


@pytest.mark.parametrize("smooth", [0.0, 1.0, 0.3])
@pytest.mark.parametrize(("alpha", "beta"), [(0.5, 0.5), (0.3, 0.7)])
@pytest.mark.parametrize("mode", MODES)
def test_matches_optax_dice_loss(mode: str, alpha: float, beta: float, smooth: float,
                                 rng: np.random.Generator) -> None:
    """optax.losses.dice_loss (channels last; sigmoid for one channel, softmax otherwise) with smooth=s is our
    tversky with smooth=s, and at alpha = beta = 1/2 our dice with smooth=2s."""
    x, target, y, _ = _case(rng, mode, c=1 if mode == "binary" else 4, spatial=(5, 6))
    xl, yl = np.moveaxis(x, 1, -1), np.moveaxis(y, 1, -1)
    target_l = np.moveaxis(target, 1, -1) if mode == "binary" else target

    def theirs(z: jax.Array) -> jax.Array:
        return optax.losses.dice_loss(z, jnp.asarray(yl), smooth=smooth, alpha=alpha, beta=beta)

    def ours(z: jax.Array) -> jax.Array:
        return losskit.tversky(z, jnp.asarray(target_l), alpha=alpha, beta=beta, mode=mode, from_logits=True,
                               axis=-1, smooth=smooth, reduction="none")

    expected = np.asarray(theirs(jnp.asarray(xl)))
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(xl))), expected, **TOL)
    grad_ours = jax.grad(lambda z: jnp.sum(ours(z)))(jnp.asarray(xl))
    grad_theirs = jax.grad(lambda z: jnp.sum(theirs(z)))(jnp.asarray(xl))
    np.testing.assert_allclose(np.asarray(grad_ours), np.asarray(grad_theirs), **TOL)
    if alpha == beta == 0.5:
        dice = losskit.dice(xl, target_l, mode=mode, from_logits=True, axis=-1, smooth=2 * smooth, reduction="none")
        np.testing.assert_allclose(dice, expected, **TOL)


def test_optax_class_weights_background_and_probabilities(rng: np.random.Generator) -> None:
    """optax multiplies the per-class losses by class_weights and still divides by C; ignore_background drops
    class 0 (our class_weight [0, 1, ..., 1]); apply_softmax=False takes probabilities."""
    x, labels, y, p = _case(rng, "multiclass", c=4)
    xl, yl, pl = (jnp.asarray(np.moveaxis(a, 1, -1)) for a in (x, y, p))
    w = np.array([0.5, 1.0, 2.0, 0.0])
    weighted = optax.losses.dice_loss(xl, yl, class_weights=jnp.asarray(w), alpha=0.3, beta=0.7)
    ours = losskit.tversky(xl, jnp.asarray(labels), alpha=0.3, beta=0.7, mode="multiclass", from_logits=True,
                           axis=-1, smooth=1.0, class_weight=jnp.asarray(w), reduction="none")
    np.testing.assert_allclose(np.asarray(ours) * w.sum() / 4, np.asarray(weighted), **TOL)
    no_background = optax.losses.dice_loss(xl, yl, ignore_background=True)
    ours = losskit.tversky(xl, jnp.asarray(labels), mode="multiclass", from_logits=True, axis=-1, smooth=1.0,
                           class_weight=[0.0, 1.0, 1.0, 1.0], reduction="none")
    np.testing.assert_allclose(np.asarray(ours), np.asarray(no_background), **TOL)
    probabilities = optax.losses.dice_loss(pl, yl, apply_softmax=False, smooth=0.5)
    ours = losskit.dice(pl, yl, mode="multiclass", axis=-1, smooth=1.0, reduction="none")
    np.testing.assert_allclose(np.asarray(ours), np.asarray(probabilities), **TOL)


# ---------------------------------------------------------------------------------------------------------------
# 4. segmentation_models_pytorch
#
# smp cannot be installed beside the pinned torch (it needs torchvision, timm, PIL, ...). Its losses subpackage
# alone imports with torch: install it with `pip install --no-deps --target /tmp/smp segmentation_models_pytorch`
# and the tests against it run (loaded under a private name, without the package's __init__). The formulas are
# also restated below from its source (losses/_functional.py, dice.py, jaccard.py, tversky.py, version 0.6.0), so
# the comparison runs without it.

SMP_LOSSES = Path("/tmp/smp/segmentation_models_pytorch/losses")


@pytest.fixture(scope="module")
def smp() -> ModuleType:
    init = SMP_LOSSES / "__init__.py"
    if not init.exists():
        pytest.skip(f"segmentation_models_pytorch not found under {SMP_LOSSES.parent.parent}")
    name = "_smp_losses"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(SMP_LOSSES)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as error:  # pragma: no cover - depends on the environment
        del sys.modules[name]
        pytest.skip(f"segmentation_models_pytorch.losses does not import: {error}")
    return module


def _smp_reference(p: np.ndarray, y: np.ndarray, *, alpha: float, beta: float, smooth: float = 0.0,
                   eps: float = 1e-7, gamma: float = 1.0, class_weights: Any = None) -> float:
    """smp's DiceLoss (alpha = beta = 1/2), JaccardLoss (1, 1) and TverskyLoss, restated: sums over the batch and the
    pixels (dims=(0, 2), always pooled), the intersection as (P + T - |p - y|_1) / 2, the Tversky index
    (I + s) / max(I + alpha FP + beta FN + s, eps), the loss of a class absent from the whole batch's target set to 0,
    the (weighted) class mean raised to gamma (TverskyLoss only)."""
    axes = tuple(i for i in range(p.ndim) if i != 1)
    ps, t, difference = p.sum(axes), y.sum(axes), np.abs(p - y).sum(axes)
    i = (ps + t - difference) / 2
    score = (i + smooth) / np.maximum(i + alpha * (ps - i) + beta * (t - i) + smooth, eps)
    loss = (1 - score) * (t > 0)
    w = np.ones(len(loss)) if class_weights is None else np.asarray(class_weights, dtype=np.float64)
    return float(((loss * w).sum() / w.sum()) ** gamma)


@pytest.mark.parametrize("smooth", [0.0, 0.5])
@pytest.mark.parametrize("mode", MODES)
def test_matches_smp_restatement(mode: str, smooth: float, rng: np.random.Generator) -> None:
    """On hard targets with every class present: smp pools the batch (our batch=True); its DiceLoss smooth=s is
    our dice with 2s (Dice is its Tversky index at 1/2, 1/2), JaccardLoss and TverskyLoss smooth=s ours with s; its
    gamma raises the class mean (ours raises each class), the same for one class only."""
    x, target, y, p = _case(rng, mode, c=3)
    kw = {"mode": mode, "from_logits": True, "batch": True}
    eps = 0.0
    assert float(losskit.dice(x, target, smooth=2 * smooth, **kw)) == pytest.approx(
        _smp_reference(p, y, alpha=0.5, beta=0.5, smooth=smooth, eps=eps), rel=1e-12)
    assert float(losskit.jaccard(x, target, smooth=smooth, **kw)) == pytest.approx(
        _smp_reference(p, y, alpha=1.0, beta=1.0, smooth=smooth, eps=eps), rel=1e-12)
    tversky = float(losskit.tversky(x, target, alpha=0.3, beta=0.7, smooth=smooth, **kw))
    assert tversky == pytest.approx(_smp_reference(p, y, alpha=0.3, beta=0.7, smooth=smooth, eps=eps), rel=1e-12)
    assert tversky ** 0.75 == pytest.approx(
        _smp_reference(p, y, alpha=0.3, beta=0.7, smooth=smooth, eps=eps, gamma=0.75), rel=1e-12)
    # focal_tversky raises each class's loss: the mean of the powers, not the power of the mean
    per_class = _per_class(losskit.tversky, x, target, 3, alpha=0.3, beta=0.7, smooth=smooth, **kw)
    focal = float(losskit.focal_tversky(x, target, alpha=0.3, beta=0.7, gamma=0.75, smooth=smooth, **kw))
    assert focal == pytest.approx(np.mean(per_class ** 0.75), rel=1e-12)
    assert abs(focal - tversky ** 0.75) > 1e-6
    one = float(losskit.focal_tversky(x[:, :1], y[:, :1], gamma=0.75, smooth=smooth, from_logits=True, batch=True))
    assert one == pytest.approx(_smp_reference(_sigmoid(x[:, :1]), y[:, :1], alpha=0.3, beta=0.7, smooth=smooth,
                                               eps=eps, gamma=0.75), rel=1e-12)


def test_smp_restatement_absent_class(rng: np.random.Generator) -> None:
    """smp gives a class absent from the target loss 0 whatever the prediction; ours scores it (~1)."""
    x = rng.normal(size=(2, 3, 5, 6))
    labels = rng.integers(0, 2, size=(2, 5, 6))  # class 2 absent from the batch
    p, y = _softmax(x), _one_hot(labels, 3)
    theirs = _smp_reference(p, y, alpha=0.5, beta=0.5, eps=0.0)
    kw = {"mode": "multiclass", "from_logits": True, "batch": True, "smooth": 0.0}
    ours = float(losskit.dice(x, labels, **kw))
    present = float(losskit.dice(x, labels, class_weight=[1.0, 1.0, 0.0], **kw))
    assert theirs == pytest.approx(present * 2 / 3, rel=1e-12)
    assert ours == pytest.approx((2 * present + 1) / 3, rel=1e-12)


@pytest.mark.parametrize("smooth", [0.0, 0.5])
@pytest.mark.parametrize("smp_mode", ["binary", "multilabel", "multiclass"])
def test_matches_smp(smp: ModuleType, smp_mode: str, smooth: float, rng: np.random.Generator) -> None:
    mode = "multiclass" if smp_mode == "multiclass" else "binary"
    x, target, _, _ = _case(rng, mode, c=1 if smp_mode == "binary" else 3)
    lt = torch.tensor(target)
    kw = {"mode": mode, "from_logits": True, "batch": True}
    _assert_torch_match(lambda z: losskit.dice(z, lt, smooth=2 * smooth, **kw),
                        lambda z: smp.DiceLoss(smp_mode, smooth=smooth, eps=0.0)(z, lt), x)
    _assert_torch_match(lambda z: losskit.jaccard(z, lt, smooth=smooth, **kw),
                        lambda z: smp.JaccardLoss(smp_mode, smooth=smooth, eps=0.0)(z, lt), x)
    _assert_torch_match(lambda z: losskit.tversky(z, lt, alpha=0.3, beta=0.7, smooth=smooth, **kw),
                        lambda z: smp.TverskyLoss(smp_mode, alpha=0.3, beta=0.7, smooth=smooth, eps=0.0)(z, lt), x)
    if smp_mode == "binary":
        _assert_torch_match(
            lambda z: losskit.focal_tversky(z, lt, gamma=0.75, smooth=smooth, **kw),
            lambda z: smp.TverskyLoss(smp_mode, alpha=0.3, beta=0.7, gamma=0.75, smooth=smooth, eps=0.0)(z, lt), x)
    else:
        _assert_torch_match(
            lambda z: losskit.tversky(z, lt, alpha=0.3, beta=0.7, smooth=smooth, **kw) ** 0.75,
            lambda z: smp.TverskyLoss(smp_mode, alpha=0.3, beta=0.7, gamma=0.75, smooth=smooth, eps=0.0)(z, lt), x)
        cw = [0.5, 1.0, 2.0]
        _assert_torch_match(lambda z: losskit.dice(z, lt, smooth=2 * smooth, class_weight=cw, **kw),
                            lambda z: smp.DiceLoss(smp_mode, smooth=smooth, eps=0.0, class_weights=cw)(z, lt), x)


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_smp_restatement_is_smp(smp: ModuleType, soft: bool, rng: np.random.Generator) -> None:
    """The restatement above against smp itself: its eps, gamma, class weights, absent classes and soft targets
    (where its |p - y| intersection is not sum(p y))."""
    x = rng.normal(size=(2, 3, 5, 6)) * 2
    y = rng.uniform(size=x.shape) if soft else (rng.uniform(size=x.shape) > 0.6).astype(np.float64)
    y[:, 2] = 0.0  # class 2 absent
    p = _sigmoid(x)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for alpha, beta, gamma, cw in [(0.5, 0.5, 1.0, None), (1.0, 1.0, 1.0, [1.0, 2.0, 0.5]), (0.3, 0.7, 0.75, None)]:
        smp_loss = smp.TverskyLoss("multilabel", alpha=alpha, beta=beta, gamma=gamma, smooth=0.2, class_weights=cw)
        assert float(smp_loss(xt, yt)) == pytest.approx(
            _smp_reference(p, y, alpha=alpha, beta=beta, smooth=0.2, gamma=gamma, class_weights=cw), rel=1e-12)
    if soft:  # classes 0 and 1; the absent class 2 has I = 0 either way
        i, ps, t = _sums(p, y, batch=True)
        assert np.all(np.abs((ps + t - np.abs(p - y).sum(axis=(0, 2, 3))) / 2 - i)[:2] > 1e-3)


def test_ignore_index_matches_smp(smp: ModuleType, rng: np.random.Generator) -> None:
    x, labels, _, _ = _case(rng, "multiclass", c=3, spatial=(6, 7))
    labels[:, :2] = -1
    lt = torch.tensor(labels)
    _assert_torch_match(
        lambda z: losskit.dice(z, lt, mode="multiclass", from_logits=True, batch=True, smooth=0.0, ignore_index=-1),
        lambda z: smp.DiceLoss("multiclass", eps=0.0, ignore_index=-1)(z, lt), x)


# ---------------------------------------------------------------------------------------------------------------
# 5. closed forms


@pytest.mark.parametrize("smooth", [SMOOTH, 0.0, 1.0])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_identical_masks_cost_zero(name: str, mode: str, smooth: float, rng: np.random.Generator) -> None:
    _, target, y, _ = _case(rng, mode)
    y = y.copy()
    y[0] = 0.0 if mode == "binary" else y[0]  # an empty image too
    target = y if mode == "binary" else target
    out = LOSSES[name](y, target, mode=mode, smooth=smooth, reduction="none")
    np.testing.assert_array_equal(out, np.zeros(3))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", OVERLAP)
def test_disjoint_hard_masks_cost_one(name: str, mode: str, rng: np.random.Generator) -> None:
    labels = _labels(rng, 3, 4, (5, 6))
    y = _one_hot(labels, 4)
    p = _one_hot((labels + 1) % 4, 4)  # every pixel in the wrong class
    target = y if mode == "binary" else labels
    out = LOSSES[name](p, target, mode=mode, smooth=0.0, reduction="none")
    np.testing.assert_array_equal(out, np.ones(3))


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_jaccard_is_dice_over_two_minus_dice(soft: bool, rng: np.random.Generator) -> None:
    """J = D / (2 - D) class by class (at smooth=0; it holds for soft predictions too)."""
    x = rng.normal(size=(3, 1, 5, 6)) * 2
    p = (x > 0).astype(np.float64) if not soft else _sigmoid(x)
    y = _masks(rng, x.shape)
    d = 1 - losskit.dice(p, y, smooth=0.0, reduction="none")
    j = 1 - losskit.jaccard(p, y, smooth=0.0, reduction="none")
    np.testing.assert_allclose(j, d / (2 - d), **TOL)
    np.testing.assert_array_less(j, d + 1e-15)  # Jaccard penalises a poor overlap more


@pytest.mark.parametrize("smooth", [0.0, 0.4])
@pytest.mark.parametrize("mode", MODES)
def test_tversky_special_cases(mode: str, smooth: float, rng: np.random.Generator) -> None:
    """alpha = beta = 1/2 with smooth s/2 is dice with smooth s (tversky with s is dice with 2s); alpha = beta = 1
    is jaccard; focal_tversky with gamma=1 is tversky."""
    x, target, _, _ = _case(rng, mode)
    kw = {"mode": mode, "from_logits": True, "reduction": "none"}
    np.testing.assert_allclose(losskit.tversky(x, target, alpha=0.5, beta=0.5, smooth=smooth / 2, **kw),
                               losskit.dice(x, target, smooth=smooth, **kw), **TOL)
    np.testing.assert_allclose(losskit.tversky(x, target, alpha=0.5, beta=0.5, smooth=smooth, **kw),
                               losskit.dice(x, target, smooth=2 * smooth, **kw), **TOL)
    np.testing.assert_allclose(losskit.tversky(x, target, alpha=1.0, beta=1.0, smooth=smooth, **kw),
                               losskit.jaccard(x, target, smooth=smooth, **kw), **TOL)
    np.testing.assert_allclose(losskit.focal_tversky(x, target, alpha=0.2, beta=0.9, gamma=1.0, smooth=smooth, **kw),
                               losskit.tversky(x, target, alpha=0.2, beta=0.9, smooth=smooth, **kw), **TOL)


@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", OVERLAP)
def test_overlap_losses_match_the_formula(name: str, mode: str, batch: bool, rng: np.random.Generator) -> None:
    x, target, y, p = _case(rng, mode, spatial=(4, 3, 5))
    kw: dict[str, Any] = {"alpha": 0.3, "beta": 0.7} if "tversky" in name else {}
    if name == "focal_tversky":
        kw["gamma"] = 0.6
    w = [0.0, 1.0, 2.0, 1.0]
    ours = LOSSES[name](x, target, mode=mode, from_logits=True, smooth=0.2, batch=batch, class_weight=w,
                        reduction="none", **kw)
    np.testing.assert_allclose(ours, _reference(name, p, y, smooth=0.2, batch=batch, class_weight=w, **kw), **TOL)
    if name == "focal_tversky":  # each class's Tversky loss raised to gamma
        per_class = _per_class(losskit.tversky, x, target, 4, alpha=0.3, beta=0.7, mode=mode, from_logits=True,
                               smooth=0.2, batch=batch)
        np.testing.assert_allclose(ours, (per_class ** 0.6 * w).sum(axis=-1) / 4, **TOL)


@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("mode", MODES)
def test_dice_bce_is_dice_plus_mean_cross_entropy(mode: str, batch: bool, rng: np.random.Generator) -> None:
    x, target, y, _ = _case(rng, mode, spatial=(4, 5))
    kw = {"mode": mode, "from_logits": True, "batch": batch, "smooth": 0.1, "class_weight": [1.0, 0.0, 2.0, 1.0]}
    ours = losskit.dice_bce(x, target, dice_weight=0.3, bce_weight=1.7, reduction="none", **kw)
    dice = losskit.dice(x, target, reduction="none", **kw)
    if mode == "binary":
        ce = losskit.binary_cross_entropy(x, y, from_logits=True, reduction="none")
    else:
        ce = losskit.sparse_categorical_cross_entropy(x, target, from_logits=True, axis=1, reduction="none")
    mean_ce = ce.mean() if batch else ce.reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(ours, 0.3 * dice + 1.7 * mean_ce, **TOL)
    np.testing.assert_allclose(mean_ce, _bce_reference(x, y, mode, batch), **TOL)
    # with ignored pixels (masks: a value outside [0, 1]), the cross-entropy averages the counted ones
    if mode == "binary":
        target = target.copy()
        target[:, :, 0] = -1.0
        keep = target != -1
        ce = losskit.binary_cross_entropy(x, np.where(keep, target, 0.0), from_logits=True, reduction="none") * keep
    else:
        target = target.copy()
        target[:, 0] = -1
        keep = target != -1
        ce = losskit.sparse_categorical_cross_entropy(x, target, from_logits=True, axis=1, ignore_index=-1,
                                                      reduction="none")
    ours = losskit.dice_bce(x, target, ignore_index=-1, reduction="none", **kw)
    dice = losskit.dice(x, target, ignore_index=-1, reduction="none", **kw)
    axes = None if batch else tuple(range(1, ce.ndim))
    mean_ce = ce.sum(axis=axes) / keep.sum(axis=axes)
    np.testing.assert_allclose(ours, dice + mean_ce, **TOL)


@pytest.mark.parametrize("name", list(LOSSES))
def test_image_weights_and_reductions(name: str, rng: np.random.Generator) -> None:
    x, target, _, _ = _case(rng, "binary")
    w = np.array([0.5, 0.0, 2.0])
    per_image = LOSSES[name](x, target, from_logits=True, reduction="none")
    assert per_image.shape == (3,)
    np.testing.assert_allclose(LOSSES[name](x, target, from_logits=True, weight=w), (w * per_image).sum() / w.sum(),
                               **TOL)
    np.testing.assert_allclose(LOSSES[name](x, target, from_logits=True, weight=w, reduction="sum"),
                               (w * per_image).sum(), **TOL)
    np.testing.assert_allclose(LOSSES[name](x, target, from_logits=True), per_image.mean(), **TOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_probabilities_equal_logits(name: str, mode: str, rng: np.random.Generator) -> None:
    x, target, _, p = _case(rng, mode)
    np.testing.assert_allclose(LOSSES[name](p, target, mode=mode, reduction="none"),
                               LOSSES[name](x, target, mode=mode, from_logits=True, reduction="none"),
                               rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# 6. traps


@pytest.mark.parametrize("batch", [False, True], ids=["per_image", "batch"])
@pytest.mark.parametrize("smooth", [SMOOTH, 0.0])
@pytest.mark.parametrize("name", list(LOSSES))
def test_empty_target_and_prediction_cost_exactly_zero(name: str, smooth: float, batch: bool) -> None:
    empty = np.zeros((2, 3, 4, 5))
    out = LOSSES[name](empty, empty, smooth=smooth, batch=batch, reduction="none")
    np.testing.assert_array_equal(out, 0.0 if batch else np.zeros(2))
    # logits of -1e4: probabilities exactly 0
    x = torch.full((2, 3, 4, 5), -1e4, dtype=torch.float64, requires_grad=True)
    loss = LOSSES[name](x, torch.zeros(2, 3, 4, 5, dtype=torch.float64), from_logits=True, smooth=smooth,
                        batch=batch)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(x.grad == 0)
    # multiclass: background everywhere, predicted everywhere; the other classes empty in both
    labels = np.zeros((2, 4, 5), dtype=np.int64)
    out = LOSSES[name](_one_hot(labels, 3), labels, mode="multiclass", smooth=smooth, batch=batch, reduction="none")
    np.testing.assert_array_equal(out, 0.0 if batch else np.zeros(2))


@pytest.mark.parametrize("smooth", [SMOOTH, 0.0, 1.0])
@pytest.mark.parametrize("name", OVERLAP)
def test_empty_target_gets_no_free_pass(name: str, smooth: float) -> None:
    p = np.full((2, 1, 4, 5), 0.3)
    p[1] = 0.01
    y = np.zeros_like(p)
    kw: dict[str, Any] = {"alpha": 0.3, "beta": 0.7} if "tversky" in name else {}
    out = LOSSES[name](p, y, smooth=smooth, reduction="none", **kw)
    np.testing.assert_allclose(out, _expected(name, p, p, y, "binary", smooth=smooth, **kw), **TOL)
    if smooth == 0:
        np.testing.assert_array_equal(out, np.ones(2))
    assert np.all(out > (0.5 if smooth <= SMOOTH else 0.0))
    out = losskit.dice_bce(p, y, smooth=smooth, reduction="none")
    np.testing.assert_allclose(out, _reference("dice", p, y, smooth=smooth) - np.log1p(-p).mean(axis=(1, 2, 3)),
                               **TOL)


def _remove(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The pixels of one image ``(C, *spatial)`` where ``keep`` ``(*spatial)``, as ``(1, C, K)``."""
    return x[:, keep][None]


@pytest.mark.parametrize("name", list(LOSSES))
def test_ignored_labels_count_nowhere(name: str, rng: np.random.Generator) -> None:
    """Per image and pooled: the loss with ignored pixels is the loss of the image with those pixels removed."""
    x, labels, _, _ = _case(rng, "multiclass", c=3, spatial=(5, 6))
    labels[0, :2] = -1
    labels[1, :, :3] = -1
    keep = labels != -1
    kw = {"mode": "multiclass", "from_logits": True, "smooth": 0.0}
    ours = LOSSES[name](x, labels, ignore_index=-1, reduction="none", **kw)
    removed = [float(LOSSES[name](_remove(x[n], keep[n]), labels[n][keep[n]][None], **kw)) for n in range(3)]
    np.testing.assert_allclose(ours, removed, **TOL)
    pooled = LOSSES[name](x, labels, ignore_index=-1, batch=True, **kw)
    all_kept = np.concatenate([_remove(x[n], keep[n]) for n in range(3)], axis=-1)
    np.testing.assert_allclose(pooled, LOSSES[name](all_kept, labels[keep][None], **kw), **TOL)


def test_ignored_labels_minimal() -> None:
    """2 classes, 2 pixels, the second ignored. Without it: class 0 has I = P = 0.8, T = 1 (loss 1 - 1.6/1.8),
    class 1 I = 0, P = 0.2, T = 0 (loss 1). losskit counts the ignored pixel as class 0 in T = 2: 1 - 1.6/2.8."""
    p = np.array([[[0.8, 0.3], [0.2, 0.7]]])
    labels = np.array([[0, -1]])
    removed = float(losskit.dice(p[..., :1], labels[:, :1], mode="multiclass", smooth=0.0))
    assert removed == pytest.approx((1 - 1.6 / 1.8 + 1) / 2, rel=1e-14)
    assert float(losskit.dice(p, labels, mode="multiclass", smooth=0.0, ignore_index=-1)) == pytest.approx(
        removed, rel=1e-14)


@pytest.mark.parametrize("name", list(LOSSES))
def test_ignored_mask_pixels_count_nowhere(name: str, rng: np.random.Generator) -> None:
    x, y, _, _ = _case(rng, "binary", c=2, spatial=(5, 6))
    y[0, :, :2] = 255
    y[2, :, :, :3] = 255
    keep = y[:, 0] != 255
    kw = {"from_logits": True, "smooth": 0.0}
    ours = LOSSES[name](x, y, ignore_index=255, reduction="none", **kw)
    removed = [float(LOSSES[name](_remove(x[n], keep[n]), _remove(y[n], keep[n]), **kw)) for n in range(3)]
    np.testing.assert_allclose(ours, removed, **TOL)
    pooled = LOSSES[name](x, y, ignore_index=255, batch=True, **kw)
    x_kept = np.concatenate([_remove(x[n], keep[n]) for n in range(3)], axis=-1)
    y_kept = np.concatenate([_remove(y[n], keep[n]) for n in range(3)], axis=-1)
    np.testing.assert_allclose(pooled, LOSSES[name](x_kept, y_kept, **kw), **TOL)


@pytest.mark.parametrize("name", list(LOSSES))
def test_ignore_index_has_zero_gradient(name: str, rng: np.random.Generator) -> None:
    x, y, _, _ = _case(rng, "binary", c=2)
    y[:, :, 0] = -1
    xt = torch.tensor(x, requires_grad=True)
    LOSSES[name](xt, torch.tensor(y), from_logits=True, ignore_index=-1).backward()
    assert torch.all(xt.grad[:, :, 0] == 0)
    assert torch.all(xt.grad[:, :, 1:] != 0)


@pytest.mark.parametrize("name", list(LOSSES))
def test_class_weight_leaves_out_background(name: str, rng: np.random.Generator) -> None:
    x, y, _, _ = _case(rng, "binary", c=3)
    w = [0.0, 1.0, 1.0]
    np.testing.assert_allclose(
        LOSSES[name](x, y, from_logits=True, class_weight=w, reduction="none"),
        LOSSES[name](x[:, 1:], y[:, 1:], from_logits=True, reduction="none")
        if name != "dice_bce" else  # the cross-entropy keeps every channel: class_weight weighs Dice only
        losskit.dice(x[:, 1:], y[:, 1:], from_logits=True, reduction="none") + _bce_reference(x, y, "binary", False),
        **TOL)
    x, labels, y, p = _case(rng, "multiclass", c=3)
    out = LOSSES[name](x, labels, mode="multiclass", from_logits=True, class_weight=w, reduction="none")
    np.testing.assert_allclose(out, _expected(name, x, p, y, "multiclass", class_weight=w), **TOL)
    per_class = _per_class_reference("dice" if name == "dice_bce" else name, p, y, **DEFAULTS[name])
    np.testing.assert_allclose(out - (_bce_reference(x, y, "multiclass", False) if name == "dice_bce" else 0),
                               per_class[:, 1:].mean(axis=-1), **TOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_channels_last_equals_channels_first(name: str, mode: str, rng: np.random.Generator) -> None:
    x, target, _, _ = _case(rng, mode, spatial=(4, 3, 5))
    target_last = np.moveaxis(target, 1, -1) if mode == "binary" else target
    kw = {"mode": mode, "from_logits": True, "class_weight": [1.0, 0.5, 2.0, 0.0], "reduction": "none"}
    first = LOSSES[name](x, target, axis=1, **kw)
    np.testing.assert_allclose(LOSSES[name](np.moveaxis(x, 1, -1), target_last, axis=-1, **kw), first, **TOL)
    np.testing.assert_allclose(LOSSES[name](np.moveaxis(x, 1, 2), np.moveaxis(target, 1, 2)
                                            if mode == "binary" else target, axis=2, **kw), first, **TOL)


@pytest.mark.parametrize("name", list(LOSSES))
def test_axis_none_is_one_channel(name: str, rng: np.random.Generator) -> None:
    x, y, _, _ = _case(rng, "binary", c=1)
    np.testing.assert_allclose(LOSSES[name](x[:, 0], y[:, 0], axis=None, from_logits=True, reduction="none"),
                               LOSSES[name](x, y, axis=1, from_logits=True, reduction="none"), **TOL)
    np.testing.assert_allclose(LOSSES[name](x[:, 0], y[:, 0], axis=None, from_logits=True, batch=True),
                               LOSSES[name](x, y, from_logits=True, batch=True), **TOL)


# ---------------------------------------------------------------------------------------------------------------
# 7. gradients


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_gradcheck(name: str, mode: str, rng: np.random.Generator) -> None:
    x, target, _, _ = _case(rng, mode, n=2, c=3, spatial=(3, 4))
    target = torch.tensor(target)
    for batch in (False, True):
        assert torch.autograd.gradcheck(
            lambda z, b=batch: LOSSES[name](z, target, mode=mode, from_logits=True, batch=b, smooth=0.1,
                                            reduction="none"),
            (torch.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_extreme_logits_are_finite(name: str, mode: str, dtype: torch.dtype, rng: np.random.Generator) -> None:
    x, target, y, _ = _case(rng, mode, c=3)
    extreme = np.sign(x) * 1e4
    xt = torch.tensor(extreme, dtype=dtype, requires_grad=True)
    loss = LOSSES[name](xt, torch.tensor(target, dtype=dtype if mode == "binary" else None), mode=mode,
                        from_logits=True)
    loss.backward()
    assert torch.isfinite(loss) and torch.all(torch.isfinite(xt.grad))
    # hard probabilities, exactly: the closed form on 0/1 predictions (softmax: 1/k over the k classes at +1e4)
    hard = (extreme > 0).astype(np.float64) if mode == "binary" else _softmax(extreme)
    expected = _expected(name, extreme, hard, y, mode).mean()
    # probabilities come from a direct sigmoid / softmax, to full relative precision (not exp of log p)
    rel = 1e-12 if dtype == torch.float64 else 1e-6
    assert loss.item() == pytest.approx(expected, rel=rel)
    # right by 1e4 everywhere: loss 0 and gradient exactly 0 (focal_tversky's infinite slope at 0 included)
    perfect = torch.tensor((2 * y - 1) * 1e4, dtype=dtype, requires_grad=True)
    loss = LOSSES[name](perfect, torch.tensor(target, dtype=dtype if mode == "binary" else None), mode=mode,
                        from_logits=True)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(perfect.grad == 0)


@pytest.mark.parametrize("smooth", [SMOOTH, 0.0])
@pytest.mark.parametrize("name", list(LOSSES))
def test_empty_masks_have_finite_gradients(name: str, smooth: float, rng: np.random.Generator) -> None:
    xt = torch.tensor(rng.normal(size=(2, 3, 4, 5)), requires_grad=True)
    loss = LOSSES[name](xt, torch.zeros(2, 3, 4, 5, dtype=torch.float64), from_logits=True, smooth=smooth)
    loss.backward()
    assert torch.isfinite(loss) and torch.all(torch.isfinite(xt.grad))
    expected = _expected(name, xt.detach().numpy(), _sigmoid(xt.detach().numpy()), np.zeros((2, 3, 4, 5)), "binary",
                         smooth=smooth).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    # an empty target pushes every logit down; at smooth=0 the overlap is 1 whatever the prediction: gradient 0
    if smooth == 0 and name != "dice_bce":
        assert torch.all(xt.grad == 0)
    else:
        assert torch.all(xt.grad > 0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_jax_jit_and_grad_agree_with_torch(name: str, mode: str, rng: np.random.Generator) -> None:
    x, target, _, _ = _case(rng, mode)
    w = np.array([1.0, 0.5, 2.0])

    def jax_loss(z: jax.Array) -> jax.Array:
        return LOSSES[name](z, jnp.asarray(target), mode=mode, from_logits=True, weight=jnp.asarray(w))

    value, grad = jax.jit(jax.value_and_grad(jax_loss))(jnp.asarray(x))
    xt = torch.tensor(x, requires_grad=True)
    loss = LOSSES[name](xt, torch.tensor(target), mode=mode, from_logits=True, weight=torch.tensor(w))
    loss.backward()
    np.testing.assert_allclose(float(value), loss.item(), **TOL)
    np.testing.assert_allclose(np.asarray(grad), xt.grad.numpy(), **TOL)


# ---------------------------------------------------------------------------------------------------------------
# 8. bad inputs

_P = np.full((2, 3, 4), 0.4)
_Y = np.zeros((2, 3, 4))
_SOFTMAX = np.full((2, 3, 4), 1 / 3)
_LABELS = np.zeros((2, 4), dtype=np.int64)

BAD = [
    ("dice", (_P, _Y), {"smooth": -1.0}, ValueError, "smooth"),
    ("jaccard", (_P, _Y), {"smooth": float("nan")}, ValueError, "smooth"),
    ("tversky", (_P, _Y), {"alpha": -0.1}, ValueError, "alpha"),
    ("focal_tversky", (_P, _Y), {"beta": -0.1}, ValueError, "beta"),
    ("focal_tversky", (_P, _Y), {"gamma": 0.0}, ValueError, "gamma"),
    ("focal_tversky", (_P, _Y), {"gamma": -1.0}, ValueError, "gamma"),
    ("dice_bce", (_P, _Y), {"dice_weight": -1.0}, ValueError, "dice_weight"),
    ("dice_bce", (_P, _Y), {"bce_weight": -1.0}, ValueError, "bce_weight"),
    ("dice", (_P, _Y), {"mode": "multilabel"}, ValueError, "mode"),
    ("dice", (_SOFTMAX, _LABELS), {}, ValueError, "mode='multiclass'"),
    ("dice", (_P[:, 0], _Y[:, 0]), {"mode": "multiclass", "axis": None}, ValueError, "axis"),
    ("dice", (_P, _Y), {"axis": 0}, ValueError, "axis"),
    ("tversky", (_P, _Y), {"axis": -3}, ValueError, "axis"),
    ("dice", (_P, _Y), {"axis": 3}, ValueError, "axis"),
    ("dice", (_P, _Y), {"batch": True, "weight": np.ones(2)}, ValueError, "weight"),
    ("dice", (_P, _Y), {"batch": 1}, TypeError, "batch"),
    ("dice", (_P, _Y), {"class_weight": [1.0, 1.0]}, ValueError, "class_weight"),
    ("jaccard", (_P, _Y), {"class_weight": [0.0, 0.0, 0.0]}, ValueError, "class_weight"),
    ("dice_bce", (_P, _Y), {"class_weight": [0.0, 0.0, 0.0]}, ValueError, "class_weight"),
    ("dice", (_P, _Y), {"class_weight": [-1.0, 1.0, 1.0]}, ValueError, "class_weight"),
    ("dice", (_P, _Y + 1.5), {}, ValueError, "target"),
    ("dice_bce", (_P, _Y - 0.5), {}, ValueError, "target"),
    ("dice", (_P, _Y + 255), {"ignore_index": 254}, ValueError, "target"),
    ("dice", (_SOFTMAX, _LABELS + 3), {"mode": "multiclass"}, ValueError, "target"),
    ("tversky", (_SOFTMAX, _LABELS - 1), {"mode": "multiclass"}, ValueError, "target"),
    ("dice", (_SOFTMAX, _LABELS - 100), {"mode": "multiclass"}, ValueError, "target"),  # no ignore_index by default
    ("dice", (_P, _LABELS), {"mode": "multiclass"}, ValueError, "sum to 1"),
    ("dice_bce", (_P, _LABELS), {"mode": "multiclass"}, ValueError, "sum to 1"),
    ("dice", (_P + 1.0, _Y), {}, ValueError, "pred"),
    ("dice", (_P, _Y), {"ignore_index": 1.5}, TypeError, "ignore_index"),
    ("dice", (_P, _Y), {"reduction": "avg"}, ValueError, "reduction"),
    ("dice", (_P, _Y[:, :2]), {}, ValueError, "target"),
    ("dice", (_SOFTMAX, _LABELS[:, :3]), {"mode": "multiclass"}, ValueError, "target"),
]


@pytest.mark.parametrize(("name", "args", "kw", "error", "match"), BAD,
                         ids=[f"{b[0]}-{b[4]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input(name: str, args: tuple[Any, ...], kw: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        LOSSES[name](*args, **kw)


# ---------------------------------------------------------------------------------------------------------------
# 9. backends


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_every_backend_gives_the_reference(backend: Backend, name: str, mode: str, rng: np.random.Generator) -> None:
    x, target, y, p = _case(rng, mode)
    kw: dict[str, Any] = {"alpha": 0.3, "beta": 0.7} if "tversky" in name else {}
    if name == "focal_tversky":
        kw["gamma"] = 0.6
    w = [1.0, 0.0, 2.0, 0.5]
    for batch in (False, True):
        out = LOSSES[name](backend(x), backend(target), mode=mode, from_logits=True, smooth=0.1, batch=batch,
                           class_weight=backend(np.asarray(w)), reduction="none", **kw)
        expected = _expected(name, x, p, y, mode, smooth=0.1, batch=batch, class_weight=w, **kw)
        np.testing.assert_allclose(to_numpy(out), expected, **TOL)
    out = LOSSES[name](backend(p.astype(np.float32)), backend(target.astype(np.float32) if mode == "binary" else
                                                                  target), mode=mode, reduction="none", **kw)
    assert to_numpy(out).dtype == np.float32
    np.testing.assert_allclose(to_numpy(out), to_numpy(LOSSES[name](p, target, mode=mode, reduction="none", **kw)),
                               rtol=1e-5, atol=1e-6)
