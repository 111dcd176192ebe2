"""Catalogue records of the autoencoder losses: probed against a residual, a logit or a latent mean.

The reconstruction error is probed against the residual of one feature of an example; the two
divergences between categorical distributions against the logit ``z`` of class 0 in
``p = softmax([z, 0])``, compared with the fixed target ``y = [0.7, 0.3]`` (over ``[-8, 8]``, wide
enough for the Jensen-Shannon divergence, which nears its limit only like ``p log p``); the Gaussian KL
divergence against the mean of a one-dimensional latent whose log-variance is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record

_OTHER_RESIDUALS = (0.5, -0.5)
_TARGET = np.array([0.7, 0.3])


def _feature(loss: str) -> Any:
    """The loss of a three-feature example against the target 0 as a function of its first feature's
    residual ``r``; the other two features' residuals are fixed at ``±0.5``."""

    def probe(r: Floats, **params: Any) -> Floats:
        r = np.asarray(r, dtype=np.float64)
        pred = np.tile(np.array([0.0, *_OTHER_RESIDUALS]), (r.size, 1))
        pred[:, 0] = r
        return np.asarray(losskit.get(loss)(pred, np.zeros_like(pred), reduction="none", **params))

    return probe


def _two_classes(loss: str, *, log_pred: bool = False) -> Any:
    """The divergence of ``p = softmax([z, 0])`` from ``y = [0.7, 0.3]`` as a function of the logit ``z``.

    With ``log_pred`` the probe passes ``log_softmax([z, 0])`` (and ``log_pred=True``), exact for any
    ``z``, where ``softmax`` would round ``p`` to 0 and hide the growth of the loss.
    """

    def probe(z: Floats, **params: Any) -> Floats:
        z = np.asarray(z, dtype=np.float64)
        log_p = np.stack([-np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)], axis=-1)
        target = np.tile(_TARGET, (z.size, 1))
        fn = losskit.get(loss)
        if log_pred:
            return np.asarray(fn(log_p, target, log_pred=True, reduction="none", **params))
        return np.asarray(fn(np.exp(log_p), target, reduction="none", **params))

    return probe


def _latent_mean(loss: str) -> Any:
    """The loss of a one-dimensional latent with log-variance 0 as a function of its mean ``mu``."""

    def probe(mu: Floats, **params: Any) -> Floats:
        mean = np.asarray(mu, dtype=np.float64)[:, None]
        return np.asarray(losskit.get(loss)(mean, np.zeros_like(mean), reduction="none", **params))

    return probe


_AXIS = Param("axis", -1, "an axis of pred", "the class axis, summed over.")
_TWO_CLASS_AXIS = "logit z of class 0: p = softmax([z, 0]) against y = [0.7, 0.3]"

