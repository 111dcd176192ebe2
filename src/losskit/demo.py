"""Every losskit loss on real data: ``python -m losskit.demo`` (what ``make demo`` runs).

For three scikit-learn data sets shipped with the library (nothing is downloaded) it fits a model
on a train split and scores it, and a baseline that ignores the features, on the test split with
every public loss. A good loss must rank the fitted model far below the baseline: the ratio column
is the share of the baseline's cost the model still pays. Two short sections then show the
loss-vs-cost distinction (``reduction="none"`` against ``"mean"``) and identities between losses.

scikit-learn (the ``lab`` extra) is needed here only; losskit itself does not depend on it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import losskit

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Loss = Callable[..., Any]

SEED = 0
TEST_SIZE = 0.25
QUANTILE = 0.9
INSTALL_HINT = 'losskit.demo needs scikit-learn: pip install "losskit[lab]"'


@dataclass(frozen=True)
class Row:
    """One line of the results table: a loss scored on a model and on its baseline."""

    task: str
    loss: str
    """The canonical losskit name (checked against ``losskit.names()``)."""
    setting: str
    model: str
    model_cost: float
    baseline: str
    baseline_cost: float
    reference: float | None = None
    """The same cost from ``sklearn.metrics``, where it has one."""
    reference_name: str = ""


@dataclass(frozen=True)
class Split:
    x_train: Floats
    x_test: Floats
    y_train: Any
    y_test: Any


def _split(x: Any, y: Any, *, stratify: bool) -> Split:
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, dtype=np.float64), y, test_size=TEST_SIZE, random_state=SEED, stratify=y if stratify else None
    )
    return Split(x_train, x_test, y_train, y_test)


def _cost(loss: Loss, pred: Any, target: Any, **options: Any) -> float:
    return float(loss(pred, target, **options))


def _best_constant(loss: Loss, target: Any, low: float, high: float, **options: Any) -> float:
    """The constant prediction with the lowest *train* cost: the strongest model that ignores x.

    Found by minimising the loss itself, so each loss gets its own fair baseline (the mean for MSE,
    the median for MAE, the q-quantile for the pinball loss) instead of one strawman for all.
    Every loss here is convex in a constant prediction, so a bounded 1-D search finds the optimum.
    """
    from scipy.optimize import minimize_scalar

    def train_cost(c: float) -> float:
        return _cost(loss, np.full(np.shape(target), c), target, **options)

    result = minimize_scalar(train_cost, bounds=(low, high), method="bounded", options={"xatol": 1e-9})
    return float(result.x)


# --------------------------------------------------------------------------------------------------
# Regression: diabetes progression one year after baseline, 442 patients, 10 features.


@dataclass(frozen=True)
class Regression:
    split: Split
    """Targets standardised with the train mean and standard deviation."""
    pred: Floats
    """Ridge predictions on the test split."""
    y_scale: float
    """The raw target's train standard deviation, to report residuals in the data's own units."""


def _diabetes() -> Regression:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    raw = _split(x, np.asarray(y, dtype=np.float64), stratify=False)
    # Huber's delta and log-cosh's bend sit at |residual| = 1: in the raw units (std 77) both would
    # degenerate to MAE, so targets are measured in train standard deviations.
    mean, scale = float(np.mean(raw.y_train)), float(np.std(raw.y_train))
    split = Split(raw.x_train, raw.x_test, (raw.y_train - mean) / scale, (raw.y_test - mean) / scale)
    ridge = Ridge().fit(split.x_train, split.y_train)
    return Regression(split, np.asarray(ridge.predict(split.x_test), dtype=np.float64), scale)


def regression_rows(data: Regression) -> list[Row]:
    from sklearn import metrics
    from sklearn.linear_model import QuantileRegressor

    s = data.split
    low, high = float(np.min(s.y_train)), float(np.max(s.y_train))
    rows = []
    for loss, setting, reference, name in [
        (losskit.mse, "", metrics.mean_squared_error, "mean_squared_error"),
        (losskit.mae, "", metrics.mean_absolute_error, "mean_absolute_error"),
        (losskit.huber, "delta=1", None, ""),
        (losskit.log_cosh, "", None, ""),
    ]:
        options = {"delta": 1.0} if setting else {}
        constant = _best_constant(loss, s.y_train, low, high, **options)
        rows.append(Row(
            "regression", loss.__name__, setting, "Ridge", _cost(loss, data.pred, s.y_test, **options),
            f"constant {constant:+.3f}", _cost(loss, np.full(s.y_test.shape, constant), s.y_test, **options),
            None if reference is None else float(reference(s.y_test, data.pred)), name,
        ))

    # The pinball loss asks for a quantile, not a mean: score a model fitted for that quantile.
    fitted = QuantileRegressor(quantile=QUANTILE, alpha=0.0, solver="highs").fit(s.x_train, s.y_train)
    pred = np.asarray(fitted.predict(s.x_test), dtype=np.float64)
    constant = _best_constant(losskit.quantile, s.y_train, low, high, q=QUANTILE)
    rows.append(Row(
        "regression", "quantile", f"q={QUANTILE}", f"QuantileRegressor(q={QUANTILE})",
        _cost(losskit.quantile, pred, s.y_test, q=QUANTILE),
        f"constant {constant:+.3f}", _cost(losskit.quantile, np.full(s.y_test.shape, constant), s.y_test, q=QUANTILE),
        float(metrics.mean_pinball_loss(s.y_test, pred, alpha=QUANTILE)), "mean_pinball_loss",
    ))
    return rows


# --------------------------------------------------------------------------------------------------
# Binary classification: breast cancer, 569 tumours, 30 features, label 1 = benign.


@dataclass(frozen=True)
class Binary:
    split: Split
    proba: Floats
    """Logistic regression's P(y = 1) on the test split."""
    logits: Floats
    """The same model's logits (``decision_function``): ``sigmoid(logits) == proba``."""
    svm_scores: Floats
    """A linear SVM's decision scores: margins, not probabilities."""


