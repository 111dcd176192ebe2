"""linear_cross_entropy: the naive computation's numbers, without a (tokens, vocabulary) array on torch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

import losskit
import losskit.reference as reference
from losskit.language import CHUNK_TOKENS
from losskit.torch import _language

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
N, H, V = 50, 12, 37  # chunks of 7 leave a chunk of 1


def _naive(hidden: torch.Tensor, classifier: torch.Tensor, labels: torch.Tensor, *, bias: torch.Tensor | None = None,
           class_weight: torch.Tensor | None = None, ignore_index: int = -100, label_smoothing: float = 0.0,
           softcap: float | None = None, z_loss: float = 0.0, reduction: str = "mean", **_: Any) -> torch.Tensor:
    """F.cross_entropy of the full logits, plus the z-loss of the kept tokens over the same denominator."""
    logits = hidden @ classifier.T if bias is None else hidden @ classifier.T + bias
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    loss = F.cross_entropy(logits, labels, weight=class_weight, ignore_index=ignore_index,
                           label_smoothing=label_smoothing, reduction="none")
    keep = labels != ignore_index
    loss = loss + z_loss * torch.logsumexp(logits, 1) ** 2 * keep
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    safe = torch.where(keep, labels, 0)
    count = keep.sum() if class_weight is None else (class_weight[safe] * keep).sum()
    return loss.sum() / count


def _assert_close(got: torch.Tensor, want: torch.Tensor) -> None:
    """Relatively close, as a whole: an element of a gradient that is a sum of cancelling terms has
    a large relative rounding error in any summation order (also the naive one's against float64)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    error = torch.linalg.vector_norm(got - want) / torch.linalg.vector_norm(want)
    assert error <= TOL[want.dtype], error


def _draw(rng: np.random.Generator, dtype: torch.dtype, bias: bool = True) -> tuple[torch.Tensor, ...]:
    hidden = torch.tensor(rng.normal(size=(N, H)), dtype=dtype, requires_grad=True)
    classifier = torch.tensor(rng.normal(size=(V, H)) / np.sqrt(H) * 3, dtype=dtype, requires_grad=True)
    b = torch.tensor(rng.normal(size=V), dtype=dtype, requires_grad=True) if bias else None
    labels = torch.tensor(rng.integers(0, V, size=N))
    labels[rng.choice(N, size=6, replace=False)] = -100
    return hidden, classifier, b, labels


def _value_and_grads(fn: Callable[..., torch.Tensor], hidden: torch.Tensor, classifier: torch.Tensor,
                     bias: torch.Tensor | None, labels: torch.Tensor, **kwargs: Any,
                     ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    out = fn(hidden, classifier, labels, bias=bias, **kwargs)
    seed = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)  # non-uniform for "none"
    leaves = [t for t in (hidden, classifier, bias) if t is not None]
    return out.detach(), torch.autograd.grad((out * seed).sum(), leaves)


OPTIONS = [
    {},
    {"label_smoothing": 0.1},
    {"class_weight": "random"},
    {"class_weight": "random", "label_smoothing": 0.2},
    {"softcap": 1.5, "z_loss": 1e-2},
    {"class_weight": "random", "label_smoothing": 0.3, "softcap": 4.0, "z_loss": 1e-3, "ignore_index": 5},
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("chunk_size", [7, None])
def test_loss_and_three_gradients_equal_the_naive_ones(dtype: torch.dtype, reduction: str, options: dict[str, Any],
                                                       chunk_size: int | None, rng: np.random.Generator) -> None:
    hidden, classifier, bias, labels = _draw(rng, dtype)
    kwargs = {**options, "reduction": reduction}
    if "class_weight" in kwargs:
        kwargs["class_weight"] = torch.tensor(rng.uniform(0.2, 3.0, size=V), dtype=dtype)
    if "ignore_index" in kwargs:
        labels = torch.where(labels == -100, kwargs["ignore_index"], labels)
    ours = _value_and_grads(losskit.linear_cross_entropy, hidden, classifier, bias, labels, chunk_size=chunk_size,
                            **kwargs)
    naive = _value_and_grads(_naive, hidden, classifier, bias, labels, **kwargs)
    torch.testing.assert_close(ours[0], naive[0], rtol=TOL[dtype], atol=0.0)  # each token's loss too
    for got, want in zip(ours[1], naive[1], strict=True):
        _assert_close(got, want)


@contextmanager
def _spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Records, per call of the public function, whether the fast path took it."""
    taken: list[bool] = []
    fast = _language.linear_cross_entropy

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = fast(*args, **kwargs)
        taken.append(out is not NotImplemented)
        return out

    monkeypatch.setattr(_language, "linear_cross_entropy", spy)
    yield taken


def test_all_ignored_tokens_cost_zero_with_zero_gradients(monkeypatch: pytest.MonkeyPatch,
                                                          rng: np.random.Generator) -> None:
    hidden, classifier, bias, _ = _draw(rng, torch.float64)
    labels = torch.full((N,), -100)
    with _spy(monkeypatch) as taken:
        for reduction in ("mean", "sum"):
            out = losskit.linear_cross_entropy(hidden, classifier, labels, bias=bias, reduction=reduction,
                                               chunk_size=16, label_smoothing=0.1, z_loss=1e-2)
            grads = torch.autograd.grad(out, (hidden, classifier, bias))
            assert out.item() == 0.0 and all(torch.all(g == 0) for g in grads)
    assert taken == [True, True]


def test_mean_over_labels_of_zero_class_weight_is_zero_also_with_label_smoothing(
        monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    """Found by tests/test_fuzz.py: label smoothing leaves a loss on the classes that have a weight
    where the labels' class weight is 0; "mean" divided that sum by 1. It is 0, with gradient 0."""
    hidden, classifier, bias, _ = _draw(rng, torch.float64)
    labels = torch.zeros(N, dtype=torch.int64)
    class_weight = torch.ones(V, dtype=torch.float64)
    class_weight[0] = 0.0
    with _spy(monkeypatch) as taken:
        for fn in (losskit.linear_cross_entropy, reference.linear_cross_entropy):
            kw: dict[str, Any] = {"bias": bias, "class_weight": class_weight, "label_smoothing": 0.1}
            assert fn(hidden, classifier, labels, reduction="sum", **kw).item() > 0.0
            out = fn(hidden, classifier, labels, **kw)
            grads = torch.autograd.grad(out, (hidden, classifier, bias))
            assert out.item() == 0.0 and all(torch.all(g == 0) for g in grads)
    assert taken == [True, True]  # the fast path took both of its calls


def test_token_weights_and_batch_shape(rng: np.random.Generator) -> None:
    """(batch, time) tokens with a weight per sequence: the reference path's numbers (the fast suite checks
    the same with every option)."""
    hidden = torch.tensor(rng.normal(size=(4, 9, H)), requires_grad=True)
    classifier = torch.tensor(rng.normal(size=(V, H)), requires_grad=True)
    labels = torch.tensor(rng.integers(0, V, size=(4, 9)))
    weight = torch.tensor([[0.0], [1.0], [2.0], [0.5]])
    for reduction in ("mean", "sum", "none"):
        out, grads = _value_and_grads(losskit.linear_cross_entropy, hidden, classifier, None, labels, weight=weight,
                                      chunk_size=5, reduction=reduction)
        ref, ref_grads = _value_and_grads(reference.linear_cross_entropy, hidden, classifier, None, labels,
                                          weight=weight, reduction=reduction)
        assert out.shape == ref.shape == ((4, 9) if reduction == "none" else ())
        torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-15)
        for got, want in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-15)
        assert torch.all(grads[0][0] == 0)  # the weight-0 sequence


