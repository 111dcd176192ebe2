"""Reference tests of the classification losses against torch, optax, keras and scikit-learn.

Values and gradients are compared in float64: losskit through torch autograd against the torch
reference's autograd, and through ``jax.vjp`` against optax's / keras' ``jax.vjp``. Where a reference
has no comparable reduction or weighting, the reference's per-example loss is reduced with
losskit's documented convention (:func:`reference_reduce`): "sum" = sum(w*l), "mean" = sum(w*l) /
sum(w*d).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import array_api_strict
import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import hinge_loss as sk_hinge_loss

import losskit
import losskit.reference as reference

from conftest import to_numpy

REDUCTIONS = ("none", "mean", "sum")
RTOL = 1e-9
ATOL = 1e-12
# keras' ops.mean computes in float32 even for float64 input (keras 3.15, JAX backend): the losses that
# average over the last axis (binary_crossentropy, hinge, squared_hinge) are float32-accurate only.
KERAS_MEAN_RTOL = 1e-6


# --------------------------------------------------------------------------------------------- helpers


def cotangent(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed, non-uniform cotangent, so that a "none" output's gradient checks every entry."""
    n = int(np.prod(shape, dtype=int))
    return np.linspace(0.5, 1.5, max(n, 1))[:n].reshape(shape)


def torch_vg(fn: Callable[[torch.Tensor], torch.Tensor], pred: Any,
             dtype: torch.dtype = torch.float64) -> tuple[np.ndarray, np.ndarray]:
    """Value of ``fn(pred)`` and the gradient of <cotangent, fn(pred)> by torch autograd."""
    x = torch.tensor(np.asarray(pred), dtype=dtype, requires_grad=True)
    out = fn(x)
    cot = torch.as_tensor(cotangent(tuple(out.shape)), dtype=out.dtype)
    (grad,) = torch.autograd.grad((out * cot).sum(), x)
    return to_numpy(out), to_numpy(grad)


