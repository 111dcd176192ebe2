"""The loop every lab experiment shares: forward pass, loss, backward pass, optimiser step, epochs.

It is the loop of the seed articles, written once so that the only thing that changes between two
runs of a task is the loss. Runs are deterministic: the weights come from the seed (see
:mod:`losskit.lab.models`), the order of the mini-batches from a generator seeded with it, and torch
computes with a fixed number of threads, so the same seed gives the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import perf_counter

import torch
from torch import nn

from ..cli import CommandError

Batch = tuple[torch.Tensor, ...]
LossOf = Callable[[nn.Module, Batch], torch.Tensor]
"""The cost of a mini-batch under the loss being compared: ``loss_of(model, batch)`` returns a 0-d tensor."""
Evaluate = Callable[[nn.Module], float]
THREADS = 1
"""Threads torch computes with. The lab's models are so small that a second thread costs more in
synchronisation than it saves; one thread also keeps rounding, and so the results, identical."""


@dataclass
class History:
    """What one training run leaves: per epoch, the mean training cost, a held-out metric and the seconds taken."""

    train_loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def device(name: str) -> torch.device:
    """The torch device for ``--device``; CUDA must be present when asked for."""
    if name == "cuda" and not torch.cuda.is_available():
        raise CommandError("--device cuda: CUDA is not available on this machine (torch "
                           f"{torch.__version__}); run on the CPU with --device cpu")
    return torch.device(name)


@contextmanager
def deterministic() -> Iterator[None]:
    """Fixed threads and deterministic kernels for the duration of an experiment; the caller's settings after."""
    threads = torch.get_num_threads()
    benchmark = torch.backends.cudnn.benchmark
    torch.set_num_threads(min(THREADS, os.cpu_count() or 1))
    # cuDNN's autotuner picks kernels by timing them: a different pick can change the last bits.
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.backends.cudnn.benchmark = benchmark


def batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """The indices of one epoch's mini-batches: a fresh permutation of ``range(n)`` cut into full batches.

    The remainder is left out (another one each epoch): a batch of three digits may hold no two of one
    class, which a triplet loss needs, and a tiny batch is a noisy step. Data smaller than one batch is one batch.
    """
    order = torch.randperm(n, generator=generator)
    full = max(1, n // batch_size) * min(batch_size, n)
    return [order[start:start + batch_size] for start in range(0, full, batch_size)]


def fit(model: nn.Module, loss_of: LossOf, data: Sequence[torch.Tensor], *, epochs: int, batch_size: int,
        lr: float, seed: int, evaluate: Evaluate, tick: Callable[[], None]) -> History:
    """Train ``model`` with Adam on mini-batches of ``data`` (tensors sharing their first axis) for ``epochs``.

    ``evaluate(model)`` runs after each epoch in eval mode without gradients (a held-out metric for
    the learning curves, never used to pick a model); ``tick()`` after each epoch drives the progress bar.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    history = History()
    n = len(data[0])
    seen = len(batches(n, batch_size, torch.Generator())) * min(batch_size, n)
    for _ in range(epochs):
        start = perf_counter()
        model.train()
        total = torch.zeros((), device=data[0].device)
        for index in batches(n, batch_size, generator):
            batch = tuple(t[index.to(t.device)] for t in data)
            optimiser.zero_grad()
            cost = loss_of(model, batch)
            torch.autograd.backward(cost)
            optimiser.step()
            # Accumulated on the device: reading each cost back would stall a GPU once per step.
            total += cost.detach() * len(index)
        history.train_loss.append(float(total) / seen)
        history.seconds.append(perf_counter() - start)
        model.eval()
        with torch.no_grad():
            history.metric.append(evaluate(model))
        tick()
    return history
