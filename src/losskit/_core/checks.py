"""Argument validation. Every error names the argument and says what was expected.

Shape and dtype checks are free and always on. Checks of *values* (labels in range, probabilities
in [0, 1], finite targets, non-negative weights) read the data, which costs a pass and, on a GPU,
a synchronisation; they are on by default, can be switched off with :func:`set_checks`, and are
skipped while JAX traces (``jax.jit``), where values do not exist yet. While ``torch.compile``
traces, a value check becomes a run-time assertion compiled into the graph (``torch._assert_async``,
no graph break): the compiled code raises ``RuntimeError`` with the eager error's message, less the
value found, where eager code raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from array_api_compat import is_torch_namespace

from .backend import Array, Namespace, dtype_name, is_floating, is_integer

REDUCTIONS = ("none", "mean", "sum")
_TRACER_ERRORS = {"ConcretizationTypeError", "TracerBoolConversionError"}

_value_checks = True


def set_checks(enabled: bool) -> bool:
    """Turn the value checks on or off for the whole process; returns the previous setting."""
    global _value_checks
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {enabled!r}")
    previous, _value_checks = _value_checks, enabled
    return previous


@contextmanager
def checks(enabled: bool) -> Iterator[None]:
    """Context manager form of :func:`set_checks`."""
    previous = set_checks(enabled)
    try:
        yield
    finally:
        set_checks(previous)


def _compiling(xp: Namespace) -> bool:
    if "torch" in xp.__name__:
        import torch

        return bool(torch.compiler.is_compiling())
    return False


def active(xp: Namespace) -> bool:
    """Whether value checks run now: switched on, and not while ``torch.compile`` compiles.

    Checks whose condition costs a pass over the data test this first, so that switching them off
    saves the pass, not only the synchronisation.
    """
    return _value_checks and not _compiling(xp)


def traced(xp: Namespace) -> bool:
    """Whether value checks are on while ``torch.compile`` traces: they are then assertions (:func:`require`)."""
    return _value_checks and _compiling(xp)


def require(ok: Array, message: str) -> None:
    """Under :func:`traced` (test that first: ``ok`` costs a pass): compile the assertion that every
    element of ``ok`` holds into the graph; the compiled code raises ``RuntimeError(message)`` where
    it does not."""
    import torch

    torch._assert_async(torch.all(ok), message)


def any_true(xp: Namespace, condition: Array, message: str = "") -> bool:
    """``True`` when some element of ``condition`` holds; ``False`` when values cannot be read.

    Values cannot be read under tracing (``jax.jit``, ``torch.compile``) or when checks are off.
    Under ``torch.compile`` with checks on, ``message`` (the error, without the culprit) is
    compiled in as an assertion that no element holds (:func:`require`).
    """
    if message and traced(xp):
        require(~condition, message)
    if not active(xp):
        return False
    try:
        return bool(xp.any(condition))
    except Exception as error:  # a tracer refusing concretisation; anything else is a real error
        if type(error).__name__ in _TRACER_ERRORS:
            return False
        raise


def first(xp: Namespace, x: Array, condition: Array) -> Any:
    """The first element of ``x`` where ``condition`` holds, for error messages."""
    flat_x = xp.reshape(x, (-1,))
    flat_c = xp.reshape(condition, (-1,))
    index = int(xp.argmax(xp.astype(flat_c, xp.int8)))
    value = flat_x[index]
    if hasattr(value, "detach"):  # a torch tensor that requires grad warns when converted
        value = value.detach()
    return bool(value) if value.dtype == xp.bool else float(value) if is_floating(xp, value.dtype) else int(value)


def reduction(value: Any) -> str:
    if value not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(map(repr, REDUCTIONS))}; got {value!r}")
    return str(value)


def real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """A real hyper-parameter in ``[low, high]`` (``(low, ...`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} must be a number, got nan")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must lie in {interval}, got {number}")
    return number


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return str(value)


def axis(value: Any, ndim: int, arg: str = "pred") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"axis must be an int, got {type(value).__name__} {value!r}")
    if ndim == 0:
        raise ValueError(f"{arg} must have a class axis, got a 0-d array")
    if not -ndim <= value < ndim:
        raise ValueError(f"axis {value} is out of range for {arg} with {ndim} dimension(s)")
    return value % ndim


def floating(xp: Namespace, name: str, x: Array) -> None:
    if not is_floating(xp, x.dtype):
        raise TypeError(
            f"{name} must be a real floating-point array, got dtype {dtype_name(x.dtype)}"
        )


def labels_dtype(xp: Namespace, name: str, x: Array) -> None:
    if not is_integer(xp, x.dtype):
        raise TypeError(
            f"{name} must hold integer class labels, got dtype {dtype_name(x.dtype)}; "
            "for one-hot or soft targets use categorical_cross_entropy"
        )


def real_or_label_dtype(xp: Namespace, name: str, x: Array) -> None:
    if not (is_floating(xp, x.dtype) or is_integer(xp, x.dtype) or x.dtype == xp.bool):
        raise TypeError(f"{name} must be a real array, got dtype {dtype_name(x.dtype)}")


def same_shape(pred: Array, target: Array, target_name: str = "target", pred_name: str = "pred") -> None:
    if tuple(pred.shape) != tuple(target.shape):
        hint = ""
        if tuple(pred.shape) in {(*target.shape, 1), (1, *target.shape)} or tuple(target.shape) in {
            (*pred.shape, 1), (1, *pred.shape)
        }:
            hint = " (a trailing or leading axis of size 1 would broadcast silently; reshape one of them)"
        raise ValueError(
            f"{target_name} must have the shape of {pred_name} {tuple(pred.shape)}, got {tuple(target.shape)}{hint}"
        )


def _empty(x: Array) -> bool:
    # not x.size: a method in torch
    return bool(math.prod(tuple(x.shape)) == 0)


def _number(x: Array) -> float | None:
    """The value of a 0-d array; ``None`` where it cannot be read (a tracer under ``jax.jit``)."""
    try:
        return float(x.detach() if hasattr(x, "detach") else x)
    except Exception as error:
        if type(error).__name__ in _TRACER_ERRORS:
            return None
        raise


def _within_extrema(xp: Namespace, x: Array, low: float, high: float) -> bool:
    """Whether ``min(x) >= low`` and ``max(x) <= high``, NaN failing both; ``True`` where values cannot
    be read, as the element-wise checks then find nothing either.

    One read pass and no temporary on torch (``aminmax``), two elsewhere; then one transfer of each
    extremum and no further array operation: the whole test costs about one pass over ``x``.
    """
    if is_torch_namespace(xp):
        import torch

        lo, hi = torch.aminmax(x.detach())
    else:
        lo, hi = xp.min(x), xp.max(x)
    least, most = _number(lo), _number(hi)
    return least is None or most is None or (low <= least and most <= high)


def finite(xp: Namespace, name: str, x: Array) -> None:
    if traced(xp) and is_floating(xp, x.dtype):
        require(xp.isfinite(x), f"{name} must be finite")
    if not (active(xp) and is_floating(xp, x.dtype)) or _empty(x):
        return
    # min and max propagate NaN, and an inf is one of them. Only when they fail does the
    # element-wise test run, to find and name the culprit.
    limit = float(xp.finfo(x.dtype).max)
    if not _within_extrema(xp, x, -limit, limit):
        _name_non_finite(xp, name, x)


def finite_via(xp: Namespace, name: str, x: Array, result: Array) -> None:
    """:func:`finite` for ``x``, tested on ``result``: a 0-d value that is not finite whenever ``x``
    is not, such as the reduced loss of a target ``x``.

    One number costs no pass over ``x``. Only when ``result`` is not finite is ``x`` checked, since
    a NaN or overflowing prediction makes the loss non-finite too, and that propagates rather
    than raises (docs/conventions.md, NaN policy). A ``result`` that is not 0-d
    (``reduction="none"``) is no shortcut: ``x`` is then checked directly.
    """
    if traced(xp):
        finite(xp, name, x)
    if not (active(xp) and is_floating(xp, x.dtype)) or _empty(x):
        return
    value = _number(result) if len(result.shape) == 0 else math.nan
    if value is None or math.isfinite(value):
        return
    finite(xp, name, x)


def _name_non_finite(xp: Namespace, name: str, x: Array) -> None:
    bad = ~xp.isfinite(x)
    if any_true(xp, bad):
        raise ValueError(f"{name} must be finite, found {first(xp, x, bad)}")


def within(xp: Namespace, name: str, x: Array, low: float, high: float, hint: str = "") -> None:
    """Values of ``x`` in ``[low, high]`` (NaN fails too)."""
    if traced(xp):
        require((x >= low) & (x <= high), f"{name} must lie in [{low:g}, {high:g}]{hint}")
    if not active(xp) or _empty(x) or _within_extrema(xp, x, low, high):
        return
    _name_outside(xp, name, x, low, high, hint)


def _name_outside(xp: Namespace, name: str, x: Array, low: float, high: float, hint: str) -> None:
    bad = ~((x >= low) & (x <= high))
    if any_true(xp, bad):
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}], found {first(xp, x, bad)}{hint}")


def finite_within(xp: Namespace, name: str, x: Array, low: float, high: float, hint: str = "") -> None:
    """:func:`finite` then :func:`within` (so a NaN is named as not finite), in one pass when both hold."""
    if traced(xp):
        finite(xp, name, x)
        within(xp, name, x, low, high, hint)
    if not active(xp) or _empty(x) or _within_extrema(xp, x, low, high):
        return
    finite(xp, name, x)
    _name_outside(xp, name, x, low, high, hint)


def non_negative(xp: Namespace, name: str, x: Array) -> None:
    floating = is_floating(xp, x.dtype)
    if traced(xp):
        require((x >= 0) & xp.isfinite(x) if floating else x >= 0, f"{name} must be finite and non-negative")
    if not active(xp) or _empty(x):
        return
    limit = float(xp.finfo(x.dtype).max) if floating else math.inf
    if _within_extrema(xp, x, 0, limit):
        return
    bad = ~((x >= 0) & xp.isfinite(x)) if floating else x < 0
    if any_true(xp, bad):
        raise ValueError(f"{name} must be finite and non-negative, found {first(xp, x, bad)}")


def negative_or_not_finite(xp: Namespace, name: str, x: Array) -> bool:
    """Whether floating ``x`` holds a value :func:`non_negative` refuses, for a fast path that leaves the
    error to the reference path (under ``torch.compile``: the assertion, see :func:`any_true`)."""
    return any_true(xp, ~((x >= 0) & xp.isfinite(x)), f"{name} must be finite and non-negative")


def broadcasts_to(name: str, x: Array, shape: tuple[int, ...], *, same_ndim: bool) -> None:
    """``x`` broadcasts to ``shape`` without changing it.

    With ``same_ndim`` the ranks must match (or ``x`` be 0-d), so that a per-example weight of
    shape ``(N,)`` never aligns with the wrong axis of an ``(N, D)`` loss.
    """
    xs = tuple(x.shape)
    rank_ok = len(xs) == 0 or (len(xs) == len(shape) if same_ndim else len(xs) <= len(shape))
    dims_ok = rank_ok and all(a in (1, b) for a, b in zip(reversed(xs), reversed(shape), strict=False))
    if not dims_ok:
        rule = "the same number of dimensions, each equal or 1" if same_ndim else "trailing dimensions equal or 1"
        example = ""
        if same_ndim and len(shape) > 1:
            example = f"; e.g. shape {shape[:1] + (1,) * (len(shape) - 1)} for one weight per example"
        raise ValueError(f"{name} of shape {xs} must broadcast to {shape} ({rule}){example}")
