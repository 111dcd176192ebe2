"""Ten digit classes: categorical against sparse categorical cross-entropy, multiclass hinge, label smoothing.

Two claims of the seed articles meet here: the categorical and sparse cross-entropies are the same
loss for two encodings of the labels (one-hot rows, integers), and the sparse one is faster. The
first is checked on the training curves, the second by timing each loss's forward and backward pass
on the task's batches, interleaved so that a busy machine slows both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

import losskit

from .. import data, metrics, plots
from ..models import mlp
from ..progress import Bars
from ..results import Claim, Metric, TaskResult, stat
from ..task import Options, Task, Training, Variant, epochs, numpy, tensor, total, train_each
from ..train import Batch, LossOf
from .classify import user_split, with_recommendation

PRIMARY = Metric("accuracy", "accuracy", True)
METRICS = (PRIMARY, Metric("macro_f1", "macro F1", True),
           Metric("seconds_per_epoch", "seconds per epoch", False, ".4f"))
EPOCHS, QUICK_EPOCHS = 30, 8
BATCH, LR = 64, 1e-3
TIMING_REPEATS, QUICK_TIMING_REPEATS = 200, 40
SAME = 1e-4
"""Training costs of the two cross-entropies may differ by rounding only: relative 1e-4 (float32, summed in
different orders over hundreds of steps)."""
DEFAULTS = {
    "categorical_cross_entropy": (Variant("categorical_ce (one-hot)", "categorical_cross_entropy"),),
    "sparse_categorical_cross_entropy": (
        Variant("sparse_categorical_ce (labels)", "sparse_categorical_cross_entropy"),
        Variant("sparse_categorical_ce(label_smoothing=0.1)", "sparse_categorical_cross_entropy",
                {"label_smoothing": 0.1})),
    "multiclass_hinge": (Variant("multiclass_hinge", "multiclass_hinge"),),
}


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    if options.data is None:
        return DEFAULTS
    return with_recommendation(dict(DEFAULTS), options.data.target_of("multiclass", ("multi-class",)))


def _loss(variant: Variant, device: torch.device) -> LossOf:
    fn = losskit.get(variant.loss)
    params: dict[str, Any] = {k: torch.as_tensor(v, dtype=torch.float32, device=device) if np.ndim(v) else v
                              for k, v in variant.params.items()}
    one_hot = variant.loss.startswith("categorical")
    if variant.loss != "multiclass_hinge":
        params["from_logits"] = True

    def loss_of(model: nn.Module, batch: Batch) -> Any:
        x, labels, rows = batch
        return fn(model(x), rows if one_hot else labels, **params)
    return loss_of


def _load(options: Options) -> tuple[data.Split, str]:
    if options.data is None:
        return data.digits(options.seed), "8x8 handwritten digits (1797 images, 10 classes), 25 % held out"
    user = options.data
    rec = user.target_of("multiclass", ("multi-class",))
    return user_split(user, rec, options.seed), (f"{user.path}: target {user.target!r} ({len(rec.classes)} classes), "
                                                 f"{len(user.y)} rows, {len(user.features)} features")


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    s, described = _load(options)
    n_epochs = epochs(options, EPOCHS, QUICK_EPOCHS)
    classes = int(max(np.max(s.y_train), np.max(s.y_test))) + 1
    labels = np.asarray(s.y_train, dtype=np.int64)
    x_test, y_test = tensor(s.x_test, options), np.asarray(s.y_test, dtype=np.int64)
    width = s.x_train.shape[1]

    def score(model: nn.Module) -> dict[str, float]:
        return metrics.multiclass(numpy(model(x_test)), y_test)

    training = Training(
        build=lambda seed: mlp([width, 64, classes], seed), loss_of=lambda v: _loss(v, options.device),
        data=(tensor(s.x_train, options), tensor(labels, options, torch.int64),
              tensor(np.eye(classes)[labels], options)),
        score=score, epochs=n_epochs, batch_size=BATCH, lr=LR)
    with bars.task("multiclass", total(variants, options, n_epochs)) as tick:
        outcomes = train_each(variants, options, training, PRIMARY, tick)
    for o in outcomes:
        # The mean epoch time of each seed's run: a metric paired by seed like the others (not deterministic).
        per_seed = np.reshape(o.seconds_per_epoch.values if o.seconds_per_epoch else [], (len(options.seeds), -1))
        o.metrics["seconds_per_epoch"] = stat(per_seed.mean(axis=1))
    result = TaskResult("multiclass", "Multi-class classification: one loss, two label encodings, and rivals",
                        described, f"MLP 64 hidden units (ReLU), {classes} logits; Adam", PRIMARY, METRICS, outcomes,
                        options.seeds, n_epochs)
    if options.data is not None:
        result.notes += options.data.notes()
    names = {o.loss for o in outcomes}
    if {"categorical_cross_entropy", "sparse_categorical_cross_entropy"} <= names:
        result.extra["loss_microseconds"] = timing(classes, options.device,
                                                 QUICK_TIMING_REPEATS if options.quick else TIMING_REPEATS)
        result.claims = claims(result)
    result.figures = {"curves": plots.learning_curves(result), "time": _time_figure(result)}
    return result


def _timer(fn: Callable[[], torch.Tensor], device: torch.device) -> Callable[[], float]:
    """A function that runs ``fn``'s forward and backward pass once and returns the microseconds it took."""
    def once() -> float:
        start = time.perf_counter()
        torch.autograd.backward(fn())
        if device.type == "cuda":  # kernels run asynchronously: wait for them, or only their launch is timed
            torch.cuda.synchronize(device)
        return 1e6 * (time.perf_counter() - start)
    return once


