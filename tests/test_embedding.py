"""Embedding losses: triplet, batch_triplet, contrastive, info_nce.

Values and gradients against torch, optax and pytorch-metric-learning (pml), brute-force loops over the
triplets and pairs, a batch whose mined triplets are known by hand, stability at identical vectors and
extreme scales, every backend, jax.jit, and bad input.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import distances, losses, miners, reducers

import losskit

from conftest import Backend, to_numpy

DISTANCES = ["euclidean", "squared_euclidean", "cosine"]
MININGS = ["all", "hard", "semi_hard"]
MARGINS = {"euclidean": 1.0, "squared_euclidean": 4.0, "cosine": 0.3}  # a few semi-hard triplets for each


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _distance(x: np.ndarray, y: np.ndarray, distance: str) -> float:
    if distance == "cosine":
        return float(1.0 - _unit(x) @ _unit(y))
    squared = float(np.sum((x - y) ** 2))
    return squared if distance == "squared_euclidean" else float(np.sqrt(squared))


def _pml_distance(distance: str, normalize: bool = False) -> Any:
    if distance == "cosine":
        return distances.CosineSimilarity()  # a similarity: pml flips the margin's sign
    return distances.LpDistance(normalize_embeddings=normalize, power=2 if distance == "squared_euclidean" else 1)


def _batch(rng: np.random.Generator, n: int = 12, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.permutation(np.arange(n) % classes)
    return rng.normal(size=(n, 5)), labels


# ---------------------------------------------------------------------------------------------- triplet


@pytest.mark.parametrize("eps", [1e-6, 0.0, 1e-2])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.3, 0.05])
def test_triplet_matches_torch_value_and_gradient(margin: float, swap: bool, eps: float,
                                                  rng: np.random.Generator) -> None:
    a = rng.normal(size=(16, 4))
    arrays = [a, a + 0.7 * rng.normal(size=(16, 4)), rng.normal(size=(16, 4))]
    ours = [torch.tensor(x, requires_grad=True) for x in arrays]
    ref = [torch.tensor(x, requires_grad=True) for x in arrays]
    out = losskit.triplet(*ours, margin=margin, swap=swap, eps=eps, reduction="none")
    expected = F.triplet_margin_loss(*ref, margin=margin, swap=swap, eps=eps, reduction="none")
    assert 0 < int((expected > 0).sum()) < 16  # both sides of the hinge are exercised
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)
    for reduction in ("mean", "sum"):
        value = losskit.triplet(*ours, margin=margin, swap=swap, eps=eps, reduction=reduction)
        torch.testing.assert_close(value, F.triplet_margin_loss(*ref, margin=margin, swap=swap, eps=eps,
                                                                reduction=reduction), rtol=1e-12, atol=1e-14)
    out.sum().backward()
    expected.sum().backward()
    for x, y in zip(ours, ref, strict=True):
        torch.testing.assert_close(x.grad, y.grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_cosine_matches_torch_with_distance_function(swap: bool, rng: np.random.Generator) -> None:
    arrays = [rng.normal(size=(9, 4)) for _ in range(3)]
    ours = [torch.tensor(x, requires_grad=True) for x in arrays]
    ref = [torch.tensor(x, requires_grad=True) for x in arrays]
    out = losskit.triplet(*ours, margin=0.4, distance="cosine", swap=swap, reduction="sum")
    expected = F.triplet_margin_with_distance_loss(
        *ref, distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y, eps=1e-6), margin=0.4, swap=swap,
        reduction="sum")
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)
    out.backward()
    expected.backward()
    for x, y in zip(ours, ref, strict=True):
        torch.testing.assert_close(x.grad, y.grad, rtol=1e-10, atol=1e-14)


def test_triplet_matches_optax_without_eps(rng: np.random.Generator) -> None:
    """optax adds eps under the square root, torch (and losskit) to the difference: they agree at eps=0."""
    a, p, n = (jnp.asarray(rng.normal(size=(9, 4))) for _ in range(3))
    expected = optax.losses.triplet_margin_loss(a, p, n, margin=0.7, eps=0.0)
    ours = losskit.triplet(a, p, n, margin=0.7, eps=0.0, reduction="none")
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), rtol=1e-12, atol=1e-14)
    grads = jax.grad(lambda *x: losskit.triplet(*x, margin=0.7, eps=0.0, reduction="sum"), argnums=(0, 1, 2))(a, p, n)
    ref = jax.grad(lambda *x: jnp.sum(optax.losses.triplet_margin_loss(*x, margin=0.7, eps=0.0)),
                   argnums=(0, 1, 2))(a, p, n)
    for g, r in zip(grads, ref, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-10, atol=1e-14)
    # with its default eps=1e-6 optax moves every distance by at most sqrt(eps)
    with_eps = optax.losses.triplet_margin_loss(a, p, n, margin=0.7)
    assert 0 < float(jnp.max(jnp.abs(with_eps - expected))) <= 2e-3


@pytest.mark.parametrize("distance", DISTANCES)
def test_triplet_closed_form_with_weights(distance: str, rng: np.random.Generator) -> None:
    a, p, n = (rng.normal(size=(7, 3)) for _ in range(3))
    weight = rng.uniform(0.0, 2.0, size=7)
    expected = np.array([max(0.0, _distance(a[i], p[i], distance) - _distance(a[i], n[i], distance) + 0.5)
                         for i in range(7)])
    kwargs: dict[str, Any] = {"margin": 0.5, "distance": distance, "eps": 0.0}
    np.testing.assert_allclose(losskit.triplet(a, p, n, **kwargs, reduction="none"), expected, rtol=1e-12)
    np.testing.assert_allclose(losskit.triplet(a, p, n, **kwargs, weight=weight),
                               np.sum(weight * expected) / weight.sum(), rtol=1e-12)


def test_triplet_margin_zero_is_accepted_where_torch_refuses(rng: np.random.Generator) -> None:
    a, p, n = (rng.normal(size=(5, 3)) for _ in range(3))
    with pytest.raises(ValueError, match="margin"):
        F.triplet_margin_loss(*map(torch.tensor, (a, p, n)), margin=0.0)
    expected = np.maximum(np.linalg.norm(a - p, axis=1) - np.linalg.norm(a - n, axis=1), 0.0)
    np.testing.assert_allclose(losskit.triplet(a, p, n, margin=0.0, eps=0.0, reduction="none"), expected, rtol=1e-12)


def test_triplet_swap_uses_the_closer_negative() -> None:
    a, p, n = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[2.5, 0.0]])
    # d(a, p) = 1, d(a, n) = 2.5, d(p, n) = 1.5
    assert float(losskit.triplet(a, p, n, margin=1.0, eps=0.0)) == 0.0
    assert float(losskit.triplet(a, p, n, margin=1.0, eps=0.0, swap=True)) == pytest.approx(0.5, rel=1e-15)


# ---------------------------------------------------------------------------------------------- batch_triplet


def _reference_batch_triplet(x: np.ndarray, y: np.ndarray, margin: float, mining: str, distance: str,
                             average: str, weight: np.ndarray) -> tuple[np.ndarray, float]:
    """Loops over every triplet: the per-anchor loss and the weighted mean."""
    n = len(y)
    d = np.array([[_distance(x[i], x[j], distance) if i != j else 0.0 for j in range(n)] for i in range(n)])
    loss, numerator, denominator = np.zeros(n), 0.0, 0.0
    for a in range(n):
        positives = [p for p in range(n) if p != a and y[p] == y[a]]
        negatives = [k for k in range(n) if y[k] != y[a]]
        if mining == "hard":
            triplets = ([(max(positives, key=lambda p: d[a, p]), min(negatives, key=lambda k: d[a, k]))]
                        if positives and negatives else [])
        else:
            triplets = list(itertools.product(positives, negatives))
            if mining == "semi_hard":
                triplets = [(p, k) for p, k in triplets if d[a, p] < d[a, k] < d[a, p] + margin]
        values = [max(0.0, d[a, p] - d[a, k] + margin) for p, k in triplets]
        loss[a] = sum(values)
        counted = len(values) if average == "mined" else sum(v > 0 for v in values)
        numerator += weight[a] * loss[a]
        denominator += weight[a] * counted
    return loss, numerator / denominator if denominator else 0.0


@pytest.mark.parametrize("average", ["nonzero", "mined"])
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("mining", MININGS)
def test_batch_triplet_matches_brute_force_loops(mining: str, distance: str, average: str,
                                                 rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=11, classes=4)
    weight = rng.uniform(0.0, 2.0, size=11)
    margin = MARGINS[distance]
    kwargs: dict[str, Any] = {"margin": margin, "mining": mining, "distance": distance, "average": average}
    loss, mean = _reference_batch_triplet(x, y, margin, mining, distance, average, weight)
    assert np.count_nonzero(loss) >= 3
    np.testing.assert_allclose(losskit.batch_triplet(x, y, **kwargs, reduction="none"), loss, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(losskit.batch_triplet(x, y, **kwargs, weight=weight), mean, rtol=1e-10)
    np.testing.assert_allclose(losskit.batch_triplet(x, y, **kwargs, weight=weight, reduction="sum"),
                               np.sum(weight * loss), rtol=1e-10)


def _pml_triplet(mining: str, distance: str, margin: float, normalize: bool = False,
                 average: str = "nonzero") -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    reducer = reducers.AvgNonZeroReducer() if average == "nonzero" else reducers.MeanReducer()
    loss = losses.TripletMarginLoss(margin=margin, distance=_pml_distance(distance, normalize), reducer=reducer)
    miner = None
    if mining == "hard":
        miner = miners.BatchHardMiner(distance=_pml_distance(distance, normalize))
    elif mining == "semi_hard":
        miner = miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard",
                                          distance=_pml_distance(distance, normalize))

    def call(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss(x, y, miner(x, y) if miner is not None else None)

    return call


@pytest.mark.parametrize("average", ["nonzero", "mined"])
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("mining", MININGS)
def test_batch_triplet_matches_pml_value_and_gradient(mining: str, distance: str, average: str,
                                                      rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=16, classes=4)
    margin = MARGINS[distance]
    ours_x, ref_x = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    labels = torch.tensor(y)
    out = losskit.batch_triplet(ours_x, labels, margin=margin, mining=mining, distance=distance, average=average)
    expected = _pml_triplet(mining, distance, margin, average=average)(ref_x, labels)
    assert expected.item() > 0
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-14)
    out.backward()
    expected.backward()
    torch.testing.assert_close(ours_x.grad, ref_x.grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("mining", MININGS)
def test_batch_triplet_on_normalised_embeddings_is_pml_with_its_defaults(mining: str,
                                                                         rng: np.random.Generator) -> None:
    """pml's defaults: LpDistance(normalize_embeddings=True), margin 0.05, AvgNonZeroReducer."""
    x, y = _batch(rng, n=16, classes=4)
    ours_x, ref_x = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    labels = torch.tensor(y)
    out = losskit.batch_triplet(F.normalize(ours_x, dim=1), labels, margin=0.05, mining=mining)
    miner = {"all": None, "hard": miners.BatchHardMiner(),
             "semi_hard": miners.TripletMarginMiner(margin=0.05, type_of_triplets="semihard")}[mining]
    expected = losses.TripletMarginLoss()(ref_x, labels, miner(ref_x, labels) if miner is not None else None)
    assert expected.item() > 0
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-14)
    out.backward()
    expected.backward()
    torch.testing.assert_close(ours_x.grad, ref_x.grad, rtol=1e-8, atol=1e-12)


