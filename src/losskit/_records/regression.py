"""Catalogue records of the regression losses: probed against the residual ŷ - y."""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record


def _residual(loss: str) -> Any:
    """The loss of a prediction ``r`` against the target 0, i.e. of the residual ``r``."""

    def probe(r: Floats, **params: Any) -> Floats:
        r = np.asarray(r, dtype=np.float64)
        return np.asarray(losskit.get(loss)(r, np.zeros_like(r), reduction="none", **params))

    return probe


RECORDS: tuple[Record, ...] = (
    Record(
        name="mse",
        family="regression",
        summary="Squared error: the mean squared error once averaged; fits the conditional mean.",
        measures="squared distance to the target",
        formula_latex=r"\ell(\hat y, y) = (\hat y - y)^2",
        formula_text="ℓ = (ŷ - y)²",
        params=(),
        activation="identity",
        target="real",
        traits=frozenset({"convex", "differentiable", "distance_based", "symmetric"}),
        advantages=(
            "Smooth and convex: one minimum, gradients that shrink near it, fast and stable optimisation.",
            "Its minimiser is the conditional mean; with Gaussian noise it is the maximum-likelihood fit.",
        ),
        disadvantages=(
            "Squaring lets a few large residuals dominate: sensitive to outliers.",
            "In squared units of the target, so its value is hard to read (take the square root: RMSE).",
        ),
        use_cases=(
            "Regression with roughly Gaussian noise and no gross outliers.",
            "Reconstruction errors of autoencoders (see reconstruction).",
        ),
        references=("Gauss, Theoria motus corporum coelestium, 1809 (least squares).",),
        alternatives=("mae", "huber", "log_cosh"),
        example="print(losskit.mse(np.array([2.5, 0.0]), np.array([3.0, -0.5])))",
        probe=_residual("mse"),
        probe_axis="residual ŷ - y",
    ),
    Record(
        name="mae",
        family="regression",
        summary="Absolute error: the mean absolute error once averaged; fits the conditional median.",
        measures="absolute distance to the target",
        formula_latex=r"\ell(\hat y, y) = |\hat y - y|",
        formula_text="ℓ = |ŷ - y|",
        params=(),
        activation="identity",
        target="real",
        traits=frozenset({"convex", "lipschitz", "robust", "distance_based", "symmetric"}),
        advantages=(
            "Every residual pulls with the same unit force, so a few gross outliers cannot dominate the fit.",
            "Its minimiser is the conditional median; with Laplace noise it is the maximum-likelihood fit.",
            "In the units of the target: its value reads directly as a typical error.",
        ),
        disadvantages=(
            "Kink at a zero residual: the gradient jumps from -1 to +1 and is only a subgradient there.",
            "The gradient keeps its size near the optimum, so late training oscillates unless the "
            "learning rate decays.",
        ),
        use_cases=(
            "Regression with heavy-tailed noise or occasional corrupted targets.",
            "Forecasting and pixel-wise image restoration where the median is the wanted estimate.",
        ),
        references=(
            "Bloomfield & Steiger, Least Absolute Deviations: Theory, Applications and Algorithms, "
            "Birkhäuser, 1983.",
            "Koenker, Quantile Regression, Cambridge University Press, 2005 (the median as q = 0.5).",
        ),
        alternatives=("mse", "huber", "quantile"),
        example="print(losskit.mae(np.array([2.5, 0.0, 10.0]), np.array([3.0, -0.5, 0.0])))",
        probe=_residual("mae"),
        probe_axis="residual ŷ - y",
    ),
    Record(
        name="huber",
        family="regression",
        summary="Huber loss: squared error for small residuals, linear beyond delta; a robust, smooth compromise.",
        measures="squared, then linear distance",
        formula_latex=r"\ell(\hat y, y) = \begin{cases} \tfrac12 r^2 & |r| \le \delta \\ "
                      r"\delta\,(|r| - \tfrac12\delta) & |r| > \delta \end{cases}, \quad r = \hat y - y",
        formula_text="ℓ = r²/2 if |r| ≤ δ, else δ·(|r| - δ/2),  r = ŷ - y",
        params=(
            Param("delta", 1.0, "> 0",
                  "the residual where the loss turns from quadratic to linear; also the largest gradient."),
        ),
        activation="identity",
        target="real",
        traits=frozenset({"convex", "differentiable", "lipschitz", "robust", "distance_based", "symmetric"}),
        advantages=(
            "Convex and continuously differentiable: a smooth minimum like the squared error.",
            "Gradient bounded by delta: an outlier moves the fit by a bounded amount (bounded influence).",
            "Gradients shrink near the optimum, so training settles where the absolute error would oscillate.",
        ),
        disadvantages=(
            "delta must match the scale of the noise: too small and it behaves like the absolute error, "
            "too large like the squared error.",
            "Its second derivative jumps at |r| = delta, a nuisance for second-order optimisers.",
            "Its minimiser is neither the mean nor the median but an M-estimate between them.",
        ),
        use_cases=(
            "Regression with mostly Gaussian noise plus some outliers.",
            "Bounding-box regression in detectors and value targets in reinforcement learning (DQN).",
        ),
        references=(
            "Huber, \"Robust Estimation of a Location Parameter\", Annals of Mathematical Statistics 35(1), 1964.",
        ),
        alternatives=("mse", "mae", "log_cosh"),
        example="print(losskit.huber(np.array([0.5, 3.0]), np.zeros(2), delta=1.0, reduction=\"none\"))",
        probe=_residual("huber"),
        probe_axis="residual ŷ - y",
    ),
    Record(
        name="log_cosh",
        family="regression",
        summary="Log-cosh loss: a parameter-free smooth loss, quadratic near zero and linear far away.",
        measures="smooth Huber-like distance",
        formula_latex=r"\ell(\hat y, y) = \log\cosh(\hat y - y)",
        formula_text="ℓ = log cosh(ŷ - y)",
        params=(),
        activation="identity",
        target="real",
        traits=frozenset({"convex", "differentiable", "lipschitz", "robust", "distance_based", "symmetric"}),
        advantages=(
            "No scale parameter to tune, unlike huber's delta.",
            "Smooth to every order (gradient tanh r, bounded by 1): suits second-order methods.",
            "Bounded gradient: outliers have bounded influence, as with huber.",
        ),
        disadvantages=(
            "The quadratic-to-linear transition sits at |r| ≈ 1, fixed: targets must be scaled to match.",
            "Costlier than huber; computed naively it overflows (cosh) or loses every digit for tiny residuals.",
        ),
        use_cases=(
            "Regression with occasional outliers where a smooth loss is wanted without tuning delta.",
            "Reconstruction losses of autoencoders robust to a few badly reconstructed pixels.",
        ),
        references=(
            "Saleh & Saleh, \"Statistical Properties of the log-cosh Loss Function Used in Machine Learning\", "
            "arXiv, 2022.",
        ),
        alternatives=("huber", "mse", "mae"),
        example="print(losskit.log_cosh(np.array([0.1, 5.0]), np.zeros(2), reduction=\"none\"))",
        probe=_residual("log_cosh"),
        probe_axis="residual ŷ - y",
    ),
    Record(
        name="quantile",
        family="regression",
        summary="Quantile (pinball) loss: asymmetric absolute error whose minimiser is the q-quantile of the target.",
        measures="asymmetric absolute distance",
        formula_latex=r"\ell(\hat y, y) = \max\big(q\,(y - \hat y),\; (q - 1)(y - \hat y)\big)",
        formula_text="ℓ = max(q·(y - ŷ), (q - 1)·(y - ŷ))",
        params=(
            Param("q", 0.5, "[0, 1]",
                  "the quantile fitted: under-prediction costs q per unit, over-prediction 1 - q."),
        ),
        activation="identity",
        target="real",
        # symmetric at the default q = 0.5 (half the absolute error); any other q is asymmetric
        traits=frozenset({"convex", "lipschitz", "robust", "distance_based", "symmetric"}),
        advantages=(
            "Fits any conditional quantile, hence prediction intervals without a noise model.",
            "Convex, with a bounded gradient: outliers have bounded influence.",
        ),
        disadvantages=(
            "Kink at a zero residual and gradients that do not shrink near the optimum, as the absolute error.",
            "One model (or output) per quantile; separately fitted quantiles can cross.",
            "Symmetric only at q = 0.5, where it is half the absolute error.",
        ),
        use_cases=(
            "Prediction intervals, e.g. q = 0.05 and q = 0.95 outputs around a median forecast.",
            "Demand and risk forecasting where under- and over-prediction cost differently.",
        ),
        references=("Koenker & Bassett, \"Regression Quantiles\", Econometrica 46(1), 1978.",),
        alternatives=("mae", "huber"),
        example="print(losskit.quantile(np.array([0.0, 0.0]), np.array([1.0, -1.0]), q=0.9, reduction=\"none\"))",
        probe=_residual("quantile"),
        probe_axis="residual ŷ - y",
    ),
)
