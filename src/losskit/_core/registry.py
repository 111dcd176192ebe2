"""Losses by name: ``losskit.get("l2") is losskit.mse``."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

_LOSSES: dict[str, Callable[..., object]] = {}
_ALIASES: dict[str, str] = {}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register(*aliases: str) -> Callable[[F], F]:
    """Record a public loss under its ``__name__`` and ``aliases``; the function is returned as is."""

    def record(fn: F) -> F:
        name = fn.__name__
        for key in (name, *aliases):
            key = _key(key)
            if key in _ALIASES:
                raise RuntimeError(f"loss name {key!r} is registered twice")
            _ALIASES[key] = name
        _LOSSES[name] = fn
        return fn

    return record


def names() -> tuple[str, ...]:
    """The canonical names of all registered losses, in registration order."""
    return tuple(_LOSSES)


def aliases(name: str) -> tuple[str, ...]:
    """The other names under which ``name`` is known."""
    return tuple(k for k, v in _ALIASES.items() if v == name and k != name)


def get(name: str) -> Callable[..., object]:
    """The loss function called ``name`` or one of its aliases (case, ``-`` and spaces ignored)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    key = _key(name)
    if key in _ALIASES:
        return _LOSSES[_ALIASES[key]]
    close = difflib.get_close_matches(key, _ALIASES, n=5, cutoff=0.5)
    suggestion = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"unknown loss name {name!r}{suggestion} (known losses: {', '.join(sorted(_LOSSES))})")