def _breast_cancer() -> Binary:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    x, y = load_breast_cancer(return_X_y=True)
    s = _split(x, np.asarray(y, dtype=np.int64), stratify=True)
    # Features span five orders of magnitude; unscaled, both solvers converge slowly or not at all.
    logistic = make_pipeline(StandardScaler(), LogisticRegression()).fit(s.x_train, s.y_train)
    svm = make_pipeline(StandardScaler(), LinearSVC(random_state=SEED)).fit(s.x_train, s.y_train)
    return Binary(
        s,
        np.asarray(logistic.predict_proba(s.x_test)[:, 1], dtype=np.float64),
        np.asarray(logistic.decision_function(s.x_test), dtype=np.float64),
        np.asarray(svm.decision_function(s.x_test), dtype=np.float64),
    )


def binary_rows(data: Binary) -> list[Row]:
    from sklearn import metrics

    s = data.split
    prior = float(np.mean(s.y_train))
    rows = [Row(
        "binary", "binary_cross_entropy", "probabilities", "LogisticRegression",
        _cost(losskit.binary_cross_entropy, data.proba, s.y_test),
        f"class prior {prior:.3f}", _cost(losskit.binary_cross_entropy, np.full(s.y_test.shape, prior), s.y_test),
        float(metrics.log_loss(s.y_test, data.proba)), "log_loss",
    )]
    # Focal loss scores the same probabilities; its baseline is the constant probability it prefers.
    focal_constant = _best_constant(losskit.focal, s.y_train, 1e-6, 1 - 1e-6)
    rows.append(Row(
        "binary", "focal", "probabilities, gamma=2, alpha=0.25", "LogisticRegression",
        _cost(losskit.focal, data.proba, s.y_test),
        f"constant {focal_constant:.3f}", _cost(losskit.focal, np.full(s.y_test.shape, focal_constant), s.y_test),
    ))
    for loss, reference, name in [
        (losskit.hinge, metrics.hinge_loss, "hinge_loss"),
        (losskit.squared_hinge, None, ""),
    ]:
        # Margin losses score raw decision values; labels in {0, 1} are mapped to {-1, +1}.
        constant = _best_constant(loss, s.y_train, -2.0, 2.0)
        rows.append(Row(
            "binary", loss.__name__, "scores, margin=1", "LinearSVC", _cost(loss, data.svm_scores, s.y_test),
            f"constant {constant:+.3f}", _cost(loss, np.full(s.y_test.shape, constant), s.y_test),
            None if reference is None else float(reference(s.y_test, data.svm_scores)), name,
        ))
    return rows


