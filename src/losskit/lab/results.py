"""The numbers of an experiment, and what they say: mean and spread over seeds, the winner, the claims.

A difference between two losses counts as real only when it is larger than twice its standard
error over the seeds, taken on the paired differences (seed by seed: the same initial weights and
mini-batches on both sides, so the seed's own luck cancels). That is a rough rule, not a
significance test, and with one seed nothing can be told from noise: the report then says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NOISE_SE = 2.0
"""A paired difference within this many standard errors of 0 is noise."""


@dataclass(frozen=True)
class Stat:
    """One number measured once per seed."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        """The sample standard deviation over seeds (0 for one seed)."""
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    def show(self, fmt: str = ".3f") -> str:
        return f"{self.mean:{fmt}} ± {self.std:{fmt}}" if len(self.values) > 1 else f"{self.mean:{fmt}}"

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "values": list(self.values)}


def stat(values: Sequence[float]) -> Stat:
    return Stat(tuple(float(v) for v in values))


@dataclass(frozen=True)
class Metric:
    """A task metric: computed from the model's outputs, never from the loss it was trained with."""

    key: str
    name: str
    higher_is_better: bool
    fmt: str = ".3f"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "higher_is_better": self.higher_is_better}


@dataclass
class Outcome:
    """One loss (with its settings) trained once per seed and scored with every metric of its task."""

    label: str
    """How the report names it, e.g. ``focal(gamma=2)``."""
    loss: str
    """The canonical losskit name of the loss trained."""
    params: Mapping[str, Any]
    metrics: dict[str, Stat]
    curves: dict[str, list[list[float]]] = field(default_factory=dict)
    """Per-epoch series per seed: ``train_loss`` and the primary metric on held-out data."""
    seconds_per_epoch: Stat | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "loss": self.loss, "params": _plain(self.params),
            "metrics": {k: s.to_dict() for k, s in self.metrics.items()},
            "curves": self.curves,
            "seconds_per_epoch": None if self.seconds_per_epoch is None else self.seconds_per_epoch.to_dict(),
        }


@dataclass(frozen=True)
class Difference:
    """``a - b`` of one metric, paired by seed, and whether it stands out from the noise."""

    a: str
    b: str
    mean: float
    se: float
    seeds: int
    better: bool
    """``a`` is better than ``b`` on the mean (higher or lower, as the metric prefers)."""

    @property
    def clear(self) -> bool:
        """Larger than the noise: beyond NOISE_SE standard errors, and with at least two seeds to tell."""
        return self.seeds > 1 and abs(self.mean) > NOISE_SE * self.se

    def describe(self, metric: Metric) -> str:
        if self.mean == 0 and self.se == 0:
            return f"{self.a} and {self.b} have the same {metric.name} on every seed"
        if f"{abs(self.mean):{metric.fmt}}" == f"{0.0:{metric.fmt}}":
            return f"{self.a} and {self.b} have the same mean {metric.name} to the digits shown"
        word = "higher" if self.mean > 0 else "lower"
        size = f"{abs(self.mean):{metric.fmt}} {word}"
        if self.seeds < 2:
            return f"{self.a} {size} {metric.name} than {self.b} (one seed: noise unknown)"
        noise = "beyond" if self.clear else "within"
        return (f"{self.a} {size} {metric.name} than {self.b}, {noise} noise "
                f"(paired standard error {self.se:{metric.fmt}} over {self.seeds} seeds)")


def difference(a: Outcome, b: Outcome, metric: Metric) -> Difference:
    diffs = np.subtract(a.metrics[metric.key].values, b.metrics[metric.key].values)
    se = float(np.std(diffs, ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1 else math.inf
    mean = float(np.mean(diffs))
    return Difference(a.label, b.label, mean, se, len(diffs), mean > 0 if metric.higher_is_better else mean < 0)


def ranked(outcomes: Sequence[Outcome], metric: Metric) -> list[Outcome]:
    """Best first by the mean over seeds."""
    sign = -1.0 if metric.higher_is_better else 1.0
    return sorted(outcomes, key=lambda o: sign * o.metrics[metric.key].mean)


@dataclass(frozen=True)
class Verdict:
    """The winner on the primary metric, the runner-up, and the sentence that says it plainly."""

    winner: str
    runner_up: str | None
    within_noise: bool
    statement: str

    def to_dict(self) -> dict[str, Any]:
        return {"winner": self.winner, "runner_up": self.runner_up, "within_noise": self.within_noise,
                "statement": self.statement}


def verdict(outcomes: Sequence[Outcome], metric: Metric) -> Verdict:
    order = ranked(outcomes, metric)
    best = order[0]
    shown = best.metrics[metric.key].show(metric.fmt)
    if len(order) == 1:
        return Verdict(best.label, None, False, f"Only {best.label} was trained: {metric.name} {shown}.")
    d = difference(best, order[1], metric)
    if d.clear:
        text = f"{best.label} wins on {metric.name} ({shown}): {d.describe(metric)}."
    else:
        tied = [o.label for o in order[1:] if not difference(best, o, metric).clear]
        text = (f"No clear winner on {metric.name}: {best.label} has the best mean ({shown}) but "
                f"{', '.join(tied)} {'is' if len(tied) == 1 else 'are'} within noise of it ({d.describe(metric)}).")
    return Verdict(best.label, order[1].label, not d.clear, text)


@dataclass(frozen=True)
class Claim:
    """A statement of the seed articles, and whether this run's numbers bore it out."""

    claim: str
    source: str
    """Which seed article(s) make it."""
    confirmed: bool
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "source": self.source, "confirmed": self.confirmed, "evidence": self.evidence}


@dataclass
class TaskResult:
    """Everything one task's experiment produced: numbers for results.json, figures for the report."""

    task: str
    title: str
    data: str
    model: str
    primary: Metric
    metrics: tuple[Metric, ...]
    outcomes: list[Outcome]
    seeds: tuple[int, ...]
    epochs: int
    claims: list[Claim] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Task-specific numbers (the outlier sweep, gradient norms...), plain JSON values."""
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)
    """Name -> figure; written as ``TASK-NAME.png`` and embedded in the report."""

    @property
    def verdict(self) -> Verdict:
        return verdict(self.outcomes, self.primary)

    def outcome(self, label: str) -> Outcome:
        return next(o for o in self.outcomes if o.label == label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "title": self.title, "data": self.data, "model": self.model,
            "seeds": list(self.seeds), "epochs": self.epochs,
            "primary_metric": self.primary.key, "metrics": [m.to_dict() for m in self.metrics],
            "outcomes": [o.to_dict() for o in self.outcomes], "verdict": self.verdict.to_dict(),
            "claims": [c.to_dict() for c in self.claims], "extra": _plain(self.extra), "notes": self.notes,
            "figures": [f"{self.task}-{name}.png" for name in self.figures],
        }


def _plain(value: Any) -> Any:
    """JSON-ready: NumPy scalars and arrays and tuples become Python numbers and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy arrays and scalars, torch tensors (a class weight)
        return _plain(value.tolist())
    return value


def claim_better(claim: str, source: str, a: Outcome, b: Outcome, metric: Metric) -> Claim:
    """The claim "``a`` does better than ``b``", confirmed when it does so beyond noise."""
    d = difference(a, b, metric)
    return Claim(claim, source, d.better and d.clear, d.describe(metric) + ".")
