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


# ---------------------------------------------------------------- under torch.compile

def _t(*values: Any, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


_LOGITS = torch.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
_PROBS = torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
_EMBEDDINGS = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
_MAPS = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))

# (id, loss of (pred, target), pred, a valid target, an invalid target of the same shape and dtype,
# pattern of both errors): torch's fast paths and reference paths alike
COMPILED: list[tuple[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor,
                     torch.Tensor, str]] = [
    ("mse nan target", lambda p, t: lk.mse(p, t), _t(0.2, 0.5, 0.9), _t(0.0, 1.0, 1.0), _t(0.0, float("nan"), 1.0),
     "target must be finite"),
    ("log_cosh inf target", lambda p, t: lk.log_cosh(p, t), _t(0.2, 0.5, 0.9), _t(0.0, 1.0, 1.0),
     _t(0.0, float("inf"), 1.0), "target must be finite"),
    ("bce target 2", lambda p, t: lk.binary_cross_entropy(p, t, from_logits=True), _t(0.2, -0.5, 0.9),
     _t(0.0, 1.0, 1.0), _t(0.0, 2.0, 1.0), r"target must lie in \[0, 1\]"),
    ("bce smoothed target -1", lambda p, t: lk.binary_cross_entropy(p, t, from_logits=True, label_smoothing=0.1),
     _t(0.2, -0.5, 0.9), _t(0.0, 1.0, 1.0), _t(0.0, -1.0, 1.0), r"target must lie in \[0, 1\]"),
    ("bce probabilities above 1", lambda p, t: lk.binary_cross_entropy(t, p), _t(0.0, 1.0, 1.0), _t(0.2, 0.5, 0.9),
     _t(0.2, 1.5, 0.9), r"pred must lie in \[0, 1\].*from_logits=True"),
    ("bce pos_weight negative", lambda p, t: lk.binary_cross_entropy(p, torch.ones(3), from_logits=True, pos_weight=t),
     _t(0.2, -0.5, 0.9), _t(1.0, 2.0, 1.0), _t(1.0, -2.0, 1.0), "pos_weight must be finite and non-negative"),
    ("weight negative", lambda p, t: lk.mae(p, torch.zeros(3), weight=t), _t(0.2, -0.5, 0.9), _t(1.0, 2.0, 1.0),
     _t(1.0, -2.0, 1.0), "weight must be finite and non-negative"),
    ("focal target 2", lambda p, t: lk.focal(p, t, from_logits=True), _t(0.2, -0.5, 0.9), _t(0.0, 1.0, 1.0),
     _t(0.0, 2.0, 1.0), r"target must lie in \[0, 1\]"),
    ("hinge labels 0.5", lambda p, t: lk.hinge(p, t), _t(0.2, -0.5, 0.9), _t(-1.0, 1.0, 1.0), _t(-1.0, 0.5, 1.0),
     r"target must hold labels in \{-1, \+1\} or in \{0, 1\}"),
    ("squared hinge labels 0 and -1", lambda p, t: lk.squared_hinge(p, t), _t(0.2, -0.5, 0.9), _t(-1.0, 1.0, 1.0),
     _t(-1.0, 0.0, 1.0), r"target must hold labels in \{-1, \+1\}"),
    ("cce soft target 2", lambda p, t: lk.categorical_cross_entropy(p, t, from_logits=True), _LOGITS,
     _PROBS, _PROBS * 2, r"target must lie in \[0, 1\]"),
    ("cce probabilities not summing to 1", lambda p, t: lk.categorical_cross_entropy(t, p), _PROBS, _PROBS,
     _PROBS * 0.5, "must sum to 1 along axis 1"),
    ("sparse ce label 3", lambda p, t: lk.sparse_categorical_cross_entropy(p, t, from_logits=True), _LOGITS,
     _t(1, 2, dtype=torch.int64), _t(1, 3, dtype=torch.int64), r"target holds class labels in \[0, 3\)"),
    ("sparse ce label -1", lambda p, t: lk.sparse_categorical_cross_entropy(p, t, from_logits=True,
                                                                             label_smoothing=0.1),
     _LOGITS, _t(-100, 2, dtype=torch.int64), _t(-1, 2, dtype=torch.int64),
     r"target holds class labels in \[0, 3\) or ignore_index=-100"),
    ("sparse ce class_weight negative", lambda p, t: lk.sparse_categorical_cross_entropy(
        _LOGITS, torch.tensor([0, 1]), from_logits=True, class_weight=t), _LOGITS, _t(1.0, 1.0, 2.0),
     _t(1.0, -1.0, 2.0), "class_weight must be finite and non-negative"),
    ("sparse focal label 3", lambda p, t: lk.sparse_categorical_focal(p, t, from_logits=True), _LOGITS,
     _t(1, 2, dtype=torch.int64), _t(3, 2, dtype=torch.int64), r"target holds class labels in \[0, 3\)"),
    ("categorical focal target 2", lambda p, t: lk.categorical_focal(p, t, from_logits=True), _LOGITS, _PROBS,
     _PROBS * 2, r"target must lie in \[0, 1\]"),
    ("multiclass hinge label 3", lambda p, t: lk.multiclass_hinge(p, t, kind="weston_watkins"), _LOGITS,
     _t(1, 2, dtype=torch.int64), _t(1, 3, dtype=torch.int64), r"target holds class labels in \[0, 3\)"),
    ("crammer-singer label -1", lambda p, t: lk.multiclass_hinge(p, t), _LOGITS, _t(1, 2, dtype=torch.int64),
     _t(-1, 2, dtype=torch.int64), r"target holds class labels in \[0, 3\)"),
    ("linear ce label 5", lambda p, t: lk.linear_cross_entropy(p, _LOGITS, t), _LOGITS, _t(1, 0, dtype=torch.int64),
     _t(1, 5, dtype=torch.int64), r"target holds class labels in \[0, 2\)"),
    ("dice target 2", lambda p, t: lk.dice(p, t, from_logits=True), _MAPS, (_MAPS > 0).float(), (_MAPS > 0) * 2.0,
     r"target must lie in \[0, 1\]"),
    ("dice label 3", lambda p, t: lk.dice(p, t, from_logits=True, mode="multiclass"), _MAPS,
     torch.zeros(2, 4, 4, dtype=torch.int64), torch.full((2, 4, 4), 3), r"target holds class labels in \[0, 3\)"),
    ("tversky target -1", lambda p, t: lk.tversky(p, t, from_logits=True), _MAPS, (_MAPS > 0).float(),
     -(_MAPS > 0).float(), r"target must lie in \[0, 1\]"),
    ("dice_bce target 2", lambda p, t: lk.dice_bce(p, t, from_logits=True), _MAPS, (_MAPS > 0).float(),
     (_MAPS > 0) * 2.0, r"target must lie in \[0, 1\]"),
    ("kl target not summing to 1", lambda p, t: lk.kl_divergence(p, t), _PROBS, _PROBS.flip(1), _PROBS * 0.5,
     "target must sum to 1"),
    ("kl log target above 0", lambda p, t: lk.kl_divergence(p, t, log_target=True), _PROBS, _PROBS.log(),
     -_PROBS.log(), r"target holds log-probabilities \(log_target=True\), which are <= 0"),
    ("js pred outside [0, 1]", lambda p, t: lk.js_divergence(t, p), _PROBS, _PROBS.flip(1), _PROBS * 2 - 0.5,
     r"pred must lie in \[0, 1\]"),
    ("contrastive same 2", lambda p, t: lk.contrastive(p, p.flip(0), t), _EMBEDDINGS, _t(0.0, 1.0, 1.0, 0.0),
     _t(0.0, 2.0, 1.0, 0.0), "same must hold 0 or 1"),
    ("batch_triplet one class", lambda p, t: lk.batch_triplet(p, t), _EMBEDDINGS,
     _t(0, 0, 1, 1, dtype=torch.int64), _t(2, 2, 2, 2, dtype=torch.int64), "labels hold a single class"),
    ("info_nce no positive pair", lambda p, t: lk.info_nce(p, t), _EMBEDDINGS, _t(0, 0, 1, 1, dtype=torch.int64),
     _t(0, 1, 2, 3, dtype=torch.int64), "labels hold no two embeddings of one class"),
]


