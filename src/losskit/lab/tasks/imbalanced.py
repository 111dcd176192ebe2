"""Heavy class imbalance (one positive per 50 negatives): plain and weighted cross-entropy against focal loss.

The seed articles say focal loss addresses class imbalance by down-weighting the easy examples. The
report ranks the models by average precision (the area under the precision-recall curve, which a
flood of easy negatives cannot inflate) and the recall reached at 50 % precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve

from .. import data, metrics, plots
from ..progress import Bars
from ..results import Claim, Metric, TaskResult, claim_better, ranked
from ..task import Options, Task, Variant, epochs, total
from .binary import train

RATIO, SAMPLES = 50, 10_000
PRIMARY = Metric("average_precision", "average precision", True)
METRICS = (PRIMARY, Metric("recall_at_precision", f"recall at {metrics.PRECISION_TARGET:.0%} precision", True),
           Metric("roc_auc", "ROC-AUC", True), Metric("f1", "F1 at 0.5", True))
EPOCHS, QUICK_EPOCHS = 15, 5
BATCH, LR = 128, 3e-3
GAMMAS = (0.5, 1.0, 2.0, 5.0)


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    return {
        "binary_cross_entropy": (Variant("bce", "binary_cross_entropy"),
                                 Variant(f"bce(pos_weight={RATIO})", "binary_cross_entropy",
                                         {"pos_weight": float(RATIO)})),
        # alpha stays at its default 0.25, Lin et al.'s choice to go with gamma = 2.
        "focal": tuple(Variant(f"focal(gamma={g:g})", "focal", {"gamma": g}) for g in GAMMAS),
    }


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    s = data.imbalanced(options.seed, SAMPLES, RATIO)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    probabilities: dict[str, np.ndarray] = {}
    with bars.task("imbalanced", total(variants, options, n_epochs)) as tick:
        outcomes = train(s, variants, options, n_epochs, tick, probabilities, PRIMARY, BATCH, LR)
    positives = int(np.sum(s.y_test))
    result = TaskResult(
        "imbalanced", f"Imbalanced classification (1:{RATIO}): does focal loss help?",
        f"scikit-learn make_classification: {SAMPLES} examples, 20 features, 1 positive per {RATIO} negatives; "
        f"30 % held out ({positives} test positives)",
        "MLP 32 hidden units (ReLU), one logit; Adam", PRIMARY, METRICS, outcomes, options.seeds, n_epochs)
    result.claims = claims(result)
    result.figures = {"curves": plots.learning_curves(result),
                      "precision-recall": pr_curves(probabilities, np.asarray(s.y_test, dtype=np.int64))}
    return result


def claims(result: TaskResult) -> list[Claim]:
    focal = [o for o in result.outcomes if o.loss == "focal"]
    plain = [o for o in result.outcomes if o.loss == "binary_cross_entropy" and not o.params]
    if not focal or not plain:
        return []
    best = ranked(focal, PRIMARY)[0]
    return [claim_better("Focal loss helps with heavy class imbalance (best gamma against plain cross-entropy)",
                         "seeds 000, 003", best, plain[0], PRIMARY)]


def pr_curves(probabilities: Mapping[str, np.ndarray], y: np.ndarray) -> Figure:
    fig, (ax,) = plots.figure(height=4.0)
    for label, p in probabilities.items():
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=label)
    ax.axhline(metrics.PRECISION_TARGET, color="k", linestyle=":", linewidth=0.8)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall on the test split (first seed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


TASK = Task("imbalanced", "1:50 generated data: bce, weighted bce, focal at several gamma", variants, run)
