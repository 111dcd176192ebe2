"""Array namespace resolution and the dtype policy.

Every loss resolves one array namespace from its array arguments (NumPy, PyTorch, JAX, CuPy or any
array-API library through ``array_api_compat``), computes in a *compute dtype* and returns the
result in the caller's library and floating dtype.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
from array_api_compat import numpy as compat_numpy

Array = Any
"""Any array-API array: ``numpy.ndarray``, ``torch.Tensor``, ``jax.Array``, ..."""

Namespace = Any


def _library(x: Any) -> str:
    cls = type(x)
    return f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"


def namespace(**arrays: Any) -> Namespace:
    """The one array namespace of the named arguments (``None`` and Python scalars/lists ignored).

    Arguments from two array libraries are an error that names both, rather than a silent copy.
    """
    present = {k: v for k, v in arrays.items() if v is not None and array_api_compat.is_array_api_obj(v)}
    if not present:
        return compat_numpy
    try:
        return array_api_compat.array_namespace(*present.values())
    except TypeError:
        described = ", ".join(f"{k} is a {_library(v)}" for k, v in present.items())
        raise TypeError(
            f"arguments come from different array libraries ({described}); "
            "convert them to one library (and one device) before calling the loss"
        ) from None


def asarray(x: Any, xp: Namespace, like: Array | None = None) -> Array:
    """``x`` as an array of ``xp``; Python scalars and sequences are converted on ``like``'s device."""
    if array_api_compat.is_array_api_obj(x):
        return x
    device = None if like is None else array_api_compat.device(like)
    return xp.asarray(x, device=device)


def is_floating(xp: Namespace, dtype: Any) -> bool:
    return bool(xp.isdtype(dtype, "real floating"))


def is_integer(xp: Namespace, dtype: Any) -> bool:
    return bool(xp.isdtype(dtype, "integral"))


def compute_dtype(xp: Namespace, dtype: Any) -> Any:
    """float16 and bfloat16 are computed in float32: their 3-4 significant digits and their range
    (float16 overflows at 65504) are too small for exp/log and for summing a batch."""
    return xp.float32 if xp.finfo(dtype).bits < 32 else dtype


def tiny(xp: Namespace, dtype: Any) -> float:
    """The smallest positive normal number of ``dtype``: the one clipping epsilon of losskit.

    Probabilities are clipped to it only where a log would otherwise be ``-inf``; every
    probability the dtype represents at full precision passes untouched.
    """
    return float(xp.finfo(dtype).smallest_normal)


def dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")
