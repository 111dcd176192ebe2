"""The benchmark cases: inputs of the issue's realistic shapes, losskit's call, and every peer's.

Each case draws its inputs with NumPy from a fixed seed (float32, no float64 temporaries), so that
every worker process sees the same data. ``ours`` is written once against the array API and runs on
torch tensors and, under ``jax.jit``, on JAX arrays. A peer's ``build`` imports its library and
returns a function of the same inputs; an ``ImportError`` there marks the peer as not installed.

The inputs a loss differentiates are listed in ``grad``; the floor reads ``floor_inputs`` (the
float inputs of the gradient's size) and writes a fresh array of that size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import losskit

Data = Mapping[str, Any]
LossFn = Callable[[Data], Any]
Arrays = dict[str, np.ndarray]

# Which of the targets a case is held to.
NATIVE = "native"  # a fused torch kernel exists: ours/native <= 1.05 time, <= 1.0 memory
COMPOSITE = "composite"  # peers compose ops: >= 2x faster, <= 0.5x memory of the best peer
ELEMENTWISE = "elementwise"  # algebraic element-wise loss without a native kernel: <= 2x the floor
MINING_ALL = "mining_all"  # batch_triplet(mining="all"): >= 10x faster than pytorch-metric-learning


@dataclass(frozen=True)
class Impl:
    """A peer: its label, its array library (``"torch"`` or ``"jax"``) and a builder of its loss function."""

    name: str
    lib: str
    build: Callable[[], LossFn]
    native: bool = False
    """The fused torch kernel the issue's native-kernel target compares against."""
    skip_full: str = ""
    """Why the peer is not run at the issue's full size (it would not fit in memory), if it is not."""


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    target: str
    make: Callable[[int], Arrays]
    """Inputs for a size divisor (1: the issue's shapes; 16: ``--quick``)."""
    ours: LossFn
    grad: tuple[str, ...]
    floor_inputs: tuple[str, ...]
    peers: tuple[Impl, ...] = ()
    ours_jax: bool = False
    """Also time losskit on JAX arrays under ``jax.jit`` (where optax is a peer)."""
    note: str = ""


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _labels(rng: np.random.Generator, high: int, *shape: int) -> np.ndarray:
    return rng.integers(0, high, size=shape, dtype=np.int64)


# ---------------------------------------------------------------- peers' imports


def _torch() -> Any:
    import torch

    return torch


def _f() -> Any:
    import torch.nn.functional as functional

    return functional


def _optax() -> Any:
    import optax

    return optax