# On a line: anchor A at 0 and its positive P at 1 (class 0); three negatives of their own classes:
# N1 at 0.5 (hard: closer than P), N2 at 1.2 (semi-hard for A with margin 0.5: 1 < 1.2 < 1.5), N3 at 3 (easy).
# Seen from P: d(P, A) = 1, and the negatives are 0.5, 0.2 and 2 away: none semi-hard.
HAND_X = np.array([[0.0], [1.0], [0.5], [1.2], [3.0]])
HAND_Y = np.array([0, 0, 1, 2, 3])
HAND = {
    # mining: (per-anchor loss, mean over non-zero triplets, mean over mined triplets)
    "hard": ([1.0 - 0.5 + 0.5, 1.0 - 0.2 + 0.5, 0, 0, 0], (1.0 + 1.3) / 2, (1.0 + 1.3) / 2),
    "semi_hard": ([1.0 - 1.2 + 0.5, 0, 0, 0, 0], 0.3, 0.3),
    "all": ([1.0 + 0.3 + 0.0, 1.0 + 1.3 + 0.0, 0, 0, 0], 3.6 / 4, 3.6 / 6),
}


@pytest.mark.parametrize("mining", MININGS)
def test_hand_built_batch_mines_the_known_triplets(mining: str) -> None:
    loss, nonzero, mined = HAND[mining]
    out = losskit.batch_triplet(HAND_X, HAND_Y, margin=0.5, mining=mining, reduction="none")
    np.testing.assert_allclose(out, loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(losskit.batch_triplet(HAND_X, HAND_Y, margin=0.5, mining=mining), nonzero, rtol=1e-12)
    np.testing.assert_allclose(losskit.batch_triplet(HAND_X, HAND_Y, margin=0.5, mining=mining, average="mined"),
                               mined, rtol=1e-12)
    # pml mines the same triplets
    pml = _pml_triplet(mining, "euclidean", 0.5)(torch.tensor(HAND_X), torch.tensor(HAND_Y))
    assert float(pml) == pytest.approx(nonzero, rel=1e-12)


def test_hand_built_batch_hard_and_semi_hard_are_not_swapped() -> None:
    hard = losskit.batch_triplet(HAND_X, HAND_Y, margin=0.5, mining="hard", reduction="none")
    semi = losskit.batch_triplet(HAND_X, HAND_Y, margin=0.5, mining="semi_hard", reduction="none")
    # for anchor A the hard negative is N1 (0.5 away, loss 1.0), the semi-hard one N2 (1.2 away, loss 0.3)
    assert float(hard[0]) == pytest.approx(1.0, rel=1e-12)
    assert float(semi[0]) == pytest.approx(0.3, rel=1e-12)
    # the gradient of the semi-hard loss moves A only against N2, that of the hard loss only against N1
    x = torch.tensor(HAND_X, requires_grad=True)
    losskit.batch_triplet(x, torch.tensor(HAND_Y), margin=0.5, mining="semi_hard", reduction="sum").backward()
    assert x.grad is not None
    assert float(x.grad[2, 0]) == 0.0 and float(x.grad[3, 0]) != 0.0 and float(x.grad[4, 0]) == 0.0
    x.grad = None
    losskit.batch_triplet(x, torch.tensor(HAND_Y), margin=0.5, mining="hard", reduction="sum").backward()
    assert float(x.grad[2, 0]) != 0.0 and float(x.grad[4, 0]) == 0.0


def test_batch_triplet_mean_without_violations_is_zero() -> None:
    x = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 0.0], [5.0, 0.1]])
    y = np.array([0, 0, 1, 1])
    for mining in MININGS:
        assert float(losskit.batch_triplet(x, y, margin=1.0, mining=mining)) == 0.0


