"""The conventions of docs/conventions.md, checked on every public loss and every backend."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import losskit

from _cases import CASES, Case
from conftest import BACKENDS, Backend, to_numpy

REDUCTIONS = ("none", "mean", "sum")
UTILITIES = {"Cost", "CostParts", "catalog", "checks", "gan_minimax_value", "get", "gradient_penalty", "info",
             "mean_parts", "names", "r1_penalty", "recommend", "set_checks"}


def test_every_public_loss_is_registered_and_has_a_case() -> None:
    public = set(losskit.__all__) - UTILITIES
    assert public == set(losskit.names())
    assert {case.name for case in CASES} == public


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_signature_convention(case: Case, rng: np.random.Generator) -> None:
    params = list(inspect.signature(case.fn).parameters.values())
    arrays = len(case.draw(rng, 1))
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[:arrays])
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[arrays:])
    if arrays == 2 and not case.labels and case.inputs == 1:  # two model outputs (real, fake) are not pred, target
        assert [p.name for p in params[:2]] == ["pred", "target"]
    assert params[-2].name == "weight" and params[-2].default is None
    assert params[-1].name == "reduction" and params[-1].default == "mean"
    doc = case.fn.__doc__ or ""
    assert "Example:" in doc and ">>>" in doc


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_every_backend_gives_its_own_array_and_the_same_numbers(case: Case, reduction: str,
                                                                rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 6)
    expected = case(*arrays, reduction=reduction)
    assert isinstance(expected, (np.ndarray, np.generic))  # NumPy reductions give NumPy scalars
    assert expected.shape == (case.loss_shape(6) if reduction == "none" else ())
    for backend in BACKENDS[1:]:
        out = case(*map(backend, arrays), reduction=reduction)
        assert type(out).__module__.split(".")[0] == type(backend(arrays[0])).__module__.split(".")[0], backend
        np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12, atol=1e-15, err_msg=repr(backend))


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_sum_is_mean_times_total_weight_and_none_is_weighted(case: Case, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 8)
    weight = rng.uniform(0.0, 3.0, size=case.weight_shape(8))
    plain = case(*arrays, reduction="none")
    weighted = case(*arrays, weight=weight, reduction="none")
    np.testing.assert_allclose(weighted, plain * weight, rtol=1e-14)
    total = case(*arrays, weight=weight, reduction="sum")
    np.testing.assert_allclose(total, weighted.sum(), rtol=1e-13)
    if "class_weight" in case.kwargs or case.batch:
        return  # the denominator also holds the class weights, or counts pairs: see test_classification, test_embedding
    mean = case(*arrays, weight=weight, reduction="mean")
    np.testing.assert_allclose(total, mean * np.broadcast_to(weight, case.loss_shape(8)).sum(), rtol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_weights_zero_one_give_the_second_example_alone(case: Case, rng: np.random.Generator) -> None:
    if case.batch:
        pytest.skip("in-batch loss: an example is also the positive or negative of the others")
    arrays = case.draw(rng, 2)
    weight = np.array([0.0, 1.0]).reshape(case.weight_shape(2))
    for reduction in ("mean", "sum"):
        both = case(*arrays, weight=weight, reduction=reduction)
        alone = case(*case.examples(arrays, slice(1, None)), reduction=reduction)
        assert float(both) == float(alone)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_empty_batch(case: Case, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 0)
    assert case(*arrays, reduction="none").shape == case.loss_shape(0)
    assert float(case(*arrays, reduction="sum")) == 0.0
    assert float(case(*arrays, reduction="mean")) == 0.0  # documented: mean over no weight is 0


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize("backend", BACKENDS, ids=repr)
def test_inputs_are_never_modified(case: Case, backend: Backend, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 5)
    given = [backend(x.copy()) for x in arrays]
    w = backend(np.full(case.weight_shape(5), 2.0))
    case(*given, weight=w, reduction="mean")
    for x, original in zip(given, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(x), original)
    np.testing.assert_array_equal(to_numpy(w), 2.0)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_repeated_calls_are_bit_identical(case: Case, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 16)
    for backend in BACKENDS[:3]:
        first = to_numpy(case(*map(backend, arrays), reduction="none"))
        again = to_numpy(case(*map(backend, arrays), reduction="none"))
        assert first.tobytes() == again.tobytes(), backend


LOW_PRECISION = [
    ("torch", torch.float16), ("torch", torch.bfloat16), ("numpy", np.float16), ("jax", jnp.bfloat16),
    ("jax", jnp.float16),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize(("library", "dtype"), LOW_PRECISION, ids=str)
def test_low_precision_is_computed_in_float32_and_returned_in_the_input_dtype(
        case: Case, library: str, dtype: object, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 32)
    convert = {"torch": lambda x: torch.asarray(x).to(dtype), "numpy": lambda x: np.asarray(x, dtype=dtype),
               "jax": lambda x: jnp.asarray(x, dtype=dtype)}[library]
    keep = {"torch": torch.asarray, "numpy": np.asarray, "jax": jnp.asarray}[library]
    low = [convert(x) for x in case.floats(arrays)] + ([keep(arrays[-1])] if case.labels else [])

    def widen(x: object) -> np.ndarray:
        return to_numpy(x.float() if library == "torch" else x).astype(np.float64)

    for reduction in ("none", "mean"):
        out = case(*low, reduction=reduction)
        assert out.dtype == dtype
        values = widen(out)
        assert np.all(np.isfinite(values))
        # the reference: the same low-precision inputs, computed in float64
        ref = [widen(x) for x in low[:len(case.floats(arrays))]] + ([arrays[-1]] if case.labels else [])
        if case.classes and "hinge" not in case.name and not case.kwargs.get("from_logits"):
            floats = len(case.floats(arrays))  # re-normalise rounded probabilities; one-hot targets stay
            ref[:floats] = [x / x.sum(axis=-1, keepdims=True) for x in ref[:floats]]
        expected = case(*ref, reduction=reduction)
        np.testing.assert_allclose(values, expected, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_torch_gradient_matches_finite_differences(case: Case, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 4)
    floats = tuple(torch.tensor(x, requires_grad=True) for x in arrays[:case.inputs])
    rest = tuple(torch.asarray(x) for x in arrays[case.inputs:])
    w = torch.asarray(rng.uniform(0.5, 2.0, size=case.weight_shape(4)))
    # Finite differences step off the probability simplex, which the value checks would refuse.
    with losskit.checks(False):
        for reduction in REDUCTIONS:
            assert torch.autograd.gradcheck(lambda *x, r=reduction: case(*x, *rest, weight=w, reduction=r), floats)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_jax_grad_and_jit_agree_with_torch(case: Case, rng: np.random.Generator) -> None:
    arrays = case.draw(rng, 5)
    floats = [torch.tensor(x, requires_grad=True) for x in arrays[:case.inputs]]
    case(*floats, *map(torch.asarray, arrays[case.inputs:])).backward()
    expected = [x.grad.numpy() for x in floats]
    argnums = tuple(range(case.inputs))
    grads = jax.grad(lambda *x: case(*x), argnums=argnums)(*map(jnp.asarray, arrays))
    for grad, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(np.asarray(grad), want, rtol=1e-10, atol=1e-14)
    jitted = jax.jit(lambda *x: case(*x, reduction="none"))
    np.testing.assert_allclose(np.asarray(jitted(*map(jnp.asarray, arrays))),
                               case(*arrays, reduction="none"), rtol=1e-12, atol=1e-15)
    jit_grads = jax.jit(jax.grad(lambda *x: case(*x), argnums=argnums))(*map(jnp.asarray, arrays))
    for grad, want in zip(jit_grads, expected, strict=True):
        np.testing.assert_allclose(np.asarray(grad), want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_minimum_at_the_target(case: Case, rng: np.random.Generator) -> None:
    out = case(*case.perfect(rng, 10), reduction="none")
    np.testing.assert_array_equal(out, 0.0)


def test_python_sequences_are_accepted_as_numpy() -> None:
    out = losskit.mse([1.0, 2.0], [1.0, 4.0])
    assert isinstance(out, np.generic) and float(out) == 2.0
    labels = losskit.sparse_categorical_cross_entropy(torch.tensor([[0.2, 0.8]]), [1])
    assert isinstance(labels, torch.Tensor)


def test_integer_regression_targets_are_accepted() -> None:
    assert float(losskit.mae(np.array([0.5, 2.0]), np.array([1, 2], dtype=np.int16))) == 0.25


def test_float32_prediction_with_float64_target_computes_in_float64() -> None:
    out = losskit.mse(np.float32([0.1]), np.float64([0.0]), reduction="none")
    assert out.dtype == np.float64


def test_value_checks_can_be_switched_off_and_are_restored() -> None:
    pred, target = np.array([0.5]), np.array([2.0])
    with pytest.raises(ValueError, match="target"):
        losskit.binary_cross_entropy(pred, target)
    with losskit.checks(False):
        value = losskit.binary_cross_entropy(pred, target)  # the user vouches for the values
    assert np.isfinite(value)
    with pytest.raises(ValueError, match="target"):
        losskit.binary_cross_entropy(pred, target)
    previous = losskit.set_checks(False)
    assert previous is True
    assert losskit.set_checks(previous) is False


def test_value_checks_are_skipped_under_jit_and_run_eagerly() -> None:
    jitted = jax.jit(lambda p, t: losskit.sparse_categorical_cross_entropy(p, t, from_logits=True))
    logits = jnp.zeros((2, 3))
    assert np.isfinite(float(jitted(logits, jnp.array([0, 2]))))
    with pytest.raises(ValueError, match="target"):
        losskit.sparse_categorical_cross_entropy(logits, jnp.array([0, 3]), from_logits=True)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
@pytest.mark.parametrize("name", ["sparse_categorical_cross_entropy", "multiclass_hinge"])
def test_labels_of_any_integer_dtype_on_every_backend(name: str, dtype: str, backend: Backend,
                                                      rng: np.random.Generator) -> None:
    pred = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    loss = losskit.get(name)
    expected = loss(pred, labels, from_logits=True) if "entropy" in name else loss(pred, labels)
    narrow = backend(labels.astype(dtype))
    out = loss(backend(pred), narrow, from_logits=True) if "entropy" in name else loss(backend(pred), narrow)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12)
