"""What each loss is for: one record per public loss, checked against the code.

``losskit.info("huber")`` returns the record of a loss (any alias works); ``losskit.catalog()``
lists them, optionally by family. A record carries the formula (LaTeX and plain text), the
hyper-parameters, the output activation and target format it expects, its advantages,
disadvantages and use cases, references, the nearest alternatives, and its **traits**:

``convex``
    convex in the prediction (along the record's probe, see below);
``differentiable``
    continuously differentiable in the prediction (no kink);
``lipschitz``
    the derivative is bounded: the loss grows at most linearly;
``bounded``
    the loss itself is bounded above;
``robust``
    a gross error moves the fit by a bounded amount: for a distance-based loss its derivative is
    bounded (bounded influence, as Huber's), for any other loss the loss is bounded (a mislabelled
    example costs at most a constant);
``margin_based``
    depends on a binary prediction and its label only through the margin :math:`y \\hat y`;
``distance_based``
    depends on a prediction and its target only through the residual :math:`\\hat y - y`;
``symmetric``
    unchanged when the residual changes sign (distance-based) or the two arguments swap
    (divergences).

Each record also has a **probe**: the loss of one example as a function of one real number (the
residual, the margin, the logit or the probability of the true class, the overlap...), computed
by the loss itself with its default hyper-parameters. ``losskit plot`` draws it, and the test
suite checks every trait against it, so a wrong trait fails CI.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._core.registry import aliases, get, names

__all__ = ["ACTIVATIONS", "FAMILIES", "TARGETS", "TRAITS", "Param", "Record", "catalog", "info"]

FAMILIES = ("regression", "classification", "detection", "segmentation", "autoencoder", "gan", "embedding",
            "language")
ACTIVATIONS = ("identity", "sigmoid", "softmax", "none")
TARGETS = {
    "real": "real values",
    "binary": "labels in {0, 1} (or soft labels in [0, 1])",
    "signed": "labels in {-1, +1} (or {0, 1})",
    "one_hot": "one-hot or soft class probabilities",
    "labels": "integer class labels",
    "distribution": "a probability distribution",
    "mask": "a segmentation mask (binary, one-hot or an integer label map)",
    "pairs": "pairs or triplets of embeddings, or embeddings with class labels",
    "none": "no target array (a GAN's scores of real and generated examples; a VAE encoder's mean and log-variance)",
}
TRAITS = ("convex", "differentiable", "lipschitz", "bounded", "robust", "margin_based", "distance_based", "symmetric")

Floats = NDArray[np.float64]
Probe = Callable[..., Floats]
"""``probe(x, **hyper_parameters)``: the loss of one example at each value of the 1-D array ``x``."""


@dataclass(frozen=True)
class Param:
    """A hyper-parameter: its default, the values it accepts, and what it does."""

    name: str
    default: Any
    valid: str
    """The accepted values, e.g. ``"> 0"``, ``"[0, 1]"``, ``"'mean' | 'sum'"``."""
    meaning: str


@dataclass(frozen=True)
class Record:
    """Everything the catalogue knows about one loss."""

    name: str
    family: str
    summary: str
    """One line: what the loss is."""
    measures: str
    """What it measures, in a few words (the ``losskit list`` column)."""
    formula_latex: str
    formula_text: str
    """The formula for a terminal (Unicode, no LaTeX)."""
    params: tuple[Param, ...]
    activation: str
    """The output activation it pairs with: one of :data:`ACTIVATIONS`."""
    target: str
    """The target format: a key of :data:`TARGETS`."""
    traits: frozenset[str]
    advantages: tuple[str, ...]
    disadvantages: tuple[str, ...]
    use_cases: tuple[str, ...]
    references: tuple[str, ...]
    alternatives: tuple[str, ...]
    """The nearest other losses, by canonical name."""
    example: str
    """Python code that runs as is (``import numpy as np, losskit`` first) and prints a value."""
    probe: Probe = field(repr=False, compare=False)
    probe_axis: str = ""
    """What the probe's argument is, e.g. ``"residual ŷ - y"``."""
    probe_range: tuple[float, float] = (-3.0, 3.0)
    """The probe's natural plotting range."""

    @property
    def aliases(self) -> tuple[str, ...]:
        return aliases(self.name)

    @property
    def fn(self) -> Callable[..., Any]:
        return get(self.name)

    def has(self, trait: str) -> bool:
        return trait in self.traits

    def _sections(self) -> Iterator[tuple[str, list[str]]]:
        yield "Parameters", [f"{p.name}={p.default!r} ({p.valid}): {p.meaning}" for p in self.params] or ["none"]
        yield "Output activation", [self.activation]
        yield "Target", [TARGETS[self.target]]
        yield "Traits", [", ".join(t.replace("_", "-") for t in TRAITS if t in self.traits) or "none"]
        yield "Advantages", list(self.advantages)
        yield "Disadvantages", list(self.disadvantages)
        yield "Use it for", list(self.use_cases)
        yield "Alternatives", [", ".join(self.alternatives)]
        yield "References", list(self.references)

    def __str__(self) -> str:
        head = f"{self.name} ({self.family})" + (f"  aka {', '.join(self.aliases)}" if self.aliases else "")
        lines = [head, f"  {self.summary}", "", f"  {self.formula_text}", ""]
        for title, items in self._sections():
            lines.append(f"{title}:")
            lines += [f"  - {item}" for item in items]
        lines += ["Example:", *(f"  {line}" for line in self.example.splitlines())]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        lines = [f"### `{self.name}` — {self.family}", "", self.summary, "", f"$${self.formula_latex}$$", ""]
        if self.aliases:
            lines += [f"*Aliases:* {', '.join(f'`{a}`' for a in self.aliases)}", ""]
        for title, items in self._sections():
            lines += [f"**{title}**", "", *(f"- {item}" for item in items), ""]
        lines += ["```python", self.example, "```"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f"<h3><code>{html.escape(self.name)}</code> — {html.escape(self.family)}</h3>",
                 f"<p>{html.escape(self.summary)}</p>", f"<p>\\[{html.escape(self.formula_latex)}\\]</p>"]
        for title, items in self._sections():
            parts.append(f"<b>{html.escape(title)}</b><ul>{''.join(f'<li>{html.escape(i)}</li>' for i in items)}</ul>")
        parts.append(f"<pre>{html.escape(self.example)}</pre>")
        return "".join(parts)


_RECORDS: dict[str, Record] = {}


def _load() -> Mapping[str, Record]:
    if not _RECORDS:
        from ._records import RECORDS

        for record in RECORDS:
            _RECORDS[record.name] = record
    return _RECORDS


def info(name: str) -> Record:
    """The catalogue record of the loss called ``name`` (or any alias; unknown names list close matches)."""
    return _load()[get(name).__name__]


def catalog(family: str | None = None) -> tuple[Record, ...]:
    """Every record, in the order of :func:`losskit.names`, or those of one ``family``."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    records = _load()
    return tuple(records[n] for n in names() if family is None or records[n].family == family)
