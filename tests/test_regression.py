"""Reference tests for the regression losses: mse, mae, huber, log_cosh, quantile.

References: torch.nn.functional (values and autograd), optax (values and jax.grad), keras 3 on the
JAX backend (which averages over the last axis), scipy.special.huber, scikit-learn's weighted
regression metrics, and the closed forms evaluated in float64 NumPy.

Inputs are drawn so that every residual stays at least ``GAP`` away from the kinks of mae, huber
and quantile (0 and +-delta): there every loss is smooth and finite differences are meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import array_api_compat
import array_api_strict
import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
import scipy.special
import sklearn.metrics
import torch
import torch.nn.functional as F

import losskit
from losskit import huber, log_cosh, mae, mse, quantile

from conftest import to_numpy

SHAPE = (7, 5)
DELTAS = (0.1, 1.0, 3.0)
QS = (0.0, 0.1, 0.5, 0.9, 1.0)
GAP = 0.05
REDUCTIONS = ("none", "mean", "sum")
WEIGHTS = (None, "column", "full", "scalar")
LOG2 = math.log(2.0)

EXACT = {"rtol": 1e-12, "atol": 1e-14}  # the same formula evaluated twice
CLOSE = {"rtol": 1e-6, "atol": 1e-12}  # different but equivalent formulas


# --------------------------------------------------------------------------------------------
# Inputs and float64 NumPy references
# --------------------------------------------------------------------------------------------


def residuals(rng: np.random.Generator, shape: tuple[int, ...] = SHAPE, scale: float = 4.0) -> np.ndarray:
    """Residuals in [-scale, scale], at least GAP away from 0 and from every +-delta."""
    kinks = np.array([0.0, *DELTAS])
    r = rng.uniform(-scale, scale, size=shape)
    while True:
        bad = (np.abs(np.abs(r)[..., None] - kinks) < GAP).any(axis=-1)
        if not bad.any():
            return r
        r[bad] = rng.uniform(-scale, scale, size=int(bad.sum()))


def pair(rng: np.random.Generator, shape: tuple[int, ...] = SHAPE, scale: float = 4.0) -> tuple[np.ndarray, ...]:
    """``(pred, target)`` in float64 with ``pred - target`` a kink-free residual."""
    pred = rng.normal(size=shape)
    return pred, pred - residuals(rng, shape, scale)


def make_weight(kind: str | None, rng: np.random.Generator, shape: tuple[int, ...] = SHAPE) -> np.ndarray | None:
    if kind is None:
        return None
    if kind == "column":  # one weight per example: (N, 1) for an (N, D) loss
        return rng.uniform(0.1, 2.0, size=(shape[0], *([1] * (len(shape) - 1))))
    if kind == "full":
        return rng.uniform(0.0, 2.0, size=shape)
    if kind == "scalar":
        return np.array(1.7)
    raise AssertionError(kind)


def np_reduce(loss: np.ndarray, reduction: str, weight: np.ndarray | None = None) -> np.ndarray:
    """The documented reduction: w*l, sum(w*l), sum(w*l)/sum(w) (w broadcast to the loss)."""
    w = np.ones_like(loss) if weight is None else np.broadcast_to(np.asarray(weight, dtype=loss.dtype), loss.shape)
    wl = w * loss
    if reduction == "none":
        return wl
    if reduction == "sum":
        return np.sum(wl)
    total = np.sum(w)
    return np.sum(wl) / total if total != 0 else np.sum(wl) * 0.0


def np_mse(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (p - t) ** 2


def np_mae(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.abs(p - t)


def np_huber(p: np.ndarray, t: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(p - t)
    return np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))


def np_log_cosh(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    r = p - t
    assert np.all(np.abs(r) < 700), "np.cosh overflows beyond 710"
    return np.log(np.cosh(r))


def np_log_cosh_accurate(r: np.ndarray) -> np.ndarray:
    """log(cosh r) = log1p(sinh(r)^2)/2: accurate to a few ulps for small |r| too (|r| < 300)."""
    return 0.5 * np.log1p(np.sinh(r) ** 2)


def np_quantile(p: np.ndarray, t: np.ndarray, q: float) -> np.ndarray:
    r = t - p
    return np.maximum(q * r, (q - 1.0) * r)


# --------------------------------------------------------------------------------------------
# The cases: one loss with its hyper-parameters, its NumPy closed form and its gradient
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    fn: Callable[..., Any]
    kwargs: dict[str, float] = field(default_factory=dict)
    reference: Callable[[np.ndarray, np.ndarray], np.ndarray] = np_mse
    dpred: Callable[[np.ndarray], np.ndarray] = np.sign  # d loss / d pred as a function of r = pred - target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **self.kwargs, **kwargs)


def _quantile_dpred(q: float, r: np.ndarray) -> np.ndarray:
    # r = pred - target; over-prediction (r > 0) costs 1 - q per unit, under-prediction q.
    return np.where(r > 0, 1.0 - q, -q)


CASES = [
    Case("mse", mse, {}, np_mse, lambda r: 2.0 * r),
    Case("mae", mae, {}, np_mae, np.sign),
    *[
        Case(f"huber-{d}", huber, {"delta": d}, partial(np_huber, delta=d), partial(np.clip, a_min=-d, a_max=d))
        for d in DELTAS
    ],
    Case("log_cosh", log_cosh, {}, np_log_cosh, np.tanh),
    *[
        Case(f"quantile-{q}", quantile, {"q": q}, partial(np_quantile, q=q), partial(_quantile_dpred, q))
        for q in QS
    ],
]
CASE_PARAMS = [pytest.param(c, id=c.id) for c in CASES]


# Torch references: element-wise losses (reduction="none") and the built-in reductions.
def _torch_builtin(ref: Callable[..., torch.Tensor], **kw: float) -> Callable[..., torch.Tensor]:
    return partial(ref, **kw)


TORCH_BUILTINS = [
    pytest.param(mse, {}, _torch_builtin(F.mse_loss), id="mse-mse_loss"),
    pytest.param(mae, {}, _torch_builtin(F.l1_loss), id="mae-l1_loss"),
    *[pytest.param(huber, {"delta": d}, _torch_builtin(F.huber_loss, delta=d), id=f"huber-{d}-huber_loss")
      for d in DELTAS],
]


def torch_elementwise(case: Case, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A torch reference of ``case``'s element-wise loss, differentiable by autograd."""
    if case.fn is mse:
        return F.mse_loss(p, t, reduction="none")
    if case.fn is mae:
        return F.l1_loss(p, t, reduction="none")
    if case.fn is huber:
        return F.huber_loss(p, t, reduction="none", delta=case.kwargs["delta"])
    if case.fn is log_cosh:
        return torch.log(torch.cosh(p - t))  # fine for the |r| <= 4 of these tests
    if case.fn is quantile:
        q = case.kwargs["q"]
        return torch.maximum(q * (t - p), (q - 1.0) * (t - p))
    raise AssertionError(case.id)