# --------------------------------------------------------------------------------------------------
# Multi-class classification: 8x8 images of handwritten digits, 1797 images, 10 classes.


@dataclass(frozen=True)
class MultiClass:
    split: Split
    proba: Floats
    """Softmax probabilities of a multinomial logistic regression, (N, 10)."""
    logits: Floats
    """The same model's logits: ``softmax(logits) == proba``."""
    svm_scores: Floats
    """Class scores of a Crammer-Singer multi-class SVM, the formulation of ``multiclass_hinge``."""
    prior: Floats
    """Class frequencies of the train split."""


def _digits() -> MultiClass:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    x, y = load_digits(return_X_y=True)
    s = _split(x, np.asarray(y, dtype=np.int64), stratify=True)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(s.x_train, s.y_train)
    # C=1 leaves liblinear's Crammer-Singer solver unconverged after 1000 iterations; 0.1 converges.
    svm = make_pipeline(StandardScaler(), LinearSVC(multi_class="crammer_singer", C=0.1, random_state=SEED))
    svm.fit(s.x_train, s.y_train)
    return MultiClass(
        s,
        np.asarray(logistic.predict_proba(s.x_test), dtype=np.float64),
        np.asarray(logistic.decision_function(s.x_test), dtype=np.float64),
        np.asarray(svm.decision_function(s.x_test), dtype=np.float64),
        np.bincount(s.y_train, minlength=10) / len(s.y_train),
    )


def _one_hot(labels: Ints, num_classes: int) -> Floats:
    return np.eye(num_classes, dtype=np.float64)[labels]


def multiclass_rows(data: MultiClass) -> list[Row]:
    from sklearn import metrics

    s = data.split
    n, classes = len(s.y_test), data.prior.shape[0]
    prior = np.broadcast_to(data.prior, (n, classes))
    # The prior as logits: softmax(log prior) is the prior, the best constant for cross-entropy.
    log_prior = np.broadcast_to(np.log(data.prior), (n, classes))
    labels = list(range(classes))
    cce, sce, mch = (
        losskit.categorical_cross_entropy, losskit.sparse_categorical_cross_entropy, losskit.multiclass_hinge
    )
    return [
        Row("multi-class", "categorical_cross_entropy", "probabilities, one-hot", "LogisticRegression",
            _cost(cce, data.proba, _one_hot(s.y_test, classes)),
            "class prior", _cost(cce, prior, _one_hot(s.y_test, classes)),
            float(metrics.log_loss(s.y_test, data.proba, labels=labels)), "log_loss"),
        Row("multi-class", "sparse_categorical_cross_entropy", "logits, labels", "LogisticRegression",
            _cost(sce, data.logits, s.y_test, from_logits=True),
            "class prior", _cost(sce, log_prior, s.y_test, from_logits=True),
            float(metrics.log_loss(s.y_test, data.proba, labels=labels)), "log_loss"),
        Row("multi-class", "multiclass_hinge", "scores, crammer_singer", "LinearSVC(crammer_singer)",
            _cost(mch, data.svm_scores, s.y_test),
            "log class prior", _cost(mch, log_prior, s.y_test),
            float(metrics.hinge_loss(s.y_test, data.svm_scores, labels=labels)), "hinge_loss"),
    ]


# --------------------------------------------------------------------------------------------------
# Printing.


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _agreement(row: Row) -> str:
    if row.reference is None:
        return "-"
    # Not bit-identical: summation order and log implementations differ, in the last digits only.
    if np.isclose(row.model_cost, row.reference, rtol=1e-9, atol=0.0):
        return f"= {row.reference_name}"
    return f"DIFFERS: {row.reference_name} = {row.reference:.6g}"


def print_results(rows: Sequence[Row]) -> None:
    headers = ["task", "loss", "input", "model", "model cost", "baseline", "baseline cost", "ratio", "sklearn.metrics"]
    cells = [
        [r.task, r.loss, r.setting, r.model, f"{r.model_cost:.4f}", r.baseline, f"{r.baseline_cost:.4f}",
         f"{r.model_cost / r.baseline_cost:.3f}", _agreement(r)]
        for r in rows
    ]
    right = [False, False, False, False, True, False, True, True, False]
    print("Test-set costs (reduction='mean') of a fitted model and of a baseline that ignores the features")
    print(f"(train/test split {1 - TEST_SIZE:.0%}/{TEST_SIZE:.0%}, random_state={SEED}; "
          "ratio = model cost / baseline cost, lower is better)\n")
    print(_table(headers, cells, right))