def _keras() -> Any:
    """keras on its torch backend; the backend is chosen once per process, before the first import."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise ImportError(f"keras runs on {keras.backend.backend()}, not torch")
    return keras


def _monai() -> Any:
    import monai.losses

    return monai.losses


def _kornia() -> Any:
    import kornia.losses

    return kornia.losses


def _pml() -> Any:
    import pytorch_metric_learning.distances
    import pytorch_metric_learning.losses
    import pytorch_metric_learning.miners

    return pytorch_metric_learning


# ---------------------------------------------------------------- segmentation


def _segmentation(div: int) -> Arrays:
    rng = _rng()
    side = 256 if div == 1 else 64
    return {"pred": _normal(rng, 16, 4, side, side), "labels": _labels(rng, 4, 16, side, side)}


def _seg_ours(loss: Callable[..., Any], **kw: Any) -> LossFn:
    return lambda d: loss(d["pred"], d["labels"], mode="multiclass", from_logits=True, **kw)


def _monai_seg(cls: str, **kw: Any) -> Impl:
    def build() -> LossFn:
        fn = getattr(_monai(), cls)(softmax=True, to_onehot_y=True, **kw)
        return lambda d: fn(d["pred"], d["labels"].unsqueeze(1))

    return Impl(f"MONAI {cls}", "torch", build)


def _monai_focal_tversky(alpha: float, beta: float, gamma: float) -> Impl:
    def build() -> LossFn:
        fn = _monai().TverskyLoss(softmax=True, to_onehot_y=True, alpha=alpha, beta=beta, smooth_nr=1e-5,
                                  smooth_dr=1e-5, reduction="none")
        return lambda d: (fn(d["pred"], d["labels"].unsqueeze(1)).clamp(min=0.0) ** gamma).mean()

    return Impl("MONAI TverskyLoss(reduction='none')**gamma", "torch", build)


def _kornia_dice() -> Impl:
    def build() -> LossFn:
        dice_loss = _kornia().dice_loss
        return lambda d: dice_loss(d["pred"], d["labels"], average="macro")

    return Impl("kornia dice_loss(macro)", "torch", build)


def _kornia_tversky(alpha: float, beta: float) -> Impl:
    def build() -> LossFn:
        tversky_loss = _kornia().tversky_loss
        return lambda d: tversky_loss(d["pred"], d["labels"], alpha, beta)

    return Impl("kornia tversky_loss", "torch", build)


def _segmentation_cases() -> list[Case]:
    smooth = {"smooth_nr": 1e-5, "smooth_dr": 1e-5}
    common = {"group": "segmentation", "target": COMPOSITE, "make": _segmentation, "grad": ("pred",),
              "floor_inputs": ("pred",)}
    return [
        Case("dice", ours=_seg_ours(losskit.dice), peers=(_monai_seg("DiceLoss", **smooth), _kornia_dice()),
             **common),
        Case("tversky", ours=_seg_ours(losskit.tversky, alpha=0.3, beta=0.7),
             peers=(_monai_seg("TverskyLoss", alpha=0.3, beta=0.7, **smooth), _kornia_tversky(0.3, 0.7)), **common),
        Case("dice_bce", ours=_seg_ours(losskit.dice_bce), peers=(_monai_seg("DiceCELoss", **smooth),), **common),
        Case("focal_tversky", ours=_seg_ours(losskit.focal_tversky, alpha=0.3, beta=0.7, gamma=0.75),
             peers=(_monai_focal_tversky(0.3, 0.7, 0.75),),
             note="no peer has it: MONAI's per-class Tversky raised to gamma stands in", **common),
    ]


# ---------------------------------------------------------------- detection


def _detection(div: int) -> Arrays:
    rng = _rng()
    n = 100_000 // div
    return {"pred": _normal(rng, 64, n), "target": (rng.random((64, n), dtype=np.float32) < 0.01).astype(np.float32)}


def _torchvision_focal(alpha: float, gamma: float) -> Impl:
    """torchvision.ops.sigmoid_focal_loss restated line by line (torchvision cannot be installed here)."""

    def build() -> LossFn:
        torch, functional = _torch(), _f()

        def loss(d: Data) -> Any:
            inputs, targets = d["pred"], d["target"]
            p = torch.sigmoid(inputs)
            ce_loss = functional.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
            p_t = p * targets + (1 - p) * (1 - targets)
            out = ce_loss * ((1 - p_t) ** gamma)
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            return (alpha_t * out).mean()

        return loss

    return Impl("torchvision sigmoid_focal_loss formula (restated in torch)", "torch", build)


def _detection_cases() -> list[Case]:
    alpha, gamma = 0.25, 2.0

    def kornia_focal() -> LossFn:
        fn = _kornia().binary_focal_loss_with_logits
        return lambda d: fn(d["pred"], d["target"], alpha=alpha, gamma=gamma, reduction="mean")

    def monai_focal() -> LossFn:
        fn = _monai().FocalLoss(gamma=gamma, alpha=alpha, use_softmax=False, reduction="mean")
        return lambda d: fn(d["pred"], d["target"])

    def optax_focal() -> LossFn:
        fn = _optax().sigmoid_focal_loss
        return lambda d: fn(d["pred"], d["target"], alpha=alpha, gamma=gamma).mean()

    def keras_focal() -> LossFn:
        fn = _keras().losses.binary_focal_crossentropy
        return lambda d: fn(d["target"], d["pred"], apply_class_balancing=True, alpha=alpha, gamma=gamma,
                            from_logits=True).mean()

    def f_bce() -> LossFn:
        return lambda d: _f().binary_cross_entropy_with_logits(d["pred"], d["target"])

    def optax_bce() -> LossFn:
        fn = _optax().sigmoid_binary_cross_entropy
        return lambda d: fn(d["pred"], d["target"]).mean()

    def keras_bce() -> LossFn:
        fn = _keras().losses.binary_crossentropy
        return lambda d: fn(d["target"], d["pred"], from_logits=True).mean()

    # softmax focal losses, on the classification inputs (8192 x 1000), alpha None
    def kornia_softmax_focal() -> LossFn:
        fn = _kornia().focal_loss
        # kornia's mean also divides by the number of classes
        return lambda d: fn(d["pred"], d["labels"], alpha=None, gamma=gamma, reduction="sum") / d["pred"].shape[0]

    def torch_sparse_focal() -> LossFn:
        functional = _f()

        def loss(d: Data) -> Any:
            log_p = functional.log_softmax(d["pred"], dim=-1).gather(1, d["labels"][:, None]).squeeze(1)
            return (-(1 - log_p.exp()) ** gamma * log_p).mean()

        return loss

    def keras_softmax_focal() -> LossFn:
        fn = _keras().losses.categorical_focal_crossentropy
        return lambda d: fn(d["probs"], d["pred"], alpha=1.0, gamma=gamma, from_logits=True).mean()

    def torch_categorical_focal() -> LossFn:
        functional = _f()

        def loss(d: Data) -> Any:
            log_p = functional.log_softmax(d["pred"], dim=-1)
            return (-(d["probs"] * (1 - log_p.exp()) ** gamma * log_p).sum(-1)).mean()

        return loss

    softmax = {"group": "detection", "target": COMPOSITE, "make": _classification, "grad": ("pred",)}
    common = {"group": "detection", "make": _detection, "grad": ("pred",), "floor_inputs": ("pred", "target"),
              "ours_jax": True}
    return [
        Case("focal", target=COMPOSITE,
             ours=lambda d: losskit.focal(d["pred"], d["target"], gamma=gamma, alpha=alpha, from_logits=True),
             peers=(_torchvision_focal(alpha, gamma), Impl("kornia binary_focal_loss_with_logits", "torch",
                                                            kornia_focal),
                    Impl("MONAI FocalLoss(sigmoid)", "torch", monai_focal),
                    Impl("optax sigmoid_focal_loss (jit)", "jax", optax_focal),
                    Impl("keras binary_focal_crossentropy (torch)", "torch", keras_focal)), **common),
        Case("bce", target=NATIVE,
             ours=lambda d: losskit.binary_cross_entropy(d["pred"], d["target"], from_logits=True),
             peers=(Impl("F.binary_cross_entropy_with_logits", "torch", f_bce, native=True),
                    Impl("optax sigmoid_binary_cross_entropy (jit)", "jax", optax_bce),
                    Impl("keras binary_crossentropy (torch)", "torch", keras_bce)), **common),
        Case("sparse_focal",
             ours=lambda d: losskit.sparse_categorical_focal(d["pred"], d["labels"], gamma=gamma, from_logits=True),
             peers=(Impl("torch formula log_softmax, gather, -(1 - p)^gamma log p", "torch", torch_sparse_focal),
                    Impl("kornia focal_loss", "torch", kornia_softmax_focal)),
             floor_inputs=("pred",), **softmax),
        Case("categorical_focal",
             ours=lambda d: losskit.categorical_focal(d["pred"], d["probs"], gamma=gamma, from_logits=True),
             peers=(Impl("torch formula -sum y (1 - p)^gamma log p", "torch", torch_categorical_focal),
                    Impl("keras categorical_focal_crossentropy (torch)", "torch", keras_softmax_focal)),
             floor_inputs=("pred", "probs"), **softmax),
    ]


# ---------------------------------------------------------------- classification and language model


def _classification(div: int) -> Arrays:
    rng = _rng()
    n = 8192 // div
    return {"pred": _normal(rng, n, 1000), "labels": _labels(rng, 1000, n), "probs": _softmax(_normal(rng, n, 1000))}


def _language_model(div: int) -> Arrays:
    rng = _rng()
    n = 8192 // div
    return {"pred": _normal(rng, n, 32_000), "labels": _labels(rng, 32_000, n)}


def _sparse_ce_peers() -> tuple[Impl, ...]:
    def f_ce() -> LossFn:
        return lambda d: _f().cross_entropy(d["pred"], d["labels"])

    def optax_ce() -> LossFn:
        fn = _optax().softmax_cross_entropy_with_integer_labels
        return lambda d: fn(d["pred"], d["labels"]).mean()

    def keras_ce() -> LossFn:
        fn = _keras().losses.sparse_categorical_crossentropy
        return lambda d: fn(d["labels"], d["pred"], from_logits=True).mean()

    return (Impl("F.cross_entropy(indices)", "torch", f_ce, native=True),
            Impl("optax softmax_cross_entropy_with_integer_labels (jit)", "jax", optax_ce),
            Impl("keras sparse_categorical_crossentropy (torch)", "torch", keras_ce))


def _sparse_ce(d: Data) -> Any:
    return losskit.sparse_categorical_cross_entropy(d["pred"], d["labels"], from_logits=True)


def _classification_cases() -> list[Case]:
    def f_ce_probs() -> LossFn:
        return lambda d: _f().cross_entropy(d["pred"], d["probs"])

    def optax_ce_probs() -> LossFn:
        fn = _optax().softmax_cross_entropy
        return lambda d: fn(d["pred"], d["probs"]).mean()

    def keras_ce_probs() -> LossFn:
        fn = _keras().losses.categorical_crossentropy
        return lambda d: fn(d["probs"], d["pred"], from_logits=True).mean()

    def f_multi_margin() -> LossFn:
        return lambda d: _f().multi_margin_loss(d["pred"], d["labels"])

    smoothing = 0.1

    def multilabel(div: int) -> Arrays:
        """8192 x 1000 multi-label logits, one positive label in 50, a pos_weight per label."""
        rng = _rng()
        n = 8192 // div
        positive = (rng.random((n, 1000), dtype=np.float32) < 0.02).astype(np.float32)
        return {"pred": _normal(rng, n, 1000), "multi": positive,
                "pos_weight": rng.uniform(1.0, 10.0, 1000).astype(np.float32)}

    def f_bce_options() -> LossFn:
        def loss(d: Data) -> Any:
            smoothed = d["multi"] * (1.0 - smoothing) + 0.5 * smoothing
            return _f().binary_cross_entropy_with_logits(d["pred"], smoothed, pos_weight=d["pos_weight"])

        return loss

    def scores(div: int) -> Arrays:
        """A linear classifier's 1M scores and their labels in {-1, +1}."""
        rng = _rng()
        n = 1_000_000 // div
        return {"scores": _normal(rng, n), "signs": np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(np.float32)}

    def torch_hinge(power: int) -> LossFn:
        torch = _torch()
        return lambda d: (torch.clamp(1.0 - d["signs"] * d["scores"], min=0.0) ** power).mean()

    def keras_hinge(name: str) -> LossFn:
        fn = getattr(_keras().losses, name)
        return lambda d: fn(d["signs"], d["scores"])

    def optax_hinge() -> LossFn:
        fn = _optax().hinge_loss
        return lambda d: fn(d["scores"], d["signs"]).mean()

    common = {"target": NATIVE, "grad": ("pred",), "ours_jax": True}
    margin = {"group": "classification", "target": ELEMENTWISE, "make": scores, "grad": ("scores",),
              "floor_inputs": ("scores", "signs")}
    return [
        Case("sparse_ce", group="classification", make=_classification, ours=_sparse_ce, peers=_sparse_ce_peers(),
             floor_inputs=("pred",), **common),
        Case("categorical_ce", group="classification", make=_classification,
             ours=lambda d: losskit.categorical_cross_entropy(d["pred"], d["probs"], from_logits=True),
             peers=(Impl("F.cross_entropy(probabilities)", "torch", f_ce_probs, native=True),
                    Impl("optax softmax_cross_entropy (jit)", "jax", optax_ce_probs),
                    Impl("keras categorical_crossentropy (torch)", "torch", keras_ce_probs)),
             floor_inputs=("pred", "probs"), **common),
        Case("multiclass_hinge", group="classification", make=_classification,
             ours=lambda d: losskit.multiclass_hinge(d["pred"], d["labels"], kind="weston_watkins"),
             peers=(Impl("F.multi_margin_loss", "torch", f_multi_margin, native=True),), floor_inputs=("pred",),
             target=NATIVE, grad=("pred",)),
        Case("sparse_ce_lm", group="language model", make=_language_model, ours=_sparse_ce,
             peers=_sparse_ce_peers(), floor_inputs=("pred",), **common),
        Case("bce_options", group="classification", target=COMPOSITE, make=multilabel, grad=("pred",),
             ours=lambda d: losskit.binary_cross_entropy(d["pred"], d["multi"], from_logits=True,
                                                         pos_weight=d["pos_weight"], label_smoothing=smoothing),
             peers=(Impl("F.binary_cross_entropy_with_logits(pos_weight), smoothed target", "torch", f_bce_options),),
             floor_inputs=("pred", "multi"), note="pos_weight per label and label smoothing 0.1"),
        Case("hinge", ours=lambda d: losskit.hinge(d["scores"], d["signs"]),
             peers=(Impl("torch formula clamp(1 - y s, 0)", "torch", lambda: torch_hinge(1)),
                    Impl("optax hinge_loss (jit)", "jax", optax_hinge),
                    Impl("keras hinge (torch)", "torch", lambda: keras_hinge("hinge"))), **margin),
        Case("squared_hinge", ours=lambda d: losskit.squared_hinge(d["scores"], d["signs"]),
             peers=(Impl("torch formula clamp(1 - y s, 0)^2", "torch", lambda: torch_hinge(2)),
                    Impl("keras squared_hinge (torch)", "torch", lambda: keras_hinge("squared_hinge"))), **margin),
    ]


