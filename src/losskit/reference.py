"""The reference (array-API) path of every loss that has a backend fast path.

``losskit.reference.mse(pred, target)`` computes what ``losskit.mse`` computes, without the torch
fast path: the definition the fast paths are tested against (``tests/test_fast.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._core.dispatch import REFERENCE


def __getattr__(name: str) -> Callable[..., Any]:
    if name in REFERENCE:
        return REFERENCE[name]
    fast = ", ".join(sorted(REFERENCE))
    raise AttributeError(f"losskit.reference has no {name!r}; the losses with a fast path are {fast}")


def __dir__() -> list[str]:
    return sorted(REFERENCE)
