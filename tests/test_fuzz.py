"""Property fuzzing: every public loss x backend x dtype x reduction, on calls that hypothesis generates.

Each example draws one call of a case of ``tests/_cases.py``: a backend, a dtype it has, a batch
size (empty and 1 included), the perfect arguments or random ones pushed to extremes (logits of
±1e4, probabilities of exactly 0 and 1, residuals up to 1e30, subnormals), weights, class weights,
``ignore_index`` and label smoothing. It checks, for every reduction:

* a finite loss and gradient (in float16 and bfloat16: wherever the float64 value fits the dtype,
  see "NaN policy" in docs/conventions.md), and the float64 value of the same (rounded) inputs
  within :data:`TOLERANCE` ("Low precision" in docs/conventions.md);
* the loss at or above its documented minimum, and exactly at it for the perfect arguments;
* ``"sum"`` equal to ``"mean"`` times the total weight;
* on torch, the fast path equal to ``losskit.reference`` in value and gradient;
* inputs unchanged, and a repeated call bit-identical.

``LOSSKIT_FUZZ=long`` (``make fuzz``) selects the long profile. The number of calls fuzzed is
printed at the end of the run (``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import array_api_strict
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losskit
import losskit.reference as reference

from _cases import CASES, C, Case
from conftest import BACKENDS, Backend, to_numpy

# CI: the same examples on every run (a bounded, stable cost); long: new ones each run, many more.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("fuzz-ci", max_examples=35, derandomize=True, deadline=None,
                          suppress_health_check=_SUPPRESSED)
settings.register_profile("fuzz-long", max_examples=400, deadline=None, suppress_health_check=_SUPPRESSED)
PROFILE = settings.get_profile(f"fuzz-{os.environ.get('LOSSKIT_FUZZ', 'ci')}")

REDUCTIONS = ("none", "mean", "sum")
LIBRARY = {"numpy": np, "torch": torch, "jax": jnp, "array_api_strict": array_api_strict}
DTYPES = {"numpy": ("float64", "float32", "float16"), "torch": ("float64", "float32", "float16", "bfloat16"),
          "jax": ("float64", "float32", "float16", "bfloat16"), "array_api_strict": ("float64", "float32")}
FINFO = {name: torch.finfo(getattr(torch, name)) for name in ("float64", "float32", "float16", "bfloat16")}

# |x - x64| <= TOLERANCE * max(|x64|, 1): each dtype against float64 on the same (rounded) inputs.
# float16 and bfloat16 compute in float32 and round the result: half an ulp, 2**-11 and 2**-8.
TOLERANCE = {"float64": 1e-10, "float32": 1e-5, "float16": 2e-3, "bfloat16": 1.6e-2}
# The torch fast path against the reference path (low precision never takes a fast path).
FAST_TOLERANCE = {"float64": 1e-12, "float32": 4e-6, "float16": 0.0, "bfloat16": 0.0}
# The largest magnitude of a residual, embedding or score each dtype is fuzzed with: squares stay finite.
LARGE = {"float64": 1e30, "float32": 1e15, "float16": 1e4, "bfloat16": 1e15}

PROBABILITIES = {"binary_cross_entropy", "focal", "categorical_cross_entropy", "sparse_categorical_cross_entropy",
                 "categorical_focal", "sparse_categorical_focal", "dice", "jaccard", "tversky", "focal_tversky",
                 "dice_bce", "kl_divergence", "js_divergence"}
CROSS_ENTROPIES = {"binary_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy",
                   "linear_cross_entropy"}


def _kind(case: Case) -> str:
    """What the model outputs of a case are: ``logits``, ``probabilities`` or ``real`` values."""
    if case.kwargs.get("from_logits") or case.name.startswith("gan_") or case.name == "linear_cross_entropy":
        return "logits"
    return "probabilities" if case.name in PROBABILITIES else "real"


EXTREMES = {"logits": ("none", "large"), "probabilities": ("none", "saturated"), "real": ("none", "large", "tiny")}


def _extremes(case: Case, mode: str, arrays: tuple[np.ndarray, ...], dtype: str,
              rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The arrays with about half the entries of each model output pushed to an extreme of ``mode``."""
    out = list(arrays)
    for i in range(case.inputs):
        x = out[i]
        mask = rng.uniform(size=x.shape) < 0.5
        sign = rng.choice([-1.0, 1.0], size=x.shape)
        if i in case.shared:
            continue  # a classifier shared by the batch: the hidden states carry the extremes
        if mode == "large" and case.name == "linear_cross_entropy":
            x = x * 250.0  # logits up to about 1e4
        elif mode == "large" and case.name == "gaussian_kl" and i == 1:
            x = np.where(mask, sign * 30.0, x)  # a log-variance: exp(30) is large enough
        elif mode == "large":
            x = np.where(mask, sign * (1e4 if _kind(case) == "logits" else LARGE[dtype]), x)
        elif mode == "tiny":
            x = np.where(mask, sign * rng.integers(1, 4, size=x.shape) * FINFO[dtype].smallest_normal
                         * FINFO[dtype].eps, x)  # subnormals of the dtype
        elif mode == "saturated" and case.classes:  # whole rows one-hot: still on the simplex
            rows = rng.uniform(size=x.shape[:-1]) < 0.5
            x = np.where(rows[..., None], np.eye(x.shape[-1])[rng.integers(0, x.shape[-1], size=x.shape[:-1])], x)
        elif mode == "saturated":
            x = np.where(mask, (sign > 0).astype(np.float64), x)
        out[i] = x
    return tuple(out)