# ---------------------------------------------------------------- regression


def _regression(div: int) -> Arrays:
    rng = _rng()
    n = 1_000_000 // div
    return {"pred": _normal(rng, n), "target": _normal(rng, n)}


def _regression_cases() -> list[Case]:
    q = 0.9

    def f(name: str, **kw: Any) -> Impl:
        return Impl(f"F.{name}", "torch", lambda: lambda d: getattr(_f(), name)(d["pred"], d["target"], **kw),
                    native=True)

    def optax(name: str, **kw: Any) -> Impl:
        def build() -> LossFn:
            fn = getattr(_optax(), name)
            return lambda d: fn(d["pred"], d["target"], **kw).mean()

        return Impl(f"optax {name} (jit)", "jax", build)

    def keras(name: str, **kw: Any) -> Impl:
        def build() -> LossFn:
            fn = getattr(_keras().losses, name)
            return lambda d: fn(d["target"], d["pred"], **kw)

        return Impl(f"keras {name} (torch)", "torch", build)

    def quantile_formula() -> LossFn:
        torch = _torch()

        def loss(d: Data) -> Any:
            r = d["target"] - d["pred"]
            return torch.maximum(q * r, (q - 1.0) * r).mean()

        return loss

    common = {"group": "regression", "make": _regression, "grad": ("pred",), "floor_inputs": ("pred", "target")}
    return [
        Case("mse", target=NATIVE, ours=lambda d: losskit.mse(d["pred"], d["target"]), ours_jax=True,
             peers=(f("mse_loss"), optax("squared_error"), keras("mean_squared_error")), **common),
        Case("mae", target=NATIVE, ours=lambda d: losskit.mae(d["pred"], d["target"]),
             peers=(f("l1_loss"), keras("mean_absolute_error")), **common),
        Case("huber", target=NATIVE, ours=lambda d: losskit.huber(d["pred"], d["target"]), ours_jax=True,
             peers=(f("huber_loss"), optax("huber_loss"), keras("huber")), **common),
        Case("log_cosh", target=ELEMENTWISE, ours=lambda d: losskit.log_cosh(d["pred"], d["target"]), ours_jax=True,
             peers=(optax("log_cosh"), keras("log_cosh")), **common),
        Case("quantile", target=ELEMENTWISE, ours=lambda d: losskit.quantile(d["pred"], d["target"], q=q),
             peers=(Impl("torch formula max(q r, (q - 1) r)", "torch", quantile_formula),),
             note="no library has it: the formula in torch stands in", **common),
    ]