def print_loss_vs_cost(data: Regression, top: int = 5) -> None:
    """A loss is per example, a cost aggregates it: the mean hides which examples dominate it."""
    s = data.split
    squared = np.asarray(losskit.mse(data.pred, s.y_test, reduction="none"), dtype=np.float64)
    absolute = np.asarray(losskit.mae(data.pred, s.y_test, reduction="none"), dtype=np.float64)
    # |r| orders both losses alike, so the worst examples are the same; their share of the cost is not.
    worst = np.argsort(absolute)[::-1][:top]
    residual = data.pred - s.y_test
    cells = [
        [str(i), f"{residual[i]:+.3f}", f"{residual[i] * data.y_scale:+.1f}", f"{squared[i]:.3f}",
         f"{squared[i] / squared.sum():.1%}", f"{absolute[i]:.3f}", f"{absolute[i] / absolute.sum():.1%}"]
        for i in worst
    ]
    headers = ["test example", "residual (sd)", "(raw units)", "MSE loss", "share of MSE", "MAE loss", "share of MAE"]
    n = len(s.y_test)
    print(f"\nLoss vs cost: the {top} largest per-example losses (reduction='none') of Ridge on the {n} diabetes test "
          "examples\n")
    print(_table(headers, cells, [True] * len(headers)))
    print(f"\n  These {top} examples ({top / n:.1%} of the test set) carry {squared[worst].sum() / squared.sum():.0%} "
          f"of the MSE cost but {absolute[worst].sum() / absolute.sum():.0%} of the MAE cost:")
    print("  squaring lets a few large residuals dominate the mean; the absolute error weighs each one linearly.")
    mean = float(losskit.mse(data.pred, s.y_test))
    print(f"  The cost is the mean of the losses: mse(reduction='mean') = {mean:.6f}, "
          f"mse(reduction='none').mean() = {squared.mean():.6f}")


def print_identities(binary: Binary, multi: MultiClass) -> None:
    s = multi.split
    one_hot = _one_hot(s.y_test, multi.proba.shape[1])
    pairs = [
        ("categorical_cross_entropy(probabilities, one-hot targets)",
         _cost(losskit.categorical_cross_entropy, multi.proba, one_hot),
         "sparse_categorical_cross_entropy(probabilities, labels)",
         _cost(losskit.sparse_categorical_cross_entropy, multi.proba, s.y_test)),
        ("sparse_categorical_cross_entropy(probabilities, labels)",
         _cost(losskit.sparse_categorical_cross_entropy, multi.proba, s.y_test),
         "sparse_categorical_cross_entropy(logits, labels, from_logits=True)",
         _cost(losskit.sparse_categorical_cross_entropy, multi.logits, s.y_test, from_logits=True)),
        ("binary_cross_entropy(probabilities)",
         _cost(losskit.binary_cross_entropy, binary.proba, binary.split.y_test),
         "binary_cross_entropy(logits, from_logits=True)",
         _cost(losskit.binary_cross_entropy, binary.logits, binary.split.y_test, from_logits=True)),
    ]
    print("\nIdentities (each pair computes the same cost by two routes)\n")
    width = max(len(name) for p in pairs for name in (p[0], p[2]))
    for left, a, right, b in pairs:
        print(f"  {left:<{width}} = {a:.12f}")
        print(f"  {right:<{width}} = {b:.12f}   |difference| = {abs(a - b):.1e}\n")


def main() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        sys.exit(INSTALL_HINT)

    regression, binary, multi = _diabetes(), _breast_cancer(), _digits()
    rows = regression_rows(regression) + binary_rows(binary) + multiclass_rows(multi)
    # A loss added to losskit without a row here should fail the demo, not vanish from it.
    missing = set(losskit.names()) - {r.loss for r in rows}
    if missing:
        raise RuntimeError(f"losskit.demo does not cover: {', '.join(sorted(missing))}")
    print_results(rows)
    print_loss_vs_cost(regression)
    print_identities(binary, multi)


if __name__ == "__main__":
    main()
