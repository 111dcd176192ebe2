"""Segmentation of small shapes in noisy images: per-pixel cross-entropy against the overlap losses.

The seed articles name the Dice coefficient as the overlap measure of segmentation. With about 3 %
of the pixels in the foreground, a per-pixel loss is mostly about background; an overlap loss
scores the object alone. Every loss trains the same small CNN; the report compares IoU on the test
masks and shows the masks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from torch import nn

import losskit

from .. import data, metrics, plots
from ..models import tiny_cnn
from ..progress import Bars
from ..results import Metric, TaskResult, claim_better
from ..task import Options, Task, Training, Variant, epochs, numpy, tensor, total, train_each
from ..train import Batch, LossOf
from .classify import probability

PRIMARY = Metric("iou", "IoU", True)
METRICS = (PRIMARY, Metric("dice_coefficient", "Dice coefficient", True),
           Metric("foreground_predicted", "foreground predicted", True, ".4f"))
SIZE, TRAIN, TEST = 24, 384, 128
EPOCHS, QUICK_EPOCHS = 15, 4
BATCH, LR = 32, 3e-3
SHOWN = 4
DEFAULTS = (
    Variant("bce", "binary_cross_entropy"),
    Variant("dice", "dice"),
    Variant("dice_bce", "dice_bce"),
    # alpha = beta = 0.5 would be Dice itself: weigh the missed foreground more, as Tversky loss is meant to.
    Variant("tversky(alpha=0.3, beta=0.7)", "tversky", {"alpha": 0.3, "beta": 0.7}),
    Variant("focal_tversky", "focal_tversky"),
)


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    return {v.loss: (v,) for v in DEFAULTS}


def _loss(variant: Variant) -> LossOf:
    fn = losskit.get(variant.loss)

    def loss_of(model: nn.Module, batch: Batch) -> Any:
        x, masks = batch
        return fn(model(x), masks, from_logits=True, **variant.params)
    return loss_of


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    rng = np.random.default_rng(options.seed)
    x_train, m_train = data.shapes(TRAIN, SIZE, rng)
    x_test, m_test = data.shapes(TEST, SIZE, rng)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    test_images = tensor(x_test, options)
    shown: dict[str, np.ndarray] = {}

    def proba(model: nn.Module) -> np.ndarray:
        return probability(numpy(model(test_images)))

    def keep(variant: Variant, seed: int, model: nn.Module) -> None:
        if seed == options.seed:
            shown[variant.label] = proba(model)[:SHOWN]

    training = Training(build=tiny_cnn, loss_of=_loss, data=(tensor(x_train, options), tensor(m_train, options)),
                        score=lambda m: metrics.segmentation(proba(m), m_test), epochs=n_epochs, batch_size=BATCH,
                        lr=LR)
    with bars.task("segmentation", total(variants, options, n_epochs)) as tick:
        outcomes = train_each(variants, options, training, PRIMARY, tick, keep)
    result = TaskResult(
        "segmentation", "Segmentation of small objects: per-pixel against overlap losses",
        f"generated {SIZE}x{SIZE} images with 1-3 small discs or squares ({np.mean(m_train):.1%} of the pixels), "
        f"Gaussian noise and a faint gradient; {TRAIN} train, {TEST} test images",
        "CNN: three 3x3 convolutions (8 channels, the last dilated), a 1x1 output; Adam", PRIMARY, METRICS,
        outcomes, options.seeds, n_epochs)
    by_loss = {o.loss: o for o in outcomes}
    if {"dice", "binary_cross_entropy"} <= set(by_loss):
        result.claims.append(claim_better(
            "The Dice coefficient, an overlap measure, suits segmentation: trained on it, a model finds small "
            "objects better than with per-pixel cross-entropy", "seed 000", by_loss["dice"],
            by_loss["binary_cross_entropy"], PRIMARY))
    result.figures = {"curves": plots.learning_curves(result), "masks": _masks(x_test[:SHOWN], m_test[:SHOWN], shown)}
    return result


def _masks(images: np.ndarray, masks: np.ndarray, predicted: Mapping[str, np.ndarray]) -> Figure:
    columns = 2 + len(predicted)
    fig, axes = plots.figure(len(images), columns, height=1.6)
    titles = ["input", "true mask", *predicted]
    for row in range(len(images)):
        panels = [images[row, 0], masks[row, 0], *(p[row, 0] >= 0.5 for p in predicted.values())]
        for col, panel in enumerate(panels):
            ax = axes[row * columns + col]
            ax.imshow(panel, cmap="gray" if col == 0 else "Blues", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(titles[col], fontsize="x-small")
    return fig


TASK = Task("segmentation", "generated small shapes: bce, dice, dice_bce, tversky, focal_tversky", variants, run)