def torch_reduce(loss: torch.Tensor, reduction: str, weight: torch.Tensor | None) -> torch.Tensor:
    """The hand-weighted torch reference: w*l, sum(w*l), sum(w*l)/sum(w broadcast)."""
    w = torch.ones_like(loss) if weight is None else weight.expand_as(loss)
    if reduction == "none":
        return w * loss
    if reduction == "sum":
        return (w * loss).sum()
    return (w * loss).sum() / w.sum()


def close(got: Any, expected: Any, tol: dict[str, float]) -> None:
    np.testing.assert_allclose(to_numpy(got), to_numpy(expected), **tol)


# --------------------------------------------------------------------------------------------
# 1. Values against the references
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("fn", "kwargs", "ref"), TORCH_BUILTINS)
def test_matches_torch_builtin_reduction(fn, kwargs, ref, reduction, rng):
    p, t = (torch.from_numpy(a) for a in pair(rng))
    got = fn(p, t, reduction=reduction, **kwargs)
    expected = ref(p, t, reduction=reduction)
    assert got.dtype == torch.float64
    assert got.shape == expected.shape
    close(got, expected, EXACT)


@pytest.mark.parametrize("weight_kind", WEIGHTS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_matches_torch_weighted_by_hand(case, reduction, weight_kind, rng):
    p, t = (torch.from_numpy(a) for a in pair(rng))
    w = make_weight(weight_kind, rng)
    w = None if w is None else torch.from_numpy(w)
    got = case(p, t, weight=w, reduction=reduction)
    expected = torch_reduce(torch_elementwise(case, p, t), reduction, w)
    assert got.shape == expected.shape
    close(got, expected, EXACT if case.fn is not log_cosh else CLOSE)


@pytest.mark.parametrize("weight_kind", WEIGHTS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_matches_numpy_closed_form(case, reduction, weight_kind, rng):
    p, t = pair(rng)
    w = make_weight(weight_kind, rng)
    got = case(p, t, weight=w, reduction=reduction)
    expected = np_reduce(case.reference(p, t), reduction, w)
    assert np.shape(got) == np.shape(expected)
    close(got, expected, EXACT if case.fn is not log_cosh else CLOSE)


@pytest.mark.parametrize("weight_kind", WEIGHTS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", DELTAS)
def test_huber_over_delta_is_torch_smooth_l1(delta, reduction, weight_kind, rng):
    p, t = (torch.from_numpy(a) for a in pair(rng))
    w = make_weight(weight_kind, rng)
    w = None if w is None else torch.from_numpy(w)
    got = huber(p, t, delta=delta, weight=w, reduction=reduction) / delta
    if w is None:
        expected = F.smooth_l1_loss(p, t, beta=delta, reduction=reduction)
    else:
        expected = torch_reduce(F.smooth_l1_loss(p, t, beta=delta, reduction="none"), reduction, w)
    close(got, expected, EXACT)


@pytest.mark.parametrize("delta", DELTAS)
def test_huber_matches_scipy_special_huber(delta, rng):
    p, t = pair(rng)
    close(huber(p, t, delta=delta, reduction="none"), scipy.special.huber(delta, p - t), EXACT)


KERAS_FUNCTIONS = [
    pytest.param(mse, {}, keras.losses.mean_squared_error, id="mse"),
    pytest.param(mae, {}, keras.losses.mean_absolute_error, id="mae"),
    *[pytest.param(huber, {"delta": d}, partial(keras.losses.huber, delta=d), id=f"huber-{d}") for d in DELTAS],
    pytest.param(log_cosh, {}, keras.losses.log_cosh, id="log_cosh"),
]


@pytest.mark.parametrize(("fn", "kwargs", "ref"), KERAS_FUNCTIONS)
def test_matches_keras_last_axis_mean(fn, kwargs, ref, rng):
    """Keras averages over the last axis: our element-wise loss averaged the same way."""
    assert keras.backend.backend() == "jax"
    p, t = pair(rng)
    got = np.mean(fn(p, t, reduction="none", **kwargs), axis=-1)
    expected = np.asarray(ref(t, p))  # keras takes (y_true, y_pred)
    assert expected.dtype == np.float64
    assert got.shape == expected.shape == SHAPE[:1]
    close(got, expected, CLOSE)


@pytest.mark.parametrize("delta", DELTAS)
def test_matches_keras_huber_class(delta, rng):
    p, t = pair(rng)
    w = rng.uniform(0.1, 2.0, size=SHAPE[0])
    per_example = keras.losses.Huber(delta=delta, reduction=None, dtype="float64")(t, p)
    close(np.mean(huber(p, t, delta=delta, reduction="none"), axis=-1), per_example, CLOSE)
    # sum_over_batch_size of equal-length rows is the mean over all elements.
    mean = keras.losses.Huber(delta=delta, dtype="float64")(t, p)
    close(huber(p, t, delta=delta), mean, CLOSE)
    # keras "sum" with a per-example sample_weight: sum_i w_i mean_j l_ij == our weighted sum / D.
    weighted_sum = keras.losses.Huber(delta=delta, reduction="sum", dtype="float64")(t, p, sample_weight=w)
    close(huber(p, t, delta=delta, weight=w[:, None], reduction="sum") / SHAPE[1], weighted_sum, CLOSE)


OPTAX_ELEMENTWISE = [
    pytest.param(mse, {}, optax.squared_error, id="mse-squared_error"),
    *[pytest.param(huber, {"delta": d}, partial(optax.huber_loss, delta=d), id=f"huber-{d}") for d in DELTAS],
    pytest.param(log_cosh, {}, optax.log_cosh, id="log_cosh"),
]


@pytest.mark.parametrize(("fn", "kwargs", "ref"), OPTAX_ELEMENTWISE)
def test_matches_optax_elementwise(fn, kwargs, ref, rng):
    p, t = (jnp.asarray(a) for a in pair(rng))
    got = fn(p, t, reduction="none", **kwargs)
    expected = ref(p, t)
    assert isinstance(got, jax.Array)
    assert got.dtype == jnp.float64
    assert got.shape == expected.shape == SHAPE
    close(got, expected, CLOSE)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "column-weight"])
@pytest.mark.parametrize("q", [0.05, 0.5, 0.95])
def test_quantile_matches_sklearn_mean_pinball(q, weighted, rng):
    """sklearn averages each output with sample weights, then the outputs: our (N, 1)-weighted mean."""
    p, t = pair(rng)
    w = rng.uniform(0.1, 2.0, size=SHAPE[0]) if weighted else None
    got = quantile(p, t, q=q, weight=None if w is None else w[:, None])
    expected = sklearn.metrics.mean_pinball_loss(t, p, alpha=q, sample_weight=w)
    close(got, expected, CLOSE)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "column-weight"])
