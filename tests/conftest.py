"""Shared fixtures: the backends every loss must run on, and conversions between them."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Keras reads its backend once, at import: JAX keeps float64 (its numpy backend casts to floatx).
os.environ.setdefault("KERAS_BACKEND", "jax")

import array_api_strict
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

jax.config.update("jax_enable_x64", True)


@dataclass(frozen=True)
class Backend:
    name: str
    asarray: Callable[[Any], Any]

    def __call__(self, x: Any) -> Any:
        return self.asarray(x)

    def __repr__(self) -> str:
        return self.name


def to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()  # NumPy has no bfloat16
    if type(x).__module__.startswith("array_api_strict"):
        return np.from_dlpack(x)
    return np.asarray(x)


BACKENDS = [
    Backend("numpy", np.asarray),
    Backend("torch", torch.asarray),
    Backend("jax", jnp.asarray),
    Backend("array_api_strict", array_api_strict.asarray),
]


@pytest.fixture(params=BACKENDS, ids=repr)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


def spy_fast_paths(monkeypatch: pytest.MonkeyPatch, names: Iterable[str]) -> list[str]:
    """Wrap the torch fast paths of ``names``; returns the list of the losses whose fast path then
    computes a result (does not decline), in call order."""
    import importlib

    from losskit._core.dispatch import FAST

    calls: list[str] = []
    for name in names:
        module_name, attribute = FAST[name]
        module = importlib.import_module(f"losskit.torch.{module_name}")
        fast = getattr(module, attribute)

        def spy(*args: Any, _fast: Callable[..., Any] = fast, _name: str = name, **kwargs: Any) -> Any:
            out = _fast(*args, **kwargs)
            if out is not NotImplemented:
                calls.append(_name)
            return out

        monkeypatch.setattr(module, attribute, spy)
    return calls


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


# The calls fuzzed by tests/test_fuzz.py: each test attaches its tally to its report, which reaches this
# process also from pytest-xdist's workers; the total is printed at the end of the run.
_FUZZ_CALLS: Counter[str] = Counter()
_FUZZ_ERROR: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == "fuzz" and report.when == "call":
            tally = json.loads(str(value))
            _FUZZ_CALLS.update(tally["calls"])
            for dtype, error in tally["error"].items():
                _FUZZ_ERROR[dtype] = max(_FUZZ_ERROR.get(dtype, 0.0), error)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FUZZ_CALLS:
        return
    by_backend: Counter[str] = Counter()
    for key, count in _FUZZ_CALLS.items():
        by_backend[key.split("/")[0]] += count
    terminalreporter.write_sep("-", f"fuzz: {sum(_FUZZ_CALLS.values())} calls checked ("
                               + ", ".join(f"{name} {count}" for name, count in sorted(by_backend.items())) + ")")
    terminalreporter.write_line("largest error against float64: " + ", ".join(
        f"{dtype} {error:.2g}" for dtype, error in sorted(_FUZZ_ERROR.items())))