def test_batch_triplet_anchors_without_positive_count_nothing() -> None:
    x = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 0, 1, 2, 3])  # only examples 0 and 1 have a positive
    for mining in MININGS:
        out = losskit.batch_triplet(x, y, margin=5.0, mining=mining, reduction="none")
        assert np.all(out[2:] == 0) and np.all(out[:2] > 0), mining


# ---------------------------------------------------------------------------------------------- contrastive


@pytest.mark.parametrize("distance", DISTANCES)
def test_contrastive_closed_form_and_torch_gradient(distance: str, rng: np.random.Generator) -> None:
    x1, x2 = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    same = rng.integers(0, 2, size=10)
    margin = 0.8 if distance == "cosine" else 2.5
    d = np.array([_distance(a, b, distance) for a, b in zip(x1, x2, strict=True)])
    expected = 0.5 * np.where(same == 1, d**2, np.maximum(margin - d, 0.0) ** 2)
    assert np.count_nonzero(expected[same == 0]) >= 1
    out = losskit.contrastive(x1, x2, same, margin=margin, distance=distance, reduction="none")
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # gradients against torch's own distances
    a, b = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    c, e = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    s = torch.tensor(same, dtype=torch.float64)
    losskit.contrastive(a, b, torch.tensor(same), margin=margin, distance=distance, reduction="sum").backward()
    if distance == "cosine":
        dt = 1.0 - F.cosine_similarity(c, e, eps=1e-300)
    else:
        dt = F.pairwise_distance(c, e, eps=0.0)
        dt = dt**2 if distance == "squared_euclidean" else dt
    (0.5 * (s * dt**2 + (1 - s) * torch.relu(margin - dt) ** 2)).sum().backward()
    torch.testing.assert_close(a.grad, c.grad, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(b.grad, e.grad, rtol=1e-10, atol=1e-14)


def test_contrastive_is_half_the_square_of_pml_per_pair(rng: np.random.Generator) -> None:
    x1, x2 = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    same = rng.integers(0, 2, size=10)
    index = torch.arange(10)
    pairs = (index[same == 1], index[same == 1] + 10, index[same == 0], index[same == 0] + 10)
    pml = losses.ContrastiveLoss(pos_margin=0, neg_margin=2.5, reducer=reducers.DoNothingReducer(),
                                 distance=distances.LpDistance(normalize_embeddings=False))
    out = pml(torch.tensor(np.concatenate([x1, x2])), None, pairs)
    expected = np.zeros(10)
    expected[same == 1] = 0.5 * out["pos_loss"]["losses"].numpy() ** 2
    expected[same == 0] = 0.5 * out["neg_loss"]["losses"].numpy() ** 2
    ours = losskit.contrastive(x1, x2, same, margin=2.5, reduction="none")
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    assert np.count_nonzero(ours[same == 0]) >= 1


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int64", "float32", "float64"])
def test_contrastive_same_of_any_dtype_on_every_backend(dtype: str, backend: Backend,
                                                        rng: np.random.Generator) -> None:
    x1, x2 = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    same = np.array([1, 0, 1, 1, 0, 0])
    expected = losskit.contrastive(x1, x2, same, reduction="none")
    out = losskit.contrastive(backend(x1), backend(x2), backend(same.astype(dtype)), reduction="none")
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------- info_nce


@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0, 0.01])
def test_info_nce_matches_optax_value_and_gradient(temperature: float, rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=12, classes=4)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    expected = optax.losses.ntxent(xj, yj, temperature)
    np.testing.assert_allclose(np.asarray(losskit.info_nce(xj, yj, temperature=temperature)), np.asarray(expected),
                               rtol=1e-12)
    grad = jax.grad(lambda e: losskit.info_nce(e, yj, temperature=temperature))(xj)
    ref = jax.grad(lambda e: optax.losses.ntxent(e, yj, temperature))(xj)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref), rtol=1e-9, atol=1e-13)


