"""Bad calls, catalogued: each raises the documented exception with a message naming the argument."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import losskit as lk

x3 = np.array([0.2, 0.5, 0.9])
y3 = np.array([0.0, 1.0, 1.0])
logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
probs = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
labels = np.array([1, 2])
column = x3.reshape(3, 1)



def _column_against_vector(name: str) -> Callable[[], Any]:
    return lambda: lk.get(name)(column, y3)


# (id, call, exception, pattern the message must match)
BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # reduction
    ("reduction unknown", lambda: lk.mse(x3, y3, reduction="avg"), ValueError, "reduction"),
    ("reduction None", lambda: lk.huber(x3, y3, reduction=None), ValueError, "reduction"),
    ("reduction in ce", lambda: lk.sparse_categorical_cross_entropy(probs, labels, reduction="batchmean"),
     ValueError, "reduction"),
    # the (N, 1) vs (N,) trap, for every element-wise loss
    *[(f"{name} (N,1) vs (N,)", _column_against_vector(name), ValueError, r"target.*shape.*\(3, 1\)")
      for name in ("mse", "mae", "huber", "log_cosh", "quantile", "binary_cross_entropy", "hinge", "squared_hinge")],
    ("mse (N,) vs (N,1)", lambda: lk.mse(x3, column), ValueError, "target must have the shape"),
    ("mse different lengths", lambda: lk.mse(x3, y3[:2]), ValueError, "target must have the shape"),
    ("cce shape", lambda: lk.categorical_cross_entropy(probs, onehot[:, :2]), ValueError, "target"),
    ("sparse label shape", lambda: lk.sparse_categorical_cross_entropy(probs, onehot), TypeError, "target"),
    ("sparse label rank", lambda: lk.sparse_categorical_cross_entropy(probs, labels[:, None]), ValueError,
     "target must have the shape of pred without its class axis"),
    ("multiclass hinge label shape", lambda: lk.multiclass_hinge(logits, np.array([0, 1, 2])), ValueError, "target"),
    # labels out of range
    ("label too large", lambda: lk.sparse_categorical_cross_entropy(probs, np.array([1, 3])), ValueError,
     r"target.*\[0, 3\).*found 3"),
    ("label negative", lambda: lk.sparse_categorical_cross_entropy(probs, np.array([-1, 0])), ValueError,
     "found -1"),
    ("label ignored only when asked", lambda: lk.sparse_categorical_cross_entropy(
        probs, np.array([-100, 0]), ignore_index=None), ValueError, "target"),
    ("hinge multiclass label", lambda: lk.multiclass_hinge(logits, np.array([0, 5])), ValueError, "target"),
    ("float labels", lambda: lk.sparse_categorical_cross_entropy(probs, np.array([1.0, 2.0])), TypeError,
     "target must hold integer class labels"),
    ("bool labels", lambda: lk.multiclass_hinge(logits, np.array([True, False])), TypeError, "target"),
    # probabilities outside [0, 1] with from_logits=False: the message suggests from_logits=True
    ("bce logits as probs", lambda: lk.binary_cross_entropy(np.array([-2.0, 3.0]), np.array([0.0, 1.0])),
     ValueError, "pred.*from_logits=True"),
    ("cce logits as probs", lambda: lk.categorical_cross_entropy(logits, onehot), ValueError,
     "pred.*from_logits=True"),
    ("sparse logits as probs", lambda: lk.sparse_categorical_cross_entropy(logits, labels), ValueError,
     "pred.*from_logits=True"),
    ("probs not summing to 1", lambda: lk.categorical_cross_entropy(probs * 0.9, onehot), ValueError,
     "pred must sum to 1"),
    ("sparse probs not summing to 1", lambda: lk.sparse_categorical_cross_entropy(
        np.full((2, 3), 0.5), labels), ValueError, "pred must sum to 1"),
    ("nan probability", lambda: lk.binary_cross_entropy(np.array([np.nan, 0.5]), np.array([0.0, 1.0])),
     ValueError, "pred"),
    # targets
    ("bce target outside [0,1]", lambda: lk.binary_cross_entropy(x3, np.array([0.0, 2.0, 1.0])), ValueError,
     r"target must lie in \[0, 1\]"),
    ("bce target -1", lambda: lk.binary_cross_entropy(x3, np.array([-1, 1, 1])), ValueError, "target"),
    ("cce soft target above 1", lambda: lk.categorical_cross_entropy(probs, onehot * 2), ValueError, "target"),
    ("nan target", lambda: lk.mse(x3, np.array([0.0, np.nan, 1.0])), ValueError, "target must be finite"),
    ("inf target", lambda: lk.huber(x3, np.array([0.0, np.inf, 1.0])), ValueError, "target must be finite"),
    ("hinge labels 2", lambda: lk.hinge(x3, np.array([0.0, 1.0, 2.0])), ValueError, r"target.*\{-1, \+1\}"),
    ("hinge labels mixed", lambda: lk.hinge(x3, np.array([0.0, 1.0, -1.0])), ValueError, "target"),
    # dtypes
    ("int pred", lambda: lk.mse(np.array([1, 2]), np.array([1, 2])), TypeError, "pred must be a real floating"),
    ("bool pred", lambda: lk.binary_cross_entropy(np.array([True]), np.array([1.0])), TypeError, "pred"),
    ("complex pred", lambda: lk.mae(np.array([1j]), np.array([1.0])), TypeError, "pred"),
    ("complex target", lambda: lk.mae(np.array([1.0]), np.array([1j])), TypeError, "target"),
    # hyper-parameters
    ("negative delta", lambda: lk.huber(x3, y3, delta=-1.0), ValueError, "delta"),
    ("zero delta", lambda: lk.huber(x3, y3, delta=0), ValueError, "delta"),
    ("nan delta", lambda: lk.huber(x3, y3, delta=float("nan")), ValueError, "delta"),
    ("string delta", lambda: lk.huber(x3, y3, delta="1"), TypeError, "delta"),
    ("array delta", lambda: lk.huber(x3, y3, delta=np.ones(3)), TypeError, "delta"),
    ("negative margin", lambda: lk.hinge(x3, y3, margin=-0.5), ValueError, "margin"),
    ("negative margin multiclass", lambda: lk.multiclass_hinge(logits, labels, margin=-1), ValueError, "margin"),
    ("q above 1", lambda: lk.quantile(x3, y3, q=1.5), ValueError, r"q must lie in \[0.0, 1.0\]"),
    ("label smoothing above 1", lambda: lk.binary_cross_entropy(x3, y3, label_smoothing=1.5), ValueError,
     "label_smoothing"),
    ("label smoothing negative", lambda: lk.categorical_cross_entropy(probs, onehot, label_smoothing=-0.1),
     ValueError, "label_smoothing"),
    ("unknown kind", lambda: lk.multiclass_hinge(logits, labels, kind="ovr"), ValueError, "kind"),
    ("ignore_index float", lambda: lk.sparse_categorical_cross_entropy(probs, labels, ignore_index=1.5),
     TypeError, "ignore_index"),
    # axis
    ("axis out of range", lambda: lk.categorical_cross_entropy(probs, onehot, axis=2), ValueError, "axis"),
    ("axis float", lambda: lk.sparse_categorical_cross_entropy(probs, labels, axis=1.0), TypeError, "axis"),
    ("no class axis", lambda: lk.categorical_cross_entropy(np.float64(1.0), np.float64(1.0)), ValueError,
     "class axis"),
    # weights
    ("weight (N,) for (N,D) loss", lambda: lk.mse(np.ones((3, 3)), np.zeros((3, 3)), weight=np.ones(3)),
     ValueError, r"weight of shape \(3,\) must broadcast to \(3, 3\).*\(3, 1\)"),
    ("weight too long", lambda: lk.mse(x3, y3, weight=np.ones(4)), ValueError, "weight"),
    ("negative weight", lambda: lk.mse(x3, y3, weight=np.array([1.0, -1.0, 1.0])), ValueError,
     "weight must be finite and non-negative"),
    ("nan weight", lambda: lk.mae(x3, y3, weight=np.array([1.0, np.nan, 1.0])), ValueError, "weight"),
    ("class_weight wrong length", lambda: lk.sparse_categorical_cross_entropy(
        probs, labels, class_weight=[1.0, 2.0]), ValueError, r"class_weight must have shape \(3,\)"),
    ("class_weight negative", lambda: lk.categorical_cross_entropy(
        probs, onehot, class_weight=[1.0, -2.0, 1.0]), ValueError, "class_weight"),
    ("pos_weight wrong shape", lambda: lk.binary_cross_entropy(x3, y3, pos_weight=np.ones(2)), ValueError,
     "pos_weight"),
    ("pos_weight negative", lambda: lk.binary_cross_entropy(x3, y3, pos_weight=-1.0), ValueError, "pos_weight"),
    # mixed libraries: named, never silently copied
    ("torch pred numpy target", lambda: lk.mse(torch.ones(3), np.ones(3)), TypeError,
     r"pred is a torch\.Tensor, target is a numpy\.ndarray"),
    ("jax pred torch target", lambda: lk.mae(jnp.ones(3), torch.ones(3)), TypeError, "different array libraries"),
    ("numpy weight torch pred", lambda: lk.mse(torch.ones(3), torch.ones(3), weight=np.ones(3)), TypeError,
     "weight"),
    ("numpy class_weight torch pred", lambda: lk.sparse_categorical_cross_entropy(
        torch.zeros(2, 3), torch.tensor([0, 1]), from_logits=True, class_weight=np.ones(3)), TypeError,
     r"class_weight is a numpy\.ndarray"),
    ("numpy pos_weight torch pred", lambda: lk.binary_cross_entropy(
        torch.zeros(2, 3), torch.zeros(2, 3), from_logits=True, pos_weight=np.ones(3)), TypeError, "pos_weight"),
    ("focal negative gamma", lambda: lk.focal(x3, y3, gamma=-1.0), ValueError, "gamma"),
    ("focal alpha above 1", lambda: lk.focal(x3, y3, alpha=1.5), ValueError, "alpha"),
    ("focal alpha string", lambda: lk.focal(x3, y3, alpha="0.25"), TypeError, "alpha"),
    ("focal logits as probs", lambda: lk.focal(np.array([-2.0, 3.0]), np.array([0.0, 1.0])), ValueError,
     "pred.*from_logits=True"),
    ("focal target outside [0,1]", lambda: lk.focal(x3, np.array([0.0, 2.0, 1.0])), ValueError, "target"),
    ("focal (N,1) vs (N,)", lambda: lk.focal(column, y3), ValueError, "target must have the shape"),
    # get
    ("unknown loss name", lambda: lk.get("hubber"), ValueError, "did you mean 'huber'"),
    ("loss name not a string", lambda: lk.get(3), TypeError, "name"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_call_raises_a_clear_error(call: Callable[[], Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) is error  # not a subclass thrown from deep inside a library


def test_the_table_is_large() -> None:
    assert len(BAD) >= 60


def test_nan_in_pred_propagates() -> None:
    """Documented NaN policy: a NaN prediction (a diverged model) propagates; it is not an input error."""
    out = lk.mse(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), reduction="none")
    assert np.isnan(out[0]) and out[1] == 0.0
    assert np.isnan(lk.sparse_categorical_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]), from_logits=True))
