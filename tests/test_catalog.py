"""The catalogue: one complete record per loss, and every trait checked against the implementation.

A trait that is claimed must hold on the record's probe; a trait that is not claimed must be
violated somewhere (a counterexample is found), so a wrong trait either way fails.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import losskit
from losskit.catalog import ACTIVATIONS, FAMILIES, TARGETS, TRAITS, Record, catalog, info

RECORDS = catalog()
IDS = [r.name for r in RECORDS]


def _is_probability_axis(record: Record) -> bool:
    low, high = record.probe_range
    return low >= 0.0 and high <= 1.0


def _grid(record: Record, n: int = 4001) -> np.ndarray:
    low, high = record.probe_range
    # integers and the ends of the range are on the grid: kinks sit there (0, a margin of 1, ...)
    points = np.concatenate([np.linspace(low, high, n), np.arange(np.ceil(low), np.floor(high) + 1)])
    return np.unique(points)


def _wide(record: Record) -> np.ndarray:
    """Far beyond the natural range: where growth, boundedness and the slope's limit show."""
    if _is_probability_axis(record):
        return np.array([1e-300, 1e-12, 1e-6, 1 - 1e-6, 1 - 1e-12])
    low, high = record.probe_range
    return np.array([low * 1e4, low * 1e2, high * 1e2, high * 1e4])


def _slopes(record: Record, x: np.ndarray, h: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """One-sided derivatives (left, right) of the probe at ``x``."""
    f = record.probe
    h = h * np.maximum(1.0, np.abs(x))
    fx = f(x)
    return (fx - f(x - h)) / h, (f(x + h) - fx) / h


def test_every_public_loss_has_exactly_one_record() -> None:
    assert [r.name for r in RECORDS] == list(losskit.names())


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_record_is_complete_and_consistent_with_the_code(record: Record) -> None:
    assert record.family in FAMILIES
    assert record.activation in ACTIVATIONS
    assert record.target in TARGETS
    assert record.traits <= set(TRAITS)
    for text in (record.summary, record.measures, record.formula_latex, record.formula_text, record.probe_axis):
        assert text.strip(), record.name
    assert record.advantages and record.disadvantages and record.use_cases and record.references
    assert set(record.alternatives) <= set(losskit.names()) - {record.name} and record.alternatives
    # the documented hyper-parameters are the function's, with the function's defaults
    import inspect

    signature = inspect.signature(record.fn).parameters
    for param in record.params:
        assert param.name in signature, (record.name, param.name)
        assert signature[param.name].default == param.default, (record.name, param.name)
    # the example runs and prints something
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(f"import numpy as np, losskit\n{record.example}", {})
    assert out.getvalue().strip(), record.name
    assert np.all(np.isfinite(record.probe(_grid(record))))


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_convex(record: Record) -> None:
    x = _grid(record, 2001)
    f = record.probe(x)
    # above the chord of its neighbours anywhere: not convex (the grid need not be uniform)
    chord = f[:-2] + (f[2:] - f[:-2]) * (x[1:-1] - x[:-2]) / (x[2:] - x[:-2])
    violation = f[1:-1] - chord
    tol = 1e-9 * (1 + np.abs(f).max())
    assert (violation.max() <= tol) == record.has("convex"), (record.name, violation.max())


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_differentiable(record: Record) -> None:
    x = _grid(record)
    left, right = _slopes(record, x)
    jump = np.abs(right - left) / (1 + np.abs(left) + np.abs(right))
    assert (jump.max() < 1e-3) == record.has("differentiable"), (record.name, x[np.argmax(jump)], jump.max())


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_lipschitz(record: Record) -> None:
    natural = np.abs(np.concatenate(_slopes(record, _grid(record, 401)))).max()
    far = np.abs(np.concatenate(_slopes(record, _wide(record), h=1e-9))).max()
    # Bounded slope: no larger far out than over the natural range; unbounded: clearly larger.
    assert (far <= 1.01 * natural + 1e-9) == record.has("lipschitz"), (record.name, natural, far)


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_bounded(record: Record) -> None:
    natural = np.abs(record.probe(_grid(record, 401))).max()
    far = np.abs(record.probe(_wide(record))).max()
    assert (far <= 1.01 * natural + 1e-9) == record.has("bounded"), (record.name, natural, far)


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_robust_is_bounded_influence_or_bounded_loss(record: Record) -> None:
    underlying = "lipschitz" if record.has("distance_based") else "bounded"
    assert record.has("robust") == record.has(underlying), record.name


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_distance_based(record: Record, rng: np.random.Generator) -> None:
    if record.target != "real":
        assert not record.has("distance_based"), record.name
        return
    pred, target, shift = rng.normal(size=(3, 50)) * 3
    same = np.allclose(record.fn(pred + shift, target + shift, reduction="none"),
                       record.fn(pred, target, reduction="none"), rtol=1e-9, atol=1e-12)
    assert same == record.has("distance_based"), record.name


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_margin_based(record: Record, rng: np.random.Generator) -> None:
    if record.target not in ("binary", "signed") or (record.family != "classification" and record.name != "focal"):
        assert not record.has("margin_based"), record.name
        return
    scores = rng.normal(size=50) * 3
    kwargs = {"from_logits": True} if "from_logits" in {p.name for p in record.params} else {}
    ones, zeros = np.ones_like(scores), np.zeros_like(scores)
    same = np.allclose(record.fn(scores, ones, reduction="none", **kwargs),
                       record.fn(-scores, zeros, reduction="none", **kwargs), rtol=1e-9, atol=1e-12)
    assert same == record.has("margin_based"), record.name


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_symmetric(record: Record, rng: np.random.Generator) -> None:
    if record.has("distance_based"):
        x = _grid(record)
        same = np.allclose(record.probe(x), record.probe(-x), rtol=1e-9, atol=1e-12)
    elif record.target == "distribution":
        p, q = rng.dirichlet(np.ones(4), size=(2, 10))
        same = np.allclose(record.fn(p, q, reduction="none"), record.fn(q, p, reduction="none"), rtol=1e-9)
    else:
        assert not record.has("symmetric"), record.name
        return
    assert same == record.has("symmetric"), record.name


def test_info_accepts_aliases_and_rejects_unknown_names() -> None:
    assert info("l2") is info("mse")
    with pytest.raises(ValueError, match="did you mean"):
        info("hubber")


def test_catalog_by_family() -> None:
    regression = catalog(family="regression")
    assert regression and all(r.family == "regression" for r in regression)
    assert sum(len(catalog(family=f)) for f in FAMILIES) == len(RECORDS)
    with pytest.raises(ValueError, match="family"):
        catalog(family="vision")


@pytest.mark.parametrize("record", RECORDS[:3], ids=IDS[:3])
def test_records_render_as_text_markdown_and_html(record: Record) -> None:
    assert record.name in str(record) and record.formula_text in str(record)
    markdown = record._repr_markdown_()
    assert f"`{record.name}`" in markdown and record.formula_latex in markdown
    assert "<h3>" in record._repr_html_()