def test_info_nce_matches_pml_ntxent(rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=12, classes=4)
    ours_x, ref_x = torch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = losskit.info_nce(ours_x, torch.tensor(y), temperature=0.1)
    expected = losses.NTXentLoss(temperature=0.1)(ref_x, torch.tensor(y))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)
    out.backward()
    expected.backward()
    torch.testing.assert_close(ours_x.grad, ref_x.grad, rtol=1e-9, atol=1e-13)


def _reference_info_nce(x: np.ndarray, y: np.ndarray, temperature: float) -> np.ndarray:
    u = _unit(x)
    s = u @ u.T / temperature
    loss = np.zeros(len(y))
    for a in range(len(y)):
        negatives = [s[a, k] for k in range(len(y)) if y[k] != y[a]]
        for p in range(len(y)):
            if p != a and y[p] == y[a]:
                loss[a] += np.logaddexp.reduce([s[a, p], *negatives]) - s[a, p]
    return loss


@pytest.mark.parametrize("temperature", [0.07, 1e-4])
def test_info_nce_per_anchor_and_weighted_mean_over_positive_pairs(temperature: float,
                                                                   rng: np.random.Generator) -> None:
    x = rng.normal(size=(9, 4))
    y = np.array([0, 0, 0, 1, 1, 2, 3, 3, 4])  # 3, 2, 1, 2, 1 members: 6 + 2 + 2 positive pairs, two loners
    expected = _reference_info_nce(x, y, temperature)
    out = losskit.info_nce(x, y, temperature=temperature, reduction="none")
    # the loop's direct form cancels at s ~ 1 / temperature: absolute digits there
    np.testing.assert_allclose(out, expected, rtol=1e-11, atol=1e-12 / temperature)
    assert out[5] == 0 and out[8] == 0
    weight = rng.uniform(0.0, 2.0, size=9)
    positives = np.array([2, 2, 2, 1, 1, 0, 1, 1, 0])
    np.testing.assert_allclose(losskit.info_nce(x, y, temperature=temperature, weight=weight),
                               np.sum(weight * expected) / np.sum(weight * positives), rtol=1e-11)


