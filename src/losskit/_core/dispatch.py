"""Backend fast paths behind the public functions.

A public loss is written once against the array API: that is the *reference path*, which runs on
every backend and defines the numbers. A loss may also have a fast path for torch tensors (a
native torch kernel with the same semantics, or a fused one). :func:`fast_path` puts it in front
of the reference: on torch inputs it is tried first and may decline (return ``NotImplemented``)
for any argument it does not handle, which then goes to the reference path -- so errors, rare
options and other backends behave exactly as before. ``losskit.reference.<name>`` always runs the
reference path.

While :func:`losskit.mean_parts` counts (:func:`losskit._core.reduction.counting`), only the fast
paths declared with ``counts=True`` take a call: they record the count of their ``"sum"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .reduction import is_counting

F = TypeVar("F", bound=Callable[..., Any])

REFERENCE: dict[str, Callable[..., Any]] = {}
"""The reference implementation of every loss that has a fast path, by name."""

FAST: dict[str, tuple[str, str]] = {}
"""Where the fast path of every such loss lives: ``(module of losskit.torch, attribute)``, by name."""


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".", 1)[0] == "torch"


def fast_path(module: str, name: str | None = None, *, counts: bool = False) -> Callable[[F], F]:
    """Try ``losskit.torch.<module>.<name>`` (default: the loss's own name) first on torch tensors.

    The fast module is imported at the first torch call, so importing losskit never imports torch.
    ``counts=True``: the fast path records the count of a ``"sum"`` while one is being counted
    (:func:`losskit._core.reduction.record`); without it the reference path takes those calls.
    """

    def decorate(reference: F) -> F:
        key = reference.__name__
        attribute = name or key
        REFERENCE[key] = reference
        FAST[key] = (module, attribute)

        @functools.wraps(reference)
        def loss(*args: Any, **kwargs: Any) -> Any:
            if args and _is_torch(args[0]) and (counts or not is_counting()):
                # An import statement, not importlib: torch.compile(fullgraph=True) traces through it.
                from .. import torch as torch_layer

                out = getattr(getattr(torch_layer, module), attribute)(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            return reference(*args, **kwargs)

        return loss  # type: ignore[return-value]

    return decorate