@pytest.mark.parametrize(
    ("fn", "ref"),
    [(mse, sklearn.metrics.mean_squared_error), (mae, sklearn.metrics.mean_absolute_error)],
    ids=["mse", "mae"],
)
def test_matches_sklearn_weighted_mean(fn, ref, weighted, rng):
    p, t = pair(rng)
    w = rng.uniform(0.1, 2.0, size=SHAPE[0]) if weighted else None
    got = fn(p, t, weight=None if w is None else w[:, None])
    close(got, ref(t, p, sample_weight=w), CLOSE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_quantile_half_is_half_mae(reduction, rng):
    p, t = pair(rng)
    w = make_weight("column", rng)
    close(quantile(p, t, q=0.5, weight=w, reduction=reduction), 0.5 * mae(p, t, weight=w, reduction=reduction),
          EXACT)


def test_quantile_endpoints_and_asymmetry(rng):
    """q=1 charges only under-prediction, q=0 only over-prediction; q and 1-q mirror each other."""
    p, t = pair(rng)
    r = t - p
    close(quantile(p, t, q=1.0, reduction="none"), np.maximum(r, 0.0), EXACT)
    close(quantile(p, t, q=0.0, reduction="none"), np.maximum(-r, 0.0), EXACT)
    close(quantile(p, t, q=0.3, reduction="none"), quantile(t, p, q=0.7, reduction="none"), EXACT)
    # the example of the docstring: under-predicting by 1 costs q, over-predicting by 1 costs 1-q.
    close(quantile(np.zeros(2), np.array([1.0, -1.0]), q=0.9, reduction="none"), [0.9, 0.1], EXACT)


def test_huber_at_its_kinks():
    """Exactly at |r| = delta both pieces meet at delta^2/2; at r = 0 the loss is 0."""
    for delta in DELTAS:
        r = np.array([-delta, 0.0, delta, 2 * delta])
        got = huber(r, np.zeros(4), delta=delta, reduction="none")
        close(got, [0.5 * delta**2, 0.0, 0.5 * delta**2, 1.5 * delta**2], EXACT)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_log_cosh_large_residuals_closed_form(sign):
    """Up to 700 the naive log(cosh(r)) is finite and agrees; beyond, the asymptote |r| - log 2."""
    r = sign * np.array([5.0, 20.0, 50.0, 300.0, 700.0])
    close(log_cosh(r, np.zeros_like(r), reduction="none"), np.log(np.cosh(r)), CLOSE)
    big = sign * np.array([710.0, 1e4, 1e30, 1e300])
    close(log_cosh(big, np.zeros_like(big), reduction="none"), np.abs(big) - LOG2, EXACT)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_cosh_small_residuals_relative_accuracy(dtype):
    """log cosh r ~ r^2/2 is representable to full relative precision for small r; the value
    must not be lost to cancellation (|r| + softplus(-2|r|) - log 2 subtracts numbers of size 0.7)."""
    r = np.concatenate([np.logspace(-8, 0, 9), -np.logspace(-8, 0, 9)]).astype(dtype)
    got = log_cosh(r, np.zeros_like(r), reduction="none")
    assert got.dtype == dtype
    expected = np_log_cosh_accurate(r.astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float64 else 1e-5, atol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_log_cosh_small_residuals_gradient_relative_accuracy(dtype):
    """The gradient tanh(r) ~ r of small residuals, to a few ulps (not 1 - 2 sigmoid(2|r|), which cancels)."""
    r = np.concatenate([np.logspace(-8, 0, 9), -np.logspace(-8, 0, 9)])
    p = torch.tensor(r, dtype=dtype, requires_grad=True)
    (g,) = torch.autograd.grad(log_cosh(p, torch.zeros_like(p), reduction="sum"), [p])
    assert g.dtype == dtype
    expected = np.tanh(p.detach().double().numpy())
    np.testing.assert_allclose(g.double().numpy(), expected, rtol=1e-6 if dtype == torch.float64 else 1e-5, atol=0)


# --------------------------------------------------------------------------------------------
# 2. Gradients
# --------------------------------------------------------------------------------------------


def _requires_grad(*arrays: np.ndarray | None) -> list[torch.Tensor | None]:
    return [None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("weight_kind", [None, "column", "full"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_torch_autograd_matches_torch_reference(case, reduction, weight_kind, rng):
    """Gradients w.r.t. pred, target and weight equal those of the (hand-weighted) torch reference."""
    p, t, w = _requires_grad(*pair(rng), make_weight(weight_kind, rng))
    inputs = [x for x in (p, t, w) if x is not None]
    got = case(p, t, weight=w, reduction=reduction)
    expected = torch_reduce(torch_elementwise(case, p, t), reduction, w)
    cotangent = torch.from_numpy(rng.normal(size=tuple(got.shape)))
    got_grads = torch.autograd.grad(got, inputs, cotangent)
    expected_grads = torch.autograd.grad(expected, inputs, cotangent)
    for g, e in zip(got_grads, expected_grads, strict=True):
        assert g.dtype == torch.float64
        close(g, e, EXACT if case.fn is not log_cosh else CLOSE)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_torch_gradient_closed_form(case, rng):
    """d mean(l) / d pred = l'(r) / n and d / d target = -l'(r) / n."""
    p, t = _requires_grad(*pair(rng))
    gp, gt = torch.autograd.grad(case(p, t), [p, t])
    r = (p - t).detach().numpy()
    n = r.size
    close(gp, case.dpred(r) / n, CLOSE)
    close(gt, -case.dpred(r) / n, CLOSE)


def test_torch_reference_gradient_at_the_kinks():
    """At the kinks our gradient is that of torch: 0 at r = 0 for mae and huber, delta at |r| = delta."""
    for delta in DELTAS:
        r = np.array([-delta, 0.0, delta])
        (p,) = _requires_grad(r)
        t = torch.zeros(3, dtype=torch.float64)
        (got,) = torch.autograd.grad(huber(p, t, delta=delta, reduction="sum"), [p])
        (expected,) = torch.autograd.grad(F.huber_loss(p, t, delta=delta, reduction="sum"), [p])
        close(got, expected, EXACT)
        close(got, [-delta, 0.0, delta], EXACT)
    (p,) = _requires_grad(np.array([-1.0, 0.0, 2.0]))
    t = torch.zeros(3, dtype=torch.float64)
    (got,) = torch.autograd.grad(mae(p, t, reduction="sum"), [p])
    close(got, [-1.0, 0.0, 1.0], EXACT)


@pytest.mark.parametrize("q", QS)
def test_quantile_gradient_at_zero_residual_is_a_subgradient(q):
    (p,) = _requires_grad(np.zeros(1))
    (g,) = torch.autograd.grad(quantile(p, torch.zeros(1, dtype=torch.float64), q=q, reduction="sum"), [p])
    assert -q - 1e-15 <= float(g) <= 1.0 - q + 1e-15


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    ("fn", "kwargs", "ref"),
    [
        pytest.param(mse, {}, optax.squared_error, id="mse-squared_error"),
        *[pytest.param(huber, {"delta": d}, partial(optax.huber_loss, delta=d), id=f"huber-{d}") for d in DELTAS],
        pytest.param(log_cosh, {}, optax.log_cosh, id="log_cosh"),
    ],
)
def test_jax_grad_matches_optax(fn, kwargs, ref, reduction, rng):
    p, t = (jnp.asarray(a) for a in pair(rng))
    w = jnp.asarray(make_weight("column", rng))

    def ours(p, t):
        return fn(p, t, weight=w, reduction=reduction, **kwargs)

    def theirs(p, t):
        wl = jnp.broadcast_to(w, p.shape) * ref(p, t)
        return jnp.sum(wl) / (jnp.sum(jnp.broadcast_to(w, p.shape)) if reduction == "mean" else 1.0)

    close(ours(p, t), theirs(p, t), CLOSE)
    got = jax.grad(ours, argnums=(0, 1))(p, t)
    expected = jax.grad(theirs, argnums=(0, 1))(p, t)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == jnp.float64
        close(g, e, CLOSE)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_jax_grad_closed_form(case, rng):
    p, t = (jnp.asarray(a) for a in pair(rng))
    gp, gt = jax.grad(lambda p, t: case(p, t, reduction="sum"), argnums=(0, 1))(p, t)
    r = np.asarray(p - t)
    close(gp, case.dpred(r), CLOSE)
    close(gt, -case.dpred(r), CLOSE)


@pytest.mark.parametrize(("reduction", "weight_kind"), [("mean", None), ("sum", "full"), ("none", "column"),
                                                        ("mean", "column"), ("mean", "scalar")])
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_torch_gradcheck(case, reduction, weight_kind, rng):
    """Finite differences in float64 agree with autograd, w.r.t. pred, target and weight."""
    p, t, w = _requires_grad(*pair(rng, (4, 3)), make_weight(weight_kind, rng, (4, 3)))
    inputs = tuple(x for x in (p, t, w) if x is not None)

    def f(*args: torch.Tensor) -> torch.Tensor:
        return case(args[0], args[1], weight=args[2] if len(args) > 2 else None, reduction=reduction)

    # GAP = 0.05 >> eps = 1e-6: no finite difference crosses a kink.
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


# --------------------------------------------------------------------------------------------
# 3. Stability at huge residuals
# --------------------------------------------------------------------------------------------

HUGE = np.array([1e30, -1e30, 1e4, -1e4, 3.5, -0.7])
ROBUST = [c for c in CASE_PARAMS if c.values[0].fn is not mse]


def _huge_expected(case: Case, r: np.ndarray) -> np.ndarray:
    if case.fn is log_cosh:  # the float64 answer: |r| - log 2 beyond 20, the naive form below
        return np.where(np.abs(r) > 20, np.abs(r) - LOG2, np.log(np.cosh(np.clip(r, -20, 20))))
    return case.reference(r, np.zeros_like(r))


@pytest.mark.parametrize("side", ["pred", "target"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", ROBUST)
def test_huge_residuals_torch(case, dtype, side):
    big = torch.tensor(HUGE, dtype=dtype, requires_grad=True)
    zero = torch.zeros(len(HUGE), dtype=dtype, requires_grad=True)
    p, t = (big, zero) if side == "pred" else (zero, -big)  # the same residuals r = p - t
    loss = case(p, t, reduction="none")
    gp, gt = torch.autograd.grad(loss.sum(), [p, t])
    r = HUGE.astype(np.float32 if dtype == torch.float32 else np.float64).astype(np.float64)
    assert loss.dtype == dtype
    assert torch.isfinite(loss).all() and torch.isfinite(gp).all() and torch.isfinite(gt).all()
    tol = {"rtol": 1e-6 if dtype == torch.float32 else 1e-12, "atol": 0}
    close(loss, _huge_expected(case, r), tol)
    close(gp, case.dpred(r), tol)
    close(gt, -case.dpred(r), tol)
    total = case(p, t, reduction="mean")
    assert torch.isfinite(total)
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(total, [p, t]))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", ROBUST)
def test_huge_residuals_jax(case, dtype):
    p = jnp.asarray(HUGE, dtype=dtype)
    t = jnp.zeros_like(p)
    loss = case(p, t, reduction="none")
    gp, gt = jax.grad(lambda p, t: case(p, t, reduction="sum"), argnums=(0, 1))(p, t)
    r = np.asarray(p, dtype=np.float64)
    tol = {"rtol": 1e-6 if dtype == jnp.float32 else 1e-12, "atol": 0}
    assert loss.dtype == dtype
    close(loss, _huge_expected(case, r), tol)
    close(gp, case.dpred(r), tol)
    close(gt, -case.dpred(r), tol)


def test_log_cosh_float32_of_1e4():
    for x in (torch.tensor([1e4, -1e4], dtype=torch.float32), jnp.asarray([1e4, -1e4], dtype=jnp.float32)):
        got = log_cosh(x, x * 0, reduction="none")
        assert got.dtype == x.dtype
        np.testing.assert_allclose(to_numpy(got), 1e4 - LOG2, rtol=1e-7)


def test_mse_huge_residuals():
    """(1e30)^2 = 1e60 in float64; in float32 it overflows to inf -- the correct float32 answer --
    while the gradient 2e30 is representable and finite."""
    p = torch.tensor([1e30, -1e30], dtype=torch.float64, requires_grad=True)
    loss = mse(p, torch.zeros(2, dtype=torch.float64), reduction="none")
    close(loss, [1e60, 1e60], EXACT)
    p32 = torch.tensor([1e30, -1e30], dtype=torch.float32, requires_grad=True)
    loss32 = mse(p32, torch.zeros(2, dtype=torch.float32), reduction="none")
    assert torch.isinf(loss32).all() and (loss32 > 0).all()
    (g,) = torch.autograd.grad(loss32.sum(), [p32])
    close(g, [2e30, -2e30], {"rtol": 1e-6})


# --------------------------------------------------------------------------------------------
# 4. Low precision: computed in float32, returned in the input dtype
# --------------------------------------------------------------------------------------------

LOW = [
    pytest.param(torch.float16, torch.tensor, id="torch-float16"),
    pytest.param(torch.bfloat16, torch.tensor, id="torch-bfloat16"),
    pytest.param(jnp.float16, jnp.asarray, id="jax-float16"),
    pytest.param(jnp.bfloat16, jnp.asarray, id="jax-bfloat16"),
    pytest.param(np.float16, np.asarray, id="numpy-float16"),
]


def as_float64(x: Any) -> np.ndarray:
    return to_numpy(x).astype(np.float64)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "column-weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("dtype", "make"), LOW)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_low_precision(case, dtype, make, reduction, weighted, rng):
    p64, t64 = pair(rng)
    w64 = make_weight("column", rng) if weighted else None
    p, t = make(p64, dtype=dtype), make(t64, dtype=dtype)
    w = None if w64 is None else make(w64, dtype=dtype)
    got = case(p, t, weight=w, reduction=reduction)
    assert got.dtype == dtype
    assert tuple(got.shape) == (SHAPE if reduction == "none" else ())
    # The float64 answer on the same (rounded) inputs; 1e-2 relative covers the output rounding.
    exact = [as_float64(a) for a in (p, t, w) if a is not None]
    expected = np_reduce(case.reference(exact[0], exact[1]), reduction, exact[2] if weighted else None)
    np.testing.assert_allclose(as_float64(got), expected, rtol=1e-2, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_low_precision_torch_gradient(case, dtype, rng):
    p64, t64 = pair(rng)
    p = torch.tensor(p64, dtype=dtype, requires_grad=True)
    t = torch.tensor(t64, dtype=dtype)
    (g,) = torch.autograd.grad(case(p, t, reduction="sum"), [p])
    assert g.dtype == dtype
    r = (p.detach().double() - t.double()).numpy()
    np.testing.assert_allclose(g.double().numpy(), case.dpred(r), rtol=1e-2, atol=1e-3)


# --------------------------------------------------------------------------------------------
# 5. Every backend: its own array type back, the same numbers
# --------------------------------------------------------------------------------------------


def _is_library(backend_name: str, x: Any) -> bool:
    return {
        "numpy": array_api_compat.is_numpy_array,
        "torch": array_api_compat.is_torch_array,
        "jax": array_api_compat.is_jax_array,
        "array_api_strict": lambda a: isinstance(a, array_api_strict._array_object.Array),
    }[backend_name](x)


@pytest.mark.parametrize("weight_kind", [None, "column", "scalar"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_backends(backend, case, reduction, weight_kind, rng):
    p64, t64 = pair(rng)
    w64 = make_weight(weight_kind, rng)
    got = case(backend(p64), backend(t64), weight=None if w64 is None else backend(w64), reduction=reduction)
    assert _is_library(backend.name, got), type(got)
    assert str(got.dtype).endswith("float64")
    assert tuple(got.shape) == (SHAPE if reduction == "none" else ())
    expected = np_reduce(case.reference(p64, t64), reduction, w64)
    close(got, expected, EXACT if case.fn is not log_cosh else CLOSE)
    # and bit-for-bit close to the NumPy backend
    close(got, case(p64, t64, weight=w64, reduction=reduction), EXACT)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_backends_float32_stays_float32(backend, case, rng):
    p64, t64 = pair(rng)
    got = case(backend(p64.astype(np.float32)), backend(t64.astype(np.float32)), reduction="none")
    assert _is_library(backend.name, got)
    assert str(got.dtype).endswith("float32")
    close(got, case.reference(p64.astype(np.float32).astype(np.float64), t64.astype(np.float32).astype(np.float64)),
          {"rtol": 1e-5, "atol": 1e-6})


# --------------------------------------------------------------------------------------------
# Conventions: reduction edge cases, weights and argument checks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_weighted_mean_conventions(case, rng):
    p, t = pair(rng)
    # a constant weight does not change the weighted mean; it scales the sum
    close(case(p, t, weight=np.full((SHAPE[0], 1), 3.0)), case(p, t), EXACT)
    close(case(p, t, weight=np.array(3.0), reduction="sum"), 3.0 * case(p, t, reduction="sum"), EXACT)
    # integer weights equal repeating rows
    w = np.array([[1], [2], [0], [1], [3], [1], [1]])
    close(case(p, t, weight=w), case(np.repeat(p, w[:, 0], axis=0), np.repeat(t, w[:, 0], axis=0)), EXACT)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_zero_total_weight_and_empty_batch(case):
    p, t = _requires_grad(np.array([[1.5, -2.0], [0.3, 4.0]]), np.zeros((2, 2)))
    out = case(p, t, weight=torch.zeros(2, 1, dtype=torch.float64))
    assert out.item() == 0.0
    gp, gt = torch.autograd.grad(out, [p, t])
    assert torch.equal(gp, torch.zeros_like(gp)) and torch.equal(gt, torch.zeros_like(gt))
    empty = np.zeros((0, 3))
    for reduction in ("mean", "sum"):
        assert float(case(empty, empty, reduction=reduction)) == 0.0
    assert case(empty, empty, reduction="none").shape == (0, 3)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_integer_targets_are_accepted(case, rng):
    p = rng.normal(size=SHAPE) * 3
    t = rng.integers(-3, 4, size=SHAPE)
    close(case(p, t, reduction="none"), case.reference(p, t.astype(np.float64)), CLOSE)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_argument_errors(case):
    p = np.zeros((4, 3))
    with pytest.raises(ValueError, match="shape"):
        case(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="weight"):
        case(p, p, weight=np.ones(4))  # (N,) would align with the wrong axis of an (N, D) loss
    with pytest.raises(ValueError, match="weight"):
        case(p, p, weight=-np.ones((4, 1)))
    with pytest.raises(ValueError, match="target"):
        case(p, np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="reduction"):
        case(p, p, reduction="avg")
    with pytest.raises(TypeError, match="different array libraries"):
        case(torch.zeros(4, 3), jnp.zeros((4, 3)))


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan")])
def test_huber_rejects_non_positive_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        huber(np.zeros(2), np.zeros(2), delta=delta)


@pytest.mark.parametrize("q", [-0.1, 1.1, float("nan")])
def test_quantile_rejects_q_outside_unit_interval(q):
    with pytest.raises(ValueError, match="q"):
        quantile(np.zeros(2), np.zeros(2), q=q)


def test_registered_names():
    assert losskit.get("l2") is mse and losskit.get("MEAN_SQUARED_ERROR") is mse
    assert losskit.get("l1") is mae
    assert losskit.get("huber-loss") is huber
    assert losskit.get("logcosh") is log_cosh
    assert losskit.get("pinball") is quantile
