"""Regression on diabetes progression with a share of gross outliers in the training targets.

The claim under test: MAE and Huber are robust to outliers, MSE is not. Each loss trains the same
MLP on targets of which a share (``--outliers``, 10 % by default) were shifted up by 5 to 10
standard deviations; every model is scored on the *clean* test targets, in the data's units. A sweep
over the outlier share shows whether MSE's penalty grows with it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from torch import nn

import losskit

from .. import data, metrics, plots
from ..models import mlp
from ..progress import Bars, Tick
from ..results import Claim, Metric, Outcome, TaskResult, claim_better
from ..task import Options, Task, Training, Variant, epochs, numpy, tensor, total, train_each
from ..train import Batch, LossOf

PRIMARY = Metric("mae", "clean-test MAE", False, ".2f")
METRICS = (PRIMARY, Metric("rmse", "clean-test RMSE", False, ".2f"),
           Metric("median_ae", "clean-test median abs. error", False, ".2f"))
EPOCHS, QUICK_EPOCHS = 100, 40
BATCH, LR = 64, 3e-3
SWEEP = (0.0, 0.1, 0.2, 0.3)
SOURCES = {"mae": "seeds 000, 002, 003", "huber": "seeds 001, 002, 003"}
DEFAULTS = (Variant("mse", "mse"), Variant("mae", "mae"), Variant("huber(delta=1)", "huber", {"delta": 1.0}),
            Variant("log_cosh", "log_cosh"))


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    choices = {v.loss: (v,) for v in DEFAULTS}
    if options.data is not None:
        rec = options.data.target_of("regression", ("regression",))
        # The lab standardises targets, so the recommended delta (in the data's units) is rescaled with them.
        scale = float(np.std(np.asarray(options.data.y, dtype=np.float64)))
        params = {k: v / scale if k == "delta" else v for k, v in rec.kwargs().items()}
        shown = ", ".join(f"{k}={v:.3g}" for k, v in params.items())
        choices[rec.loss] = (Variant(f"{rec.loss}({shown}) [recommended]" if shown else f"{rec.loss} [recommended]",
                                     rec.loss, params),)
    return choices


def _loss(variant: Variant) -> LossOf:
    fn = losskit.get(variant.loss)

    def loss_of(model: nn.Module, batch: Batch) -> Any:
        x, y = batch
        return fn(model(x).squeeze(-1), y, **variant.params)
    return loss_of


def _load(options: Options) -> tuple[data.Split, float, str]:
    if options.data is None:
        s, scale = data.diabetes(options.seed)
        return s, scale, "diabetes progression (442 patients, 10 features), 25 % held out"
    user = options.data
    s, scale = data.standardise_target(data.split(user.x, np.asarray(user.y, dtype=np.float64), options.seed,
                                                  classes=False))
    return s, scale, f"{user.path}: target {user.target!r}, {len(user.y)} rows, {len(user.features)} features"


def _train(s: data.Split, scale: float, share: float, variants: Sequence[Variant], options: Options, n_epochs: int,
           tick: Tick, residuals: dict[str, np.ndarray] | None = None) -> list[Outcome]:
    rng = np.random.default_rng(options.seed)
    y_train, _ = data.corrupt(np.asarray(s.y_train, dtype=np.float64), share, rng)
    x_test = tensor(s.x_test, options)
    y_test = np.asarray(s.y_test, dtype=np.float64) * scale

    def predict(model: nn.Module) -> np.ndarray:
        return numpy(model(x_test).squeeze(-1)) * scale

    def keep(variant: Variant, seed: int, model: nn.Module) -> None:
        if residuals is not None and seed == options.seed:
            residuals[variant.label] = predict(model) - y_test

    width = s.x_train.shape[1]
    training = Training(
        build=lambda seed: mlp([width, 64, 1], seed), loss_of=_loss,
        data=(tensor(s.x_train, options), tensor(y_train, options)),
        score=lambda m: metrics.regression(predict(m), y_test), epochs=n_epochs, batch_size=BATCH, lr=LR)
    return train_each(variants, options, training, PRIMARY, tick, keep)


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    s, scale, described = _load(options)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    shares = options.sweep if options.sweep is not None else (() if options.quick else SWEEP)
    extra_shares = [p for p in shares if p != options.outliers]
    residuals: dict[str, np.ndarray] = {}
    with bars.task("regression", total(variants, options, n_epochs) * (1 + len(extra_shares))) as tick:
        outcomes = _train(s, scale, options.outliers, variants, options, n_epochs, tick, residuals)
        swept = {p: outcomes if p == options.outliers else _train(s, scale, p, variants, options, n_epochs, tick)
                 for p in sorted(shares)}
    result = TaskResult(
        "regression", f"Regression with {options.outliers:.0%} outliers in the training targets",
        f"{described}; {options.outliers:.0%} of the training targets shifted up by "
        f"{data.OUTLIER_SHIFT[0]:g}-{data.OUTLIER_SHIFT[1]:g} sd; scored on the clean test targets",
        "MLP 64 hidden units (ReLU), Adam", PRIMARY, METRICS, outcomes, options.seeds, n_epochs)
    result.extra["outlier_share"] = options.outliers
    result.extra["target_sd"] = scale
    if swept:
        result.extra["sweep"] = {f"{p:g}": {o.label: o.metrics[PRIMARY.key].to_dict() for o in outs}
                                 for p, outs in swept.items()}
    result.claims = claims(result, swept)
    if options.data is not None:
        result.notes += options.data.notes()
    result.figures = {"curves": plots.learning_curves(result), "residuals": _residual_figure(residuals),
                      **({"sweep": _sweep_figure(swept)} if len(swept) > 1 else {})}
    return result


def claims(result: TaskResult, swept: Mapping[float, Sequence[Outcome]]) -> list[Claim]:
    by_loss = {o.loss: o for o in result.outcomes}
    found: list[Claim] = []
    if "mse" not in by_loss or result.extra["outlier_share"] == 0:
        return found
    mse = by_loss["mse"]
    for name, text in (("mae", "MAE is robust to outliers, where MSE is not"),
                       ("huber", "Huber loss is less sensitive to outliers than MSE")):
        if name in by_loss:
            found.append(claim_better(text, SOURCES[name], by_loss[name], mse, PRIMARY))
    if {"mae", "huber"} <= set(by_loss):
        means = {k: by_loss[k].metrics[PRIMARY.key].mean for k in ("mse", "mae", "huber")}
        between = min(means["mse"], means["mae"]) <= means["huber"] <= max(means["mse"], means["mae"])
        found.append(Claim("Huber lies between MAE and MSE", "seed 003", between,
                           f"clean-test MAE: mse {means['mse']:.2f}, huber {means['huber']:.2f}, "
                           f"mae {means['mae']:.2f}."))
    if len(swept) > 2:
        gaps = []
        for share, outs in swept.items():
            losses = {o.loss: o.metrics[PRIMARY.key].mean for o in outs}
            robust = [v for k, v in losses.items() if k in ("mae", "huber")]
            if "mse" in losses and robust:
                gaps.append((share, losses["mse"] - min(robust)))
        if len(gaps) > 2:
            growing = all(b[1] >= a[1] for a, b in itertools.pairwise(gaps))
            shown = ", ".join(f"{s:.0%}: {g:+.2f}" for s, g in gaps)
            found.append(Claim("MSE's penalty grows with the share of outliers (MSE is not robust to outliers)",
                               "seed 003", growing,
                               f"clean-test MAE of mse minus the best robust loss, by outlier share: {shown}"
                               f"{'' if growing else ' (not monotone)'}."))
    return found


def _residual_figure(residuals: Mapping[str, np.ndarray]) -> Figure:
    fig, axes = plots.figure(1, len(residuals), height=2.8)
    largest = max(float(np.max(np.abs(r))) for r in residuals.values())
    bins = np.linspace(-largest, largest, 31)
    for ax, (label, r) in zip(axes, residuals.items(), strict=True):
        ax.hist(r, bins=bins.tolist(), color="#6baed6")
        ax.axvline(0.0, color="k", linewidth=0.8)
        ax.axvline(float(np.median(r)), color="#d62728", linewidth=1.2, label=f"median {np.median(r):+.1f}")
        ax.set_title(label, fontsize="medium")
        ax.set_xlabel("prediction - clean target")
        ax.legend(fontsize="x-small")
    fig.suptitle("clean-test residuals (first seed): outliers push MSE's predictions up")
    return fig


def _sweep_figure(swept: Mapping[float, Sequence[Outcome]]) -> Figure:
    fig, (ax,) = plots.figure(height=3.4)
    shares = sorted(swept)
    for label in [o.label for o in swept[shares[0]]]:
        stats = [next(o for o in swept[p] if o.label == label).metrics[PRIMARY.key] for p in shares]
        ax.errorbar([100 * p for p in shares], [s.mean for s in stats], yerr=[s.std for s in stats],
                    marker="o", capsize=3, label=label)
    ax.set_xlabel("outliers in the training targets (%)")
    ax.set_ylabel(PRIMARY.name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


TASK = Task("regression", "diabetes with a share of corrupted targets: mse, mae, huber, log_cosh",
            variants, run, takes_data=True)
