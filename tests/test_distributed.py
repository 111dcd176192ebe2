"""Exact means over ranks and micro-batches, and in-batch losses on gathered embeddings.

Two processes (gloo on CPU, float64) each take one slice of a batch and train a model wrapped in
``DistributedDataParallel``; the loss and the gradients DDP leaves must equal those of one process
on the concatenated batch. The ranks run every case once (a module fixture) and write the largest
difference of each; the tests read them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import losskit
from losskit.torch.distributed import accumulated_mean, all_gather_with_grad, global_mean

from _cases import CASES, Case
from conftest import BACKENDS, Backend, spy_fast_paths, to_numpy

WORLD = 2
TOL = 1e-12  # float64: the two computations differ only in the order of their sums
DTYPE = torch.float64
Step = Callable[[torch.nn.Module, int], torch.Tensor]
"""``step(model, rank) -> loss``: one training step's forward and backward on rank ``rank``'s data."""


# ---------------------------------------------------------------- the cases, run by every rank


def _tokens(seed: int, ignored: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum(T), 6)`` features and labels of 5 classes for ``len(ignored)`` slices of 8 tokens, each
    with its share of labels set to ``ignore_index`` (so the slices keep different numbers)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8 * len(ignored), 6, generator=g, dtype=DTYPE)
    labels = torch.randint(0, 5, (8 * len(ignored),), generator=g)
    for i, share in enumerate(ignored):
        labels[8 * i: 8 * i + round(8 * share)] = -100
    return x, labels


CLASS_WEIGHT = torch.tensor([1.0, 2.0, 0.5, 1.5, 3.0], dtype=DTYPE)


def _sparse_ce(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits, labels, from_logits=True,
                              class_weight=CLASS_WEIGHT, label_smoothing=0.1)


def _token_ce() -> tuple[Step, Step]:
    """Rank 0 keeps 2 of its 8 tokens, rank 1 all 8 (class-weighted, label smoothing)."""
    x, labels = _tokens(0, [0.75, 0.0])

    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        rows = slice(8 * rank, 8 * rank + 8)
        loss = global_mean(*_sparse_ce(model(x[rows]), labels[rows]))
        loss.backward()
        return loss

    def single(model: torch.nn.Module, rank: int) -> torch.Tensor:
        total, count = _sparse_ce(model(x), labels)
        loss = total / count
        loss.backward()
        return loss
    return ranks, single


def _token_ce_naive() -> tuple[Step, Step]:
    """The bug the global mean fixes: each rank's own mean, averaged by DDP."""
    x, labels = _tokens(0, [0.75, 0.0])

    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        rows = slice(8 * rank, 8 * rank + 8)
        total, count = _sparse_ce(model(x[rows]), labels[rows])
        loss = total / count
        loss.backward()
        return loss
    return ranks, _token_ce()[1]


class _Head(torch.nn.Module):
    """A projection to hidden states and a language model's output matrix, used outside ``forward``."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(6, 4, dtype=DTYPE)
        self.classifier = torch.nn.Parameter(torch.randn(7, 4, dtype=DTYPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.proj(x))


def _linear_ce_parts(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    head = model.module if isinstance(model, DistributedDataParallel) else model
    return losskit.mean_parts(losskit.linear_cross_entropy, model(x), head.classifier, labels, label_smoothing=0.05,
                              z_loss=1e-3, chunk_size=3)


def _linear_ce() -> tuple[Step, Step]:
    x, labels = _tokens(1, [0.25, 0.625])

    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        rows = slice(8 * rank, 8 * rank + 8)
        loss = global_mean(*_linear_ce_parts(model, x[rows], labels[rows]))
        loss.backward()
        return loss

    def single(model: torch.nn.Module, rank: int) -> torch.Tensor:
        total, count = _linear_ce_parts(model, x, labels)
        loss = total / count
        loss.backward()
        return loss
    return ranks, single


MICRO = [[0.875, 0.25, 0.5], [0.0, 1.0, 0.625]]
"""The ignored share of each of 3 micro-batches of 8 tokens, per rank: 1, 6 and 4 tokens kept on
rank 0, 8, 0 and 3 on rank 1."""


def _micro_batches(rank: int) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    x, labels = _tokens(2, MICRO[0] + MICRO[1])
    for m in range(3):
        rows = slice(8 * (3 * rank + m), 8 * (3 * rank + m) + 8)
        yield m, x[rows], labels[rows]


def _no_sync(model: torch.nn.Module, m: int) -> AbstractContextManager[Any]:
    """DDP synchronises the gradients in the last micro-batch's backward only."""
    return model.no_sync() if m < 2 and isinstance(model, DistributedDataParallel) else nullcontext()