def jax_vg(fn: Callable[[jax.Array], jax.Array], pred: Any, dtype: Any = jnp.float64,
           jit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Value of ``fn(pred)`` and its vector-Jacobian product with the cotangent, by ``jax.vjp``.

    Eager by default (value checks on, as users call it). Eager JAX compiles each primitive once per
    shape, so the reference tests share the shape (6, 4); ``jit=True`` (one compilation per call)
    serves the stability grids, whose shapes are their own.
    """
    def value_and_grad(x):
        out, pullback = jax.vjp(fn, x)
        (grad,) = pullback(jnp.asarray(cotangent(tuple(out.shape)), dtype=out.dtype))
        return out, grad

    run = jax.jit(value_and_grad) if jit else value_and_grad
    out, grad = run(jnp.asarray(np.asarray(pred), dtype=dtype))
    return np.asarray(out), np.asarray(grad)


def lib_vg(lib: str, fn: Callable[[Any], Any], pred: Any, dtype: str = "float64",
           jit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if lib == "torch":
        return torch_vg(fn, pred, getattr(torch, dtype))
    return jax_vg(fn, pred, getattr(jnp, dtype), jit=jit)


def lib_array(lib: str, x: Any) -> Any:
    """``x`` as a torch tensor or jax array (dtype kept); ``None`` stays ``None``."""
    if x is None:
        return None
    return torch.as_tensor(np.asarray(x)) if lib == "torch" else jnp.asarray(np.asarray(x))


def T(x: Any) -> Any:
    return lib_array("torch", x)


def J(x: Any) -> Any:
    return lib_array("jax", x)


def assert_vg(ours: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray],
              rtol: float = RTOL, atol: float = ATOL) -> None:
    (value, grad), (ref_value, ref_grad) = ours, ref
    assert value.shape == ref_value.shape, (value.shape, ref_value.shape)
    assert value.dtype == np.float64, value.dtype
    np.testing.assert_allclose(value, ref_value, rtol=rtol, atol=atol, err_msg="loss values differ")
    assert grad.shape == ref_grad.shape
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=atol, err_msg="gradients differ")


def reference_reduce(loss: Any, reduction: str, weight: Any = None, denominator: Any = None) -> Any:
    """losskit's documented reduction applied to a reference's per-example loss (torch or jax array).

    ``weight`` and ``denominator`` are numpy arrays broadcasting to ``loss``; they carry no gradient.
    """
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64)
        loss = loss * (torch.as_tensor(w, dtype=loss.dtype) if isinstance(loss, torch.Tensor) else jnp.asarray(w))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    d = np.ones(()) if denominator is None else np.asarray(denominator, dtype=np.float64)
    if weight is not None:
        d = d * np.asarray(weight, dtype=np.float64)
    count = float(np.broadcast_to(d, tuple(loss.shape)).sum())
    return loss.sum() / count


def one_hot(labels: np.ndarray, num_classes: int, axis: int = -1) -> np.ndarray:
    return np.moveaxis(np.eye(num_classes)[labels], -1, axis)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def dirichlet(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return rng.dirichlet(np.ones(c), size=n)


CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])  # for C = 4
TINY_LOSS = {np.float32: -np.log(float(np.finfo(np.float32).smallest_normal)),
             np.float64: -np.log(float(np.finfo(np.float64).smallest_normal))}


# ------------------------------------------------------------------------------- binary cross-entropy


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_probabilities_matches_torch(rng, reduction, weighted):
    p = rng.uniform(0.02, 0.98, (6, 3))
    y = rng.uniform(0.0, 1.0, (6, 3))
    y[:3] = np.round(y[:3])  # hard and soft labels
    w = rng.uniform(0.1, 2.0, (6, 1)) if weighted else None

    def ref(x):
        if weighted and reduction == "mean":  # torch's weighted "mean" divides by N*C, ours by sum(w)
            total_weight = float(np.broadcast_to(w, p.shape).sum())
            return F.binary_cross_entropy(x, T(y), weight=T(w), reduction="sum") / total_weight
        return F.binary_cross_entropy(x, T(y), weight=T(w), reduction=reduction)

    ours = torch_vg(lambda x: losskit.binary_cross_entropy(x, T(y), weight=T(w), reduction=reduction), p)
    assert_vg(ours, torch_vg(ref, p))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_logits_pos_weight_matches_torch(rng, reduction, weighted, smoothing):
    x0 = rng.normal(0.0, 3.0, (5, 4))
    x0[0] = [30.0, -30.0, 0.0, 12.0]
    y = rng.integers(0, 2, (5, 4)).astype(np.float64)
    y[1] = [0.3, 0.9, 0.0, 1.0]
    pos_weight = np.array([0.5, 1.0, 2.5, 0.0])  # shape (C,): one per label
    w = rng.uniform(0.1, 2.0, (5, 1)) if weighted else None
    y_smooth = y * (1 - smoothing) + 0.5 * smoothing  # torch has no label_smoothing: smooth its target

    def ref(x):
        def call(red):
            return F.binary_cross_entropy_with_logits(x, T(y_smooth), weight=T(w), pos_weight=T(pos_weight),
                                                      reduction=red)
        if weighted and reduction == "mean":
            return call("sum") / float(np.broadcast_to(w, x0.shape).sum())
        return call(reduction)

    def ours(x):
        return losskit.binary_cross_entropy(x, T(y), from_logits=True, pos_weight=T(pos_weight),
                                            label_smoothing=smoothing, weight=T(w), reduction=reduction)

    assert_vg(torch_vg(ours, x0), torch_vg(ref, x0))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_logits_matches_optax(rng, reduction, weighted, smoothing):
    x0 = rng.normal(0.0, 4.0, (6, 4))
    x0[0] = [50.0, -50.0, 0.0, 1e3]
    y = rng.integers(0, 2, (6, 4)).astype(np.float64)
    y[1] = [0.25, 0.5, 0.75, 1.0]
    w = rng.uniform(0.0, 2.0, (6, 4)) if weighted else None  # element-wise weights
    y_smooth = y * (1 - smoothing) + 0.5 * smoothing

    def ref(x):
        return reference_reduce(optax.sigmoid_binary_cross_entropy(x, J(y_smooth)), reduction, w)

    def ours(x):
        return losskit.binary_cross_entropy(x, J(y), from_logits=True, label_smoothing=smoothing, weight=J(w),
                                            reduction=reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0))


def _keras_last_axis(per_sample: Any, reduction: str, num: int) -> Any:
    """Our reductions over an (N, C) loss from keras' per-sample mean over the last axis."""
    if reduction == "none":
        return per_sample
    return per_sample.mean() if reduction == "mean" else num * per_sample.sum()


def _ours_last_axis(loss: Any, reduction: str) -> Any:
    return loss.mean(axis=-1) if reduction == "none" else loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_logits_matches_keras(rng, reduction, smoothing):
    x0 = rng.normal(0.0, 3.0, (6, 4))
    x0[0] = [40.0, -40.0, 0.0, 7.0]
    y = rng.integers(0, 2, (6, 4)).astype(np.float64)

    def ref(x):
        per_sample = keras.losses.binary_crossentropy(J(y), x, from_logits=True, label_smoothing=smoothing)
        return _keras_last_axis(per_sample, reduction, 4)

    def ours(x):
        loss = losskit.binary_cross_entropy(x, J(y), from_logits=True, label_smoothing=smoothing, reduction=reduction)
        return _ours_last_axis(loss, reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0), rtol=KERAS_MEAN_RTOL, atol=1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_probabilities_matches_keras_away_from_clip(rng, reduction, smoothing):
    p = rng.uniform(0.01, 0.99, (6, 4))
    y = rng.uniform(0.0, 1.0, (6, 4))

    def ref(x):
        per_sample = keras.losses.binary_crossentropy(J(y), x, label_smoothing=smoothing)
        return _keras_last_axis(per_sample, reduction, 4)

    def ours(x):
        return _ours_last_axis(losskit.binary_cross_entropy(x, J(y), label_smoothing=smoothing, reduction=reduction),
                               reduction)

    assert_vg(jax_vg(ours, p), jax_vg(ref, p), rtol=KERAS_MEAN_RTOL, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_bce_probability_extremes_values(backend, dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    out = to_numpy(losskit.binary_cross_entropy(backend(p), backend(y), reduction="none"))
    assert out.dtype == dtype
    assert np.all(np.isfinite(out)), out
    assert out[0] == 0.0 and out[1] == 0.0, out  # right side: exactly 0
    assert out[2] == out[3], out  # BCE(p=0, y=1) == BCE(p=1, y=0) exactly
    np.testing.assert_allclose(out[2:], TINY_LOSS[dtype], rtol=1e-6)
    expected = 87.33654475 if dtype == np.float32 else 708.39641853
    np.testing.assert_allclose(out[2], expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_bce_probability_extremes_gradients(lib, dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    for reduction in REDUCTIONS:
        def fn(x, reduction=reduction):
            return losskit.binary_cross_entropy(x, lib_array(lib, y.astype(dtype)), reduction=reduction)

        value, grad = lib_vg(lib, fn, p, dtype)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), (reduction, value, grad)
        assert str(value.dtype) == dtype


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_wrong_side_extreme_probability_has_zero_gradient_under_a_large_weight(lib, dtype):
    """Found by tests/test_fuzz.py: JAX differentiated the clip of log(max(p, tiny)) as the upstream
    gradient ``w / tiny`` times 0, and ``w / tiny`` overflows to inf once ``w > 4``: the gradient was NaN."""
    p = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.0]])
    y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    weight = lib_array(lib, np.array([[10.0], [10.0]], dtype=dtype))

    def bce(x):
        return losskit.binary_cross_entropy(x, lib_array(lib, y.astype(dtype)), weight=weight, reduction="sum")

    def cce(x):
        return losskit.categorical_cross_entropy(x[1:], lib_array(lib, y[1:].astype(dtype)),
                                                 class_weight=lib_array(lib, np.array([1.0, 1.0, 8.0], dtype=dtype)),
                                                 weight=weight[1:, 0], reduction="sum")

    # lib_vg seeds a 0-d cost with the cotangent 0.5
    for fn, expected in ((bce, [[0.0, 0.0, -10.0], [0.0, 5.0, 0.0]]), (cce, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])):
        _, grad = lib_vg(lib, fn, p, dtype)
        np.testing.assert_array_equal(grad, expected)


