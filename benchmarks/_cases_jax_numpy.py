"""The JAX and NumPy tables: losskit against optax under ``jax.jit``, and against scikit-learn and SciPy.

Each row is a :class:`Pair`: one loss, its inputs (the torch cases' shapes, from the same seeded
NumPy draws), losskit's call and one peer's call on those inputs.

* ``jax``: forward + backward, ``jax.jit(jax.value_and_grad(loss))`` of both, compiled ahead of
  time; optax returns per-example losses, averaged here as losskit's ``"mean"`` does.
* ``numpy``: the forward value on NumPy arrays, losskit (with value checks on, and off) against
  ``sklearn.metrics`` or a ``scipy.special`` formula.

A peer's ``build`` imports its library and returns a function of the inputs; an ``ImportError``
there marks the peer as not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import losskit

from _cases import (
    Arrays,
    LossFn,
    _classification,
    _detection,
    _embeddings,
    _kl,
    _labels,
    _language_model,
    _normal,
    _optax,
    _regression,
    _rng,
    _softmax,
    _triplets,
    _view_pairs,
)

JAX, NUMPY = "jax", "numpy"
JAX_TARGET = 1.10  # the issue: within 10% of optax under jax.jit
NUMPY_TARGET = 1.0  # the issue: at least as fast as the scikit-learn / SciPy equivalent


@dataclass(frozen=True)
class Pair:
    """One row of the JAX or NumPy table."""

    name: str
    table: str
    """``"jax"`` or ``"numpy"``: also the group that ``--only`` selects."""
    loss: str
    """losskit's function, for the table."""
    make: Callable[[int], Arrays]
    ours: LossFn
    peer_name: str
    peer: Callable[[], LossFn]
    grad: tuple[str, ...] = ()
    """The inputs differentiated (JAX only)."""
    note: str = ""

    @property
    def group(self) -> str:
        return self.table


# ---------------------------------------------------------------- inputs the torch cases lack


def _signs(div: int) -> Arrays:
    """Regression-sized scores with targets in {-1, +1}."""
    data = _regression(div)
    return {"pred": data["pred"], "target": np.where(data["target"] > 0, 1.0, -1.0).astype(np.float32)}