def _plain_ce(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits, labels, from_logits=True)


def _full_batch() -> Step:
    x, labels = _tokens(2, MICRO[0] + MICRO[1])

    def single(model: torch.nn.Module, rank: int) -> torch.Tensor:
        loss = losskit.sparse_categorical_cross_entropy(model(x), labels, from_logits=True)
        loss.backward()
        return loss
    return single


def _accumulate_counted_first() -> tuple[Step, Step]:
    """The step's token count is known from the labels before any forward pass."""
    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        count = sum(int((labels != -100).sum()) for _, _, labels in _micro_batches(rank))
        loss = torch.zeros((), dtype=DTYPE)
        for m, x, labels in _micro_batches(rank):
            with _no_sync(model, m):
                share = global_mean(_plain_ce(model(x), labels)[0], count)
                share.backward()
            loss = loss + share.detach()
        return loss
    return ranks, _full_batch()


def _accumulate_then_divide() -> tuple[Step, Step]:
    """The counts come with the losses: backward the sums, divide the gradients once."""
    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        total, count = torch.zeros((), dtype=DTYPE), torch.zeros((), dtype=DTYPE)
        for m, x, labels in _micro_batches(rank):
            with _no_sync(model, m):
                t, c = _plain_ce(model(x), labels)
                t.backward()
            total, count = total + t.detach(), count + c
        return accumulated_mean(model.parameters(), total, count)
    return ranks, _full_batch()