@pytest.mark.parametrize("temperature", [1e-3, 1e-6])
def test_info_nce_small_temperature_is_finite_where_a_naive_softmax_overflows(temperature: float,
                                                                             rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=8, classes=3)
    e = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    out = losskit.info_nce(e, torch.tensor(y), temperature=temperature)
    out.backward()
    assert torch.isfinite(out) and e.grad is not None and torch.isfinite(e.grad).all()
    u = F.normalize(e.detach(), dim=1)
    naive = torch.exp(u @ u.T / temperature)
    assert not torch.isfinite(naive).all()
    pairs = np.sum(y[:, None] == y[None, :]) - len(y)
    np.testing.assert_allclose(out.item(), _reference_info_nce(x, y, temperature).sum() / pairs, rtol=1e-4)


def test_info_nce_anchor_without_negatives_costs_zero() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out = losskit.info_nce(x, np.array([2, 2, 2]), reduction="none")
    np.testing.assert_array_equal(out, 0.0)


# ---------------------------------------------------------------------------------------------- stability


def _every_loss(distance: str) -> list[tuple[str, Callable[..., Any]]]:
    """Every embedding loss as ``fn(x, partner, other, same, labels)``; gradients flow into ``x``."""
    return [
        *[(f"triplet eps={eps}", lambda x, p, n, s, y, e=eps: losskit.triplet(x, p, n, distance=distance, eps=e,
                                                                               swap=True)) for eps in (0.0, 1e-6)],
        ("contrastive", lambda x, p, n, s, y: losskit.contrastive(x, p, s, distance=distance)),
        *[(m, lambda x, p, n, s, y, m=m: losskit.batch_triplet(x, y, mining=m, distance=distance, margin=0.5))
          for m in MININGS],
        ("info_nce", lambda x, p, n, s, y: losskit.info_nce(x, y)),
    ]


BATCHES = {
    "identical": np.ones((6, 3)),
    "zero": np.zeros((6, 3)),
    "duplicate pairs": np.array([[1.0, 2, 3], [1, 2, 3], [0, 0, 0], [0, 0, 0], [-1, 5, 2], [-1, 5, 2]]),
}


@pytest.mark.parametrize("batch", list(BATCHES))
@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_identical_and_zero_vectors_give_finite_loss_and_gradient(batch: str, distance: str,
                                                                  dtype: torch.dtype) -> None:
    x = BATCHES[batch]
    y = np.array([0, 0, 1, 1, 2, 2])
    # partners equal to x (the anchor is its own positive) and its duplicates as the other vectors
    partners = (x.copy(), np.roll(x, 1, axis=0), np.array([1, 0, 1, 0, 1, 0]), y)
    for name, fn in _every_loss(distance):
        e = torch.tensor(x, dtype=dtype, requires_grad=True)
        out = fn(e, *(torch.tensor(v, dtype=dtype if v.dtype.kind == "f" else None) for v in partners))
        out.backward()
        assert torch.isfinite(out) and e.grad is not None and torch.isfinite(e.grad).all(), name
        jax_dtype = jnp.float32 if dtype == torch.float32 else jnp.float64
        rest = [jnp.asarray(w, dtype=jax_dtype if w.dtype.kind == "f" else None) for w in partners]
        grad = jax.grad(lambda v, f=fn, r=rest: f(v, *r))(jnp.asarray(x, dtype=jax_dtype))
        assert np.all(np.isfinite(np.asarray(grad))), name


