"""Every registered loss under ``jax.jit``, with each of its options: it compiles and gives its eager numbers.

``tests/test_conventions.py`` jits one call per case of ``tests/_cases.py`` (``reduction="none"`` and
the gradient of the mean, in float64). Here each case is also varied one option at a time -- every
choice of every string option (read from the error message the loss gives for an unknown one) and
every boolean flag flipped -- and each variant is compiled with all three reductions, a weighted
mean and its gradient, in float32 and float64. Every array argument is a traced argument of the
compiled function, per-class vectors (``class_weight``, ``alpha``, ...) included, as in a training
step: tracing must never read a value, and the compiled function must give the eager numbers.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import losskit

from _cases import CASES, Case

N = 6  # examples per batch
TOLERANCE = {np.float64: {"rtol": 1e-12, "atol": 1e-14}, np.float32: {"rtol": 2e-5, "atol": 1e-6}}


@dataclass(frozen=True)
class Variant:
    """A case of ``tests/_cases.py`` with some keyword arguments changed."""

    case: Case
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        return self.case.name + "".join(f"-{k}={v}" for k, v in self.kwargs.items() if not isinstance(v, list))


def _choices(case: Case, name: str, arrays: tuple[np.ndarray, ...]) -> tuple[str, ...]:
    """The values a string option accepts, from the error of an unknown one; none if it says otherwise."""
    try:
        case(*arrays, **{name: "?"})
    except ValueError as error:
        found = re.search(rf"{name} must be one of (.*); got", str(error))
        if found:
            return tuple(ast.literal_eval(f"({found.group(1)},)"))
    return ()


def _variants(case: Case) -> list[Variant]:
    """The case itself, then each choice of each string option and each boolean flag flipped."""
    arrays = case.draw(np.random.default_rng(0), N)
    variants = [Variant(case, dict(case.kwargs))]
    for p in inspect.signature(case.fn).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.name == "reduction":
            continue
        current = case.kwargs.get(p.name, p.default)
        if isinstance(p.default, bool):
            options: tuple[Any, ...] = (not current,)
        elif isinstance(p.default, str):
            options = tuple(c for c in _choices(case, p.name, arrays) if c != current)
        else:
            continue
        variants += [Variant(case, {**case.kwargs, p.name: option}) for option in options]
    return variants


def _unique(variants: list[Variant]) -> list[Variant]:
    seen: set[str] = set()
    out = []
    for v in variants:
        key = repr(v) + repr(sorted(v.kwargs.items()))
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


VARIANTS = _unique([v for case in CASES for v in _variants(case)])


def test_every_registered_loss_is_compiled() -> None:
    assert {v.case.name for v in VARIANTS} == set(losskit.names())


Arguments = tuple[list[Any], dict[str, Any], dict[str, Any]]


def _arguments(variant: Variant, dtype: type) -> Arguments | Exception | None:
    """The positional arrays, the keyword arrays (traced) and the constants (static) of a variant in
    ``dtype``; or the error the variant raises whatever the values; or ``None`` where a value check
    refuses the drawn data (e.g. logits, where the variant takes probabilities)."""
    case = variant.case
    arrays = case.draw(np.random.default_rng(1), N)
    floats = len(case.floats(arrays))
    given = [x.astype(dtype) if i < floats else x for i, x in enumerate(arrays)]
    traced = {k: np.asarray(v, dtype) for k, v in variant.kwargs.items() if isinstance(v, (list, np.ndarray))}
    static = {k: v for k, v in variant.kwargs.items() if k not in traced}
    try:
        case.fn(*given, **static, **traced)
    except (ValueError, TypeError) as error:
        try:
            with losskit.checks(False):
                case.fn(*given, **static, **traced)
        except (ValueError, TypeError):
            return error
        return None
    return [jnp.asarray(x) for x in given], {k: jnp.asarray(v) for k, v in traced.items()}, static


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_jit_gives_the_eager_value_and_gradient(variant: Variant, dtype: type) -> None:
    case = variant.case
    prepared = _arguments(variant, dtype)
    if prepared is None:
        pytest.skip("the drawn data do not suit this option (a value check refuses them)")
    if isinstance(prepared, Exception):  # an invalid combination: tracing raises the same error
        arrays = [jnp.asarray(x) for x in case.draw(np.random.default_rng(1), N)]
        with pytest.raises(type(prepared), match=re.escape(str(prepared))):
            jax.jit(lambda *x: case.fn(*x, **variant.kwargs))(*arrays)
        return
    arrays, traced, static = prepared
    weight: Any = jnp.asarray(np.random.default_rng(2).uniform(0.5, 2.0, size=case.weight_shape(N)), dtype)
    try:
        case.fn(*arrays, **static, **traced, weight=weight)
    except ValueError:  # one loss for the whole batch (batch=True): no per-example weight
        weight = None
    inputs = case.inputs

    def values(arrays: list[Any], traced: dict[str, Any], weight: Any) -> dict[str, Any]:
        out = {r: case.fn(*arrays, **static, **traced, reduction=r) for r in ("none", "mean", "sum")}
        return {**out, "weighted": case.fn(*arrays, **static, **traced, weight=weight)}

    def mean(floats: list[Any], rest: list[Any], traced: dict[str, Any], weight: Any) -> Any:
        return case.fn(*floats, *rest, **static, **traced, weight=weight)

    def both(arrays: list[Any], traced: dict[str, Any], weight: Any) -> tuple[dict[str, Any], Any]:
        return values(arrays, traced, weight), jax.grad(mean)(arrays[:inputs], arrays[inputs:], traced, weight)

    (eager, grads), (jitted, jit_grads) = both(arrays, traced, weight), jax.jit(both)(arrays, traced, weight)
    for key, want in eager.items():
        assert jitted[key].dtype == want.dtype == dtype, key
        np.testing.assert_allclose(np.asarray(jitted[key]), np.asarray(want), err_msg=key, **TOLERANCE[dtype])
    for grad, want in zip(jit_grads, grads, strict=True):
        np.testing.assert_allclose(np.asarray(grad), np.asarray(want), **TOLERANCE[dtype])