RECORDS: tuple[Record, ...] = (
    Record(
        name="reconstruction",
        family="autoencoder",
        summary="Reconstruction error of an autoencoder: a squared, absolute or cross-entropy error summed "
                "over each example's features.",
        measures="how well the input is rebuilt",
        formula_latex=r"\ell = \sum_j e(\hat x_j, x_j), \quad e = (\hat x - x)^2 \;|\; |\hat x - x| \;|\; "
                      r"-x \log p - (1 - x) \log(1 - p)",
        formula_text="ℓ = Σ_j e(x̂_j, x_j),  e = (x̂ - x)² (mse) | |x̂ - x| (mae) | "
                     "-(x·log p + (1 - x)·log(1 - p)) (bce)",
        params=(
            Param("kind", "mse", "'mse' | 'mae' | 'bce'",
                  "the error of one feature: squared (Gaussian decoder), absolute (Laplace decoder) or binary "
                  "cross-entropy (Bernoulli decoder, inputs in [0, 1])."),
            Param("from_logits", False, "bool", "with kind='bce', whether pred holds logits."),
            Param("features", "sum", "'sum' | 'mean'",
                  "sum the errors over an example's features (a log-likelihood's scale, to weigh against a "
                  "VAE's KL term) or average them."),
        ),
        activation="identity",
        target="real",
        # the default kind='mse': r² + 0.5 along the probe, a function of the residuals only
        traits=frozenset({"convex", "differentiable", "distance_based", "symmetric"}),
        advantages=(
            "Summed over the features it is, up to constants, the negative log-likelihood of a Gaussian "
            "(mse), Laplace (mae) or Bernoulli (bce) decoder: the right scale to add a VAE's KL term to.",
            "With the default mse: convex and smooth in the reconstruction.",
            "One loss per example whatever its shape (images, sequences, tables).",
        ),
        disadvantages=(
            "Per-feature errors reward blurry reconstructions: the average of plausible outputs scores better "
            "than a sharp one that is slightly off.",
            "The summed loss grows with the number of features, so learning rates and the KL weight depend on "
            "the input size.",
            "The default mse is sensitive to outliers (mae is not, but has a kink at zero).",
        ),
        use_cases=(
            "Training autoencoders and denoising autoencoders.",
            "The likelihood term of a VAE's evidence lower bound, next to gaussian_kl.",
            "Anomaly detection by each example's reconstruction error.",
        ),
        references=(
            "Hinton & Salakhutdinov, \"Reducing the Dimensionality of Data with Neural Networks\", Science "
            "313(5786), 2006.",
            "Kingma & Welling, \"Auto-Encoding Variational Bayes\", ICLR 2014.",
        ),
        alternatives=("mse", "mae", "binary_cross_entropy"),
        example="x = np.array([[0.0, 0.5, 1.0], [1.0, 1.0, 0.0]])\n"
                "print(losskit.reconstruction(x + 0.1, x, reduction=\"none\"))",
        probe=_feature("reconstruction"),
        probe_axis="residual of one feature (the example's two other residuals fixed at ±0.5)",
    ),
    Record(
        name="kl_divergence",
        family="autoencoder",
        summary="Kullback-Leibler divergence KL(y ‖ p) of the predicted distribution p from the target y.",
        measures="information lost using p for y",
        formula_latex=r"\ell = \mathrm{KL}(y \,\|\, p) = \sum_c y_c \log \frac{y_c}{p_c}, \qquad 0 \log 0 = 0",
        formula_text="ℓ = KL(y ‖ p) = Σ_c y_c·log(y_c / p_c),  0·log 0 = 0",
        params=(
            _AXIS,
            Param("log_pred", False, "bool",
                  "whether pred holds log-probabilities (e.g. a log_softmax output) rather than probabilities."),
            Param("log_target", False, "bool",
                  "whether target holds log-probabilities (-inf for a zero probability)."),
        ),
        activation="softmax",
        target="distribution",
        # the cross-entropy 0.7 softplus(-z) + 0.3 softplus(z) minus a constant: convex, smooth, slope in
        # [-0.7, 0.3], unbounded; KL(y ‖ p) != KL(p ‖ y)
        traits=frozenset({"convex", "differentiable", "lipschitz"}),
        advantages=(
            "Zero exactly when the distributions agree; its gradient in the logits of a softmax is p - y, "
            "the cross-entropy's: bounded and well scaled.",
            "Convex in p and in the softmax's logits.",
            "Unlike the cross-entropy, its value means something on its own (the excess nats), since the "
            "target's entropy is taken off.",
        ),
        disadvantages=(
            "Asymmetric: it charges p for missing mass that y has (mass-covering), hardly for mass y lacks.",
            "Unbounded: it grows without limit as p gives a vanishing probability to a class y uses.",
            "Argument order and input form differ from torch's kl_div (log-probabilities first): pass "
            "log_pred=True for log-probabilities.",
        ),
        use_cases=(
            "Knowledge distillation: matching a student's softened softmax to a teacher's.",
            "Fitting predicted label distributions to soft or aggregated labels.",
            "Keeping a model or policy close to a reference distribution (trust regions, fine-tuning).",
        ),
        references=(
            "Kullback & Leibler, \"On Information and Sufficiency\", Annals of Mathematical Statistics 22(1), "
            "1951.",
            "Hinton, Vinyals & Dean, \"Distilling the Knowledge in a Neural Network\", NeurIPS Deep Learning "
            "Workshop, 2015.",
        ),
        alternatives=("js_divergence", "categorical_cross_entropy", "gaussian_kl"),
        example="p = np.array([[0.6, 0.3, 0.1]])\n"
                "y = np.array([[0.7, 0.2, 0.1]])\n"
                "print(losskit.kl_divergence(p, y))",
        probe=_two_classes("kl_divergence", log_pred=True),
        probe_axis=_TWO_CLASS_AXIS,
        probe_range=(-8.0, 8.0),
    ),
    Record(
        name="js_divergence",
        family="autoencoder",
        summary="Jensen-Shannon divergence: the mean KL divergence of p and y from their midpoint; symmetric, "
                "at most log 2.",
        measures="symmetric divergence of distributions",
        formula_latex=r"\ell = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(y \,\|\, m), "
                      r"\quad m = \tfrac12 (p + y)",
        formula_text="ℓ = ½·KL(p ‖ m) + ½·KL(y ‖ m),  m = ½·(p + y)",
        params=(_AXIS,),
        activation="softmax",
        target="distribution",
        # in the logit an S-curve between two finite limits (convex in p, not through the softmax); the
        # definition is symmetric in p and y term by term
        traits=frozenset({"differentiable", "lipschitz", "bounded", "robust", "symmetric"}),
        advantages=(
            "Symmetric in its two arguments; its square root is a metric.",
            "Bounded by log 2 and finite even where the supports differ: a wrong target costs at most log 2.",
            "The divergence that the original GAN game minimises against an optimal discriminator.",
        ),
        disadvantages=(
            "Saturates: when the distributions barely overlap it sits near log 2 and its gradient vanishes "
            "(the vanishing gradient of the original GAN).",
            "Not convex in the logits, and weaker gradients than KL or the cross-entropy when the prediction "
            "is far off.",
        ),
        use_cases=(
            "Consistency between the predictions on two views of an input, where neither is the reference "
            "(e.g. AugMix).",
            "A bounded alternative to KL or cross-entropy when the soft labels are noisy.",
        ),
        references=(
            "Lin, \"Divergence measures based on the Shannon entropy\", IEEE Transactions on Information "
            "Theory 37(1), 1991.",
            "Endres & Schindelin, \"A new metric for probability distributions\", IEEE Transactions on "
            "Information Theory 49(7), 2003.",
        ),
        alternatives=("kl_divergence", "categorical_cross_entropy"),
        example="p = np.array([[0.6, 0.3, 0.1]])\n"
                "y = np.array([[0.1, 0.2, 0.7]])\n"
                "print(losskit.js_divergence(p, y))",
        probe=_two_classes("js_divergence"),
        probe_axis=_TWO_CLASS_AXIS,
        probe_range=(-8.0, 8.0),
    ),
    Record(
        name="gaussian_kl",
        family="autoencoder",
        summary="KL divergence of a diagonal Gaussian N(μ, e^v) from the standard normal: a VAE's regulariser.",
        measures="distance of the posterior from the prior",
        formula_latex=r"\ell = \mathrm{KL}\big(\mathcal N(\mu, e^{v}) \,\|\, \mathcal N(0, I)\big) "
                      r"= \tfrac12 \sum_j \big(\mu_j^2 + e^{v_j} - 1 - v_j\big)",
        formula_text="ℓ = KL(N(μ, e^v) ‖ N(0, I)) = ½·Σ_j (μ_j² + e^(v_j) - 1 - v_j),  v = log σ²",
        params=(Param("axis", -1, "an axis of mean", "the latent axis, summed over."),),
        activation="identity",
        # no target argument: the prior N(0, I) is built in
        target="none",
        # μ²/2 along the probe: convex, smooth, unbounded, with an unbounded slope (e^v in the log-variance)
        traits=frozenset({"convex", "differentiable"}),
        advantages=(
            "Closed form: this term of the evidence lower bound needs no sampling, and its gradient is exact.",
            "Convex and smooth in the mean and the log-variance, zero only at the prior (μ = 0, v = 0).",
            "Parametrised by the log-variance, so the variance stays positive without a constraint.",
        ),
        disadvantages=(
            "Can overpower the reconstruction term: latents collapse onto the prior and carry no information "
            "(posterior collapse).",
            "Only for a diagonal Gaussian posterior and a standard normal prior.",
            "Grows like e^v in the log-variance: a large log-variance gives a large gradient.",
        ),
        use_cases=(
            "The regularisation term of a variational autoencoder, next to reconstruction.",
            "β-VAEs and KL annealing, by weighting it with a factor β.",
        ),
        references=(
            "Kingma & Welling, \"Auto-Encoding Variational Bayes\", ICLR 2014, appendix B.",
            "Higgins et al., \"β-VAE: Learning Basic Visual Concepts with a Constrained Variational "
            "Framework\", ICLR 2017.",
        ),
        alternatives=("kl_divergence", "reconstruction"),
        example="mean = np.array([[0.5, -1.0], [0.0, 0.2]])\n"
                "log_var = np.array([[0.0, -0.5], [0.3, 0.0]])\n"
                "print(losskit.gaussian_kl(mean, log_var, reduction=\"none\"))",
        probe=_latent_mean("gaussian_kl"),
        probe_axis="mean μ of a one-dimensional latent with log-variance 0",
    ),
)
