"""One representative call per public loss, for the suites that run every loss the same way.

Each case draws the float64 NumPy array arguments of a batch of ``n`` examples (``pred, target``
for most losses; ``anchor, positive, negative`` for a triplet, ...); :meth:`Case.loss_shape` is the
shape of ``reduction="none"``. ``perfect`` draws arguments for which the loss is at its documented
minimum 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import losskit

Draw = Callable[[np.random.Generator, int], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class Case:
    name: str
    draw: Draw
    perfect: Draw
    kwargs: dict[str, Any] = field(default_factory=dict)
    classes: int = 0  # the class axis (-1) is reduced when > 0
    labels: bool = False  # the last argument holds integer labels
    reduced: bool = False  # one loss per example (shape (n,)) without a class axis either
    inputs: int = 1  # the leading arguments that are model outputs: gradients flow into them

    @property
    def fn(self) -> Callable[..., Any]:
        return losskit.get(self.name)

    def loss_shape(self, n: int) -> tuple[int, ...]:
        return (n,) if self.classes or self.reduced else (n, D)

    def weight_shape(self, n: int) -> tuple[int, ...]:
        """One weight per example, broadcast over the rest of the loss."""
        return (n,) + (1,) * (len(self.loss_shape(n)) - 1)

    def floats(self, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        """The floating arguments: all but the labels."""
        return arrays[:-1] if self.labels else arrays

    def __call__(self, *arrays: Any, **kwargs: Any) -> Any:
        return self.fn(*arrays, **{**self.kwargs, **kwargs})

    def __repr__(self) -> str:
        return self.name + "".join(f"-{k}={v}" for k, v in self.kwargs.items())


D = 3  # features per example of the element-wise losses
C = 4  # classes


def _real(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)) * 2, rng.normal(size=(n, D))


def _real_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.normal(size=(n, D))
    return t.copy(), t


def _prob01(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.02, 0.98, size=(n, D)), (rng.uniform(size=(n, D)) > 0.5).astype(np.float64)


def _prob01_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.uniform(size=(n, D)) > 0.5).astype(np.float64)
    return y.copy(), y


def _logits01(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)) * 3, (rng.uniform(size=(n, D)) > 0.5).astype(np.float64)


def _logits01_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.uniform(size=(n, D)) > 0.5).astype(np.float64)
    return (2 * y - 1) * 1e3, y  # sigmoid(+-1000) is exactly 1 / 0 in float64


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _labels(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, C, size=n)


def _probs_onehot(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return _softmax(rng.normal(size=(n, C))), np.eye(C)[_labels(rng, n)]


def _onehot_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.eye(C)[_labels(rng, n)]
    return y.copy(), y


def _logits_onehot(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, C)) * 3, np.eye(C)[_labels(rng, n)]


def _logits_onehot_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.eye(C)[_labels(rng, n)]
    return y * 1e3, y


def _logits_labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, C)) * 3, _labels(rng, n)


def _logits_labels_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(rng, n)
    return np.eye(C)[y] * 1e3, y


def _probs_labels_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(rng, n)
    return np.eye(C)[y], y


def _probs_labels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return _softmax(rng.normal(size=(n, C))), _labels(rng, n)


def _scores_signs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)) * 2, rng.choice([-1.0, 1.0], size=(n, D))


def _scores_signs_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.choice([-1.0, 1.0], size=(n, D))
    return 1.5 * y, y


def _scores_labels_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(rng, n)
    return np.eye(C)[y] * 2.0, y


CASES = [
    Case("mse", _real, _real_perfect),
    Case("mae", _real, _real_perfect),
    Case("huber", _real, _real_perfect, {"delta": 0.7}),
    Case("log_cosh", _real, _real_perfect),
    Case("quantile", _real, _real_perfect, {"q": 0.8}),
    Case("binary_cross_entropy", _prob01, _prob01_perfect),
    Case("binary_cross_entropy", _logits01, _logits01_perfect, {"from_logits": True, "pos_weight": 2.0}),
    Case("categorical_cross_entropy", _probs_onehot, _onehot_perfect, classes=C),
    Case("categorical_cross_entropy", _logits_onehot, _logits_onehot_perfect,
         {"from_logits": True, "label_smoothing": 0.0, "class_weight": [1.0, 2.0, 0.5, 1.0]}, classes=C),
    Case("sparse_categorical_cross_entropy", _probs_labels, _probs_labels_perfect, classes=C, labels=True),
    Case("sparse_categorical_cross_entropy", _logits_labels, _logits_labels_perfect,
         {"from_logits": True, "class_weight": [1.0, 2.0, 0.5, 1.0]}, classes=C, labels=True),
    Case("focal", _prob01, _prob01_perfect),
    Case("focal", _logits01, _logits01_perfect, {"from_logits": True, "gamma": 0.5, "alpha": None}),
    Case("hinge", _scores_signs, _scores_signs_perfect),
    Case("squared_hinge", _scores_signs, _scores_signs_perfect, {"margin": 0.5}),
    Case("multiclass_hinge", _logits_labels, _scores_labels_perfect, classes=C, labels=True),
    Case("multiclass_hinge", _logits_labels, _scores_labels_perfect, {"kind": "weston_watkins"}, classes=C,
         labels=True),
]
