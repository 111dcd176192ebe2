"""focal, categorical_focal, sparse_categorical_focal: values and gradients against optax, keras, a
restated formula and mpmath; their cross-entropy special cases; ignored entries; stability; bad input."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import keras
import mpmath
import numpy as np
import optax
import pytest
import torch
from array_api_compat import array_namespace

import losskit
import losskit.reference as reference
from losskit._core.primitives import log1m_softmax

from conftest import Backend, to_numpy

GAMMAS = [0.0, 0.5, 2.0, 5.0]
ALPHAS = [None, 0.25, 0.8]


def _data(rng: np.random.Generator, soft: bool) -> tuple[np.ndarray, np.ndarray]:
    logits = rng.normal(size=(6, 5)) * 3
    labels = rng.uniform(size=(6, 5)) if soft else (rng.uniform(size=(6, 5)) > 0.7).astype(np.float64)
    return logits, labels


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("gamma", GAMMAS)
def test_matches_optax_value_and_gradient(gamma: float, alpha: float | None, soft: bool,
                                          rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft)
    y = jnp.asarray(labels)
    expected = optax.sigmoid_focal_loss(jnp.asarray(logits), y, alpha=alpha, gamma=gamma)
    ours = losskit.focal(jnp.asarray(logits), y, gamma=gamma, alpha=alpha, from_logits=True, reduction="none")
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), rtol=1e-10, atol=1e-15)
    weight = jnp.asarray(rng.uniform(size=(6, 1)))
    grad = jax.grad(lambda x: losskit.focal(x, y, gamma=gamma, alpha=alpha, from_logits=True, weight=weight,
                                            reduction="sum"))(jnp.asarray(logits))
    ref = jax.grad(lambda x: jnp.sum(weight * optax.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)))(
        jnp.asarray(logits))
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref), rtol=1e-9, atol=1e-14)
    # probabilities in, same numbers (away from the clip)
    probs = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(losskit.focal(probs, labels, gamma=gamma, alpha=alpha, reduction="none"),
                               np.asarray(expected), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_matches_keras_binary_focal_crossentropy(gamma: float, alpha: float | None, rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft=False)
    expected = keras.losses.binary_focal_crossentropy(
        labels, logits, apply_class_balancing=alpha is not None, alpha=0.25 if alpha is None else alpha,
        gamma=gamma, from_logits=True)
    ours = losskit.focal(logits, labels, gamma=gamma, alpha=alpha, from_logits=True, reduction="none")
    # keras averages over the last axis (and its mean runs in float32)
    np.testing.assert_allclose(ours.mean(axis=-1), np.asarray(expected), rtol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
def test_gamma_zero_without_alpha_is_binary_cross_entropy(from_logits: bool, rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft=True)
    x = logits if from_logits else 1 / (1 + np.exp(-logits))
    a, b, c, d = (torch.tensor(x, requires_grad=True) for _ in range(4))
    y = torch.asarray(labels)
    focal = reference.focal(a, y, gamma=0.0, alpha=None, from_logits=from_logits)
    # bit-identical to the reference path of BCE, which does the same operations
    bce = reference.binary_cross_entropy(b, y, from_logits=from_logits)
    public = losskit.binary_cross_entropy(c, y, from_logits=from_logits)  # maybe torch's kernel
    fast = losskit.focal(d, y, gamma=0.0, alpha=None, from_logits=from_logits)  # maybe the fused kernel
    for out in (focal, bce, public, fast):
        out.backward()
    assert focal.item() == bce.item()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
    for other, grad in ((public, c.grad), (fast, d.grad)):
        torch.testing.assert_close(focal, other, rtol=1e-14, atol=0)
        torch.testing.assert_close(a.grad, grad, rtol=1e-13, atol=1e-17)


def test_torchvision_formula_default_alpha(rng: np.random.Generator) -> None:
    """torchvision.ops.sigmoid_focal_loss (alpha=0.25, gamma=2), restated: it cannot be installed beside
    the pinned torch, and optax (above) implements the same formula."""
    logits, labels = _data(rng, soft=False)
    p = 1 / (1 + np.exp(-logits))
    ce = -(labels * np.log(p) + (1 - labels) * np.log1p(-p))
    p_t = p * labels + (1 - p) * (1 - labels)
    expected = (0.25 * labels + 0.75 * (1 - labels)) * ce * (1 - p_t) ** 2
    np.testing.assert_allclose(losskit.focal(logits, labels, from_logits=True, reduction="none"), expected,
                               rtol=1e-10)


def test_easy_examples_are_down_weighted(rng: np.random.Generator) -> None:
    logits, labels = _data(rng, soft=False)
    focal = losskit.focal(logits, labels, from_logits=True, alpha=None, reduction="none")
    bce = losskit.binary_cross_entropy(logits, labels, from_logits=True, reduction="none")
    assert np.all(focal <= bce)
    right = (logits > 0) == (labels > 0.5)
    # for a hard label on the right side, 1 - p_t = sigmoid(-|x|): the factor vanishes quadratically
    factor = (1 / (1 + np.exp(np.abs(logits)))) ** 2
    np.testing.assert_allclose(focal[right] / bce[right], factor[right], rtol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", [0, 0.5, 1.0, 2.0])
def test_extreme_logits_and_soft_labels_are_finite(gamma: float, dtype: torch.dtype) -> None:
    logits = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4] * 3, dtype=dtype).requires_grad_(True)
    labels = torch.tensor([0.0] * 5 + [1.0] * 5 + [0.3] * 5, dtype=dtype)
    out = losskit.focal(logits, labels, gamma=gamma, from_logits=True, reduction="none")
    grad, = torch.autograd.grad(out.sum(), logits, create_graph=True)
    second, = torch.autograd.grad(grad.sum(), logits)  # the diagonal of the Hessian: elements are independent
    assert torch.isfinite(out).all() and torch.isfinite(grad).all() and torch.isfinite(second).all()
    right = torch.tensor([1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=torch.bool)  # right side by 1e4
    assert torch.all(out[right] == 0) and torch.all(grad[right] == 0)
    # the Hessian diagonal against central differences of the gradient, in float64 where they are reliable
    if dtype == torch.float64:
        x = logits.detach()[2:4].clone()  # logits 0 and 100 with label 0
        h = 1e-5

        def g(z: torch.Tensor) -> torch.Tensor:
            z = z.clone().requires_grad_(True)
            return torch.autograd.grad(losskit.focal(z, labels[2:4], gamma=gamma, from_logits=True,
                                                     reduction="sum"), z)[0]

        np.testing.assert_allclose(second[2:4].detach().numpy(), ((g(x + h) - g(x - h)) / (2 * h)).numpy(),
                                   rtol=1e-6, atol=1e-12)
    jax_grad = jax.grad(lambda x: losskit.focal(x, jnp.asarray(labels.numpy()), gamma=gamma, from_logits=True,
                                                reduction="sum"))(jnp.asarray(logits.detach().numpy()))
    assert np.all(np.isfinite(np.asarray(jax_grad)))


def test_probability_extremes_are_finite() -> None:
    p = torch.tensor([0.0, 1.0, 0.0, 1.0, 1e-45, 1 - 1e-7], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 0.5])
    out = losskit.focal(p, y, reduction="none")
    out.sum().backward()
    out = out.detach()
    assert torch.isfinite(out).all() and torch.isfinite(p.grad).all()
    assert out[0] == 0 and out[1] == 0
    # both wrong-side extremes: alpha_t * -log(tiny), the factor (1 - p_t)^gamma being 1
    assert float(out[2]) == pytest.approx(0.25 * 87.336544, rel=1e-6)
    assert float(out[3]) == pytest.approx(0.75 * 87.336544, rel=1e-6)


# ----------------------------------------------------------- softmax focal: categorical_focal, sparse_categorical_focal

C = 5
SOFTMAX_GAMMAS = [0.0, 0.5, 2.0, 3.0]
ALPHA_VECTOR = [0.25, 1.0, 0.5, 2.0, 0.75]
SOFTMAX_ALPHAS = [None, 0.5, ALPHA_VECTOR]
ALPHA_IDS = ["alpha_none", "alpha_scalar", "alpha_vector"]


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _multiclass(rng: np.random.Generator, shape: tuple[int, ...] = (8, C),
                axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, integer labels and their one-hot target. The softmax of these logits lies in about
    [0.005, 0.8], far from keras' clip to [1e-7, 1 - 1e-7]."""
    axis = axis % len(shape)
    logits = rng.normal(size=shape) * 1.5
    labels = rng.integers(0, shape[axis], size=shape[:axis] + shape[axis + 1:])
    onehot = np.moveaxis(np.eye(shape[axis])[labels], -1, axis)
    return logits, labels, onehot


