"""Task metrics: what a user judges a model by, whatever loss trained it.

Each takes NumPy arrays of the model's outputs on held-out data. None of them calls a losskit loss:
a loss cannot be its own referee.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn import metrics as skm

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

CALIBRATION_BINS = 10
PRECISION_TARGET = 0.5
"""Recall is read where precision first reaches this: one false alarm per true find."""


def regression(pred: Floats, y: Floats) -> dict[str, float]:
    """RMSE, MAE and the median absolute error, in the target's units."""
    residual = pred - y
    return {"rmse": float(np.sqrt(np.mean(residual ** 2))), "mae": float(np.mean(np.abs(residual))),
            "median_ae": float(np.median(np.abs(residual)))}


def expected_calibration_error(proba: Floats, y: Ints, bins: int = CALIBRATION_BINS) -> float:
    """The mean |observed positive rate - mean predicted probability| over equal-width bins, weighted by count."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(proba, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(float(np.mean(y[inside])) - float(np.mean(proba[inside])))
    return total / len(y)


def recall_at_precision(proba: Floats, y: Ints, precision: float = PRECISION_TARGET) -> float:
    """The highest recall among thresholds whose precision reaches ``precision`` (0 if none does)."""
    p, r, _ = skm.precision_recall_curve(y, proba)
    reached = r[p >= precision]
    return float(reached.max()) if reached.size else 0.0


def binary(proba: Floats, y: Ints) -> dict[str, float]:
    """Threshold metrics at 0.5, ranking metrics, and calibration of ``proba`` = P(y = 1)."""
    decided = (proba >= 0.5).astype(np.int64)
    return {
        "accuracy": float(skm.accuracy_score(y, decided)),
        "f1": float(skm.f1_score(y, decided, zero_division=0.0)),
        "roc_auc": float(skm.roc_auc_score(y, proba)),
        "average_precision": float(skm.average_precision_score(y, proba)),
        "recall_at_precision": recall_at_precision(proba, y),
        "ece": expected_calibration_error(proba, y),
        "brier": float(np.mean((proba - y) ** 2)),
    }


def multiclass(scores: Floats, y: Ints) -> dict[str, float]:
    """Accuracy and macro F1 of the arg-max class."""
    decided = np.argmax(scores, axis=1)
    return {"accuracy": float(skm.accuracy_score(y, decided)),
            "macro_f1": float(skm.f1_score(y, decided, average="macro", zero_division=0.0))}


def segmentation(proba: Floats, masks: Floats) -> dict[str, float]:
    """Intersection over union and the Dice coefficient of the masks ``proba >= 0.5``, per image then averaged.

    An image where both masks are empty scores 1 (nothing to find, nothing found).
    """
    predicted = proba.reshape(len(proba), -1) >= 0.5
    truth = masks.reshape(len(masks), -1) >= 0.5
    intersection = np.sum(predicted & truth, axis=1)
    union = np.sum(predicted | truth, axis=1)
    sizes = np.sum(predicted, axis=1) + np.sum(truth, axis=1)
    empty = union == 0
    iou = np.where(empty, 1.0, intersection / np.maximum(union, 1))
    dice = np.where(empty, 1.0, 2 * intersection / np.maximum(sizes, 1))
    return {"iou": float(np.mean(iou)), "dice_coefficient": float(np.mean(dice)),
            "foreground_predicted": float(np.mean(predicted)), "foreground_true": float(np.mean(truth))}


def _pairwise(x: Floats, y: Floats) -> Floats:
    """Euclidean distances between the rows of ``x`` and of ``y``."""
    squared = np.sum(x ** 2, axis=1)[:, None] + np.sum(y ** 2, axis=1)[None, :] - 2 * x @ y.T
    return np.asarray(np.sqrt(np.maximum(squared, 0.0)), dtype=np.float64)


def nearest_distance(x: Floats, reference: Floats) -> Floats:
    """Each row of ``x``'s distance to its nearest row of ``reference``."""
    return np.asarray(np.min(_pairwise(x, reference), axis=1), dtype=np.float64)


def embedding(z: Floats, labels: Ints) -> dict[str, float]:
    """Recall@1 (leave-one-out: is each point's nearest other point of its class?) and the distance ratio.

    The ratio is the mean distance to same-class points over the mean distance to other-class points:
    below 1 when similar inputs sit closer together, scale-free so embeddings of any size compare.
    """
    d = _pairwise(z, z)
    np.fill_diagonal(d, np.inf)
    recall = float(np.mean(labels[np.argmin(d, axis=1)] == labels))
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    other = labels[:, None] != labels[None, :]
    np.fill_diagonal(d, 0.0)
    return {"recall_at_1": recall, "distance_ratio": float(np.mean(d[same]) / np.mean(d[other]))}


def mode_coverage(samples: Floats, centres: Floats, radius: float, min_share: float) -> dict[str, float]:
    """Modes covered (with at least ``min_share`` of the samples within ``radius``) and the share of good samples."""
    d = _pairwise(samples, centres)
    nearest = np.argmin(d, axis=1)
    close = np.min(d, axis=1) <= radius
    counts = np.bincount(nearest[close], minlength=len(centres))
    return {"modes_covered": float(np.sum(counts >= min_share * len(samples))),
            "high_quality": float(np.mean(close))}
