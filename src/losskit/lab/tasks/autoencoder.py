"""Autoencoders on the digits: MSE against BCE reconstruction, and a VAE's KL term swept over beta.

The seed articles say the KL divergence in a VAE's loss keeps the latent space close to a Gaussian
prior, smooth and continuous, which helps generate samples. With beta = 0 the VAE is an autoencoder
with noise; raising beta pulls the codes towards the prior. The report measures reconstruction
error, the KL, and how close decoded draws from the prior come to real digits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

import losskit

from .. import data, metrics, plots
from ..models import VAE, mlp
from ..progress import Bars
from ..results import Metric, TaskResult, claim_better
from ..task import Options, Task, Training, Variant, epochs, numpy, tensor, total, train_each
from ..train import Batch, LossOf

PRIMARY = Metric("reconstruction_mse", "reconstruction MSE per pixel", False, ".4f")
KL = Metric("kl", "KL to the prior (nats)", False, ".2f")
PRIOR = Metric("prior_distance", "prior samples' distance to the nearest digit", False, ".3f")
METRICS = (PRIMARY, KL, PRIOR)
FEATURES, HIDDEN, LATENT = 64, 32, 8
EPOCHS, QUICK_EPOCHS = 30, 8
BATCH, LR = 64, 2e-3
BETAS = (0.0, 0.25, 1.0, 4.0)
SAMPLES, SHOWN = 500, 6
DEFAULTS = {
    "reconstruction": (Variant("ae: reconstruction(mse)", "reconstruction", {"kind": "mse"}),
                       Variant("ae: reconstruction(bce)", "reconstruction", {"kind": "bce"})),
    "gaussian_kl": tuple(Variant(f"vae: bce + {b:g} * gaussian_kl", "gaussian_kl", {"beta": b}) for b in BETAS),
}


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    return DEFAULTS


def _is_vae(variant: Variant) -> bool:
    return variant.loss == "gaussian_kl"


def _build(variant: Variant) -> Callable[[int], nn.Module]:
    if _is_vae(variant):
        return lambda seed: VAE(FEATURES, HIDDEN, LATENT, seed)
    return lambda seed: mlp([FEATURES, HIDDEN, LATENT, HIDDEN, FEATURES], seed)


def _loss(variant: Variant) -> LossOf:
    if _is_vae(variant):
        beta = float(variant.params["beta"])

        def vae_loss(model: nn.Module, batch: Batch) -> Any:
            (x,) = batch
            logits, mean, log_var = model(x)
            return (losskit.reconstruction(logits, x, kind="bce", from_logits=True)
                    + beta * losskit.gaussian_kl(mean, log_var))
        return vae_loss
    kind = str(variant.params["kind"])

    def ae_loss(model: nn.Module, batch: Batch) -> Any:
        (x,) = batch
        return losskit.reconstruction(model(x), x, kind=kind, from_logits=kind == "bce")
    return ae_loss


def _decode(model: nn.Module, variant: Variant, x: torch.Tensor) -> torch.Tensor:
    """The reconstruction in pixel space: the VAE decodes its mean code; a BCE model's outputs are logits."""
    if isinstance(model, VAE):
        return torch.sigmoid(model.decoder(model.encode(x)[0]))
    out = model(x)
    return torch.sigmoid(out) if variant.params.get("kind") == "bce" else out


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    x_train, x_test, _, _ = data.digit_images(options.seed)
    test = tensor(x_test, options)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    prior = tensor(np.random.default_rng(options.seed).normal(size=(SAMPLES, LATENT)), options)
    pictures: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    outcomes = []
    with bars.task("autoencoder", total(variants, options, n_epochs)) as tick:
        for variant in variants:  # the two model kinds differ: one Training per variant

            def score(model: nn.Module, variant: Variant = variant) -> dict[str, float]:
                found = {PRIMARY.key: float(np.mean((numpy(_decode(model, variant, test)) - x_test) ** 2))}
                if isinstance(model, VAE):
                    mean, log_var = model.encode(test)
                    found[KL.key] = float(losskit.gaussian_kl(mean, log_var))
                    samples = numpy(torch.sigmoid(model.decoder(prior)))
                    found[PRIOR.key] = float(np.mean(metrics.nearest_distance(samples, x_test)))
                return found

            def keep(v: Variant, seed: int, model: nn.Module) -> None:
                if seed == options.seed:
                    samples = numpy(torch.sigmoid(model.decoder(prior[:SHOWN]))) if isinstance(model, VAE) else None
                    pictures[v.label] = (numpy(_decode(model, v, test[:SHOWN])), samples)

            training = Training(build=_build(variant), loss_of=_loss, data=(tensor(x_train, options),), score=score,
                                epochs=n_epochs, batch_size=BATCH, lr=LR)
            outcomes += train_each([variant], options, training, PRIMARY, tick, keep)
    reference = float(np.mean(metrics.nearest_distance(x_test, x_train)))
    result = TaskResult(
        "autoencoder", "Autoencoders: reconstruction losses and the VAE's KL term",
        "8x8 digits as intensities in [0, 1] (1347 train, 450 test images)",
        f"MLP {FEATURES}-{HIDDEN}-{LATENT}-{HIDDEN}-{FEATURES} (ReLU); the VAE's encoder gives a mean and "
        f"log-variance of {LATENT} latents; Adam", PRIMARY, METRICS, outcomes, options.seeds, n_epochs)
    result.extra["real_digit_distance"] = reference
    result.notes.append(f"For scale: a real test digit lies {reference:.3f} from its nearest training digit. Prior "
                        f"samples are {SAMPLES} draws z ~ N(0, I) decoded; the KL column is the mean KL(q(z|x) || "
                        "N(0, I)) of the test images.")
    vaes = {float(o.params["beta"]): o for o in outcomes if o.loss == "gaussian_kl"}
    if 0.0 in vaes and 1.0 in vaes:
        result.claims.append(claim_better(
            "The KL term keeps a VAE's latent space close to the prior, smooth and continuous, which helps "
            "generate samples (beta = 1 against no KL)", "seed 003", vaes[1.0], vaes[0.0], PRIOR))
    result.figures = {"curves": plots.learning_curves(result), "pictures": _pictures(x_test[:SHOWN], pictures)}
    return result


def _pictures(originals: np.ndarray, pictures: Mapping[str, tuple[np.ndarray, np.ndarray | None]]) -> Figure:
    """Per model one row: reconstructions of the first test digits, then (VAE) decoded draws from the prior."""
    rows = 1 + len(pictures)
    fig, axes = plots.figure(rows, 2 * SHOWN, height=0.9)
    panels: list[tuple[str, list[np.ndarray | None]]] = [("test digits", [*originals, *([None] * SHOWN)])]
    for label, (rebuilt, samples) in pictures.items():
        panels.append((label, [*rebuilt, *(samples if samples is not None else [None] * SHOWN)]))
    for r, (label, images) in enumerate(panels):
        for c, image in enumerate(images):
            ax = axes[r * 2 * SHOWN + c]
            ax.set_axis_off()
            if image is not None:
                ax.imshow(np.clip(image, 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[r * 2 * SHOWN].text(-0.2, 0.5, label, transform=axes[r * 2 * SHOWN].transAxes, ha="right",
                                 va="center", fontsize="x-small")
    fig.suptitle("left: reconstructions of test digits; right: decoded draws from the prior N(0, I) (VAEs)",
                 fontsize="small")
    return fig


TASK = Task("autoencoder", "digits: mse vs bce reconstruction; VAE with gaussian_kl at several beta", variants, run)