@pytest.mark.parametrize(("loss", "pred", "good", "bad", "pattern"), [case[1:] for case in COMPILED],
                         ids=[case[0] for case in COMPILED])
def test_compiled_bad_call_raises_as_eager(loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                                           pred: torch.Tensor, good: torch.Tensor, bad: torch.Tensor,
                                           pattern: str) -> None:
    """Under ``torch.compile(fullgraph=True)`` a value check is an assertion compiled into the graph:
    the compiled step raises ``RuntimeError`` with eager's message (less the value found), where eager
    raises ``ValueError``; a valid call through the same compiled graph gives eager's numbers."""
    pred = pred.clone().requires_grad_(pred.is_floating_point())
    with pytest.raises(ValueError, match=pattern):
        loss(pred, bad)
    torch._dynamo.reset()
    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(pred, good), loss(pred, good), rtol=1e-6, atol=1e-7)
    with pytest.raises(RuntimeError, match=pattern):
        compiled(pred, bad)


def test_compiled_checks_off_compile_no_assertion() -> None:
    """``set_checks(False)`` is the documented way to a graph without the assertions' passes."""
    torch._dynamo.reset()
    with lk.checks(False):
        compiled = torch.compile(lambda p, t: lk.binary_cross_entropy(p, t, from_logits=True), fullgraph=True,
                                 backend="aot_eager")
        assert torch.isfinite(compiled(_t(0.2, -0.5, 0.9), _t(0.0, 2.0, 1.0)))


def test_inductor_raises_the_named_error() -> None:
    """The assertion survives inductor's code generation (C++ on the CPU)."""
    torch._dynamo.reset()
    compiled = torch.compile(lambda p, t: lk.binary_cross_entropy(p, t, from_logits=True), fullgraph=True)
    assert torch.isfinite(compiled(_t(0.2, -0.5, 0.9), _t(0.0, 1.0, 1.0)))
    with pytest.raises(RuntimeError, match=r"target must lie in \[0, 1\]"):
        compiled(_t(0.2, -0.5, 0.9), _t(0.0, 2.0, 1.0))