def timing(classes: int, device: torch.device, repeats: int) -> dict[str, dict[str, float]]:
    """Median microseconds of one forward + backward pass of each cross-entropy, interleaved call by call,
    at the task's batch shape and at a shape with many classes (where the one-hot rows cost the most)."""
    generator = torch.Generator().manual_seed(0)
    return {f"{n}x{c}": _timing(n, c, generator, device, repeats) for n, c in ((BATCH, classes), (512, 1000))}


def _timing(n: int, classes: int, generator: torch.Generator, device: torch.device, repeats: int) -> dict[str, float]:
    logits = torch.randn(n, classes, generator=generator).to(device).requires_grad_()
    labels = torch.randint(0, classes, (n,), generator=generator).to(device)
    rows = torch.nn.functional.one_hot(labels, classes).float()
    timers = {
        "categorical": _timer(lambda: losskit.categorical_cross_entropy(logits, rows, from_logits=True), device),
        "sparse": _timer(lambda: losskit.sparse_categorical_cross_entropy(logits, labels, from_logits=True), device),
    }
    times: dict[str, list[float]] = {k: [] for k in timers}
    for _ in range(repeats):
        for name, once in timers.items():
            times[name].append(once())
    return {name: float(np.median(t)) for name, t in times.items()}


def claims(result: TaskResult) -> list[Claim]:
    cce = next(o for o in result.outcomes if o.loss == "categorical_cross_entropy")
    sce = next(o for o in result.outcomes if o.loss == "sparse_categorical_cross_entropy" and not o.params)
    a, b = np.asarray(cce.curves["train_loss"]), np.asarray(sce.curves["train_loss"])
    gap = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))
    accuracy = cce.metrics[PRIMARY.key].mean - sce.metrics[PRIMARY.key].mean
    found = [Claim("Sparse categorical cross-entropy is the categorical one with labels given as integers",
                   "seeds 002, 003", gap <= SAME,
                   f"training costs per epoch differ by at most {gap:.1e} (relative) over all seeds; accuracy "
                   f"differs by {accuracy:+.4f}.")]
    timed = result.extra["loss_microseconds"]
    shapes = list(timed)
    faster = all(timed[k]["sparse"] < 0.95 * timed[k]["categorical"] for k in shapes)
    shown = "; ".join(f"{k}: sparse {t['sparse']:.0f} us, categorical {t['categorical']:.0f} us"
                      for k, t in timed.items())
    epoch = (f"seconds per epoch: sparse {sce.metrics['seconds_per_epoch'].mean:.4f}, "
             f"categorical {cce.metrics['seconds_per_epoch'].mean:.4f}")
    found.append(Claim("Sparse categorical cross-entropy is faster than categorical cross-entropy", "seed 003", faster,
                       f"median forward + backward of the loss alone (interleaved calls) — {shown}; "
                       f"{epoch} (the model's own passes dominate an epoch). Timings vary from run to run."))
    return found


def _time_figure(result: TaskResult) -> Figure:
    fig, (left, right) = plots.figure(1, 2, height=max(2.6, 0.5 * len(result.outcomes) + 1))
    plots.metric_bars(result.outcomes, PRIMARY.key, "test accuracy", ax=left)
    plots.metric_bars(result.outcomes, "seconds_per_epoch", "seconds per epoch", ax=right)
    right.set_yticks([])
    return fig


TASK = Task("multiclass", "digits: categorical vs sparse categorical CE, multiclass hinge, label smoothing",
            variants, run, takes_data=True)
