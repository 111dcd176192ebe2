"""Catalogue records of the GAN losses: probed against the discriminator's logit on one example.

The generator's loss is probed against the discriminator's logit on one generated example; the
discriminator's loss against its logit on one real example, with its logit on the paired generated
example fixed at 0 (undecided), so that the probe is one per-pair loss of ``reduction="none"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record

_KIND_VALUES = "'minimax' | 'non_saturating' | 'least_squares' | 'wasserstein' | 'hinge' | 'relativistic'"
_FIXED_FAKE_SCORE = 0.0


def _on_real(loss: str) -> Any:
    """The discriminator's loss of a pair as a function of its logit ``r`` on the real example."""

    def probe(r: Floats, **params: Any) -> Floats:
        real = np.asarray(r, dtype=np.float64)
        fake = np.full_like(real, _FIXED_FAKE_SCORE)
        return np.asarray(losskit.get(loss)(real, fake, reduction="none", **params))

    return probe


def _on_fake(loss: str) -> Any:
    """The generator's loss as a function of the discriminator's logit ``f`` on a generated example."""

    def probe(f: Floats, **params: Any) -> Floats:
        fake = np.asarray(f, dtype=np.float64)
        return np.asarray(losskit.get(loss)(fake, reduction="none", **params))

    return probe


_REFERENCES = (
    "Goodfellow et al., \"Generative Adversarial Nets\", NeurIPS 2014.",
    "Mao et al., \"Least Squares Generative Adversarial Networks\", ICCV 2017.",
    "Arjovsky, Chintala & Bottou, \"Wasserstein Generative Adversarial Networks\", ICML 2017.",
    "Miyato et al., \"Spectral Normalization for Generative Adversarial Networks\", ICLR 2018 (hinge).",
    "Jolicoeur-Martineau, \"The relativistic discriminator: a key element missing from standard GAN\", "
    "ICLR 2019.",
)

RECORDS: tuple[Record, ...] = (
    Record(
        name="gan_discriminator_loss",
        family="gan",
        summary="The discriminator's (or critic's) loss of a GAN, from its raw scores on real and generated "
                "examples.",
        measures="how well real is told from fake",
        formula_latex=r"\ell = -\log \sigma(r) - \log\big(1 - \sigma(f)\big) "
                      r"= \operatorname{softplus}(-r) + \operatorname{softplus}(f)",
        formula_text="ℓ = -log σ(r) - log(1 - σ(f)) = softplus(-r) + softplus(f)  "
                     "(r, f: scores on a real and a generated example)",
        params=(
            Param("kind", "non_saturating", _KIND_VALUES,
                  "the GAN objective: cross-entropy (minimax and non_saturating agree for the discriminator), "
                  "least squares ½(r - 1)² + ½f², Wasserstein critic f - r, hinge max(0, 1 - r) + "
                  "max(0, 1 + f), or relativistic softplus(f - r)."),
        ),
        activation="identity",
        target="none",
        # softplus(-r) + log 2 along the probe: convex, smooth, slope in (-1, 0), unbounded as r -> -inf
        traits=frozenset({"convex", "differentiable", "lipschitz"}),
        advantages=(
            "The default is the binary cross-entropy of real against fake: convex and smooth in the scores, "
            "and its optimum is the probability that an example is real.",
            "Takes raw scores (logits): finite loss and gradient for scores of any size.",
            "One function for the common GAN objectives: the kind is one argument.",
        ),
        disadvantages=(
            "A discriminator that wins too easily leaves the generator with vanishing or useless gradients: "
            "training is a fragile two-player game.",
            "Unbounded for the cross-entropy, least-squares and hinge kinds; the Wasserstein critic is "
            "meaningful only with a gradient penalty or weight clipping.",
            "Its value says little about the quality of the samples.",
        ),
        use_cases=(
            "Training the discriminator of a GAN (DCGAN; StyleGAN with an R1 penalty).",
            "The critic of a WGAN-GP (kind='wasserstein' plus gradient_penalty), or the hinge loss of SNGAN "
            "and BigGAN.",
        ),
        references=_REFERENCES,
        alternatives=("gan_generator_loss", "binary_cross_entropy", "hinge"),
        example="real, fake = np.array([1.5, 0.3]), np.array([-0.8, 0.4])\n"
                "print(losskit.gan_discriminator_loss(real, fake))",
        probe=_on_real("gan_discriminator_loss"),
        probe_axis="discriminator's logit on a real example (its logit on the paired fake fixed at 0)",
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="gan_generator_loss",
        family="gan",
        summary="The generator's loss of a GAN, from the discriminator's raw scores on generated examples.",
        measures="how real the fakes look to the discriminator",
        formula_latex=r"\ell = -\log \sigma(f) = \operatorname{softplus}(-f)",
        formula_text="ℓ = -log σ(f) = softplus(-f)  (f: the discriminator's score on a generated example)",
        params=(
            Param("kind", "non_saturating", _KIND_VALUES,
                  "the GAN objective: minimax -softplus(f), non-saturating softplus(-f), least squares "
                  "½(f - 1)², Wasserstein and hinge -f, or relativistic softplus(r - f)."),
            Param("real", None, "None | array of fake's shape",
                  "the discriminator's scores on the real examples paired with fake: required by "
                  "kind='relativistic', refused by the other kinds."),
        ),
        activation="identity",
        target="none",
        # softplus(-f): convex, smooth, slope in (-1, 0), unbounded as f -> -inf
        traits=frozenset({"convex", "differentiable", "lipschitz"}),
        advantages=(
            "Non-saturating: its gradient is close to -1 in the logit exactly when the discriminator rejects "
            "the fakes, early in training, where the minimax form's vanishes.",
            "Same fixed point as the minimax game; convex and smooth in the discriminator's logit.",
            "A generator kind to match every discriminator kind.",
        ),
        disadvantages=(
            "Its value is no measure of sample quality: it can rise while the samples improve.",
            "Does nothing against mode collapse by itself.",
            "The minimax and Wasserstein kinds are negative and unbounded below; the minimax kind saturates.",
        ),
        use_cases=(
            "Training the generator of a GAN against a discriminator trained with gan_discriminator_loss.",
            "An adversarial term next to a reconstruction loss in image translation or super-resolution.",
        ),
        references=_REFERENCES[:4],
        alternatives=("gan_discriminator_loss", "binary_cross_entropy"),
        example="fake = np.array([-2.0, 0.5])\n"
                "print(losskit.gan_generator_loss(fake))",
        probe=_on_fake("gan_generator_loss"),
        probe_axis="discriminator's logit on a generated example",
        probe_range=(-6.0, 6.0),
    ),
)
