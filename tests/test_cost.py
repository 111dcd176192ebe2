"""Cost = aggregated loss + L1/L2 regularisation, against hand computations and torch's weight decay."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import losskit

from conftest import Backend, to_numpy


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(3, 1).double()


def test_cost_is_the_reduced_loss_plus_the_penalties(rng: np.random.Generator) -> None:
    model = _model()
    x, y = torch.tensor(rng.normal(size=(8, 3))), torch.tensor(rng.normal(size=(8, 1)))
    cost = losskit.Cost("huber", delta=0.5, l1=0.01, l2=0.1)
    parts = cost.parts(model(x), y, params=model.parameters())
    theta = torch.cat([p.reshape(-1) for p in model.parameters()])
    torch.testing.assert_close(parts.data, torch.nn.functional.huber_loss(model(x), y, delta=0.5), rtol=1e-14, atol=0)
    torch.testing.assert_close(parts.l1, 0.01 * theta.abs().sum(), rtol=1e-14, atol=0)
    torch.testing.assert_close(parts.l2, 0.1 * (theta**2).sum(), rtol=1e-14, atol=0)
    torch.testing.assert_close(cost(model(x), y, params=model.parameters()), parts.data + parts.l1 + parts.l2,
                               rtol=1e-15, atol=0)
    assert parts.total == parts.data + parts.l1 + parts.l2


def test_l2_gradient_step_is_sgd_weight_decay(rng: np.random.Generator) -> None:
    x, y = torch.tensor(rng.normal(size=(16, 3))), torch.tensor(rng.normal(size=(16, 1)))
    decayed, regularised = _model(), _model()
    optimiser = torch.optim.SGD(decayed.parameters(), lr=0.1, weight_decay=0.2)
    optimiser.zero_grad()
    losskit.mse(decayed(x), y).backward()
    optimiser.step()
    cost = losskit.Cost(losskit.mse, l2=0.1)  # gradient 2 * 0.1 * theta = weight_decay 0.2
    plain = torch.optim.SGD(regularised.parameters(), lr=0.1)
    plain.zero_grad()
    cost(regularised(x), y, params=regularised.parameters()).backward()
    plain.step()
    for a, b in zip(decayed.parameters(), regularised.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


def test_without_penalties_the_cost_is_the_loss_and_needs_no_params(rng: np.random.Generator) -> None:
    pred, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    weight = rng.uniform(size=(5, 1))
    for reduction in ("mean", "sum"):
        cost = losskit.Cost("l2", reduction=reduction)
        assert float(cost(pred, target, weight=weight)) == float(losskit.mse(pred, target, weight=weight,
                                                                               reduction=reduction))
    assert cost.parts(pred, target).l1 == 0.0


def test_multi_argument_losses_and_jax_parameters(rng: np.random.Generator) -> None:
    anchor, positive, negative = (jnp.asarray(rng.normal(size=(6, 4))) for _ in range(3))
    params = {"w": jnp.asarray(rng.normal(size=(4, 4))), "b": jnp.asarray(rng.normal(size=4))}
    cost = losskit.Cost("triplet", margin=0.5, l1=0.05)

    def objective(p: dict[str, jax.Array]) -> jax.Array:
        embed = lambda z: z @ p["w"] + p["b"]  # noqa: E731
        return cost(embed(anchor), embed(positive), embed(negative), params=jax.tree_util.tree_leaves(p))

    expected = losskit.triplet(anchor @ params["w"] + params["b"], positive @ params["w"] + params["b"],
                               negative @ params["w"] + params["b"], margin=0.5)
    expected = expected + 0.05 * (jnp.abs(params["w"]).sum() + jnp.abs(params["b"]).sum())
    np.testing.assert_allclose(objective(params), expected, rtol=1e-14)
    grads = jax.grad(objective)(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))


def test_every_backend(backend: Backend, rng: np.random.Generator) -> None:
    pred, target, theta = rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), rng.normal(size=3)
    cost = losskit.Cost("mae", l1=0.5, l2=0.25)
    expected = np.abs(pred - target).mean() + 0.5 * np.abs(theta).sum() + 0.25 * (theta**2).sum()
    out = cost(backend(pred), backend(target), params=[backend(theta)])
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-14)


def test_repr_names_the_loss_and_its_settings() -> None:
    assert repr(losskit.Cost("bce", from_logits=True, l2=0.1)) == \
        "Cost(binary_cross_entropy, from_logits=True, l2=0.1, reduction='mean')"


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"loss": "no_such_loss"}, ValueError, "no_such_loss"),
    ({"loss": 3}, TypeError, "loss"),
    ({"loss": "mse", "l1": -1.0}, ValueError, "l1"),
    ({"loss": "mse", "l2": float("nan")}, ValueError, "l2"),
    ({"loss": "mse", "reduction": "none"}, ValueError, "reduction"),
    ({"loss": "huber", "detla": 1.0}, TypeError, "detla"),
    ({"loss": "mse", "weight": 1.0}, TypeError, "weight"),
])
def test_bad_construction(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        losskit.Cost(**kwargs)  # type: ignore[arg-type]


def test_bad_calls(rng: np.random.Generator) -> None:
    pred, target = rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    cost = losskit.Cost("mse", l2=0.1)
    with pytest.raises(ValueError, match="params"):
        cost(pred, target)
    with pytest.raises(TypeError, match=r"params\[0\]"):
        cost(pred, target, params=[torch.zeros(2)])