def _options(case: Case, data: st.DataObject, rng: np.random.Generator, arrays: tuple[np.ndarray, ...],
             perfect: bool) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """Class weights, ``ignore_index`` (with some labels set to it) and label smoothing, where the loss has them."""
    params = inspect.signature(case.fn).parameters
    kwargs: dict[str, Any] = {}
    if "class_weight" in params and data.draw(st.booleans(), label="class_weight"):
        class_weight = rng.integers(0, 25, size=C) / 8  # exact in every dtype
        class_weight[rng.integers(C)] = 1.0  # never all zero
        kwargs["class_weight"] = class_weight.tolist()
    if "label_smoothing" in params and not perfect:  # smoothing moves the minimum off the perfect arguments
        kwargs["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="label_smoothing")
    if "ignore_index" in params and case.labels:
        ignore = data.draw(st.sampled_from([None, -100, C - 1]), label="ignore_index")
        kwargs["ignore_index"] = ignore
        if ignore is not None:
            labels = arrays[-1].copy()
            labels[rng.uniform(size=labels.shape) < 0.3] = ignore
            arrays = (*arrays[:-1], labels)
    return arrays, kwargs


def _weight(case: Case, data: st.DataObject, rng: np.random.Generator, n: int) -> np.ndarray | None:
    kind = data.draw(st.sampled_from(["none", "scalar", "example"]), label="weight")
    if kind == "none":
        return None
    shape = () if kind == "scalar" else case.weight_shape(n)
    return rng.integers(0, 17, size=shape) / 8  # zeros included; exact in every dtype


def _floor(case: Case, arrays: tuple[np.ndarray, ...], kwargs: dict[str, Any]) -> np.ndarray | float:
    """The documented minimum of each example's loss: 0, or for a cross-entropy the entropy of its
    (smoothed, class-weighted) target, ``-sum_c a_c log(a_c / sum a)`` with ``a_c = w_c y_c``."""
    kwargs = {**case.kwargs, **kwargs}
    smoothing = kwargs.get("label_smoothing", 0.0)
    if case.name not in CROSS_ENTROPIES or not smoothing:
        return 0.0  # hard targets: the minimum is 0
    target = arrays[-1]
    if case.name == "binary_cross_entropy":
        y = target * (1 - smoothing) + smoothing / 2
        a = np.stack([y * kwargs.get("pos_weight", 1.0), 1 - y], axis=-1)
    else:
        if case.labels:
            ignore = kwargs.get("ignore_index")
            keep = np.ones(target.shape, dtype=bool) if ignore is None else target != ignore
            target = np.where(keep[..., None], np.eye(C)[np.where(keep, target, 0)], 0.0)
        a = target * (1 - smoothing) + np.any(target, axis=-1, keepdims=True) * smoothing / C
        a = a * np.asarray(kwargs.get("class_weight", np.ones(C)))
    total = np.sum(a, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(a > 0, a * np.log(a / np.where(total > 0, total, 1.0)), 0.0), axis=-1)


def _np(x: Any) -> np.ndarray:
    return to_numpy(x).astype(np.float64)


def _value_and_grads(fn: Callable[..., Any], case: Case, backend: str, args: list[Any],
                     kwargs: dict[str, Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The loss and the gradient of its sum with respect to the model outputs (torch and JAX)."""
    rest = args[case.inputs:]
    if backend == "torch":
        leaves = [a.detach().clone().requires_grad_(True) for a in args[:case.inputs]]
        out = fn(*leaves, *rest, **kwargs)
        grads = torch.autograd.grad(out.sum(), leaves)
        for leaf, a in zip(leaves, args, strict=False):
            assert torch.equal(leaf.detach(), a), "a differentiated input was modified"
        return _np(out), [_np(g) for g in grads]
    out, vjp = jax.vjp(lambda *x: fn(*x, *rest, **kwargs), *args[:case.inputs])
    return _np(out), [_np(g) for g in vjp(jnp.ones_like(out))]


def _scale(case: Case, exact: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> np.ndarray:
    """The largest magnitude among the model outputs each loss entry depends on (the logits for
    ``linear_cross_entropy``; the whole batch for an in-batch loss).

    A loss is computed from differences of its inputs (of logits, of coordinates, of scores): a
    difference of two numbers of size ``s`` carries an ulp of ``s``, so the rounding of any
    computation is relative to ``s``, also where the loss itself is small.
    """
    if case.name == "linear_cross_entropy":
        outputs = [np.abs(exact[0]) @ np.abs(exact[1]).T]
    else:
        outputs = [np.abs(x) for i, x in enumerate(exact[:case.inputs]) if i not in case.shared]
    if not all(x.size for x in outputs):
        return np.zeros(shape)
    if case.batch:
        return np.full(shape, max(np.max(x) for x in outputs))
    return np.max([np.max(x.reshape((*shape, -1)), axis=-1) for x in outputs], axis=0)


def _gradient_scale(case: Case, grad: np.ndarray) -> float:
    """The scale of a gradient's rounding: an in-batch loss's entry sums terms over the batch, which
    may cancel to far below the largest of them, and two paths' roundings differ by an ulp of that;
    other gradients are compared entry by entry (0)."""
    return float(np.max(np.abs(grad), initial=0.0)) if case.batch else 0.0


def _error(got: np.ndarray, want: np.ndarray, scale: np.ndarray | float = 0.0,
           where: np.ndarray | bool = True) -> float:
    """The largest ``|got - want| / max(|want|, 1, scale)`` where ``where``, ignoring equal values
    (infinities too)."""
    with np.errstate(invalid="ignore"):
        err = np.where(got == want, 0.0, np.abs(got - want) / np.maximum(np.maximum(np.abs(want), 1.0), scale))
    err = np.where(where, err, 0.0)
    return float(np.max(err, initial=0.0))


def _tolerance(case: Case, kwargs: dict[str, Any], dtype: str, table: dict[str, float]) -> float:
    """``table[dtype]``, or for the distances of a Gram matrix half the digits of the compute dtype.

    ``batch_triplet`` takes its euclidean distances from ``|a|^2 + |b|^2 - 2 a.b`` (one matrix
    product): two points close to each other relative to their size keep ``sqrt(eps) s`` of it.
    """
    if case.name == "batch_triplet" and {**case.kwargs, **kwargs}.get("distance", "euclidean") != "cosine":
        return max(table[dtype], 4 * math.sqrt(FINFO["float64" if dtype == "float64" else "float32"].eps))
    return table[dtype]


def _fits(x64: np.ndarray, dtype: str) -> np.ndarray:
    """Where a float64 value is finite and well inside the range of ``dtype``: its result must be finite."""
    return np.isfinite(x64) & (np.abs(x64) < FINFO[dtype].max / 4)


class Tally:
    """The calls fuzzed, by backend and dtype, and the largest error against float64 seen per dtype."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.error: dict[str, float] = {}

    def add(self, backend: str, dtype: str, error: float) -> None:
        self.calls[f"{backend}/{dtype}"] += 1
        self.error[dtype] = max(self.error.get(dtype, 0.0), error)

    def json(self) -> str:
        return json.dumps({"calls": self.calls, "error": self.error})


def _example(case: Case, data: st.DataObject, tally: Tally) -> None:
    backend: Backend = data.draw(st.sampled_from(BACKENDS), label="backend")
    dtype = data.draw(st.sampled_from(DTYPES[backend.name]), label="dtype")
    perfect = data.draw(st.booleans(), label="perfect")
    # few sizes: eager JAX compiles every operation once per shape, about a second per loss
    n = data.draw(st.sampled_from([0, 1, 5]), label="n")
    n = case.batch if 0 < n < case.batch else n  # an in-batch loss needs a positive pair and a negative
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays = (case.perfect if perfect else case.draw)(rng, n)
    arrays, kwargs = _options(case, data, rng, arrays, perfect)
    extreme = "none" if perfect else data.draw(st.sampled_from(EXTREMES[_kind(case)]), label="extreme")
    arrays = _extremes(case, extreme, arrays, dtype, rng)
    weight = _weight(case, data, rng, n)
    reduction = data.draw(st.sampled_from(REDUCTIONS), label="gradient of reduction")

    # the call's arrays in the backend and dtype; the same rounded values in float64 NumPy for the checks
    lib_dtype = getattr(LIBRARY[backend.name], dtype)
    floats = len(case.floats(arrays))
    args = [backend.asarray(x, dtype=lib_dtype) if i < floats else backend(x) for i, x in enumerate(arrays)]
    w = None if weight is None else backend.asarray(weight, dtype=lib_dtype)
    given_arrays = [to_numpy(x).copy() for x in [*args, *([] if w is None else [w])]]
    exact = tuple(_np(x) if i < floats else arrays[i] for i, x in enumerate(args))
    call = {**kwargs, "weight": w}

    with np.errstate(over="ignore" if dtype == "float16" else "warn"):  # NumPy warns where float16 rounds to inf
        values = {r: case(*args, **call, reduction=r) for r in REDUCTIONS}
    for r, value in values.items():
        assert value.dtype == lib_dtype, r
    got = {r: _np(v) for r, v in values.items()}
    with losskit.checks(False):  # rounded probabilities may leave the float64 simplex
        x64 = {r: np.asarray(case(*exact, **kwargs, weight=weight, reduction=r), dtype=np.float64)
               for r in REDUCTIONS}

    # finite inside the domain, and float64's value to the dtype's tolerance, except where the
    # compute dtype's floors differ by design: log p of a probability 0 (or log(1 - p) of a 1) is
    # log(tiny), and a norm below sqrt(eps) is that floor in a cosine
    clamped = np.zeros(got["none"].shape, dtype=bool)
    options = {**case.kwargs, **kwargs}
    if extreme == "saturated" and dtype != "float64" and clamped.size:
        saturated = (exact[0] == 0) | (exact[0] == 1)
        clamped = np.any(saturated.reshape((*clamped.shape, -1)), axis=-1)
    if extreme == "tiny" and dtype != "float64" and (case.name == "info_nce" or options.get("distance") == "cosine"):
        clamped[...] = True
    scale = _scale(case, exact, clamped.shape) * (1.0 if weight is None else np.broadcast_to(weight, clamped.shape))
    scales = {"none": scale, "mean": np.max(scale, initial=0.0), "sum": np.sum(scale)}
    # batch_triplet's "mean" divides by the triplets whose loss is above 0 (average="nonzero"): a count
    # that a rounding flips where a triplet's loss is 0 to the last bit; "none" and "sum" hold its numbers
    counted = {"mean": not (case.name == "batch_triplet" and options.get("average", "nonzero") == "nonzero")}
    error = 0.0
    for r in REDUCTIONS:
        assert np.all(np.isfinite(x64[r])), f"float64 {r} not finite: {x64[r]}"
        fits = _fits(x64[r], dtype)
        assert np.all(np.isfinite(got[r]) | ~fits), f"{r} not finite: {got[r]} (float64: {x64[r]})"
        where = fits & ~(clamped if r == "none" else np.any(clamped)) & counted.get(r, True)
        error = max(error, _error(got[r], x64[r], scales[r], where))
    assert error <= _tolerance(case, kwargs, dtype, TOLERANCE), f"{error:.3g} from float64: {got} vs {x64}"

    # at or above the documented minimum; exactly at it at the target
    floor = np.broadcast_to(_floor(case, exact, kwargs), got["none"].shape)
    if weight is not None:
        floor = floor * np.broadcast_to(weight, got["none"].shape)
    slack = TOLERANCE[dtype] * np.maximum(np.maximum(floor, 1.0), scale) * (floor > 0)  # a floor of 0 is exact
    assert np.all((got["none"] >= floor - slack) | ~_fits(x64["none"], dtype)), (got["none"], floor)
    if perfect:
        for r in REDUCTIONS:
            assert np.all(got[r] == 0.0), f"{r} at the target: {got[r]}"

    # "sum" is "mean" times the total weight (an in-batch loss's mean divides by its pairs or triplets)
    if not case.batch and np.all(_fits(x64["sum"], dtype)):
        total = case.total_weight(exact, None if weight is None else np.asarray(weight), **kwargs)
        if total == 0:  # documented 0; the sum need not be (label smoothing onto classes that have a weight)
            assert got["mean"] == 0.0, got["mean"]
        else:
            np.testing.assert_allclose(got["sum"], got["mean"] * total, rtol=8 * FINFO[dtype].eps,
                                       atol=FINFO[dtype].smallest_normal, err_msg=f"total weight {total}")

    # gradients: finite where float64's fit; on torch the fast path's equal the reference path's
    if backend.name in ("torch", "jax"):
        fn = losskit.get(case.name)
        value, grads = _value_and_grads(fn, case, backend.name, args, {**case.kwargs, **call, "reduction": reduction})
        if dtype in ("float16", "bfloat16"):
            with losskit.checks(False):
                _, grads64 = _value_and_grads(getattr(reference, case.name), case, "torch",
                                              [torch.asarray(x) for x in exact],
                                              {**case.kwargs, **kwargs, "reduction": reduction,
                                               "weight": None if weight is None else torch.asarray(weight)})
        else:
            grads64 = [np.zeros_like(g) for g in grads]  # float32 and float64 gradients must all be finite
        for g, g64 in zip(grads, grads64, strict=True):
            assert np.all(np.isfinite(g) | ~_fits(g64, dtype)), f"gradient not finite: {g}"
        if backend.name == "torch":
            ref, ref_grads = _value_and_grads(getattr(reference, case.name), case, "torch", args,
                                              {**case.kwargs, **call, "reduction": reduction})
            fast_error = _error(value, ref, scales[reduction])
            # a margin below an ulp of the scores: which side of a kink an entry is on depends on the
            # order of the rounding (m + s_j - s_y), so the gradients may pick different subgradients
            if not (extreme == "large" and "margin" in inspect.signature(case.fn).parameters):
                fast_error = max([fast_error, *(_error(g, r, _gradient_scale(case, r))
                                                for g, r in zip(grads, ref_grads, strict=True))])
            assert fast_error <= _tolerance(case, kwargs, dtype, FAST_TOLERANCE), (
                f"fast path {value}, {grads} vs reference {ref}, {ref_grads}")

    # the same call again: bit-identical; and no input was modified by any of the calls
    with np.errstate(over="ignore" if dtype == "float16" else "warn"):
        again = to_numpy(case(*args, **call, reduction=reduction))
    assert again.tobytes() == to_numpy(values[reduction]).tobytes()
    for x, before in zip([*args, *([] if w is None else [w])], given_arrays, strict=True):
        assert to_numpy(x).tobytes() == before.tobytes(), "an input was modified"
    tally.add(backend.name, dtype, error)


@pytest.mark.parametrize("case", CASES, ids=repr)
@settings(PROFILE)  # record_property is the same for every example of a test: shared on purpose
@given(data=st.data())
def test_fuzz(case: Case, data: st.DataObject, record_property: Callable[[str, object], None]) -> None:
    # given on the test itself, not on a function inside it: hypothesis's database then keys the
    # examples it saves by the test's id, so that a failure of `make fuzz` is replayed by the next run
    tally = Tally()
    _example(case, data, tally)
    record_property("fuzz", tally.json())
