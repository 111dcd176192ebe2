"""Metric learning on the digits: triplet loss with three mining strategies, contrastive loss and InfoNCE.

The seed articles say triplet loss learns embeddings in which similar inputs lie close together
and dissimilar ones far apart. Each loss trains the same MLP to a 16-D embedding on the unit
sphere; the report measures recall@1 (is each test digit's nearest neighbour of its class?) and
compares it with the same network before training and with the raw pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

import losskit

from .. import data, metrics, plots
from ..models import mlp
from ..progress import Bars
from ..results import Metric, Outcome, TaskResult, claim_better, stat
from ..task import Options, Task, Training, Variant, epochs, numpy, tensor, total, train_each
from ..train import Batch, LossOf

PRIMARY = Metric("recall_at_1", "recall@1", True)
METRICS = (PRIMARY, Metric("distance_ratio", "same-class / other-class distance", False))
DIMENSIONS = 16
EPOCHS, QUICK_EPOCHS = 12, 4
BATCH, LR = 32, 2e-3
"""Mining looks at every triplet of a batch (cubic in its size): small batches, about three digits per class."""
DEFAULTS = {
    "batch_triplet": tuple(Variant(f"triplet({m} mining)", "batch_triplet", {"mining": m})
                           for m in ("all", "hard", "semi_hard")),
    "contrastive": (Variant("contrastive", "contrastive"),),
    "info_nce": (Variant("info_nce", "info_nce"),),
}


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    return DEFAULTS


class Embedder(nn.Module):
    """An MLP whose output is scaled to unit length: distances then lie in [0, 2] and margins mean the same
    for every loss."""

    def __init__(self, features: int, seed: int) -> None:
        super().__init__()
        self.net = mlp([features, 64, DIMENSIONS], seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.net(x), dim=-1)


def pairs(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A partner for each example, of its class for even positions and of another for odd ones, drawn from
    torch's generator: as many similar pairs as dissimilar ones, where a random partner would be 90 % dissimilar.
    Returns the partner's index and which examples found a partner of the kind wanted."""
    same = labels[:, None] == labels[None, :]
    same.fill_diagonal_(False)
    wanted = torch.where(torch.arange(len(labels), device=labels.device)[:, None] % 2 == 0, same,
                         labels[:, None] != labels[None, :])
    draw = torch.rand(wanted.shape, device=labels.device).masked_fill(~wanted, -1.0)
    partner = draw.argmax(dim=1)
    return partner, wanted.gather(1, partner[:, None]).squeeze(1)


def _loss(variant: Variant) -> LossOf:
    fn = losskit.get(variant.loss)

    def loss_of(model: nn.Module, batch: Batch) -> Any:
        x, labels = batch
        z = model(x)
        if variant.loss == "contrastive":
            partner, found = pairs(labels)
            return fn(z[found], z[partner[found]], labels[found] == labels[partner[found]], **variant.params)
        return fn(z, labels, **variant.params)
    return loss_of


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    s = data.digits(options.seed)
    x_test, y_test = tensor(s.x_test, options), np.asarray(s.y_test, dtype=np.int64)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    width = s.x_train.shape[1]
    shown: dict[str, np.ndarray] = {}

    def score(model: nn.Module) -> dict[str, float]:
        return metrics.embedding(numpy(model(x_test)), y_test)

    def keep(variant: Variant, seed: int, model: nn.Module) -> None:
        if seed == options.seed:
            shown[variant.label] = numpy(model(x_test))

    training = Training(build=lambda seed: Embedder(width, seed), loss_of=_loss,
                        data=(tensor(s.x_train, options), tensor(s.y_train, options, torch.int64)), score=score,
                        epochs=n_epochs, batch_size=BATCH, lr=LR)
    with bars.task("embedding", total(variants, options, n_epochs)) as tick:
        outcomes = train_each(variants, options, training, PRIMARY, tick, keep)
    with torch.no_grad():
        untrained_scores = [score(Embedder(width, seed).to(options.device).eval()) for seed in options.seeds]
        shown = {"untrained network": numpy(Embedder(width, options.seed).to(options.device)(x_test)), **shown}
    untrained = Outcome("untrained network", "none", {}, {k: stat([u[k] for u in untrained_scores])
                                                          for k in untrained_scores[0]})
    pixels = metrics.embedding(s.x_test, y_test)
    result = TaskResult(
        "embedding", "Embeddings: do similar digits end up close together?",
        "8x8 digits (1347 train, 450 test images, 10 classes); recall@1 on the test images among themselves",
        f"MLP 64 hidden units (ReLU) to a {DIMENSIONS}-D embedding of unit length; batches of {BATCH}; Adam",
        PRIMARY, METRICS, outcomes, options.seeds, n_epochs)
    result.extra["baselines"] = {"untrained_network": {k: v.to_dict() for k, v in untrained.metrics.items()},
                                 "raw_pixels": pixels}
    result.notes.append(f"Baselines: the untrained network has recall@1 {untrained.metrics[PRIMARY.key].show()}, "
                        f"the standardised raw pixels {pixels[PRIMARY.key]:.3f} (digits are easy for a nearest "
                        "neighbour: the test is whether training moves the embedding forward, not past the pixels).")
    triplets = [o for o in outcomes if o.loss == "batch_triplet"]
    if triplets:
        result.claims.append(claim_better(
            "Triplet loss learns embeddings where similar inputs are close (trained against untrained)", "seed 003",
            triplets[0], untrained, PRIMARY))
    result.figures = {"curves": plots.learning_curves(result), "embeddings": _projections(shown, y_test)}
    return result


def _projections(embeddings: Mapping[str, np.ndarray], labels: np.ndarray) -> Figure:
    """Each embedding's test points on its first two principal components, coloured by digit (first seed)."""
    from sklearn.decomposition import PCA

    columns = 3
    rows = -(-len(embeddings) // columns)
    fig, axes = plots.figure(rows, columns, height=2.8)
    for ax, (label, z) in zip(axes, embeddings.items(), strict=False):
        flat = PCA(2, random_state=0).fit_transform(z)
        points = ax.scatter(flat[:, 0], flat[:, 1], c=labels, cmap="tab10", s=4)
        ax.set_title(label, fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(embeddings):]:
        ax.set_axis_off()
    fig.colorbar(points, ax=axes, label="digit", ticks=range(10))
    return fig


TASK = Task("embedding", "digits: triplet (all, hard, semi-hard mining), contrastive, info_nce", variants, run)
