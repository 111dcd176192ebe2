"""The lab's data: scikit-learn's bundled sets and generators (nothing is downloaded), and a user's CSV file.

Every split is made once per experiment from the base seed, so all losses and seeds of a task see
the same train and test examples; features are standardised with the train split's statistics.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..cli import CommandError
from ..recommend import Recommendation, load_target, recommend

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

TEST_SIZE = 0.25
OUTLIER_SHIFT = (5.0, 10.0)
"""A corrupted target moves up by 5 to 10 of the target's standard deviations: a gross, one-sided error
(a unit or data-entry mistake), the kind robust losses are said to shrug off."""


@dataclass(frozen=True)
class Split:
    x_train: Floats
    x_test: Floats
    y_train: NDArray[np.generic]
    y_test: NDArray[np.generic]


def split(x: Floats, y: NDArray[np.generic], seed: int, *, classes: bool, test_size: float = TEST_SIZE) -> Split:
    """A train/test split (stratified for class labels) with features standardised by the train split."""
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, dtype=np.float64), y, test_size=test_size, random_state=seed, stratify=y if classes else None)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant column stays 0 instead of dividing by 0
    return Split((x_train - mean) / std, (x_test - mean) / std, y_train, y_test)


def standardise_target(s: Split) -> tuple[Split, float]:
    """Targets in train standard deviations (Huber's delta = 1 then means one sd), and that sd."""
    y_train, y_test = np.asarray(s.y_train, dtype=np.float64), np.asarray(s.y_test, dtype=np.float64)
    mean, scale = float(np.mean(y_train)), float(np.std(y_train))
    return Split(s.x_train, s.x_test, (y_train - mean) / scale, (y_test - mean) / scale), scale


def corrupt(y: Floats, share: float, rng: np.random.Generator) -> tuple[Floats, NDArray[np.bool_]]:
    """A copy of standardised targets with ``share`` of them shifted up by OUTLIER_SHIFT sd, and which ones."""
    hit = np.zeros(len(y), dtype=bool)
    hit[rng.choice(len(y), size=round(share * len(y)), replace=False)] = True
    shifted = y.copy()
    shifted[hit] += rng.uniform(*OUTLIER_SHIFT, size=int(hit.sum()))
    return shifted, hit


def diabetes(seed: int) -> tuple[Split, float]:
    """Diabetes progression (442 patients, 10 features), targets standardised."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return standardise_target(split(x, np.asarray(y, dtype=np.float64), seed, classes=False))


def breast_cancer(seed: int) -> Split:
    """Breast cancer (569 tumours, 30 features), label 1 = benign."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return split(x, np.asarray(y, dtype=np.int64), seed, classes=True)


def imbalanced(seed: int, n: int, ratio: int) -> Split:
    """A generated binary problem with one positive per ``ratio`` negatives, 20 features of which 6 informative."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=n, n_features=20, n_informative=6, n_redundant=4,
                               weights=[ratio / (ratio + 1)], class_sep=0.8, flip_y=0.0, random_state=seed)
    return split(x, np.asarray(y, dtype=np.int64), seed, classes=True, test_size=0.3)


def digits(seed: int) -> Split:
    """8x8 handwritten digits (1797 images, 10 classes), features standardised."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return split(x, np.asarray(y, dtype=np.int64), seed, classes=True)


def digit_images(seed: int) -> tuple[Floats, Floats, Ints, Ints]:
    """The digits as intensities in [0, 1] (train, test, labels), unstandardised: what an autoencoder rebuilds."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, dtype=np.float64) / 16.0, np.asarray(y, dtype=np.int64), test_size=TEST_SIZE,
        random_state=seed, stratify=y)
    return x_train, x_test, y_train, y_test


def shapes(n: int, size: int, rng: np.random.Generator, *, noise: float = 0.6) -> tuple[Floats, Floats]:
    """``n`` noisy one-channel images with one to three small discs or squares, and their masks, ``(n, 1, size, size)``.

    The shapes cover about 3 % of the pixels: the small-foreground case where per-pixel losses are said
    to drown the object in background. Each image also gets a faint random gradient, so a fixed
    threshold on brightness is not enough.
    """
    rows, cols = np.mgrid[0:size, 0:size]
    images = np.empty((n, 1, size, size))
    masks = np.zeros((n, 1, size, size))
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            r = rng.uniform(1.5, 3.0)
            cy, cx = rng.uniform(r, size - r, size=2)
            if rng.random() < 0.5:
                inside = (rows - cy) ** 2 + (cols - cx) ** 2 <= r ** 2
            else:
                inside = (np.abs(rows - cy) <= r * 0.8) & (np.abs(cols - cx) <= r * 0.8)
            masks[i, 0][inside] = 1.0
        slope = rng.normal(0.0, 0.3, size=2) / size
        background = slope[0] * (rows - size / 2) + slope[1] * (cols - size / 2)
        images[i, 0] = masks[i, 0] + background + rng.normal(0.0, noise, size=(size, size))
    return images, masks


def eight_gaussians(n: int, rng: np.random.Generator, *, radius: float = 2.0, std: float = 0.05) -> Floats:
    """``n`` points from eight Gaussians evenly spaced on a circle: the classic test of mode collapse."""
    return ring(radius)[rng.integers(0, 8, size=n)] + rng.normal(0.0, std, size=(n, 2))


def ring(radius: float = 2.0) -> Floats:
    """The eight modes' centres."""
    angles = np.arange(8) * np.pi / 4
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


# --------------------------------------------------------------------------------------------------
# A user's CSV file


@dataclass(frozen=True)
class UserData:
    """The numeric feature columns of a CSV file, its target, and what ``recommend`` made of the target."""

    path: str
    target: str
    x: Floats
    y: NDArray[np.generic]
    features: tuple[str, ...]
    dropped: tuple[str, ...]
    """Columns that are not numbers: left out of the features (say how to encode them, rather than guess)."""
    recommendation: Recommendation

    def target_of(self, task: str, kinds: tuple[str, ...]) -> Recommendation:
        """The recommendation for the target, if ``recommend`` reads it as one of ``kinds``; else a one-line error
        that names the task to run instead."""
        rec = self.recommendation
        if rec.task not in kinds:
            other = {"regression": "regression", "binary": "binary", "multi-class": "multiclass"}.get(rec.task)
            hint = f": run 'losskit compare {other} --data ...'" if other else ""
            raise CommandError(f"--target {self.target!r} of {self.path} is a {rec.task} target ({rec.encoding}), "
                               f"not a {task} one{hint}")
        return rec

    def notes(self) -> list[str]:
        """What the report must say about the data it was given."""
        found = [f"Features: {', '.join(self.features)} (standardised). losskit recommend: {self.recommendation.loss}."]
        if self.dropped:
            found.append(f"Left out, not numbers: {', '.join(self.dropped)} (encode them as numeric columns to use "
                         "them).")
        return found


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _features(path: Path, target: str) -> tuple[Floats, tuple[str, ...], tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    header = [c.strip() for c in rows[0]]
    targets = {t.strip() for t in target.split(",")}
    kept: list[int] = []
    dropped: list[str] = []
    for i, name in enumerate(header):
        if name in targets:
            continue
        cells = [_number(row[i]) if i < len(row) else None for row in rows[1:]]
        if all(c is not None for c in cells):
            kept.append(i)
        elif any(c is not None for c in cells):
            missing = sum(c is None for c in cells)
            raise CommandError(f"feature column {name!r} of {path} has {missing} empty or non-numeric cells "
                               "among numbers; drop or impute those rows")
        else:
            dropped.append(name)
    if not kept:
        raise CommandError(f"{path} has no numeric feature column besides the target {target!r}")
    x = np.array([[float(row[i]) for i in kept] for row in rows[1:]], dtype=np.float64)
    return x, tuple(header[i] for i in kept), tuple(dropped)


def user_data(path: str, target: str) -> UserData:
    """Read ``path`` (a CSV file with a header row): the target column as ``losskit recommend`` reads it, and
    every other all-numeric column as a feature. Errors name the file and the column."""
    file = Path(path)
    if file.suffix.lower() != ".csv":
        raise CommandError(f"--data {path}: compare reads .csv files (a header row, one example per line)")
    y = load_target(path, target)  # its errors list the available columns, with a guess for a typo
    if y.ndim != 1:
        raise CommandError(f"--target {target!r}: compare takes one target column, not {y.shape[1]}")
    x, features, dropped = _features(file, target)
    return UserData(path, target, x, y, features, dropped, recommend(y))
