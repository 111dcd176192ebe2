"""Catalogue records of the regression losses: probed against the residual ŷ - y."""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Record


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
)
