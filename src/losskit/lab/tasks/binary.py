"""Binary classification of breast tumours: cross-entropy against the margin losses and focal loss.

The seed articles pair binary cross-entropy with a sigmoid output and call the hinge loss effective
for binary classification (the SVM's loss). Both are trained on the same MLP; the report compares
accuracy and ranking, and the calibration of the probabilities each model's scores give.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from .. import data, metrics, plots
from ..models import mlp
from ..progress import Bars, Tick
from ..results import Claim, Metric, Outcome, TaskResult, difference
from ..task import Options, Task, Training, Variant, epochs, numpy, tensor, total, train_each
from .classify import binary_loss, probability, user_split, with_recommendation

PRIMARY = Metric("accuracy", "accuracy", True)
METRICS = (PRIMARY, Metric("roc_auc", "ROC-AUC", True), Metric("average_precision", "average precision", True),
           Metric("f1", "F1", True),
           Metric("ece", "calibration error (ECE)", False), Metric("brier", "Brier score", False, ".4f"))
EPOCHS, QUICK_EPOCHS = 60, 25
BATCH, LR = 64, 1e-3
DEFAULTS = {
    "binary_cross_entropy": (Variant("bce", "binary_cross_entropy"),),
    "hinge": (Variant("hinge", "hinge"),),
    "squared_hinge": (Variant("squared_hinge", "squared_hinge"),),
    # alpha=None: on balanced classes the class weight would only rescale; gamma's focusing is what is tested.
    "focal": (Variant("focal(gamma=2)", "focal", {"gamma": 2.0, "alpha": None}),),
}


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    if options.data is None:
        return DEFAULTS
    return with_recommendation(dict(DEFAULTS), options.data.target_of("binary", ("binary",)))


def load(options: Options) -> tuple[data.Split, str]:
    if options.data is None:
        return data.breast_cancer(options.seed), "breast cancer (569 tumours, 30 features, 63 % benign), 25 % held out"
    user = options.data
    rec = user.target_of("binary", ("binary",))
    return (user_split(user, rec, options.seed),
            f"{user.path}: target {user.target!r} ({rec.classes[1]!r} positive), {len(user.y)} rows, "
            f"{len(user.features)} features")


def train(s: data.Split, variants: Sequence[Variant], options: Options, n_epochs: int, tick: Tick,
          probabilities: dict[str, np.ndarray], primary: Metric = PRIMARY, batch_size: int = BATCH,
          lr: float = LR) -> list[Outcome]:
    """Train every variant; ``probabilities`` receives each one's test P(y = 1) (first seed)."""
    x_test, y_test = tensor(s.x_test, options), np.asarray(s.y_test, dtype=np.int64)
    width = s.x_train.shape[1]

    def proba(model: nn.Module) -> np.ndarray:
        return probability(numpy(model(x_test).squeeze(-1)))

    def keep(variant: Variant, seed: int, model: nn.Module) -> None:
        if seed == options.seed:
            probabilities[variant.label] = proba(model)

    training = Training(
        build=lambda seed: mlp([width, 32, 1], seed), loss_of=lambda v: binary_loss(v, options.device),
        data=(tensor(s.x_train, options), tensor(s.y_train, options)),
        score=lambda m: metrics.binary(proba(m), y_test), epochs=n_epochs, batch_size=batch_size, lr=lr)
    return train_each(variants, options, training, primary, tick, keep)


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    s, described = load(options)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    probabilities: dict[str, np.ndarray] = {}
    with bars.task("binary", total(variants, options, n_epochs)) as tick:
        outcomes = train(s, variants, options, n_epochs, tick, probabilities)
    result = TaskResult("binary", "Binary classification: cross-entropy, margins and focus", described,
                        "MLP 32 hidden units (ReLU), one logit; Adam", PRIMARY, METRICS, outcomes,
                        options.seeds, n_epochs)
    result.claims = claims(result)
    if options.data is not None:
        result.notes += options.data.notes()
    result.notes.append("Probabilities are the sigmoid of each model's score; for the hinge losses, whose scores are "
                        "margins rather than logits, that reading is the reason to expect poor calibration.")
    result.figures = {"curves": plots.learning_curves(result),
                      "calibration": reliability(probabilities, np.asarray(s.y_test, dtype=np.int64))}
    return result


def claims(result: TaskResult) -> list[Claim]:
    by_loss = {o.loss: o for o in result.outcomes}
    found = []
    if {"hinge", "binary_cross_entropy"} <= set(by_loss):
        hinge, bce = by_loss["hinge"], by_loss["binary_cross_entropy"]
        d = difference(hinge, bce, PRIMARY)
        # "Effective" is read as: no clear loss of accuracy against the cross-entropy.
        found.append(Claim("The hinge loss is effective for binary classification (no less accurate than "
                           "cross-entropy beyond noise)", "seed 001",
                           d.better or not d.clear, d.describe(PRIMARY) + "."))
        ece = next(m for m in METRICS if m.key == "ece")
        d = difference(bce, hinge, ece)
        found.append(Claim("Binary cross-entropy scores predicted probabilities against the label, so its "
                           "probabilities are the calibrated ones", "seeds 002, 003", d.better and d.clear,
                           d.describe(ece) + "."))
    return found


def reliability(probabilities: Mapping[str, np.ndarray], y: np.ndarray) -> Figure:
    """Observed positive rate against mean predicted probability, per probability bin (first seed)."""
    fig, (ax,) = plots.figure(height=4.0)
    edges = np.linspace(0, 1, metrics.CALIBRATION_BINS + 1)
    for label, p in probabilities.items():
        which = np.clip(np.digitize(p, edges[1:-1]), 0, len(edges) - 2)
        filled = [b for b in range(len(edges) - 1) if np.any(which == b)]
        ax.plot([np.mean(p[which == b]) for b in filled], [np.mean(y[which == b]) for b in filled], "o-", label=label)
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="perfectly calibrated")
    ax.set_xlabel("mean predicted P(y = 1) in the bin")
    ax.set_ylabel("observed share of positives")
    ax.set_title("calibration (first seed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


TASK = Task("binary", "breast cancer: bce, hinge, squared_hinge, focal", variants, run, takes_data=True)
