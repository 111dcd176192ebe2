"""The figures every task shares: learning curves with a band over seeds, and the primary metric per loss.

Figures are built without pyplot (no GUI backend, no global state), as :func:`losskit.cli.plot_figure` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .results import Outcome, TaskResult

WIDTH = 9.0
ROW = 3.2
"""Height of one row of panels, in inches."""


def figure(rows: int = 1, columns: int = 1, *, height: float = ROW) -> tuple[Figure, list[Axes]]:
    """A figure of ``rows x columns`` panels, as a flat list."""
    fig = Figure(figsize=(WIDTH, height * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def band(ax: Axes, series: Sequence[Sequence[float]], label: str, x: Sequence[float] | None = None) -> None:
    """The mean over seeds as a line, one standard deviation either side as a shaded band."""
    values = np.asarray(series, dtype=np.float64)
    mean, std = values.mean(axis=0), values.std(axis=0)
    steps = np.arange(1, values.shape[1] + 1) if x is None else np.asarray(x)
    (line,) = ax.plot(steps, mean, label=label)
    ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)


def _relative(curves: Sequence[Sequence[float]]) -> list[list[float]]:
    # Losses live on different scales (a squared error, a margin, a log): each curve over its first value.
    return [[v / c[0] if c[0] else v for v in c] for c in curves]


def learning_curves(result: TaskResult, *, x_label: str = "epoch") -> Figure:
    """Training cost (relative to its first epoch) and the held-out primary metric, per loss."""
    fig, (left, right) = figure(1, 2, height=3.6)
    for o in result.outcomes:
        band(left, _relative(o.curves["train_loss"]), o.label)
        band(right, o.curves[result.primary.key], o.label)
    left.set_title("training cost / first epoch's")
    left.set_yscale("log")
    right.set_title(f"held-out {result.primary.name}")
    for ax in (left, right):
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
    right.legend(fontsize="small")
    return fig


def metric_bars(outcomes: Sequence[Outcome], key: str, name: str, *, ax: Axes | None = None) -> Figure | None:
    """Mean ``key`` per loss with a one-std error bar and each seed's value as a dot."""
    fig = None
    if ax is None:
        fig, (ax,) = figure(height=max(2.4, 0.45 * len(outcomes) + 1))
    labels = [o.label for o in outcomes]
    means = [o.metrics[key].mean for o in outcomes]
    stds = [o.metrics[key].std for o in outcomes]
    rows = np.arange(len(outcomes))
    ax.barh(rows, means, xerr=stds, color="#9ecae1", edgecolor="#3182bd", capsize=3)
    for row, o in zip(rows, outcomes, strict=True):
        ax.plot(o.metrics[key].values, [row] * len(o.metrics[key].values), "k.", markersize=4)
    ax.set_yticks(rows, labels)
    ax.invert_yaxis()
    ax.set_xlabel(name)
    ax.grid(axis="x", alpha=0.3)
    return fig