def test_only_the_gradients_asked_for(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    hidden, classifier, bias, labels = _draw(rng, torch.float64)
    frozen = classifier.detach()
    with _spy(monkeypatch) as taken:
        out = losskit.linear_cross_entropy(hidden, frozen, labels, bias=bias)
        grads = torch.autograd.grad(out, (hidden, bias))
        with torch.no_grad():
            value = losskit.linear_cross_entropy(hidden, classifier, labels, bias=bias)
    assert taken == [True, True] and value.grad_fn is None and value.item() == out.item()
    ref = reference.linear_cross_entropy(hidden, frozen, labels, bias=bias)
    for got, want in zip(grads, torch.autograd.grad(ref, (hidden, bias)), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-15)


def test_retained_graph_gives_the_same_gradients_twice(rng: np.random.Generator) -> None:
    hidden, classifier, bias, labels = _draw(rng, torch.float32)
    for reduction in ("mean", "none"):
        out = losskit.linear_cross_entropy(hidden, classifier, labels, bias=bias, reduction=reduction).sum()
        first = torch.autograd.grad(out, (hidden, classifier, bias), retain_graph=True)
        second = torch.autograd.grad(out, (hidden, classifier, bias))
        for a, b in zip(first, second, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_double_backward_is_the_reference_paths(reduction: str, rng: np.random.Generator) -> None:
    hidden, classifier, bias, labels = _draw(rng, torch.float64)
    results = []
    for fn in (losskit.linear_cross_entropy, reference.linear_cross_entropy):
        out = fn(hidden, classifier, labels, bias=bias, softcap=3.0, reduction=reduction, chunk_size=8).sum()
        grads = torch.autograd.grad(out, (hidden, classifier, bias), create_graph=True)
        results.append(torch.autograd.grad(sum((g * g).sum() for g in grads), (hidden, classifier, bias)))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


class _Allocations(TorchDispatchMode):
    """The number of elements of every tensor an operator returns."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[str, int]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.sizes.append((str(func), t.numel()))
        return out


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("softcap", [None, 30.0])
def test_no_tensor_of_all_logits_is_ever_allocated(reduction: str, softcap: float | None,
                                                  rng: np.random.Generator) -> None:
    """Forward and backward: no operator returns more than one chunk's logits (or the classifier's gradient)."""
    tokens, vocabulary, features, chunk = 1024, 3000, 8, 100
    hidden = torch.tensor(rng.normal(size=(tokens, features)), dtype=torch.float32, requires_grad=True)
    classifier = torch.tensor(rng.normal(size=(vocabulary, features)), dtype=torch.float32, requires_grad=True)
    bias = torch.zeros(vocabulary, requires_grad=True)
    labels = torch.tensor(rng.integers(0, vocabulary, size=tokens))
    mode = _Allocations()
    with mode:
        out = losskit.linear_cross_entropy(hidden, classifier, labels, bias=bias, softcap=softcap,
                                           reduction=reduction, chunk_size=chunk)
        torch.autograd.grad(out.sum(), (hidden, classifier, bias))
    largest = max(mode.sizes, key=lambda s: s[1])
    assert largest[1] == chunk * vocabulary, largest
    assert any(n == chunk * vocabulary for _, n in mode.sizes)  # the chunks' logits were formed (the probe works)


def test_default_chunk_size(rng: np.random.Generator) -> None:
    hidden, classifier, _, labels = _draw(rng, torch.float64, bias=False)
    hidden = hidden.detach().repeat(50, 1)  # 2500 tokens: chunks of 1024, 1024 and 452
    labels = labels.repeat(50)
    mode = _Allocations()
    with mode:
        losskit.linear_cross_entropy(hidden, classifier, labels)
    assert max(n for _, n in mode.sizes) == CHUNK_TOKENS * V
    torch.testing.assert_close(losskit.linear_cross_entropy(hidden, classifier, labels),
                               reference.linear_cross_entropy(hidden, classifier, labels), rtol=1e-13, atol=0.0)


def _calls() -> list[tuple[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Any]]]:
    return [
        ("float16", lambda h, w, y: losskit.linear_cross_entropy(h.half(), w.half(), y)),
        ("mixed dtypes", lambda h, w, y: losskit.linear_cross_entropy(h, w.double(), y)),
        ("empty batch", lambda h, w, y: losskit.linear_cross_entropy(h[:0], w, y[:0])),
        ("class_weight list", lambda h, w, y: losskit.linear_cross_entropy(h, w, y, class_weight=[1.0] * V)),
        ("weight requires grad",
         lambda h, w, y: losskit.linear_cross_entropy(h, w, y, weight=torch.ones(N, requires_grad=True))),
        ("numpy", lambda h, w, y: losskit.linear_cross_entropy(h.detach().numpy(), w.detach().numpy(), y.numpy())),
    ]


@pytest.mark.parametrize(("name", "call"), _calls(), ids=[c[0] for c in _calls()])
def test_declined_calls_run_the_reference_path(name: str, call: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                               rng: np.random.Generator) -> None:
    hidden, classifier, _, labels = _draw(rng, torch.float32, bias=False)
    with _spy(monkeypatch) as taken:
        out = call(hidden, classifier, labels)
    value = out.detach() if isinstance(out, torch.Tensor) else out
    assert np.isfinite(float(value)) and not any(taken), name


H4, W4, Y4 = torch.zeros(4, 3), torch.zeros(5, 3), torch.tensor([0, 1, 4, -100])


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: losskit.linear_cross_entropy(H4, W4, torch.tensor([0, 1, 5, 2])), ValueError, r"class labels in \[0, 5\)"),
    (lambda: losskit.linear_cross_entropy(H4, W4[:, :2], Y4), ValueError, r"classifier must have shape \(V, 3\)"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4[:3]), ValueError, "labels must have the shape of hidden"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4 * 1.0), TypeError, "labels must hold integer"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, bias=torch.zeros(4)), ValueError, r"bias must have shape \(5,\)"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, chunk_size=0), ValueError, "chunk_size"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, chunk_size=2.0), TypeError, "chunk_size"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, softcap=0.0), ValueError, "softcap"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, z_loss=-1.0), ValueError, "z_loss"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, label_smoothing=2.0), ValueError, "label_smoothing"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, class_weight=-torch.ones(5)), ValueError, "class_weight"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, weight=-torch.ones(4)), ValueError, "weight"),
    (lambda: losskit.linear_cross_entropy(H4, W4, Y4, reduction="avg"), ValueError, "reduction"),
    (lambda: losskit.linear_cross_entropy(H4[0, 0], W4, Y4), ValueError, "hidden must have a feature axis"),
])
def test_errors_are_the_reference_paths(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_jax_gives_the_torch_numbers(rng: np.random.Generator) -> None:
    import jax
    import jax.numpy as jnp

    hidden, classifier, bias, labels = _draw(rng, torch.float64)
    kwargs = {"label_smoothing": 0.1, "softcap": 5.0, "z_loss": 1e-3}
    out = losskit.linear_cross_entropy(hidden, classifier, labels, bias=bias, **kwargs)
    grads = torch.autograd.grad(out, (hidden, classifier, bias))
    arrays = [jnp.asarray(t.detach().numpy()) for t in (hidden, classifier, bias)]
    y = jnp.asarray(labels.numpy())

    def cost(h: Any, w: Any, b: Any) -> Any:
        return losskit.linear_cross_entropy(h, w, y, bias=b, **kwargs)

    value, jax_grads = jax.jit(jax.value_and_grad(cost, argnums=(0, 1, 2)))(*arrays)
    np.testing.assert_allclose(float(value), out.item(), rtol=1e-12)
    for got, want in zip(jax_grads, grads, strict=True):
        np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-10, atol=1e-14)