def test_identical_vectors_give_zero_distance_gradient_as_torch() -> None:
    """At a = p (eps=0) the subgradient of |a - p| is 0, as torch's norm backward gives."""
    a = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    n = torch.tensor([[1.5, 2.0, 3.0]], dtype=torch.float64)
    losskit.triplet(a, a.detach(), n, eps=0.0).backward()
    F.triplet_margin_loss(b, b.detach(), n, eps=0.0).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("dtype", "scales"), [(np.float64, [1e-200, 1e-30, 1e30, 1e200]),
                                               (np.float32, [1e-30, 1e-10, 1e10, 1e30])])
@pytest.mark.parametrize("mining", MININGS)
def test_euclidean_losses_scale_with_the_embeddings_without_overflow(mining: str, dtype: type,
                                                                     scales: list[float],
                                                                     rng: np.random.Generator) -> None:
    """Euclidean distances are homogeneous: scaling the embeddings and the margin scales the loss."""
    x, y = _batch(rng, n=9, classes=3)
    a, p, n = (rng.normal(size=(6, 4)) for _ in range(3))
    base = losskit.batch_triplet(x, y, margin=1.0, mining=mining, reduction="none")
    base_triplet = losskit.triplet(a, p, n, margin=1.0, eps=0.0, reduction="none")
    assert np.count_nonzero(base) >= 2
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for scale in scales:
        out = losskit.batch_triplet((x * scale).astype(dtype), y, margin=scale, mining=mining, reduction="none")
        np.testing.assert_allclose(out / dtype(scale), base, rtol=rtol, atol=rtol, err_msg=str(scale))
        out = losskit.triplet(*((v * scale).astype(dtype) for v in (a, p, n)), margin=scale, eps=0.0, reduction="none")
        np.testing.assert_allclose(out / dtype(scale), base_triplet, rtol=rtol, atol=rtol, err_msg=str(scale))
    big = torch.tensor(x * scales[-1], dtype=torch.float32 if dtype == np.float32 else torch.float64,
                       requires_grad=True)
    losskit.batch_triplet(big, torch.tensor(y), margin=scales[-1], mining=mining).backward()
    assert big.grad is not None and torch.isfinite(big.grad).all()


@pytest.mark.parametrize("scale", [1e-5, 1e30])
def test_cosine_losses_ignore_the_scale(scale: float, rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=9, classes=3)
    np.testing.assert_allclose(losskit.info_nce(x * scale, y), losskit.info_nce(x, y), rtol=1e-12)
    for mining in MININGS:
        np.testing.assert_allclose(losskit.batch_triplet(x * scale, y, distance="cosine", mining=mining),
                                   losskit.batch_triplet(x, y, distance="cosine", mining=mining), rtol=1e-12)


# ---------------------------------------------------------------------------------------------- properties


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 12), classes=st.integers(2, 4),
       distance=st.sampled_from(DISTANCES), mining=st.sampled_from(MININGS), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_non_negative_and_mean_between_extremes(seed: int, n: int, classes: int, distance: str, mining: str,
                                                scale: float) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    y[:3] = [0, 0, 1]
    x = rng.normal(size=(n, 3)) * scale
    margin = 0.3 if distance == "cosine" else scale
    for out in (losskit.batch_triplet(x, y, margin=margin, mining=mining, distance=distance, reduction="none"),
                losskit.info_nce(x, y, reduction="none"),
                losskit.triplet(x, np.roll(x, 1, 0), np.roll(x, 2, 0), margin=margin, distance=distance,
                                reduction="none"),
                losskit.contrastive(x, np.roll(x, 1, 0), y == np.roll(y, 1), distance=distance, reduction="none")):
        assert np.all(np.isfinite(out)) and np.all(out >= 0)
    # the non-zero mean is at least the mean over every mined triplet
    nonzero = losskit.batch_triplet(x, y, margin=margin, mining=mining, distance=distance)
    mined = losskit.batch_triplet(x, y, margin=margin, mining=mining, distance=distance, average="mined")
    assert nonzero >= mined * (1 - 1e-12)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 12), classes=st.integers(2, 3),
       distance=st.sampled_from(DISTANCES), mining=st.sampled_from(MININGS))