# ---------------------------------------------------------------- embeddings


def _embeddings(div: int, classes: int = 16) -> Arrays:
    rng = _rng()
    n = 512 if div == 1 else 128
    labels = rng.permutation(np.arange(n, dtype=np.int64) % min(classes, n // 2))
    return {"x": _normal(rng, n, 128), "labels": labels}


def _view_pairs(div: int) -> Arrays:
    """A SimCLR batch: two views of each image, so every label appears twice."""
    return _embeddings(div, classes=256)


def _triplets(div: int) -> Arrays:
    rng = _rng()
    n = 512 if div == 1 else 128
    return {"anchor": _normal(rng, n, 128), "positive": _normal(rng, n, 128), "negative": _normal(rng, n, 128)}


def _pairs(div: int) -> Arrays:
    rng = _rng()
    n = 512 if div == 1 else 128
    return {"x1": _normal(rng, n, 128), "x2": _normal(rng, n, 128), "same": rng.random(n) < 0.5}


def _pml_triplet(margin: float, hard: bool) -> Impl:
    def build() -> LossFn:
        pml = _pml()
        distance = pml.distances.LpDistance(normalize_embeddings=False)
        loss = pml.losses.TripletMarginLoss(margin=margin, distance=distance)
        if not hard:
            return lambda d: loss(d["x"], d["labels"])
        miner = pml.miners.BatchHardMiner(distance=distance)
        return lambda d: loss(d["x"], d["labels"], miner(d["x"], d["labels"]))

    name = "TripletMarginLoss + BatchHardMiner" if hard else "TripletMarginLoss (all triplets)"
    return Impl(f"pml {name}", "torch", build)


def _embedding_cases() -> list[Case]:
    margin, temperature = 0.2, 0.07

    def pml_ntxent() -> LossFn:
        loss = _pml().losses.NTXentLoss(temperature=temperature)
        return lambda d: loss(d["x"], d["labels"])

    def optax_ntxent() -> LossFn:
        fn = _optax().ntxent
        return lambda d: fn(d["x"], d["labels"], temperature)

    def f_triplet() -> LossFn:
        return lambda d: _f().triplet_margin_loss(d["anchor"], d["positive"], d["negative"], margin=1.0)

    common = {"group": "embeddings", "make": _embeddings, "grad": ("x",), "floor_inputs": ("x",)}
    # pml's NTXentLoss builds a (positive pairs x negative pairs) matrix: 15872 x 245760 floats (15.6 GB)
    # at 512 embeddings of 16 classes, more than this machine's memory.
    pml_oom = "skipped: pml NTXentLoss needs a 15872 x 245760 float matrix here (15.6 GB, killed for memory)"
    return [
        Case("batch_triplet_all", target=MINING_ALL,
             ours=lambda d: losskit.batch_triplet(d["x"], d["labels"], margin=margin, mining="all"),
             peers=(_pml_triplet(margin, hard=False),), **common),
        Case("batch_triplet_hard", target=COMPOSITE,
             ours=lambda d: losskit.batch_triplet(d["x"], d["labels"], margin=margin, mining="hard"),
             peers=(_pml_triplet(margin, hard=True),), **common),
        Case("info_nce", target=COMPOSITE, ours_jax=True,
             ours=lambda d: losskit.info_nce(d["x"], d["labels"], temperature=temperature),
             peers=(Impl("pml NTXentLoss", "torch", pml_ntxent, skip_full=pml_oom),
                    Impl("optax ntxent (jit)", "jax", optax_ntxent)), **common),
        Case("info_nce_pairs", target=COMPOSITE, ours_jax=True,
             ours=lambda d: losskit.info_nce(d["x"], d["labels"], temperature=temperature),
             peers=(Impl("pml NTXentLoss", "torch", pml_ntxent), Impl("optax ntxent (jit)", "jax", optax_ntxent)),
             note="a SimCLR batch (each label on two views), where pml's NTXentLoss fits in memory",
             **{**common, "make": _view_pairs}),
        Case("triplet", group="embeddings", target=NATIVE, make=_triplets,
             ours=lambda d: losskit.triplet(d["anchor"], d["positive"], d["negative"], margin=1.0),
             peers=(Impl("F.triplet_margin_loss", "torch", f_triplet, native=True),),
             grad=("anchor", "positive", "negative"), floor_inputs=("anchor", "positive", "negative")),
        Case("contrastive", group="embeddings", target=COMPOSITE, make=_pairs,
             ours=lambda d: losskit.contrastive(d["x1"], d["x2"], d["same"]), grad=("x1", "x2"),
             floor_inputs=("x1", "x2"),
             note="pml ContrastiveLoss is another definition (unsquared distances, separate non-zero means of the "
                  "positive and negative pairs of the batch): no peer"),
    ]


# ---------------------------------------------------------------- KL


def _kl(div: int) -> Arrays:
    rng = _rng()
    n = 8192 // div
    logits = _normal(rng, n, 1000)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return {"pred": log_p, "probs": _softmax(_normal(rng, n, 1000))}


def _kl_cases() -> list[Case]:
    def f_kl() -> LossFn:
        return lambda d: _f().kl_div(d["pred"], d["probs"], reduction="batchmean")

    def optax_kl() -> LossFn:
        fn = _optax().kl_divergence
        return lambda d: fn(d["pred"], d["probs"]).mean()

    return [
        Case("kl_divergence", group="KL", target=NATIVE, make=_kl,
             ours=lambda d: losskit.kl_divergence(d["pred"], d["probs"], log_pred=True), ours_jax=True,
             peers=(Impl("F.kl_div(batchmean)", "torch", f_kl, native=True),
                    Impl("optax kl_divergence (jit)", "jax", optax_kl)),
             grad=("pred",), floor_inputs=("pred", "probs")),
    ]


# ---------------------------------------------------------------- VAE and GAN


def _latents(div: int) -> Arrays:
    rng = _rng()
    n = 8192 // div
    return {"mu": _normal(rng, n, 256), "log_var": 0.5 * _normal(rng, n, 256)}


def _autoencoder_cases() -> list[Case]:
    def vae_example() -> LossFn:
        torch = _torch()
        return lambda d: -0.5 * torch.sum(1 + d["log_var"] - d["mu"].pow(2) - d["log_var"].exp())

    def distributions() -> LossFn:
        torch = _torch()
        normal = torch.distributions.Normal

        def loss(d: Data) -> Any:
            q = normal(d["mu"], torch.exp(0.5 * d["log_var"]))
            return torch.distributions.kl_divergence(q, normal(0.0, 1.0)).sum()

        return loss

    return [
        Case("gaussian_kl", group="VAE", target=COMPOSITE, make=_latents,
             ours=lambda d: losskit.gaussian_kl(d["mu"], d["log_var"], reduction="sum"),
             peers=(Impl("VAE example -0.5 sum(1 + lv - mu^2 - exp(lv))", "torch", vae_example),
                    Impl("torch.distributions.kl_divergence(Normal, Normal(0, 1))", "torch", distributions)),
             grad=("mu", "log_var"), floor_inputs=("mu", "log_var")),
    ]


def _logits(div: int) -> Arrays:
    rng = _rng()
    n = 65536 // div
    return {"real": _normal(rng, n) + 1.0, "fake": _normal(rng, n) - 1.0}


def _gan_cases() -> list[Case]:
    def dcgan_d() -> LossFn:
        f, torch = _f(), _torch()
        return lambda d: (f.binary_cross_entropy_with_logits(d["real"], torch.ones_like(d["real"]))
                          + f.binary_cross_entropy_with_logits(d["fake"], torch.zeros_like(d["fake"])))

    def dcgan_g() -> LossFn:
        f, torch = _f(), _torch()
        return lambda d: f.binary_cross_entropy_with_logits(d["fake"], torch.ones_like(d["fake"]))

    def hinge() -> LossFn:
        torch = _torch()
        return lambda d: torch.relu(1.0 - d["real"]).mean() + torch.relu(1.0 + d["fake"]).mean()

    def least_squares() -> LossFn:
        return lambda d: 0.5 * ((d["real"] - 1.0) ** 2).mean() + 0.5 * (d["fake"] ** 2).mean()

    def wasserstein() -> LossFn:
        return lambda d: d["fake"].mean() - d["real"].mean()

    def relativistic() -> LossFn:
        f, torch = _f(), _torch()
        return lambda d: f.binary_cross_entropy_with_logits(d["real"] - d["fake"], torch.ones_like(d["real"]))

    def d_loss(kind: str) -> LossFn:
        return lambda d: losskit.gan_discriminator_loss(d["real"], d["fake"], kind=kind)

    both = {"group": "GAN", "target": COMPOSITE, "make": _logits, "grad": ("real", "fake"),
            "floor_inputs": ("real", "fake")}
    return [
        Case("gan_d_non_saturating", ours=d_loss("non_saturating"),
             peers=(Impl("DCGAN bce_with_logits(real, 1) + bce_with_logits(fake, 0)", "torch", dcgan_d),), **both),
        Case("gan_d_hinge", ours=d_loss("hinge"),
             peers=(Impl("torch formula relu(1 - real).mean() + relu(1 + fake).mean()", "torch", hinge),), **both),
        Case("gan_d_least_squares", ours=d_loss("least_squares"),
             peers=(Impl("torch formula (real - 1)^2 / 2 + fake^2 / 2, means", "torch", least_squares),), **both),
        Case("gan_d_wasserstein", ours=d_loss("wasserstein"),
             peers=(Impl("torch formula fake.mean() - real.mean()", "torch", wasserstein),), **both),
        Case("gan_d_relativistic", ours=d_loss("relativistic"),
             peers=(Impl("bce_with_logits(real - fake, 1)", "torch", relativistic),), **both),
        Case("gan_g_non_saturating", group="GAN", target=COMPOSITE, make=_logits,
             ours=lambda d: losskit.gan_generator_loss(d["fake"]),
             peers=(Impl("DCGAN bce_with_logits(fake, 1)", "torch", dcgan_g),), grad=("fake",),
             floor_inputs=("fake",)),
    ]


# ---------------------------------------------------------------- language model head


def _lm_head(vocabulary: int) -> Callable[[int], Arrays]:
    def make(div: int) -> Arrays:
        rng = _rng()
        n, features = 8192 // div, 1024
        # a classifier of N(0, 1/H) entries: logits of unit variance, as an initialised head
        return {"hidden": _normal(rng, n, features), "classifier": _normal(rng, vocabulary, features) / 32,
                "bias": _normal(rng, vocabulary) / 32, "labels": _labels(rng, vocabulary, n)}

    return make


def _naive_linear_ce(d: Data) -> Any:
    return _f().cross_entropy(_f().linear(d["hidden"], d["classifier"], d["bias"]), d["labels"])


def _language_cases() -> list[Case]:
    def naive() -> LossFn:
        return _naive_linear_ce

    def compiled() -> LossFn:
        return _torch().compile(_naive_linear_ce)

    peers = (Impl("F.cross_entropy(F.linear(hidden, W, b)) (naive)", "torch", naive, native=True),
             Impl("the naive version under torch.compile", "torch", compiled))
    note = ("issue targets: peak memory <= 1/8 of the naive version, time <= 1.1x; Liger Kernel and Cut "
            "Cross-Entropy need a GPU (none here)")
    common = {"group": "language model", "target": "linear_ce", "grad": ("hidden", "classifier", "bias"),
              "floor_inputs": ("classifier",), "peers": peers, "note": note,
              "ours": lambda d: losskit.linear_cross_entropy(d["hidden"], d["classifier"], d["labels"],
                                                             bias=d["bias"])}
    return [Case("linear_ce_32k", make=_lm_head(32_000), **common),
            Case("linear_ce_128k", make=_lm_head(128_000), **common)]


def all_cases() -> dict[str, Case]:
    cases = [*_segmentation_cases(), *_detection_cases(), *_classification_cases(), *_regression_cases(),
             *_embedding_cases(), *_kl_cases(), *_autoencoder_cases(), *_gan_cases(), *_language_cases()]
    return {case.name: case for case in cases}
