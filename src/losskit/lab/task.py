"""What a task is: data, a model, the losses it can compare, how it scores them; and the run they share.

A task names the losses it can train (canonical losskit names) and, for each, the variants it
trains by default (``focal`` at several gamma, ``gaussian_kl`` at several beta). ``--losses``
picks among those names, in any spelling ``losskit.get`` accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..catalog import info
from ..cli import CommandError
from .data import UserData
from .progress import Bars, Tick
from .results import Metric, Outcome, stat
from .train import LossOf, fit


@dataclass(frozen=True)
class Variant:
    """One loss with its settings, as trained and reported."""

    label: str
    loss: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """How to run a task: the seeds, the length of training, the device, and task-specific settings."""

    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int | None = None
    """None: the task's own default (shorter with ``quick``)."""
    quick: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    outliers: float = 0.1
    """Regression: the share of corrupted training targets."""
    sweep: tuple[float, ...] | None = None
    """Regression: outlier shares to sweep; None: the task's default (none when quick)."""
    data: UserData | None = None

    @property
    def seed(self) -> int:
        """The base seed: it fixes the data split and the generated data; each run adds its own seed."""
        return self.seeds[0]


Run = Callable[[Options, Sequence[Variant], Bars], Any]


@dataclass(frozen=True)
class Task:
    name: str
    summary: str
    variants: Callable[[Options], Mapping[str, tuple[Variant, ...]]]
    """The losses this task can train (canonical name -> the variants trained for it)."""
    run: Run
    """``run(options, variants, bars)`` -> a :class:`~losskit.lab.results.TaskResult`."""
    takes_data: bool = False
    """Whether ``--data FILE --target COL`` can replace the built-in data."""


def select(task: Task, names: Sequence[str] | None, options: Options) -> list[Variant]:
    """The variants to train: every one by default, or those of the named losses (aliases allowed)."""
    choices = task.variants(options)
    if names is None:
        return [v for variants in choices.values() for v in variants]
    chosen: list[Variant] = []
    for name in names:
        canonical = info(name).name  # an unknown name: "unknown loss name ..., did you mean ..."
        if canonical not in choices:
            raise CommandError(f"the {task.name} task cannot train with {canonical}; its losses: "
                               f"{', '.join(choices)}")
        chosen += [v for v in choices[canonical] if v not in chosen]
    return chosen


def epochs(options: Options, full: int, quick: int) -> int:
    if options.epochs is not None:
        return options.epochs
    return quick if options.quick else full


def tensor(a: np.ndarray, options: Options, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(a, dtype=dtype, device=options.device)


def numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


@dataclass(frozen=True)
class Training:
    """How each model of a task is built, fed and judged (see :func:`train_each`)."""

    build: Callable[[int], nn.Module]
    """The model for a seed (its initial weights drawn from that seed alone)."""
    loss_of: Callable[[Variant], LossOf]
    data: Sequence[torch.Tensor]
    score: Callable[[nn.Module], dict[str, float]]
    """The task metrics of a trained model on held-out data."""
    epochs: int
    batch_size: int
    lr: float = 1e-3


def train_each(variants: Sequence[Variant], options: Options, training: Training, primary: Metric, tick: Tick,
               keep: Callable[[Variant, int, nn.Module], None] | None = None) -> list[Outcome]:
    """Train every variant once per seed, from the same initial weights per seed, and summarise the metrics.

    ``keep(variant, seed, model)`` sees each trained model (to draw a figure from its outputs).
    """
    outcomes = []
    for variant in variants:
        scores: list[dict[str, float]] = []
        curves: dict[str, list[list[float]]] = {"train_loss": [], primary.key: []}
        seconds: list[float] = []
        for seed in options.seeds:
            model = training.build(seed).to(options.device)
            history = fit(model, training.loss_of(variant), training.data, epochs=training.epochs,
                          batch_size=training.batch_size, lr=training.lr, seed=seed,
                          evaluate=lambda m: training.score(m)[primary.key], tick=tick)
            with torch.no_grad():
                scores.append(training.score(model.eval()))
            curves["train_loss"].append(history.train_loss)
            curves[primary.key].append(history.metric)
            seconds += history.seconds
            if keep is not None:
                keep(variant, seed, model)
        metrics = {k: stat([s[k] for s in scores]) for k in scores[0]}
        outcomes.append(Outcome(variant.label, variant.loss, dict(variant.params), metrics, curves, stat(seconds)))
    return outcomes


def total(variants: Sequence[Variant], options: Options, epochs: int) -> int:
    """Progress-bar steps of :func:`train_each`: one per epoch of every run."""
    return len(variants) * len(options.seeds) * epochs