def _embeddings(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(12, 6, generator=g, dtype=DTYPE), torch.randint(0, 3, (12,), generator=g)


def _in_batch(loss: Callable[..., torch.Tensor], **options: Any) -> tuple[Step, Step]:
    """An in-batch loss on the embeddings of every rank: 6 per rank, labels shared across ranks."""
    x, labels = _embeddings(3)

    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        rows = slice(6 * rank, 6 * rank + 6)
        out = loss(all_gather_with_grad(model(x[rows])), all_gather_with_grad(labels[rows]), **options)
        out.backward()
        return out

    def single(model: torch.nn.Module, rank: int) -> torch.Tensor:
        out = loss(model(x), labels, **options)
        out.backward()
        return out
    return ranks, single


def _contrastive() -> tuple[Step, Step]:
    """Pairs, not a batch: a global mean of the pairs (rank 0 has 4, rank 1 has 8)."""
    g = torch.Generator().manual_seed(4)
    x1, x2, same = torch.randn(12, 6, generator=g, dtype=DTYPE), torch.randn(12, 6, generator=g, dtype=DTYPE), \
        torch.randint(0, 2, (12,), generator=g)
    weight = torch.rand(12, generator=g, dtype=DTYPE)

    def parts(model: torch.nn.Module, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
        y1, y2 = model(torch.cat([x1[rows], x2[rows]])).chunk(2)  # one forward pass, as DDP expects
        return losskit.mean_parts(losskit.contrastive, y1, y2, same[rows], margin=2.0, weight=weight[rows])

    def ranks(model: torch.nn.Module, rank: int) -> torch.Tensor:
        loss = global_mean(*parts(model, slice(0, 4) if rank == 0 else slice(4, 12)))
        loss.backward()
        return loss

    def single(model: torch.nn.Module, rank: int) -> torch.Tensor:
        total, count = parts(model, slice(0, 12))
        (total / count).backward()
        return total / count
    return ranks, single


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(7)  # the same initial parameters on every rank and in the single process
    return _Head() if name == "linear_cross_entropy" else torch.nn.Linear(6, 5, dtype=DTYPE)


CASES_2 = {
    "token_cross_entropy": _token_ce,
    "token_cross_entropy_naive": _token_ce_naive,
    "linear_cross_entropy": _linear_ce,
    "accumulate_counted_first": _accumulate_counted_first,
    "accumulate_then_divide": _accumulate_then_divide,
    "batch_triplet_all": lambda: _in_batch(losskit.batch_triplet, margin=1.0),
    "batch_triplet_hard_cosine": lambda: _in_batch(losskit.batch_triplet, mining="hard", distance="cosine",
                                                   margin=0.5),
    "info_nce": lambda: _in_batch(losskit.info_nce, temperature=0.5),
    "contrastive": _contrastive,
}
"""Each case: ``() -> (step on one rank's slice, step on the whole batch in one process)``."""


def _difference(case: str, rank: int) -> float:
    """The largest difference between the loss and gradients of the ranks (as DDP leaves them) and
    those of one process on the whole batch."""
    ranks, single = CASES_2[case]()
    model = DistributedDataParallel(_model(case))
    loss = ranks(model, rank)
    alone = _model(case)
    expected = single(alone, rank)
    diffs = [abs(float(loss.detach() - expected.detach()))]
    for p, q in zip(model.module.parameters(), alone.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        diffs.append(float((p.grad - q.grad).abs().max()))
    return max(diffs)


def _worker(rank: int, root: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{root}/store", rank=rank, world_size=WORLD)
    try:
        found = {case: _difference(case, rank) for case in CASES_2}
        Path(root, f"rank{rank}.json").write_text(json.dumps(found))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def differences(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """The largest difference of each case over both ranks."""
    root = tmp_path_factory.mktemp("ranks")
    torch.multiprocessing.spawn(_worker, args=(str(root),), nprocs=WORLD, join=True)
    found = [json.loads(Path(root, f"rank{r}.json").read_text()) for r in range(WORLD)]
    return {case: max(f[case] for f in found) for case in CASES_2}


@pytest.mark.parametrize("case", [c for c in CASES_2 if not c.endswith("naive")])
def test_two_ranks_give_the_loss_and_gradients_of_one_process(case: str, differences: dict[str, float]) -> None:
    assert differences[case] < TOL, differences[case]


def test_a_mean_per_rank_is_not_the_global_mean(differences: dict[str, float]) -> None:
    assert differences["token_cross_entropy_naive"] > 1e-2


# ---------------------------------------------------------------- one process


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize("backend", BACKENDS, ids=repr)
def test_mean_parts_are_the_sum_and_the_denominator_of_the_mean(case: Case, backend: Backend,
                                                                 rng: np.random.Generator) -> None:
    arrays = tuple(map(backend, case.draw(rng, 8)))
    weight = backend(rng.uniform(0.5, 3.0, size=case.weight_shape(8)))
    total, count = losskit.mean_parts(case, *arrays, weight=weight)
    mean = to_numpy(case(*arrays, weight=weight))
    np.testing.assert_allclose(to_numpy(total), to_numpy(case(*arrays, weight=weight, reduction="sum")), rtol=1e-13)
    np.testing.assert_allclose(to_numpy(total) / to_numpy(count), mean, rtol=1e-13)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The losses whose torch fast path computed the result while counting."""
    return spy_fast_paths(monkeypatch, ("sparse_categorical_cross_entropy", "linear_cross_entropy"))


def test_mean_parts_keep_the_torch_fast_paths_that_count(taken: list[str]) -> None:
    hidden = torch.randn(6, 3, dtype=DTYPE, requires_grad=True)
    classifier = torch.randn(4, 3, dtype=DTYPE)
    labels = torch.tensor([0, 1, -100, 3, -100, 2])
    _, count = losskit.mean_parts(losskit.sparse_categorical_cross_entropy, hidden @ classifier.T, labels,
                                  from_logits=True)
    assert float(count) == 4.0
    _, count = losskit.mean_parts(losskit.linear_cross_entropy, hidden, classifier, labels,
                                  class_weight=torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=DTYPE))
    assert float(count) == 6.5
    assert taken == ["sparse_categorical_cross_entropy", "linear_cross_entropy"]


def test_every_token_ignored_on_every_rank_gives_0_and_gradient_0() -> None:
    logits = torch.randn(6, 4, dtype=DTYPE, requires_grad=True)
    total, count = losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits, torch.full((6,), -100),
                                      from_logits=True)
    loss = global_mean(total, count)
    loss.backward()
    assert float(loss.detach()) == 0.0 and float(count) == 0.0
    assert logits.grad is not None and not logits.grad.any()


def test_a_global_count_of_0_gives_0_and_gradient_0_also_where_the_total_is_not() -> None:
    # every label's class weight is 0, and label smoothing leaves a loss on the classes that have one
    logits = torch.randn(6, 4, dtype=DTYPE, requires_grad=True)
    labels = torch.zeros(6, dtype=torch.int64)
    total, count = losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits, labels, from_logits=True,
                                      label_smoothing=0.2, class_weight=[0.0, 1.0, 1.0, 1.0])
    assert float(count) == 0.0 and float(total.detach()) > 0.0
    loss = global_mean(total, count)
    loss.backward()
    assert float(loss) == 0.0 and not torch.any(logits.grad)
    params = [torch.ones(3, requires_grad=True)]
    params[0].grad = torch.ones(3)
    assert float(accumulated_mean(params, total.detach(), count)) == 0.0 and not torch.any(params[0].grad)


def test_mean_parts_refuse_what_has_no_single_count() -> None:
    x = np.array([0.5, 1.0])
    with pytest.raises(TypeError, match="reduction"):
        losskit.mean_parts(losskit.mse, x, x, reduction="mean")
    with pytest.raises(TypeError, match="loss"):
        losskit.mean_parts(3, x, x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same shape"):
        losskit.mean_parts(losskit.gan_discriminator_loss, x, np.array([0.1, 0.2, 0.3]))


def test_global_mean_without_a_process_group_is_the_mean() -> None:
    logits = torch.randn(5, 3, dtype=DTYPE)
    labels = torch.tensor([2, -100, 0, 1, 1])
    total, count = losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits, labels, from_logits=True)
    expected = losskit.sparse_categorical_cross_entropy(logits, labels, from_logits=True)
    assert float(global_mean(total, count)) == pytest.approx(float(expected), rel=1e-15)
    assert all_gather_with_grad(logits) is logits


def test_global_mean_names_its_bad_arguments() -> None:
    total = torch.tensor(2.0)
    with pytest.raises(TypeError, match="total"):
        global_mean(2.0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="total must be 0-d"):
        global_mean(torch.ones(2), 1)
    with pytest.raises(ValueError, match="count"):
        global_mean(total, torch.ones(2))
    with pytest.raises(TypeError, match="count"):
        global_mean(total, torch.tensor(True))
    with pytest.raises(ValueError, match="x must have a first axis"):
        all_gather_with_grad(total)


def test_compiled_step_with_the_global_mean_equals_eager() -> None:
    def step(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        total, count = losskit.mean_parts(losskit.sparse_categorical_cross_entropy, logits, labels,
                                          from_logits=True, label_smoothing=0.1)
        return global_mean(total, count)

    logits = torch.randn(7, 4, dtype=DTYPE, requires_grad=True)
    labels = torch.tensor([0, -100, 3, 1, -100, 2, 2])
    results = []
    for fn in (step, torch.compile(step, fullgraph=True)):
        loss = fn(logits, labels)
        results.append((loss.detach(), *torch.autograd.grad(loss, logits)))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-15)