def _binary_probabilities(div: int) -> Arrays:
    """The detection shape's probabilities and 0/1 targets, flattened: scikit-learn takes one axis."""
    rng = _rng()
    n = 64 * (100_000 // div)
    return {"pred": rng.uniform(0.01, 0.99, size=n).astype(np.float32),
            "target": (rng.random(n, dtype=np.float32) < 0.5).astype(np.float32)}


def _class_probabilities(div: int) -> Arrays:
    """The classification shape's labels, and softmax probabilities in place of logits."""
    data = _classification(div)
    return {"pred": _softmax(data["pred"]), "labels": data["labels"], "probs": data["probs"]}


def _distributions(div: int) -> Arrays:
    """The KL case's distributions as probabilities and as log-probabilities."""
    data = _kl(div)
    return {"pred": data["pred"], "probs": data["probs"], "p": np.exp(data["pred"]),
            "log_probs": np.log(data["probs"])}


def _channels_last_masks(div: int) -> Arrays:
    """The segmentation batch, channels last (optax's layout), with one-hot float targets."""
    rng = _rng()
    side = 256 if div == 1 else 64
    pred, labels = _normal(rng, 16, side, side, 4), _labels(rng, 4, 16, side, side)
    return {"pred": pred, "target": np.eye(4, dtype=np.float32)[labels]}


# ---------------------------------------------------------------- JAX: optax under jax.jit


def _optax_mean(name: str, *args: str, **kw: Any) -> Callable[[], LossFn]:
    """optax's ``name`` on the inputs ``args``, averaged over every element it returns."""

    def build() -> LossFn:
        fn = getattr(_optax().losses, name)
        return lambda d: fn(*(d[a] for a in args), **kw).mean()

    return build


def _jax_pairs() -> list[Pair]:
    alpha, gamma, margin, temperature = 0.25, 2.0, 1.0, 0.07

    def pair(name: str, loss: str, make: Callable[[int], Arrays], ours: LossFn, optax_name: str,
             peer: Callable[[], LossFn], grad: tuple[str, ...] = ("pred",), note: str = "") -> Pair:
        return Pair(f"jax_{name}", JAX, loss, make, ours, f"optax {optax_name}", peer, grad, note)

    def ntxent() -> LossFn:
        fn = _optax().losses.ntxent
        return lambda d: fn(d["x"], d["labels"], temperature)

    def triplet() -> LossFn:
        fn = _optax().losses.triplet_margin_loss
        return lambda d: fn(d["anchor"], d["positive"], d["negative"], margin=margin, eps=0.0).mean()

    def dice() -> LossFn:
        fn = _optax().losses.dice_loss
        return lambda d: fn(d["pred"], d["target"], smooth=1.0).mean()

    return [
        pair("mse", "mse", _regression, lambda d: losskit.mse(d["pred"], d["target"]), "squared_error",
             _optax_mean("squared_error", "pred", "target"), note="optax l2_loss is half of it"),
        pair("huber", "huber", _regression, lambda d: losskit.huber(d["pred"], d["target"]), "huber_loss",
             _optax_mean("huber_loss", "pred", "target")),
        pair("log_cosh", "log_cosh", _regression, lambda d: losskit.log_cosh(d["pred"], d["target"]), "log_cosh",
             _optax_mean("log_cosh", "pred", "target")),
        pair("hinge", "hinge", _signs, lambda d: losskit.hinge(d["pred"], d["target"]), "hinge_loss",
             _optax_mean("hinge_loss", "pred", "target")),
        pair("bce", "binary_cross_entropy(from_logits)", _detection,
             lambda d: losskit.binary_cross_entropy(d["pred"], d["target"], from_logits=True),
             "sigmoid_binary_cross_entropy", _optax_mean("sigmoid_binary_cross_entropy", "pred", "target")),
        pair("focal", "focal(from_logits)", _detection,
             lambda d: losskit.focal(d["pred"], d["target"], gamma=gamma, alpha=alpha, from_logits=True),
             "sigmoid_focal_loss", _optax_mean("sigmoid_focal_loss", "pred", "target", alpha=alpha, gamma=gamma)),
        pair("categorical_ce", "categorical_cross_entropy(from_logits)", _classification,
             lambda d: losskit.categorical_cross_entropy(d["pred"], d["probs"], from_logits=True),
             "softmax_cross_entropy", _optax_mean("softmax_cross_entropy", "pred", "probs")),
        pair("sparse_ce", "sparse_categorical_cross_entropy(from_logits)", _classification,
             lambda d: losskit.sparse_categorical_cross_entropy(d["pred"], d["labels"], from_logits=True),
             "softmax_cross_entropy_with_integer_labels",
             _optax_mean("softmax_cross_entropy_with_integer_labels", "pred", "labels")),
        pair("sparse_ce_lm", "sparse_categorical_cross_entropy(from_logits)", _language_model,
             lambda d: losskit.sparse_categorical_cross_entropy(d["pred"], d["labels"], from_logits=True),
             "softmax_cross_entropy_with_integer_labels",
             _optax_mean("softmax_cross_entropy_with_integer_labels", "pred", "labels")),
        pair("multiclass_hinge", "multiclass_hinge(crammer_singer)", _classification,
             lambda d: losskit.multiclass_hinge(d["pred"], d["labels"]), "multiclass_hinge_loss",
             _optax_mean("multiclass_hinge_loss", "pred", "labels")),
        pair("kl_divergence", "kl_divergence(log_pred)", _distributions,
             lambda d: losskit.kl_divergence(d["pred"], d["probs"], log_pred=True), "kl_divergence",
             _optax_mean("kl_divergence", "pred", "probs")),
        pair("kl_divergence_log", "kl_divergence(log_pred, log_target)", _distributions,
             lambda d: losskit.kl_divergence(d["pred"], d["log_probs"], log_pred=True, log_target=True),
             "kl_divergence_with_log_targets", _optax_mean("kl_divergence_with_log_targets", "pred", "log_probs")),
        pair("info_nce", "info_nce", _embeddings,
             lambda d: losskit.info_nce(d["x"], d["labels"], temperature=temperature), "ntxent", ntxent, ("x",)),
        pair("info_nce_pairs", "info_nce", _view_pairs,
             lambda d: losskit.info_nce(d["x"], d["labels"], temperature=temperature), "ntxent", ntxent, ("x",),
             note="a SimCLR batch: each label on two views"),
        pair("triplet", "triplet(eps=0)", _triplets,
             lambda d: losskit.triplet(d["anchor"], d["positive"], d["negative"], margin=margin, eps=0.0),
             "triplet_margin_loss(eps=0)", triplet, ("anchor", "positive", "negative"),
             note="optax adds eps under the square root, torch to the difference: both agree at eps=0"),
        pair("dice", "dice(multiclass, axis=-1, smooth=2)", _channels_last_masks,
             lambda d: losskit.dice(d["pred"], d["target"], mode="multiclass", from_logits=True, axis=-1,
                                    smooth=2.0),
             "dice_loss(smooth=1)", dice,
             note="channels last with one-hot targets, optax's layout; optax's smooth s is losskit's 2 s"),
    ]


# ---------------------------------------------------------------- NumPy: scikit-learn and SciPy


def _sklearn(name: str, *args: str, **kw: Any) -> Callable[[], LossFn]:
    """``sklearn.metrics.<name>`` on the inputs ``args`` (scikit-learn takes the target first)."""

    def build() -> LossFn:
        import sklearn.metrics

        fn = getattr(sklearn.metrics, name)
        return lambda d: fn(*(d[a] for a in args), **kw)

    return build


def _scipy_special() -> Any:
    import scipy.special

    return scipy.special


def _numpy_pairs() -> list[Pair]:
    q, classes = 0.9, list(range(1000))

    def pair(name: str, loss: str, make: Callable[[int], Arrays], ours: LossFn, peer_name: str,
             peer: Callable[[], LossFn], note: str = "") -> Pair:
        return Pair(f"numpy_{name}", NUMPY, loss, make, ours, peer_name, peer, note=note)

    def scipy_huber() -> LossFn:
        huber = _scipy_special().huber
        return lambda d: np.mean(huber(1.0, d["pred"] - d["target"]))

    def scipy_rel_entr() -> LossFn:
        rel_entr = _scipy_special().rel_entr
        return lambda d: np.mean(np.sum(rel_entr(d["probs"], d["p"]), axis=-1))

    def scipy_kl_div() -> LossFn:
        kl_div = _scipy_special().kl_div
        return lambda d: np.mean(np.sum(kl_div(d["probs"], d["p"]), axis=-1))

    def scipy_sparse_ce() -> LossFn:
        log_softmax = _scipy_special().log_softmax
        return lambda d: -np.mean(np.take_along_axis(log_softmax(d["pred"], axis=-1), d["labels"][:, None], axis=-1))

    def scipy_categorical_ce() -> LossFn:
        log_softmax = _scipy_special().log_softmax
        return lambda d: -np.mean(np.sum(d["probs"] * log_softmax(d["pred"], axis=-1), axis=-1))

    def scipy_bce_logits() -> LossFn:
        log_expit = _scipy_special().log_expit
        return lambda d: -np.mean(d["target"] * log_expit(d["pred"]) + (1.0 - d["target"]) * log_expit(-d["pred"]))

    return [
        pair("mse", "mse", _regression, lambda d: losskit.mse(d["pred"], d["target"]),
             "sklearn mean_squared_error", _sklearn("mean_squared_error", "target", "pred")),
        pair("mae", "mae", _regression, lambda d: losskit.mae(d["pred"], d["target"]),
             "sklearn mean_absolute_error", _sklearn("mean_absolute_error", "target", "pred")),
        pair("quantile", "quantile(q=0.9)", _regression, lambda d: losskit.quantile(d["pred"], d["target"], q=q),
             "sklearn mean_pinball_loss", _sklearn("mean_pinball_loss", "target", "pred", alpha=q)),
        pair("huber", "huber", _regression, lambda d: losskit.huber(d["pred"], d["target"]),
             "scipy.special.huber", scipy_huber),
        pair("bce", "binary_cross_entropy", _binary_probabilities,
             lambda d: losskit.binary_cross_entropy(d["pred"], d["target"]), "sklearn log_loss",
             _sklearn("log_loss", "target", "pred")),
        pair("bce_logits", "binary_cross_entropy(from_logits)", _detection,
             lambda d: losskit.binary_cross_entropy(d["pred"], d["target"], from_logits=True),
             "scipy.special.log_expit formula", scipy_bce_logits),
        pair("sparse_ce_probs", "sparse_categorical_cross_entropy", _class_probabilities,
             lambda d: losskit.sparse_categorical_cross_entropy(d["pred"], d["labels"]), "sklearn log_loss",
             _sklearn("log_loss", "labels", "pred", labels=classes)),
        pair("sparse_ce", "sparse_categorical_cross_entropy(from_logits)", _classification,
             lambda d: losskit.sparse_categorical_cross_entropy(d["pred"], d["labels"], from_logits=True),
             "scipy.special.log_softmax formula", scipy_sparse_ce),
        pair("categorical_ce", "categorical_cross_entropy(from_logits)", _classification,
             lambda d: losskit.categorical_cross_entropy(d["pred"], d["probs"], from_logits=True),
             "scipy.special.log_softmax formula", scipy_categorical_ce),
        pair("hinge", "hinge", _signs, lambda d: losskit.hinge(d["pred"], d["target"]), "sklearn hinge_loss",
             _sklearn("hinge_loss", "target", "pred")),
        pair("multiclass_hinge", "multiclass_hinge(crammer_singer)", _classification,
             lambda d: losskit.multiclass_hinge(d["pred"], d["labels"]), "sklearn hinge_loss",
             _sklearn("hinge_loss", "labels", "pred", labels=classes)),
        pair("kl_divergence", "kl_divergence", _distributions, lambda d: losskit.kl_divergence(d["p"], d["probs"]),
             "scipy.special.rel_entr", scipy_rel_entr),
        pair("kl_divergence_kl_div", "kl_divergence", _distributions,
             lambda d: losskit.kl_divergence(d["p"], d["probs"]), "scipy.special.kl_div", scipy_kl_div),
    ]


def all_pairs() -> dict[str, Pair]:
    return {p.name: p for p in [*_jax_pairs(), *_numpy_pairs()]}