def _smooth(y: np.ndarray, e: float, axis: int = -1) -> np.ndarray:
    return y * (1 - e) + e / y.shape[axis]


def _focal_formula(p: np.ndarray, y: np.ndarray, gamma: float, alpha: Any, axis: int = -1) -> np.ndarray:
    """-sum_c alpha_c y_c (1 - p_c)^gamma log p_c, restated in float64 NumPy."""
    a = np.asarray(1.0 if alpha is None else alpha, dtype=np.float64)
    if a.ndim == 1:
        shape = [1] * p.ndim
        shape[axis] = a.shape[0]
        a = a.reshape(shape)
    return -np.sum(a * y * (1 - p) ** gamma * np.log(p), axis=axis)


def _keras_alpha(alpha: Any) -> Any:
    return 1.0 if alpha is None else alpha  # keras has no None; its default is 0.25


@pytest.mark.parametrize("soft", [False, True], ids=["onehot", "soft"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("alpha", SOFTMAX_ALPHAS, ids=ALPHA_IDS)
@pytest.mark.parametrize("gamma", SOFTMAX_GAMMAS)
def test_categorical_focal_matches_keras(gamma: float, alpha: Any, from_logits: bool, label_smoothing: float,
                                         soft: bool, rng: np.random.Generator) -> None:
    logits, _, onehot = _multiclass(rng)
    target = rng.dirichlet(np.ones(C), size=8) if soft else onehot
    pred = logits if from_logits else _softmax(logits)
    kw = {"gamma": gamma, "from_logits": from_logits, "label_smoothing": label_smoothing}
    expected = np.asarray(keras.losses.categorical_focal_crossentropy(target, pred, alpha=_keras_alpha(alpha), **kw))
    assert expected.dtype == np.float64  # keras on JAX keeps float64, so the two agree to rounding
    ours = losskit.categorical_focal(pred, target, alpha=alpha, reduction="none", **kw)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)  # max rel. error seen: 6e-15
    if from_logits:  # (with probabilities, keras' rescaling to sum 1 is a projection: another gradient)
        y, weight = jnp.asarray(target), jnp.asarray(rng.uniform(size=8))
        grad = jax.grad(lambda x: losskit.categorical_focal(x, y, alpha=alpha, weight=weight, reduction="sum", **kw))(
            jnp.asarray(logits))
        ref = jax.grad(lambda x: jnp.sum(
            weight * keras.losses.categorical_focal_crossentropy(y, x, alpha=_keras_alpha(alpha), **kw)))(
            jnp.asarray(logits))
        np.testing.assert_allclose(np.asarray(grad), np.asarray(ref), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_categorical_focal_axis_1_matches_keras(gamma: float, from_logits: bool, rng: np.random.Generator) -> None:
    logits, _, onehot = _multiclass(rng, (4, C, 3), axis=1)
    pred = logits if from_logits else _softmax(logits, axis=1)
    kw = {"gamma": gamma, "from_logits": from_logits}
    expected = keras.losses.categorical_focal_crossentropy(onehot, pred, alpha=0.5, axis=1, **kw)
    ours = losskit.categorical_focal(pred, onehot, alpha=0.5, axis=1, reduction="none", **kw)
    assert ours.shape == (4, 3)
    np.testing.assert_allclose(ours, np.asarray(expected), rtol=1e-12, atol=0)
    # keras smooths with the size of the *last* axis and broadcasts a list alpha along it, whatever its
    # `axis`: with those, compare against keras on the class axis moved last.
    last = lambda x: np.moveaxis(x, 1, -1)  # noqa: E731
    expected = keras.losses.categorical_focal_crossentropy(last(onehot), last(pred), alpha=ALPHA_VECTOR,
                                                           label_smoothing=0.1, **kw)
    ours = losskit.categorical_focal(pred, onehot, alpha=ALPHA_VECTOR, label_smoothing=0.1, axis=1, reduction="none",
                                     **kw)
    np.testing.assert_allclose(ours, np.asarray(expected), rtol=1e-12, atol=0)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("gamma", [0, 0.0], ids=["int", "float"])
@pytest.mark.parametrize("sparse", [False, True], ids=["categorical", "sparse"])
def test_gamma_zero_without_alpha_is_cross_entropy(sparse: bool, gamma: float, from_logits: bool,
                                                   label_smoothing: float, rng: np.random.Generator) -> None:
    logits, labels, onehot = _multiclass(rng, (4, C, 3), axis=1)
    x = logits if from_logits else _softmax(logits, axis=1)
    if sparse:
        focal_loss, cross_entropy = losskit.sparse_categorical_focal, losskit.sparse_categorical_cross_entropy
        target = torch.asarray(labels)
    else:
        focal_loss, cross_entropy = losskit.categorical_focal, losskit.categorical_cross_entropy
        target = torch.asarray(onehot)
    kw = {"from_logits": from_logits, "axis": 1, "label_smoothing": label_smoothing,
          "weight": torch.asarray(rng.uniform(size=(4, 3)))}
    a = torch.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    focal = focal_loss(a, target, gamma=gamma, alpha=None, **kw)
    ce = cross_entropy(b, target, **kw)
    focal.backward()
    ce.backward()
    assert focal.item() == ce.item()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
    torch.testing.assert_close(focal_loss(a, target, gamma=gamma, alpha=None, reduction="none", **kw),
                               cross_entropy(b, target, reduction="none", **kw), rtol=0, atol=0)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("alpha", SOFTMAX_ALPHAS, ids=ALPHA_IDS)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_sparse_equals_categorical_on_the_one_hot_target(from_logits: bool, alpha: Any, label_smoothing: float,
                                                         reduction: str, rng: np.random.Generator) -> None:
    logits, labels, onehot = _multiclass(rng, (4, C, 3), axis=1)
    x = logits if from_logits else _softmax(logits, axis=1)
    kw = {"gamma": 2.0, "alpha": alpha, "from_logits": from_logits, "axis": 1, "label_smoothing": label_smoothing,
          "weight": torch.asarray(rng.uniform(size=(4, 3))), "reduction": reduction}
    a = torch.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    sparse = losskit.sparse_categorical_focal(a, torch.asarray(labels), **kw)
    dense = losskit.categorical_focal(b, torch.asarray(onehot), **kw)
    torch.testing.assert_close(sparse, dense, rtol=1e-13, atol=1e-15)
    sparse.sum().backward()
    dense.sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_ignored_entries_have_no_loss_no_gradient_and_no_share_in_the_mean(
        ignore_index: int, from_logits: bool, label_smoothing: float, rng: np.random.Generator) -> None:
    logits, labels, _ = _multiclass(rng, (4, C, 3), axis=1)
    labels = np.where(labels == 2, 3, labels)  # class 2 is the ignored label in one of the cases
    ignored = rng.uniform(size=labels.shape) < 0.4
    ignored[0, 0], ignored[0, 1] = True, False
    kept = ~ignored
    labels = np.where(ignored, ignore_index, labels)
    # extreme scores on the ignored entries: not even a 0 * inf may leak from them into the gradient
    logits = np.where(ignored[:, None, :], logits * 1e4, logits)
    x = logits if from_logits else _softmax(logits, axis=1)
    w = rng.uniform(0.5, 2.0, size=labels.shape)
    kw = {"gamma": 0.5, "alpha": ALPHA_VECTOR, "from_logits": from_logits, "label_smoothing": label_smoothing,
          "ignore_index": ignore_index}
    # references: the restated formula on the kept entries, and the loss of the kept entries alone
    kept_x, kept_labels, kept_w = np.moveaxis(x, 1, -1)[kept], labels[kept], w[kept]
    formula = kept_w * _focal_formula(_softmax(np.moveaxis(logits, 1, -1)[kept]),
                                      _smooth(np.eye(C)[kept_labels], label_smoothing), 0.5, ALPHA_VECTOR)
    t = torch.tensor(x, requires_grad=True)
    y, weight = torch.asarray(labels), torch.asarray(w)
    none = losskit.sparse_categorical_focal(t, y, axis=1, weight=weight, reduction="none", **kw).detach().numpy()
    np.testing.assert_array_equal(none[ignored], 0.0)
    np.testing.assert_allclose(none[kept], formula, rtol=1e-12)
    for reduction, expected in [("sum", formula.sum()), ("mean", formula.sum() / kept_w.sum())]:
        out = losskit.sparse_categorical_focal(t, y, axis=1, weight=weight, reduction=reduction, **kw)
        grad, = torch.autograd.grad(out, t)
        grad = np.moveaxis(grad.numpy(), 1, -1)
        k = torch.tensor(kept_x, requires_grad=True)
        alone = losskit.sparse_categorical_focal(k, torch.asarray(kept_labels), weight=torch.asarray(kept_w),
                                                 reduction=reduction, **kw)
        alone_grad, = torch.autograd.grad(alone, k)
        np.testing.assert_allclose(out.item(), expected, rtol=1e-12)
        np.testing.assert_allclose(out.item(), alone.item(), rtol=1e-14)
        np.testing.assert_array_equal(grad[ignored], 0.0)
        np.testing.assert_allclose(grad[kept], alone_grad.numpy(), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_all_ignored_costs_zero_with_zero_gradient(from_logits: bool, ignore_index: int,
                                                   rng: np.random.Generator) -> None:
    logits, _, _ = _multiclass(rng, (4, C, 3), axis=1)
    t = torch.tensor(logits if from_logits else _softmax(logits, axis=1), requires_grad=True)
    labels = torch.full((4, 3), ignore_index)
    kw = {"alpha": ALPHA_VECTOR, "label_smoothing": 0.1, "from_logits": from_logits, "axis": 1,
          "ignore_index": ignore_index}
    for reduction in ("mean", "sum"):
        out = losskit.sparse_categorical_focal(t, labels, reduction=reduction, **kw)
        grad, = torch.autograd.grad(out, t)
        assert out.item() == 0.0  # torch's cross_entropy gives NaN here
        torch.testing.assert_close(grad, torch.zeros_like(grad), rtol=0, atol=0)
    torch.testing.assert_close(losskit.sparse_categorical_focal(t, labels, reduction="none", **kw),
                               torch.zeros((4, 3), dtype=torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@pytest.mark.parametrize("alpha", [None, 0.25, 2, ALPHA_VECTOR], ids=["none", "scalar", "int", "vector"])
@pytest.mark.parametrize("gamma", SOFTMAX_GAMMAS)
def test_softmax_focal_matches_the_restated_formula(gamma: float, alpha: Any, from_logits: bool,
                                                    rng: np.random.Generator) -> None:
    logits, labels, onehot = _multiclass(rng)
    p = _softmax(logits)
    x = logits if from_logits else p
    soft = rng.dirichlet(np.ones(C), size=8)
    w = rng.uniform(size=8)
    kw = {"gamma": gamma, "alpha": alpha, "from_logits": from_logits}

    def check(loss: Any, target: np.ndarray, expected: np.ndarray, **extra: Any) -> None:
        np.testing.assert_allclose(loss(x, target, reduction="none", **kw, **extra), expected, rtol=1e-12)
        np.testing.assert_allclose(loss(x, target, weight=w, reduction="sum", **kw, **extra), np.sum(w * expected),
                                   rtol=1e-12)
        # alpha scales the loss but stays out of the mean's denominator (as keras; unlike class_weight)
        np.testing.assert_allclose(loss(x, target, weight=w, reduction="mean", **kw, **extra),
                                   np.sum(w * expected) / np.sum(w), rtol=1e-12)

    check(losskit.categorical_focal, soft, _focal_formula(p, soft, gamma, alpha))
    check(losskit.categorical_focal, soft, _focal_formula(p, _smooth(soft, 0.3), gamma, alpha), label_smoothing=0.3)
    check(losskit.sparse_categorical_focal, labels, _focal_formula(p, onehot, gamma, alpha))
    check(losskit.sparse_categorical_focal, labels, _focal_formula(p, _smooth(onehot, 0.3), gamma, alpha),
          label_smoothing=0.3)


# Extreme logits, against mpmath.

def _mp_focal(x: list[Any], y: list[float], gamma: float) -> Any:
    """-sum_c y_c (1 - p_c)^gamma log p_c, with 1 - p_c = r/(1 + r) and log p_c = -log1p(r) from the rivals'
    share r = sum_{j != c} exp(x_j - x_c): no cancellation, also where p_c is 1 to any working precision."""
    total = mpmath.mpf(0)
    for c, yc in enumerate(y):
        if yc:
            r = mpmath.fsum(mpmath.exp(x[j] - x[c]) for j in range(len(x)) if j != c)
            total += yc * (r / (1 + r)) ** gamma * mpmath.log1p(r)
    return total


EXTREME_ROWS = [  # (logits in units of the extreme size b, label)
    ([1, -1, 0], 0),   # confidently right: p_true rounds to 1
    ([-1, 1, 0], 0),   # confidently wrong: loss 2b
    ([1, 1, -1], 1),   # the label ties the top class: p = 1/2 (argmax picks the other one as the top)
    ([0, -1, 1], 2),   # right, top class last
    ([1, 0, -1], 2),   # wrong: p_true = exp(-2b)
]


@pytest.mark.parametrize("sparse", [False, True], ids=["categorical_smoothed", "sparse"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("size", [100.0, 1e4])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_extreme_logits_value_gradient_and_second_derivative_against_mpmath(
        gamma: float, size: float, dtype: torch.dtype, sparse: bool, rng: np.random.Generator) -> None:
    logits = np.array([row for row, _ in EXTREME_ROWS], dtype=np.float64) * size
    labels = np.array([label for _, label in EXTREME_ROWS])
    smoothing = 0.0 if sparse else 0.1  # smoothed, every class's term counts, exp(-2b) ones included
    target = _smooth(np.eye(3)[labels], smoothing)
    v = rng.uniform(-1, 1, size=logits.shape)
    x = torch.tensor(logits, dtype=dtype, requires_grad=True)
    if sparse:
        loss = losskit.sparse_categorical_focal(x, torch.asarray(labels), gamma=gamma, from_logits=True,
                                                reduction="none")
    else:
        loss = losskit.categorical_focal(x, torch.tensor(np.eye(3)[labels], dtype=dtype), gamma=gamma,
                                         from_logits=True, label_smoothing=smoothing, reduction="none")
    grad, = torch.autograd.grad(loss.sum(), x, create_graph=True)
    # the Hessian times v
    second, = torch.autograd.grad((torch.tensor(v, dtype=dtype) * grad).sum(), x, retain_graph=True)
    # the gradient sums to 0 along the classes (a softmax ignores a shift of its logits): so does its derivative
    shift, = torch.autograd.grad(grad.sum(), x)
    with mpmath.workdps(50):
        expected, expected_grad, expected_second = [], [], []
        for row, y, vrow in zip(logits.tolist(), target.tolist(), v.tolist(), strict=True):
            def f(*z: Any, y: list[float] = y) -> Any:
                return _mp_focal(list(z), y, gamma)

            point = [mpmath.mpf(z) for z in row]
            units = np.eye(3, dtype=int)
            expected.append(float(f(*point)))
            expected_grad.append([float(mpmath.diff(f, point, tuple(u))) for u in units])
            expected_second.append([float(mpmath.fsum(vrow[k] * mpmath.diff(f, point, tuple(units[j] + units[k]))
                                                      for k in range(3))) for j in range(3)])
    # the logits are exact in either dtype; the loss's condition number is about b: log p = x - logsumexp(x)
    # carries an absolute error of an ulp of b
    eps = torch.finfo(dtype).eps
    tol = {"rtol": 4 * eps, "atol": 4 * eps * size}
    out = loss.detach().numpy()
    assert np.all(np.isfinite(out)) and torch.isfinite(grad).all() and torch.isfinite(second).all()
    np.testing.assert_allclose(out, expected, **tol)
    np.testing.assert_allclose(grad.detach().numpy(), expected_grad, **tol)
    np.testing.assert_allclose(second.numpy(), expected_second, **tol)
    np.testing.assert_allclose(shift.numpy(), 0.0, atol=tol["atol"])
    if sparse:  # the confidently right row: its loss is tiny (here 0: log p rounds to 0), its gradient finite
        assert expected[0] < 1e-40
        np.testing.assert_allclose(out[0], expected[0], rtol=0, atol=1e-40)


def _mp_log1m_softmax(row: list[float]) -> list[Any]:
    """log(1 - p_c) = log(r / (1 + r)), r = sum_{j != c} exp(x_j - x_c): exact where p_c rounds to 1."""
    out = []
    for c in range(len(row)):
        r = mpmath.fsum(mpmath.exp(mpmath.mpf(row[j]) - row[c]) for j in range(len(row)) if j != c)
        out.append(mpmath.log(r) - mpmath.log1p(r))
    return out


ROUNDS_TO_ONE = [[40.0, 0.0, -1.0], [40.0, 0.5, -3.0, 2.0], [-2.0, 50.0, 3.0], [1e4, 0.0, -1.0], [3.0, 3.0, 42.0]]


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("row", ROUNDS_TO_ONE, ids=str)
def test_log1m_softmax_keeps_the_focal_factor_exact_where_p_rounds_to_1(row: list[float], gamma: float) -> None:
    """The factor (1 - p_c)^gamma of the logits path: log(1 - p) of the top class comes from the rivals'
    log-sum-exp, so it is exact (to 1e-12) where p rounds to 1 and 1 - p would be 0; so is its gradient."""
    assert _softmax(np.array(row)).max() == 1.0  # the premise: 1 - p computed as a difference is 0
    x = torch.tensor(row, dtype=torch.float64, requires_grad=True)
    log_miss = log1m_softmax(array_namespace(x), x, 0)
    factor = torch.exp(gamma * log_miss)
    grad, = torch.autograd.grad(factor[int(np.argmax(row))], x)
    with mpmath.workdps(50):
        expected = _mp_log1m_softmax(row)
        top = int(np.argmax(row))

        def top_factor(*z: Any) -> Any:
            return mpmath.exp(gamma * _mp_log1m_softmax(list(z))[top])

        point = [mpmath.mpf(z) for z in row]
        units = np.eye(len(row), dtype=int)
        expected_grad = [float(mpmath.diff(top_factor, point, tuple(u))) for u in units]
        expected_factor = [float(mpmath.exp(gamma * e)) for e in expected]
        expected = [float(e) for e in expected]
    np.testing.assert_allclose(log_miss.detach().numpy(), expected, rtol=1e-14, atol=0)  # exact on these rows
    np.testing.assert_allclose(factor.detach().numpy(), expected_factor, rtol=1e-12, atol=0)  # max seen: 6e-15
    np.testing.assert_allclose(grad.numpy(), expected_grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("lib", [np.asarray, torch.asarray], ids=["reference", "torch_fast_path"])
@pytest.mark.parametrize("sparse", [False, True], ids=["categorical", "sparse"])
def test_tied_large_logits_keep_full_precision_in_float32(sparse: bool, lib: Any) -> None:
    """Found by tests/test_fuzz.py: log(1 - p) of a class tied with the top at logits of 1e4 took
    ``p = exp(x - logsumexp(x))``, whose log-sum-exp rounds to an ulp of 1e4 in float32: the loss was
    3e-4 off. The logits' differences come first now: float32 gives float64's value to 1e-6."""
    logits = np.array([[1e4, 0.586, -1e4, 1e4], [-1.9, -2.2, -1e4, 0.5]], dtype=np.float32)
    labels = np.array([0, 3])
    kw: dict[str, Any] = {"from_logits": True, "gamma": 1.5, "reduction": "none"}

    def loss(x: np.ndarray) -> np.ndarray:
        if sparse:
            return to_numpy(losskit.sparse_categorical_focal(lib(x), lib(labels), **kw))
        return to_numpy(losskit.categorical_focal(lib(x), lib(np.eye(4, dtype=x.dtype)[labels]), **kw))

    np.testing.assert_allclose(loss(logits), loss(logits.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.0])
def test_focal_factor_near_p_1_is_exact_through_the_public_loss(gamma: float) -> None:
    """Where p_true is close to 1 but below it, 1 - p as a difference keeps few digits. The focal loss
    over the cross-entropy (the same log p in both) is the factor (1 - p)^gamma: exact to 1e-12."""
    # top logit 0: logsumexp adds the rivals' tiny share to 0, not to an ulp of a large logit, so log p != 0
    logits = np.array([[0.0, -30.0, -31.0], [0.0, -35.0, -36.0], [-33.0, 0.0, -36.0], [-32.5, -35.0, 0.0]])
    labels = np.array([0, 0, 1, 2])
    kw = {"from_logits": True, "reduction": "none"}
    ratio = (losskit.sparse_categorical_focal(logits, labels, gamma=gamma, **kw)
             / losskit.sparse_categorical_cross_entropy(logits, labels, **kw))
    with mpmath.workdps(50):
        expected = np.array([float(mpmath.exp(gamma * _mp_log1m_softmax(row)[label]))
                             for row, label in zip(logits.tolist(), labels.tolist(), strict=True)])
    np.testing.assert_allclose(ratio, expected, rtol=1e-12, atol=0)
    naive = (1 - _softmax(logits)[np.arange(4), labels]) ** gamma  # what the test tells apart
    assert np.all(np.abs(naive / expected - 1) > 1e-4)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_confidently_right_loss_and_gradient_are_exact_relative_to_mpmath(gamma: float) -> None:
    row = [40.0, 0.0, -1.0]
    x = torch.tensor([row], dtype=torch.float64, requires_grad=True)
    loss = losskit.sparse_categorical_focal(x, torch.tensor([0]), gamma=gamma, from_logits=True, reduction="sum")
    grad, = torch.autograd.grad(loss, x)
    with mpmath.workdps(50):
        def f(*z: Any) -> Any:
            return _mp_focal(list(z), [1.0, 0.0, 0.0], gamma)

        point = [mpmath.mpf(z) for z in row]
        expected = float(f(*point))
        expected_grad = [float(mpmath.diff(f, point, tuple(u))) for u in np.eye(3, dtype=int)]
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(grad.numpy()[0], expected_grad, rtol=1e-12)


# Bad input: the error names the argument.

_P = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
_Y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
_L = np.array([1, 2])
SOFTMAX_FOCAL_BAD: list[tuple[str, Any, type[Exception], str]] = [
    ("alpha negative", lambda f, t: f(_P, t, alpha=-0.5), ValueError, "alpha must be finite and non-negative"),
    ("alpha bool", lambda f, t: f(_P, t, alpha=True), TypeError, "alpha"),
    ("alpha vector negative", lambda f, t: f(_P, t, alpha=[1.0, -1.0, 1.0]), ValueError, "alpha.*non-negative"),
    ("alpha vector nan", lambda f, t: f(_P, t, alpha=[1.0, np.nan, 1.0]), ValueError, "alpha"),
    ("alpha short", lambda f, t: f(_P, t, alpha=[1.0, 1.0]), ValueError, r"alpha must have shape \(3,\)"),
    ("alpha 2-d", lambda f, t: f(_P, t, alpha=[[1.0, 1.0, 1.0]]), ValueError, r"alpha must have shape \(3,\)"),
    ("alpha nan", lambda f, t: f(_P, t, alpha=float("nan")), ValueError, "alpha"),
    ("alpha string", lambda f, t: f(_P, t, alpha="0.25"), TypeError, "alpha"),
    ("gamma negative", lambda f, t: f(_P, t, gamma=-1.0), ValueError, "gamma"),
    ("gamma nan", lambda f, t: f(_P, t, gamma=float("nan")), ValueError, "gamma"),
    ("gamma string", lambda f, t: f(_P, t, gamma="2"), TypeError, "gamma"),
    ("label_smoothing above 1", lambda f, t: f(_P, t, label_smoothing=1.5), ValueError, "label_smoothing"),
    ("not summing to 1", lambda f, t: f(_P * 0.9, t), ValueError, "pred must sum to 1.*from_logits=True"),
    ("logits as probabilities", lambda f, t: f(_P * 3 - 1, t), ValueError, r"pred must lie in \[0, 1\]"),
    ("axis out of range", lambda f, t: f(_P, t, axis=2), ValueError, "axis"),
]


@pytest.mark.parametrize("sparse", [False, True], ids=["categorical", "sparse"])
@pytest.mark.parametrize(("call", "error", "match"), [row[1:] for row in SOFTMAX_FOCAL_BAD],
                         ids=[row[0] for row in SOFTMAX_FOCAL_BAD])
def test_softmax_focal_bad_hyper_parameters_and_predictions(call: Any, error: type[Exception], match: str,
                                                             sparse: bool) -> None:
    loss, target = (losskit.sparse_categorical_focal, _L) if sparse else (losskit.categorical_focal, _Y)
    with pytest.raises(error, match=match):
        call(loss, target)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: losskit.categorical_focal(np.ones((2, 1)), np.ones((2, 1))), ValueError, "pred.*at least 2 classes"),
    (lambda: losskit.categorical_focal(np.ones((2, 1)), np.ones((2, 1)), from_logits=True), ValueError,
     "pred.*at least 2 classes"),
    (lambda: losskit.sparse_categorical_focal(np.ones((2, 1)), np.zeros(2, dtype=int)), ValueError,
     "pred.*at least 2 classes"),
    (lambda: losskit.sparse_categorical_focal(np.ones((1, 2)), np.zeros(2, dtype=int), axis=0, from_logits=True),
     ValueError, "pred.*at least 2 classes along axis 0"),
    (lambda: losskit.sparse_categorical_focal(_P, np.array([1, 3])), ValueError, r"target.*\[0, 3\).*found 3"),
    (lambda: losskit.sparse_categorical_focal(_P, np.array([-1, 0])), ValueError, "target.*found -1"),
    (lambda: losskit.sparse_categorical_focal(_P, np.array([-100, 0]), ignore_index=None), ValueError, "target"),
    (lambda: losskit.sparse_categorical_focal(_P, np.array([1.0, 2.0])), TypeError,
     "target must hold integer class labels"),
    (lambda: losskit.sparse_categorical_focal(_P, np.array([True, False])), TypeError, "target"),
    (lambda: losskit.sparse_categorical_focal(_P, _L, ignore_index=1.5), TypeError, "ignore_index"),
    (lambda: losskit.categorical_focal(_P, _Y * 2), ValueError, r"target must lie in \[0, 1\]"),
    (lambda: losskit.categorical_focal(_P, -_Y), ValueError, r"target must lie in \[0, 1\]"),
    (lambda: losskit.categorical_focal(_P, _Y[:, :2]), ValueError, "target"),
], ids=["one class", "one class logits", "sparse one class", "sparse one class axis 0", "label too large",
        "label negative", "ignored only when asked", "float labels", "bool labels", "ignore_index float",
        "target above 1", "target below 0", "target shape"])
def test_softmax_focal_bad_targets(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# Every backend, jit and grad.

@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_softmax_focal_same_numbers_on_every_backend(backend: Backend, from_logits: bool,
                                                     rng: np.random.Generator) -> None:
    logits, labels, onehot = _multiclass(rng, (4, C, 3), axis=1)
    labels[0, 0] = -100
    kept = labels != -100
    p = _softmax(logits, axis=1)
    x = logits if from_logits else p
    w = rng.uniform(size=(4, 3))
    kw = {"gamma": 2.0, "alpha": backend(np.array(ALPHA_VECTOR)), "from_logits": from_logits, "axis": 1,
          "label_smoothing": 0.1, "weight": backend(w)}
    formula = w * _focal_formula(p, _smooth(onehot, 0.1, axis=1), 2.0, ALPHA_VECTOR, axis=1)
    sparse_formula = np.where(kept, formula, 0.0)
    expected = {
        losskit.categorical_focal: (onehot, {"none": formula, "sum": formula.sum(), "mean": formula.sum() / w.sum()}),
        losskit.sparse_categorical_focal: (labels, {"none": sparse_formula, "sum": sparse_formula.sum(),
                                                    "mean": sparse_formula.sum() / w[kept].sum()}),
    }
    for loss, (target, by_reduction) in expected.items():
        for reduction, want in by_reduction.items():
            out = loss(backend(x), backend(target), reduction=reduction, **kw)
            assert type(out).__module__.split(".")[0] == type(backend(x)).__module__.split(".")[0]
            np.testing.assert_allclose(to_numpy(out), want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("sparse", [False, True], ids=["categorical", "sparse"])
def test_softmax_focal_jit_and_grad_agree_with_torch(sparse: bool, rng: np.random.Generator) -> None:
    logits, labels, onehot = _multiclass(rng, (4, C, 3), axis=1)
    labels[1, 2] = -100
    loss = losskit.sparse_categorical_focal if sparse else losskit.categorical_focal
    target = labels if sparse else onehot
    w = rng.uniform(size=(4, 3))
    kw = {"gamma": 0.5, "alpha": ALPHA_VECTOR, "from_logits": True, "axis": 1, "label_smoothing": 0.1}
    t = torch.tensor(logits, requires_grad=True)
    expected = loss(t, torch.asarray(target), weight=torch.asarray(w), **kw)
    expected.backward()
    expected_none = loss(logits, target, reduction="none", **kw)

    def cost(x: Any, y: Any, weight: Any) -> Any:
        return loss(x, y, weight=weight, **kw)

    args = (jnp.asarray(logits), jnp.asarray(target), jnp.asarray(w))
    np.testing.assert_allclose(float(jax.jit(cost)(*args)), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(cost))(*args)), t.grad.numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(np.asarray(jax.grad(cost)(*args)), t.grad.numpy(), rtol=1e-10, atol=1e-15)
    none = jax.jit(lambda x, y: loss(x, y, reduction="none", **kw))(*args[:2])
    np.testing.assert_allclose(np.asarray(none), expected_none, rtol=1e-12, atol=0)