def test_zero_when_positives_coincide_and_negatives_are_far(seed: int, n: int, classes: int, distance: str,
                                                            mining: str) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    y[:3] = [0, 0, 1]
    centers = 4.0 * np.eye(3)[:classes] + rng.normal(size=(classes, 3)) * 0.1  # > 5 apart, near-orthogonal
    x = centers[y]
    margin = 0.5
    assert float(losskit.batch_triplet(x, y, margin=margin, mining=mining, distance=distance, reduction="sum")) == 0.0
    assert float(losskit.triplet(x, x.copy(), -x, margin=margin, distance=distance, eps=0.0, reduction="sum")) == 0.0
    same = y == np.roll(y, 1)
    assert float(losskit.contrastive(x, np.roll(x, 1, 0), same, margin=margin, reduction="sum")) == 0.0
    # NT-Xent is 0 only once exp(-1 / temperature) underflows
    assert float(losskit.info_nce(x, y, temperature=1e-3, reduction="sum")) == 0.0
    assert float(losskit.info_nce(x, y, temperature=0.5, reduction="sum")) > 0.0


# ---------------------------------------------------------------------------------------------- backends, jit


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_labels_of_any_integer_dtype_on_every_backend(dtype: str, backend: Backend, rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=10, classes=3)
    for fn in (lambda e, t: losskit.batch_triplet(e, t, mining="semi_hard", margin=1.0, reduction="none"),
               lambda e, t: losskit.batch_triplet(e, t, mining="hard", reduction="none"),
               lambda e, t: losskit.info_nce(e, t, reduction="none")):
        expected = fn(x, y)
        out = fn(backend(x), backend(y.astype(dtype)))
        assert type(out).__module__.split(".")[0] == type(backend(x)).__module__.split(".")[0]
        np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12, atol=1e-15)


def test_triplet_accepts_any_leading_shape(backend: Backend, rng: np.random.Generator) -> None:
    a, p, n = (rng.normal(size=(2, 3, 4)) for _ in range(3))
    out = losskit.triplet(backend(a), backend(p), backend(n), reduction="none")
    assert tuple(out.shape) == (2, 3)
    flat = losskit.triplet(*(v.reshape(6, 4) for v in (a, p, n)), reduction="none")
    np.testing.assert_allclose(to_numpy(out).reshape(6), flat, rtol=1e-12)
    single = losskit.triplet(backend(a[0, 0]), backend(p[0, 0]), backend(n[0, 0]), reduction="none")
    assert tuple(single.shape) == () and float(to_numpy(single)) == pytest.approx(flat[0], rel=1e-12)


@pytest.mark.parametrize("mining", MININGS)
def test_jit_matches_eager_and_skips_the_label_checks(mining: str, rng: np.random.Generator) -> None:
    x, y = _batch(rng, n=10, classes=3)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    jitted = jax.jit(lambda e, t: losskit.batch_triplet(e, t, mining=mining, margin=1.0))
    np.testing.assert_allclose(np.asarray(jitted(xj, yj)), losskit.batch_triplet(x, y, mining=mining, margin=1.0),
                               rtol=1e-12)
    grad = jax.jit(jax.grad(lambda e: losskit.batch_triplet(e, yj, mining=mining, margin=1.0)))(xj)
    eager = jax.grad(lambda e: losskit.batch_triplet(e, yj, mining=mining, margin=1.0))(xj)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(eager), rtol=1e-12, atol=1e-15)
    # a single class cannot be seen while tracing: no error, and nothing to average
    assert float(jitted(xj, jnp.zeros(10, dtype=jnp.int32))) == 0.0
    nce = jax.jit(lambda e, t: losskit.info_nce(e, t, temperature=0.2))
    np.testing.assert_allclose(float(nce(xj, yj)), float(losskit.info_nce(x, y, temperature=0.2)), rtol=1e-12)


def test_empty_batch_has_zero_cost_and_gradient() -> None:
    x = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    y = torch.zeros(0, dtype=torch.int64)
    for fn in (lambda e: losskit.batch_triplet(e, y), lambda e: losskit.info_nce(e, y),
               lambda e: losskit.triplet(e, e, e), lambda e: losskit.contrastive(e, e, y)):
        out = fn(x)
        out.backward()
        assert out.item() == 0.0 and x.grad is not None and x.grad.shape == (0, 3)


# ---------------------------------------------------------------------------------------------- bad input

E = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
Y = np.array([0, 0, 1, 1])

BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("triplet shapes differ", lambda: losskit.triplet(E, E[:3], E), ValueError, "positive must have the shape"),
    ("triplet negative shape", lambda: losskit.triplet(E, E, E[:, :1]), ValueError, "negative"),
    ("triplet 0-d", lambda: losskit.triplet(np.float64(1.0), np.float64(1.0), np.float64(1.0)), ValueError,
     "anchor must have a feature axis"),
    ("triplet int anchor", lambda: losskit.triplet(E.astype(int), E, E), TypeError, "anchor"),
    ("triplet negative margin", lambda: losskit.triplet(E, E, E, margin=-1.0), ValueError, "margin"),
    ("triplet nan margin", lambda: losskit.triplet(E, E, E, margin=float("nan")), ValueError, "margin"),
    ("triplet negative eps", lambda: losskit.triplet(E, E, E, eps=-1e-6), ValueError, "eps"),
    ("triplet unknown distance", lambda: losskit.triplet(E, E, E, distance="manhattan"), ValueError, "distance"),
    ("triplet swap not bool", lambda: losskit.triplet(E, E, E, swap=1), TypeError, "swap"),
    ("triplet weight (N, 1)", lambda: losskit.triplet(E, E, E, weight=np.ones((4, 1))), ValueError, "weight"),
    ("triplet mixed libraries", lambda: losskit.triplet(torch.tensor(E), E, E), TypeError, "different array"),
    ("batch single class", lambda: losskit.batch_triplet(E, np.zeros(4, dtype=int)), ValueError,
     "labels hold a single class"),
    ("batch no positive pair", lambda: losskit.batch_triplet(E, np.arange(4)), ValueError,
     "labels hold no two embeddings of one class"),
    ("batch of one", lambda: losskit.batch_triplet(E[:1], Y[:1]), ValueError, "labels"),
    ("batch float labels", lambda: losskit.batch_triplet(E, Y.astype(float)), TypeError, "labels must hold integer"),
    ("batch bool labels", lambda: losskit.batch_triplet(E, Y == 1), TypeError, "labels"),
    ("batch labels length", lambda: losskit.batch_triplet(E, Y[:3]), ValueError, r"labels must have shape \(4,\)"),
    ("batch labels rank", lambda: losskit.batch_triplet(E, Y[:, None]), ValueError, "labels must have shape"),
    ("batch embeddings 1-d", lambda: losskit.batch_triplet(E[0], Y[:2]), ValueError, r"embeddings must have shape"),
    ("batch no features", lambda: losskit.batch_triplet(np.zeros((4, 0)), Y), ValueError, "embeddings"),
    ("batch embeddings 3-d", lambda: losskit.batch_triplet(E[None], Y), ValueError, "embeddings"),
    ("batch int embeddings", lambda: losskit.batch_triplet(Y[:, None], Y), TypeError, "embeddings"),
    ("batch negative margin", lambda: losskit.batch_triplet(E, Y, margin=-0.1), ValueError, "margin"),
    ("batch unknown mining", lambda: losskit.batch_triplet(E, Y, mining="semihard"), ValueError, "mining"),
    ("batch unknown distance", lambda: losskit.batch_triplet(E, Y, distance="l1"), ValueError, "distance"),
    ("batch unknown average", lambda: losskit.batch_triplet(E, Y, average="all"), ValueError, "average"),
    ("batch weight shape", lambda: losskit.batch_triplet(E, Y, weight=np.ones(3)), ValueError, "weight"),
    ("contrastive shapes differ", lambda: losskit.contrastive(E, E[:, :1], Y), ValueError, "x2 must have the shape"),
    ("contrastive same shape", lambda: losskit.contrastive(E, E, Y[:3]), ValueError, "same must have the shape"),
    ("contrastive same 2", lambda: losskit.contrastive(E, E, np.array([0, 1, 2, 1])), ValueError,
     "same must hold 0 or 1"),
    ("contrastive same soft", lambda: losskit.contrastive(E, E, np.array([0.0, 0.5, 1.0, 1.0])), ValueError,
     "same"),
    ("contrastive same nan", lambda: losskit.contrastive(E, E, np.array([0.0, np.nan, 1.0, 1.0])), ValueError,
     "same"),
    ("contrastive same complex", lambda: losskit.contrastive(E, E, np.ones(4, dtype=complex)), TypeError, "same"),
    ("contrastive negative margin", lambda: losskit.contrastive(E, E, Y, margin=-1), ValueError, "margin"),
    ("contrastive unknown distance", lambda: losskit.contrastive(E, E, Y, distance="cos"), ValueError, "distance"),
    ("info_nce no positive pair", lambda: losskit.info_nce(E, np.arange(4)), ValueError,
     "labels hold no two embeddings of one class"),
    ("info_nce zero temperature", lambda: losskit.info_nce(E, Y, temperature=0.0), ValueError, "temperature"),
    ("info_nce string temperature", lambda: losskit.info_nce(E, Y, temperature="0.1"), TypeError, "temperature"),
    ("info_nce float labels", lambda: losskit.info_nce(E, Y * 1.0), TypeError, "labels"),
    ("info_nce labels length", lambda: losskit.info_nce(E, Y[:2]), ValueError, "labels must have shape"),
    ("info_nce embeddings 1-d", lambda: losskit.info_nce(E[0], Y[:2]), ValueError, "embeddings"),
    ("info_nce reduction", lambda: losskit.info_nce(E, Y, reduction="batchmean"), ValueError, "reduction"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_call_raises_a_clear_error(call: Callable[[], Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) is error


def test_label_checks_can_be_switched_off() -> None:
    with losskit.checks(False):
        assert float(losskit.batch_triplet(E, np.zeros(4, dtype=int))) == 0.0  # no triplet: the mean of nothing
        assert float(losskit.info_nce(E, np.arange(4))) == 0.0