# -------------------------------------------------------------------------- categorical cross-entropy


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("class_weighted", [False, True], ids=["no_cw", "cw"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cce_logits_matches_torch(rng, reduction, smoothing, class_weighted, weighted):
    x0 = rng.normal(0.0, 3.0, (6, 4))
    x0[0] = [100.0, -100.0, 0.0, 20.0]
    y = dirichlet(rng, 6, 4)
    y[:3] = one_hot(np.array([0, 1, 3]), 4)
    cw = CLASS_WEIGHT if class_weighted else None
    w = rng.uniform(0.1, 2.0, 6) if weighted else None
    denominator = (y * cw).sum(-1) if class_weighted else None  # sum_c w_c y_ic

    def ref(x):
        def call(red):
            return F.cross_entropy(x, T(y), weight=T(cw), label_smoothing=smoothing, reduction=red)
        if weighted:
            return reference_reduce(call("none"), reduction, w, denominator)
        if class_weighted and reduction == "mean":  # torch divides by N; ours by sum_i sum_c w_c y_ic
            return call("sum") / float(denominator.sum())
        return call(reduction)

    def ours(x):
        return losskit.categorical_cross_entropy(x, T(y), from_logits=True, class_weight=T(cw),
                                                 label_smoothing=smoothing, weight=T(w), reduction=reduction)

    assert_vg(torch_vg(ours, x0), torch_vg(ref, x0))


def test_cce_class_weighted_mean_is_torch_sum_over_total_weight(rng):
    x0 = rng.normal(0.0, 2.0, (7, 4))
    y = dirichlet(rng, 7, 4)
    ours = losskit.categorical_cross_entropy(T(x0), T(y), from_logits=True, class_weight=T(CLASS_WEIGHT))
    torch_sum = F.cross_entropy(T(x0), T(y), weight=T(CLASS_WEIGHT), reduction="sum")
    torch_mean = F.cross_entropy(T(x0), T(y), weight=T(CLASS_WEIGHT), reduction="mean")
    total_weight = float((y * CLASS_WEIGHT).sum())
    np.testing.assert_allclose(float(ours), float(torch_sum) / total_weight, rtol=RTOL)
    np.testing.assert_allclose(float(torch_mean), float(torch_sum) / 7, rtol=RTOL)  # the documented difference
    assert not np.isclose(float(ours), float(torch_mean), rtol=1e-3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cce_probabilities_matches_torch_kl_div(rng, reduction):
    """On probabilities, CE(y, p) = KL(y || p) + H(y): torch's kl_div on log p gives value and gradient."""
    p = softmax(rng.normal(0.0, 1.5, (6, 4)))
    y = dirichlet(rng, 6, 4)
    y[:2] = one_hot(np.array([2, 0]), 4)
    entropy = -np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0), axis=-1)

    def ref(x):
        per_example = F.kl_div(torch.log(x), T(y), reduction="none").sum(-1) + T(entropy)
        return reference_reduce(per_example, reduction)

    ours = torch_vg(lambda x: losskit.categorical_cross_entropy(x, T(y), reduction=reduction), p)
    assert_vg(ours, torch_vg(ref, p))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cce_matches_optax(rng, reduction, weighted, smoothing):
    x0 = rng.normal(0.0, 3.0, (6, 4))
    x0[0] = [1e3, -1e3, 0.0, 5.0]
    y = dirichlet(rng, 6, 4)
    y[:2] = one_hot(np.array([1, 3]), 4)
    w = rng.uniform(0.0, 2.0, 6) if weighted else None

    def ref(x):
        return reference_reduce(optax.softmax_cross_entropy(x, optax.smooth_labels(J(y), smoothing)), reduction, w)

    def ours(x):
        return losskit.categorical_cross_entropy(x, J(y), from_logits=True, label_smoothing=smoothing, weight=J(w),
                                                 reduction=reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cce_matches_keras(rng, reduction, smoothing):
    x0 = rng.normal(0.0, 3.0, (6, 4))
    y = dirichlet(rng, 6, 4)
    y[:3] = one_hot(np.array([0, 3, 1]), 4)

    def ref(x):
        per_sample = keras.losses.categorical_crossentropy(J(y), x, from_logits=True, label_smoothing=smoothing)
        return reference_reduce(per_sample, reduction)

    def ours(x):
        return losskit.categorical_cross_entropy(x, J(y), from_logits=True, label_smoothing=smoothing,
                                                 reduction=reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0))
    # probabilities away from keras' clip: same values (keras renormalises, so only values compare)
    p = softmax(x0)
    keras_value = keras.losses.categorical_crossentropy(J(y), J(p), label_smoothing=smoothing)
    ours_value = losskit.categorical_cross_entropy(p, y, label_smoothing=smoothing, reduction="none")
    np.testing.assert_allclose(ours_value, np.asarray(keras_value), rtol=RTOL)


@pytest.mark.parametrize("class_weighted", [False, True], ids=["no_cw", "cw"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cce_spatial_axis1_matches_torch(rng, reduction, smoothing, class_weighted):
    x0 = rng.normal(0.0, 2.0, (2, 4, 3, 5))
    y = np.moveaxis(dirichlet(rng, 30, 4).reshape(2, 3, 5, 4), -1, 1)
    cw = CLASS_WEIGHT if class_weighted else None

    def ref(x):
        if class_weighted and reduction == "mean":
            return (F.cross_entropy(x, T(y), weight=T(cw), label_smoothing=smoothing, reduction="sum")
                    / float((y * cw[None, :, None, None]).sum()))
        return F.cross_entropy(x, T(y), weight=T(cw), label_smoothing=smoothing, reduction=reduction)

    def ours(x):
        return losskit.categorical_cross_entropy(x, T(y), from_logits=True, axis=1, class_weight=T(cw),
                                                 label_smoothing=smoothing, reduction=reduction)

    value, grad = torch_vg(ours, x0)
    if reduction == "none":
        assert value.shape == (2, 3, 5)
    assert_vg((value, grad), torch_vg(ref, x0))


# ------------------------------------------------------------------- sparse categorical cross-entropy


@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("class_weighted", [False, True], ids=["no_cw", "cw"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_matches_torch_weight_ignore_smoothing(rng, reduction, smoothing, class_weighted, weighted,
                                                      ignore_index):
    x0 = rng.normal(0.0, 3.0, (8, 4))
    x0[0] = [100.0, -100.0, 0.0, 30.0]
    labels = np.array([0, 1, 3, ignore_index, 2 if ignore_index != 2 else 1, ignore_index, 1, 0])
    cw = CLASS_WEIGHT if class_weighted else None
    w = rng.uniform(0.1, 2.0, 8) if weighted else None

    def ref(x):
        def call(red):
            return F.cross_entropy(x, T(labels), weight=T(cw), ignore_index=ignore_index, label_smoothing=smoothing,
                                   reduction=red)
        if weighted:
            keep = labels != ignore_index
            d = np.where(keep, (cw if class_weighted else np.ones(4))[np.where(keep, labels, 0)], 0.0)
            return reference_reduce(call("none"), reduction, w, d)
        return call(reduction)  # torch's own "mean": divides by sum of w_{y_i} over kept entries

    def ours(x):
        return losskit.sparse_categorical_cross_entropy(x, T(labels), from_logits=True, class_weight=T(cw),
                                                        ignore_index=ignore_index, label_smoothing=smoothing,
                                                        weight=T(w), reduction=reduction)

    assert_vg(torch_vg(ours, x0), torch_vg(ref, x0))


@pytest.mark.parametrize("class_weighted", [False, True], ids=["no_cw", "cw"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_spatial_axis1_matches_torch(rng, reduction, smoothing, class_weighted):
    x0 = rng.normal(0.0, 2.0, (2, 4, 3, 5))
    labels = rng.integers(0, 4, (2, 3, 5))
    labels[0, 0, :2] = -100
    labels[1, 2, 4] = -100
    cw = CLASS_WEIGHT if class_weighted else None

    def ref(x):
        return F.cross_entropy(x, T(labels), weight=T(cw), label_smoothing=smoothing, reduction=reduction)

    def ours(x):
        return losskit.sparse_categorical_cross_entropy(x, T(labels), from_logits=True, axis=1, class_weight=T(cw),
                                                        label_smoothing=smoothing, reduction=reduction)

    value, grad = torch_vg(ours, x0)
    if reduction == "none":
        assert value.shape == (2, 3, 5)
    assert_vg((value, grad), torch_vg(ref, x0))


@pytest.mark.parametrize("class_weighted", [False, True], ids=["no_cw", "cw"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_probabilities_matches_torch_nll_loss(rng, reduction, class_weighted):
    p = softmax(rng.normal(0.0, 2.0, (7, 4)))
    labels = np.array([0, 3, -100, 2, 1, 1, 0])
    cw = CLASS_WEIGHT if class_weighted else None

    def ref(x):
        return F.nll_loss(torch.log(x), T(labels), weight=T(cw), ignore_index=-100, reduction=reduction)

    def ours(x):
        return losskit.sparse_categorical_cross_entropy(x, T(labels), class_weight=T(cw), reduction=reduction)

    assert_vg(torch_vg(ours, p), torch_vg(ref, p))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_matches_optax(rng, reduction, weighted):
    x0 = rng.normal(0.0, 3.0, (6, 4))
    x0[0] = [1e3, -1e3, 0.0, 5.0]
    labels = np.array([1, 0, 3, 2, 3, 3])
    w = rng.uniform(0.0, 2.0, 6) if weighted else None

    def ref(x):
        return reference_reduce(optax.softmax_cross_entropy_with_integer_labels(x, J(labels)), reduction, w)

    def ours(x):
        return losskit.sparse_categorical_cross_entropy(x, J(labels), from_logits=True, weight=J(w),
                                                        reduction=reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0))


@pytest.mark.parametrize("ignored", [False, True], ids=["all_kept", "some_ignored"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sparse_matches_keras(rng, reduction, ignored):
    x0 = rng.normal(0.0, 3.0, (6, 4))
    labels = np.array([1, 0, 3, 2, 3, 1])
    if ignored:
        labels[[1, 4]] = -100
    keep = (labels != -100).astype(np.float64)

    def ref(x):
        per_sample = keras.losses.sparse_categorical_crossentropy(J(labels), x, from_logits=True,
                                                                  ignore_class=-100 if ignored else None)
        return reference_reduce(per_sample, reduction, denominator=keep)

    def ours(x):
        return losskit.sparse_categorical_cross_entropy(x, J(labels), from_logits=True, reduction=reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0))


LABEL_DTYPES = ["int8", "uint8", "int16", "int32", "int64"]


@pytest.mark.parametrize("dtype", LABEL_DTYPES)
def test_label_dtypes_sparse(backend, dtype):
    """Any integer dtype of labels, with the default ignore_index=-100 (signed ones also hold it)."""
    x0 = np.random.default_rng(3).normal(0.0, 2.0, (5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    if np.dtype(dtype).kind == "i":
        labels[3] = -100
    expected = losskit.sparse_categorical_cross_entropy(x0, labels.astype(np.int64), from_logits=True,
                                                        class_weight=np.array([1.0, 2.0, 0.5]),
                                                        label_smoothing=0.1, reduction="none")
    for reduction in REDUCTIONS:
        out = losskit.sparse_categorical_cross_entropy(backend(x0), backend(labels.astype(dtype)), from_logits=True,
                                                       class_weight=backend(np.array([1.0, 2.0, 0.5])),
                                                       label_smoothing=0.1, reduction=reduction)
        ref = losskit.sparse_categorical_cross_entropy(x0, labels.astype(np.int64), from_logits=True,
                                                       class_weight=np.array([1.0, 2.0, 0.5]),
                                                       label_smoothing=0.1, reduction=reduction)
        np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-12)
    assert (expected[3] == 0) == (np.dtype(dtype).kind == "i")


@pytest.mark.parametrize("dtype", LABEL_DTYPES)
def test_label_dtypes_multiclass_hinge(backend, dtype):
    x0 = np.random.default_rng(4).normal(0.0, 2.0, (5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    for kind in ("crammer_singer", "weston_watkins"):
        out = losskit.multiclass_hinge(backend(x0), backend(labels.astype(dtype)), kind=kind, reduction="none")
        ref = losskit.multiclass_hinge(x0, labels.astype(np.int64), kind=kind, reduction="none")
        np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("class_weighted", [False, True], ids=["no_cw", "cw"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_categorical_one_hot_equals_sparse(rng, reduction, smoothing, class_weighted, weighted):
    x0 = rng.normal(0.0, 3.0, (7, 4))
    labels = np.array([0, 3, 1, 2, 2, 0, 3])
    cw = CLASS_WEIGHT if class_weighted else None
    w = rng.uniform(0.1, 2.0, 7) if weighted else None
    kw: dict[str, Any] = {"from_logits": True, "label_smoothing": smoothing, "reduction": reduction}

    def cat(x):
        return losskit.categorical_cross_entropy(x, T(one_hot(labels, 4)), class_weight=T(cw), weight=T(w), **kw)

    def sparse(x):
        return losskit.sparse_categorical_cross_entropy(x, T(labels), class_weight=T(cw), weight=T(w), **kw)

    (cv, cg), (sv, sg) = torch_vg(cat, x0), torch_vg(sparse, x0)
    # mathematically equal; both run torch fast paths (sparse torch's native kernel), so the rounding differs
    np.testing.assert_allclose(cv, sv, rtol=1e-13, atol=0)
    if smoothing == 0:  # on the reference path, the same operations on the label's entry: bit-identical
        x = torch.tensor(x0)
        with_reference = [fn(x, t, class_weight=T(cw), weight=T(w), **kw) for fn, t in (
            (reference.categorical_cross_entropy, T(one_hot(labels, 4))),
            (reference.sparse_categorical_cross_entropy, T(labels)))]
        np.testing.assert_array_equal(*(v.numpy() for v in with_reference))
    np.testing.assert_allclose(cg, sg, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------------- ignore_index traps


SPARSE_OPTIONS = [
    pytest.param({}, id="plain"),
    pytest.param({"label_smoothing": 0.2}, id="smoothing"),
    pytest.param({"class_weight": CLASS_WEIGHT}, id="class_weight"),
    pytest.param({"class_weight": CLASS_WEIGHT, "label_smoothing": 0.2}, id="cw_smoothing"),
]


def _sparse_call(lib: str, labels: np.ndarray, reduction: str, options: dict[str, Any]) -> Callable[[Any], Any]:
    opts = {k: lib_array(lib, v) if isinstance(v, np.ndarray) else v for k, v in options.items()}

    def fn(x):
        return losskit.sparse_categorical_cross_entropy(x, lib_array(lib, labels), from_logits=True,
                                                        reduction=reduction, **opts)

    return fn


@pytest.mark.parametrize("options", SPARSE_OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_ignored_entries_change_nothing(rng, lib, reduction, options):
    kept = rng.normal(0.0, 2.0, (3, 4))
    kept_labels = np.array([2, 0, 3])
    junk = np.array([[1e4, -1e4, 0.0, 50.0], [0.3, 0.1, -0.2, 0.0]])  # ignored rows, extreme ones included
    x_all = np.concatenate([kept[:1], junk[:1], kept[1:], junk[1:]])
    labels_all = np.array([2, -100, 0, 3, -100])
    value, grad = lib_vg(lib, _sparse_call(lib, labels_all, reduction, options), x_all)
    ref_value, ref_grad = lib_vg(lib, _sparse_call(lib, kept_labels, reduction, options), kept)
    np.testing.assert_allclose(value, ref_value, rtol=1e-14)
    np.testing.assert_allclose(grad[[0, 2, 3]], ref_grad, rtol=1e-14, atol=1e-300)
    assert np.all(grad[[1, 4]] == 0.0), grad[[1, 4]]  # exactly 0, not NaN


@pytest.mark.parametrize("options", SPARSE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_all_ignored_batch_is_zero(rng, lib, reduction, options):
    x0 = rng.normal(0.0, 2.0, (3, 4))
    labels = np.full(3, -100)
    value, grad = lib_vg(lib, _sparse_call(lib, labels, reduction, options), x0)
    assert not np.any(np.isnan(value)) and not np.any(np.isnan(grad)), (value, grad)
    assert np.all(value == 0.0), value
    assert np.all(grad == 0.0), grad
    # spatial, axis=1
    xs = rng.normal(0.0, 2.0, (2, 4, 3))
    out = losskit.sparse_categorical_cross_entropy(xs, np.full((2, 3), -100), from_logits=True, axis=1,
                                                   reduction=reduction, **options)
    assert np.all(out == 0.0), out


@pytest.mark.parametrize("lib", ["numpy", "torch", "torch_reference", "jax"])
@pytest.mark.parametrize("sparse", [False, True], ids=["categorical", "sparse"])
def test_mean_over_labels_of_zero_class_weight_is_zero_also_with_label_smoothing(lib, sparse):
    """Found by tests/test_fuzz.py: with label smoothing, labels whose class weight is 0 still cost on
    the other classes, so the sum is not 0 where the total weight is; "mean" divided it by 1 and
    returned the sum. A mean over no weight is 0, with gradient 0 (docs/conventions.md)."""
    x = np.array([[1.0, 2.0, 0.5, -1.0], [0.3, 0.1, -2.0, 1.0]])
    labels = np.array([0, 0])
    convert = np.asarray if lib == "numpy" else jnp.asarray if lib == "jax" else torch.asarray
    fn = getattr(reference if lib == "torch_reference" else losskit,
                 "sparse_categorical_cross_entropy" if sparse else "categorical_cross_entropy")
    target = convert(labels if sparse else np.eye(4)[labels])
    kw = {"from_logits": True, "class_weight": convert(np.array([0.0, 1.0, 1.0, 1.0])), "label_smoothing": 0.1}
    assert float(fn(convert(x), target, reduction="sum", **kw)) > 0.0
    assert float(fn(convert(x), target, **kw)) == 0.0
    if lib != "numpy":
        _, grad = lib_vg("jax" if lib == "jax" else "torch", lambda p: fn(p, target, **kw), x)
        assert np.all(grad == 0.0), grad


def test_all_ignored_batch_differs_from_torch_nan():
    x0 = torch.zeros(2, 3, dtype=torch.float64)
    labels = torch.tensor([-100, -100])
    assert torch.isnan(F.cross_entropy(x0, labels))  # the documented difference
    assert float(losskit.sparse_categorical_cross_entropy(x0, labels, from_logits=True)) == 0.0


# ------------------------------------------------------------------------------------------ hinge losses


HINGE_LOSSES = {
    "hinge": (losskit.hinge, keras.losses.hinge),
    "squared_hinge": (losskit.squared_hinge, keras.losses.squared_hinge),
}


@pytest.mark.parametrize("labels", ["pm1", "01"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(HINGE_LOSSES))
def test_hinge_matches_keras(rng, name, reduction, labels):
    ours_fn, keras_fn = HINGE_LOSSES[name]
    x0 = rng.normal(0.0, 2.0, (6, 4))
    y = rng.integers(0, 2, (6, 4)).astype(np.float64)
    if labels == "pm1":
        y = 2 * y - 1

    def ref(x):
        return _keras_last_axis(keras_fn(J(y), x), reduction, 4)

    def ours(x):
        return _ours_last_axis(ours_fn(x, J(y), reduction=reduction), reduction)

    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0), rtol=KERAS_MEAN_RTOL, atol=1e-9)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("labels", ["pm1", "01"])
def test_hinge_matches_sklearn(rng, labels, weighted):
    s = rng.normal(0.0, 2.0, 20)
    y = rng.integers(0, 2, 20)
    if labels == "pm1":
        y = 2 * y - 1
    w = rng.uniform(0.1, 2.0, 20) if weighted else None
    expected = sk_hinge_loss(y, s, sample_weight=w)
    np.testing.assert_allclose(float(losskit.hinge(s, y, weight=w)), expected, rtol=RTOL)


@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
def test_hinge_margin_matches_torch_multi_margin(rng, name, reduction, margin):
    """Binary hinge with margin m of score s is 2 * multi_margin_loss of scores (-s/2, s/2) (p=1 / p=2)."""
    s0 = rng.normal(0.0, 2.0, 9)
    y = rng.integers(0, 2, 9)
    ours_fn = losskit.hinge if name == "hinge" else losskit.squared_hinge
    power = 1 if name == "hinge" else 2

    def ref(s):
        pair = torch.stack([-s / 2, s / 2], dim=-1)
        per_example = 2 * F.multi_margin_loss(pair, T(y), p=power, margin=margin, reduction="none")
        return reference_reduce(per_example, reduction)

    assert_vg(torch_vg(lambda s: ours_fn(s, T(y), margin=margin, reduction=reduction), s0), torch_vg(ref, s0))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("margin", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weston_watkins_matches_torch(rng, reduction, margin, weighted):
    x0 = rng.normal(0.0, 1.5, (8, 5))
    labels = rng.integers(0, 5, 8)
    w = rng.uniform(0.1, 2.0, 8) if weighted else None

    def ref(x):
        if weighted:
            return reference_reduce(F.multi_margin_loss(x, T(labels), margin=margin, reduction="none"), reduction, w)
        return F.multi_margin_loss(x, T(labels), margin=margin, reduction=reduction)

    def ours(x):
        return losskit.multiclass_hinge(x, T(labels), margin=margin, kind="weston_watkins", weight=T(w),
                                        reduction=reduction)

    assert_vg(torch_vg(ours, x0), torch_vg(ref, x0))


@pytest.mark.parametrize("kind", ["crammer_singer", "weston_watkins"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multiclass_hinge_axis1(rng, kind, reduction):
    x0 = rng.normal(0.0, 1.5, (2, 4, 3, 5))
    labels = rng.integers(0, 4, (2, 3, 5))
    moved = np.moveaxis(x0, 1, -1)
    if kind == "weston_watkins":
        ref = F.multi_margin_loss(T(moved.reshape(-1, 4)), T(labels.reshape(-1)), reduction="none").reshape(2, 3, 5)
        ref = reference_reduce(ref, reduction)
    else:
        ref = losskit.multiclass_hinge(moved, labels, kind=kind, reduction=reduction)
    out = losskit.multiclass_hinge(x0, labels, kind=kind, axis=1, reduction=reduction)
    np.testing.assert_allclose(out, to_numpy(ref), rtol=RTOL)


def _keras_friendly_scores(rng: np.random.Generator, labels: np.ndarray, c: int) -> np.ndarray:
    """Scores where some rival of the true class is non-negative (keras' categorical_hinge is then exact)."""
    x = rng.normal(0.0, 2.0, (labels.size, c))
    for i, y in enumerate(labels):
        rival = (y + 1 + i % (c - 1)) % c
        x[i, rival] = abs(x[i, rival]) + 0.1
    return x


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_crammer_singer_matches_keras_categorical_hinge(rng, reduction, weighted):
    labels = rng.integers(0, 4, 6)
    x0 = _keras_friendly_scores(rng, labels, 4)
    w = rng.uniform(0.1, 2.0, 6) if weighted else None

    def ref(x):
        return reference_reduce(keras.losses.categorical_hinge(J(one_hot(labels, 4)), x), reduction, w)

    def ours(x):
        return losskit.multiclass_hinge(x, J(labels), kind="crammer_singer", weight=J(w), reduction=reduction)

    value, _ = jax_vg(ours, x0)
    assert np.any(value > 0)
    assert_vg(jax_vg(ours, x0), jax_vg(ref, x0))


@pytest.mark.parametrize("margin", [0.0, 0.5, 1.0, 2.0])
def test_crammer_singer_definition(rng, margin):
    x0 = rng.normal(0.0, 1.5, (12, 4))
    labels = rng.integers(0, 4, 12)
    expected = []
    for row, y in zip(x0, labels, strict=True):
        rivals = np.delete(row, y)
        expected.append(max(0.0, margin + rivals.max() - row[y]))
    out = losskit.multiclass_hinge(x0, labels, margin=margin, reduction="none")
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=1e-15)
    # the gradient: -1 at the label, +1 at the strongest rival, where the margin is violated
    _, grad = torch_vg(lambda x: losskit.multiclass_hinge(x, T(labels), margin=margin, reduction="sum"), x0)
    ref_grad = np.zeros_like(x0)
    for i, (row, y) in enumerate(zip(x0, labels, strict=True)):
        if expected[i] > 0:
            rival = int(np.argmax(np.where(np.arange(4) == y, -np.inf, row)))
            ref_grad[i, y], ref_grad[i, rival] = -1.0, 1.0
    np.testing.assert_allclose(grad, ref_grad * cotangent(()), atol=1e-15)


def test_crammer_singer_differs_from_keras_when_rivals_negative():
    """keras takes max over (1 - y) * pred, never below 0: with every rival negative it reports more."""
    x0 = np.array([[0.5, -0.2, -0.3], [-1.0, 0.4, -3.0]])
    labels = np.array([0, 1])
    ours = losskit.multiclass_hinge(x0, labels, reduction="none")
    keras_value = np.asarray(keras.losses.categorical_hinge(J(one_hot(labels, 3)), J(x0)))
    np.testing.assert_allclose(ours, [1 - 0.2 - 0.5, 0.0], rtol=RTOL, atol=1e-15)  # the definition
    np.testing.assert_allclose(keras_value, [1 - 0.5, 1 - 0.4], rtol=RTOL)  # max(0, m - s_y)
    assert np.all(keras_value > ours)


# ----------------------------------------------------------------- per-example weights [0, 1]


def _case(name: str, fn: Callable[..., Any], pred: Any, target: Any, **kwargs: Any) -> Any:
    return pytest.param(fn, np.asarray(pred, dtype=np.float64), np.asarray(target), kwargs, id=name)


TWO_EXAMPLE_CASES = [
    _case("bce_prob", losskit.binary_cross_entropy, [[0.0, 0.3, 0.99], [0.2, 0.7, 0.5]],
          [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]),
    _case("bce_logits", losskit.binary_cross_entropy, [[1e4, -30.0, 0.5], [0.2, -0.7, 2.5]],
          [[0.0, 1.0, 0.0], [0.0, 1.0, 1.0]], from_logits=True, pos_weight=np.array([2.0, 0.5, 1.0]),
          label_smoothing=0.1),
    _case("cce_prob", losskit.categorical_cross_entropy, [[0.0, 0.5, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4]],
          [[1.0, 0.0, 0.0, 0.0], [0.0, 0.3, 0.0, 0.7]], class_weight=CLASS_WEIGHT),
    _case("cce_logits", losskit.categorical_cross_entropy, [[-1e4, 3.0, 1e4, 0.0], [0.1, 2.0, -0.3, 0.4]],
          [[1.0, 0.0, 0.0, 0.0], [0.0, 0.3, 0.0, 0.7]], from_logits=True, class_weight=CLASS_WEIGHT,
          label_smoothing=0.2),
    _case("sparse_logits", losskit.sparse_categorical_cross_entropy, [[-1e4, 3.0, 1e4, 0.0], [0.1, 2.0, -0.3, 0.4]],
          [0, 3], from_logits=True, class_weight=CLASS_WEIGHT, label_smoothing=0.2),
    _case("sparse_prob", losskit.sparse_categorical_cross_entropy, [[0.0, 0.5, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4]],
          [0, 1]),
    _case("hinge", losskit.hinge, [[-1e4, 2.0, 0.3], [0.5, -0.2, 1.5]], [[1, 0, 1], [1, 0, 0]], margin=0.8),
    _case("squared_hinge", losskit.squared_hinge, [[-1e4, 2.0, 0.3], [0.5, -0.2, 1.5]], [[1, -1, 1], [1, -1, -1]]),
    _case("crammer_singer", losskit.multiclass_hinge, [[-1e4, 3.0, 1e4], [0.1, 2.0, -0.3]], [0, 2], margin=1.5),
    _case("weston_watkins", losskit.multiclass_hinge, [[-1e4, 3.0, 1e4], [0.1, 2.0, -0.3]], [0, 2],
          kind="weston_watkins"),
]


def _example_weight(pred: np.ndarray, fn: Callable[..., Any]) -> np.ndarray:
    """[0, 1], shaped like the loss: (2, 1) for element-wise losses of an (2, C) input."""
    elementwise = fn in (losskit.binary_cross_entropy, losskit.hinge, losskit.squared_hinge)
    return np.array([[0.0], [1.0]]) if elementwise and pred.ndim == 2 else np.array([0.0, 1.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("fn", "pred", "target", "kwargs"), TWO_EXAMPLE_CASES)
def test_zero_weight_example_contributes_nothing(fn, pred, target, kwargs, reduction):
    w = _example_weight(pred, fn)
    out = fn(pred, target, weight=w, reduction=reduction, **kwargs)
    alone = fn(pred[1:], target[1:], reduction=reduction, **kwargs)
    assert np.all(np.isfinite(out))
    if reduction == "none":
        assert np.all(out[0] == 0.0), out
        np.testing.assert_array_equal(out[1:], alone)
    else:
        assert float(out) == float(alone), (float(out), float(alone))
    assert np.any(np.asarray(alone) > 0)
    # gradients (torch): exactly 0 for the zero-weight example, those of the example alone for the other
    tkw = {k: T(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    _, grad = torch_vg(lambda x: fn(x, T(target), weight=T(w), reduction=reduction, **tkw), pred)
    _, grad_alone = torch_vg(lambda x: fn(x, T(target[1:]), reduction=reduction, **tkw), pred[1:])
    assert np.all(grad[0] == 0.0), grad[0]
    cot = cotangent(out.shape)
    scale = cot[1:] / cotangent(np.shape(alone)) if reduction == "none" else 1.0
    if reduction == "none" and np.ndim(scale) < grad_alone.ndim:
        scale = np.reshape(scale, np.shape(scale) + (1,) * (grad_alone.ndim - np.ndim(scale)))
    np.testing.assert_allclose(grad[1:], grad_alone * scale, rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------------------- float16 / bfloat16 (torch)


def _lowp_cases(v: float, u: float) -> list[tuple[str, Callable[..., Any], list[Any], list[Any], dict[str, Any]]]:
    """Inputs whose true losses (and their sum) are representable: one wrong-side score of size v."""
    rows = [[v, 0.0, 0.0], [0.0, -v, 0.0], [1.0, 2.0, 3.0]]
    return [
        ("bce_logits", losskit.binary_cross_entropy, [[v, -v, 3.0], [-v, v, -2.5]],
         [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]], {"from_logits": True}),
        ("cce_logits", losskit.categorical_cross_entropy, rows,
         [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], {"from_logits": True}),
        ("sparse_logits", losskit.sparse_categorical_cross_entropy, rows, [1, 0, 2], {"from_logits": True}),
        ("hinge", losskit.hinge, [v, -v, 0.5, -0.25], [-1, -1, 1, -1], {}),
        ("squared_hinge", losskit.squared_hinge, [u, -u, 0.5, -0.25], [-1, -1, 1, -1], {}),
        ("crammer_singer", losskit.multiclass_hinge, rows, [1, 0, 2], {}),
        ("weston_watkins", losskit.multiclass_hinge, rows, [1, 0, 2], {"kind": "weston_watkins"}),
    ]


LOWP = {"float16": (torch.float16, 6e4, 200.0), "bfloat16": (torch.bfloat16, 1e4, 1e4)}


@pytest.mark.parametrize("case", range(7), ids=[c[0] for c in _lowp_cases(1.0, 1.0)])
@pytest.mark.parametrize("dtype_name", list(LOWP))
def test_low_precision_logits_torch(dtype_name, case):
    dtype, v, u = LOWP[dtype_name]
    _, fn, pred, target, kwargs = _lowp_cases(v, u)[case]
    x = torch.tensor(pred, dtype=dtype)
    target_np = np.asarray(target)
    t_low = torch.tensor(target_np, dtype=dtype) if target_np.dtype.kind == "f" else torch.tensor(target_np)
    t_64 = torch.tensor(target_np, dtype=torch.float64) if target_np.dtype.kind == "f" else t_low
    eps = float(torch.finfo(dtype).eps)
    for reduction in REDUCTIONS:
        leaf = x.clone().requires_grad_(True)
        out = fn(leaf, t_low, reduction=reduction, **kwargs)
        assert out.dtype == dtype, (reduction, out.dtype)
        assert torch.all(torch.isfinite(out)), (reduction, out)
        (grad,) = torch.autograd.grad(out.float().sum(), leaf)
        assert grad.dtype == dtype and torch.all(torch.isfinite(grad)), (reduction, grad)
        exact = fn(x.double(), t_64, reduction=reduction, **kwargs)
        np.testing.assert_allclose(out.detach().double().numpy(), exact.numpy(), rtol=eps, atol=1e-6, err_msg=reduction)


# ----------------------------------------------------------------------------------------------- stability


LOGIT_GRID = [-1e4, -100.0, 0.0, 100.0, 1e4]
PROB_GRID = [0.0, 1e-45, 1.0, 1 - 1e-7]


def _stability_cases() -> list[Any]:
    rows = np.array(list(itertools.product(LOGIT_GRID, repeat=3)))  # (125, 3)
    rows3 = np.repeat(rows, 3, axis=0)
    labels3 = np.tile(np.arange(3), len(rows))
    soft = np.tile([0.2, 0.3, 0.5], (len(rows), 1))
    pairs = np.array(list(itertools.product(LOGIT_GRID, [0.0, 0.5, 1.0])))
    signs = np.array(list(itertools.product(LOGIT_GRID, [-1.0, 1.0])))
    prob_pairs = np.array(list(itertools.product(PROB_GRID, [0.0, 0.5, 1.0])))
    prob_rows = np.array([[0.0, 1.0], [1.0, 0.0], [1e-45, 1.0], [1.0, 1e-45], [1 - 1e-7, 1e-7], [1e-7, 1 - 1e-7]])
    prob_rows2 = np.repeat(prob_rows, 3, axis=0)
    prob_targets = np.tile([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], (len(prob_rows), 1))
    return [
        pytest.param(losskit.binary_cross_entropy, pairs[:, 0], pairs[:, 1], {"from_logits": True}, id="bce_logits"),
        pytest.param(losskit.binary_cross_entropy, pairs[:, 0], pairs[:, 1],
                     {"from_logits": True, "pos_weight": 3.0, "label_smoothing": 0.1}, id="bce_logits_pw_ls"),
        pytest.param(losskit.categorical_cross_entropy, rows3, np.eye(3)[labels3], {"from_logits": True},
                     id="cce_logits_onehot"),
        pytest.param(losskit.categorical_cross_entropy, rows, soft,
                     {"from_logits": True, "label_smoothing": 0.1, "class_weight": np.array([1.0, 2.0, 0.5])},
                     id="cce_logits_soft"),
        pytest.param(losskit.sparse_categorical_cross_entropy, rows3, labels3,
                     {"from_logits": True, "label_smoothing": 0.1, "class_weight": np.array([1.0, 2.0, 0.5])},
                     id="sparse_logits"),
        pytest.param(losskit.hinge, signs[:, 0], signs[:, 1], {}, id="hinge"),
        pytest.param(losskit.squared_hinge, signs[:, 0], signs[:, 1], {}, id="squared_hinge"),
        pytest.param(losskit.multiclass_hinge, rows3, labels3, {}, id="crammer_singer"),
        pytest.param(losskit.multiclass_hinge, rows3, labels3, {"kind": "weston_watkins"}, id="weston_watkins"),
        pytest.param(losskit.binary_cross_entropy, prob_pairs[:, 0], prob_pairs[:, 1], {}, id="bce_prob"),
        pytest.param(losskit.binary_cross_entropy, prob_pairs[:, 0], prob_pairs[:, 1],
                     {"pos_weight": 2.0, "label_smoothing": 0.1}, id="bce_prob_pw_ls"),
        pytest.param(losskit.categorical_cross_entropy, prob_rows2, prob_targets,
                     {"label_smoothing": 0.1, "class_weight": np.array([1.0, 2.0])}, id="cce_prob"),
        pytest.param(losskit.sparse_categorical_cross_entropy, np.repeat(prob_rows, 2, axis=0),
                     np.tile([0, 1], len(prob_rows)), {"label_smoothing": 0.1}, id="sparse_prob"),
    ]


@pytest.mark.parametrize(("fn", "pred", "target", "kwargs"), _stability_cases())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_stability_finite_loss_and_gradient(lib, dtype, fn, pred, target, kwargs):
    target = np.asarray(target)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    opts = {k: lib_array(lib, np.asarray(v, dtype=dtype)) if isinstance(v, np.ndarray) else v
            for k, v in kwargs.items()}
    # jax: "none" with a non-uniform cotangent checks every entry's value and gradient (the reductions
    # only sum them); one jit compilation per case instead of three
    for reduction in REDUCTIONS if lib == "torch" else ("none",):
        def loss(x, reduction=reduction):
            return fn(x, lib_array(lib, target), reduction=reduction, **opts)

        value, grad = lib_vg(lib, loss, pred, dtype, jit=True)
        assert str(value.dtype) == dtype
        assert np.all(np.isfinite(value)), (reduction, value)
        assert np.all(np.isfinite(grad)), (reduction, grad)
        assert np.all(value >= 0), (reduction, value)


# ------------------------------------------------------------------------------------------------ backends


BACKEND_CASES = [
    _case("bce_prob", losskit.binary_cross_entropy, [[0.1, 0.9, 0.0], [0.6, 1.0, 0.3]],
          [[0.0, 1.0, 1.0], [0.4, 1.0, 0.0]], label_smoothing=0.1, weight=np.array([[0.5], [2.0]])),
    _case("bce_logits", losskit.binary_cross_entropy, [[0.1, -3.0, 40.0], [0.6, 1.0, -0.3]],
          [[0.0, 1.0, 1.0], [0.4, 1.0, 0.0]], from_logits=True, pos_weight=np.array([1.0, 2.0, 0.5])),
    _case("cce_prob", losskit.categorical_cross_entropy, [[0.1, 0.6, 0.3], [0.2, 0.2, 0.6]],
          [[0.0, 1.0, 0.0], [0.3, 0.3, 0.4]], class_weight=np.array([1.0, 2.0, 0.5])),
    _case("cce_logits", losskit.categorical_cross_entropy, [[0.1, 0.6, 0.3], [0.2, -5.0, 9.6]],
          [[0.0, 1.0, 0.0], [0.3, 0.3, 0.4]], from_logits=True, label_smoothing=0.2, weight=np.array([1.0, 0.5])),
    _case("sparse_logits", losskit.sparse_categorical_cross_entropy, [[0.1, 0.6, 0.3], [0.2, -5.0, 9.6],
                                                                       [1.0, 2.0, 3.0]],
          [1, -100, 0], from_logits=True, label_smoothing=0.2, class_weight=np.array([1.0, 2.0, 0.5])),
    _case("sparse_spatial", losskit.sparse_categorical_cross_entropy,
          np.random.default_rng(5).normal(size=(2, 3, 4)), [[0, 2, 1, -100], [2, 2, 0, 1]], from_logits=True,
          axis=1),
    _case("hinge", losskit.hinge, [0.3, -2.0, 1.5, 0.9], [1, 0, 0, 1], margin=0.5),
    _case("squared_hinge", losskit.squared_hinge, [0.3, -2.0, 1.5, 0.9], [1, -1, -1, 1], weight=np.ones(4) * 2),
    _case("crammer_singer", losskit.multiclass_hinge, [[0.1, 0.6, 0.3], [0.2, -5.0, 9.6]], [0, 2]),
    _case("weston_watkins", losskit.multiclass_hinge, [[0.1, 0.6, 0.3], [0.2, -5.0, 9.6]], [0, 1],
          kind="weston_watkins", margin=2.0),
]


@pytest.mark.parametrize(("fn", "pred", "target", "kwargs"), BACKEND_CASES)
def test_backends_agree(backend, fn, pred, target, kwargs):
    array_type = type(backend(np.zeros(2)))
    # numpy's full reductions give a 0-d numpy scalar (np.float64), numpy's own convention for np.sum
    accepted = (np.ndarray, np.float64) if array_type is np.ndarray else (array_type,)
    bkw = {k: backend(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    for reduction in REDUCTIONS:
        out = fn(backend(pred), backend(target), reduction=reduction, **bkw)
        ref = fn(pred, target, reduction=reduction, **kwargs)
        assert type(out) in accepted, (reduction, type(out))
        got = to_numpy(out)
        assert got.dtype == np.float64
        assert got.shape == np.shape(ref)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15, err_msg=reduction)


def test_numpy_reference_values():
    """Anchor the numpy path itself on hand-computed values (so the backend comparison is not circular)."""
    p, y = np.array([0.9, 0.2]), np.array([1, 0])
    np.testing.assert_allclose(losskit.binary_cross_entropy(p, y, reduction="none"), -np.log([0.9, 0.8]), rtol=1e-14)
    x = np.array([[2.0, 0.5, -1.0]])
    lse = np.log(np.exp(x).sum())
    np.testing.assert_allclose(losskit.sparse_categorical_cross_entropy(x, np.array([1]), from_logits=True),
                               lse - 0.5, rtol=1e-14)
    np.testing.assert_allclose(losskit.categorical_cross_entropy(x, np.array([[0.5, 0.5, 0.0]]), from_logits=True),
                               lse - 1.25, rtol=1e-14)
    assert isinstance(losskit.hinge(np.array([0.5]), np.array([1])), np.ndarray | np.floating)
    assert type(array_api_strict.asarray(1.0)) is type(losskit.hinge(array_api_strict.asarray([0.5]),
                                                                   array_api_strict.asarray([1])))
