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
    # In-batch losses (mining, contrastive batches): the examples interact, "mean" divides by the pairs or
    # triplets counted, and a batch needs at least this many examples (a positive pair and a negative).
    batch: int = 0
    shared: tuple[int, ...] = ()  # arguments of the whole batch, not one row per example (a classifier)

    @property
    def fn(self) -> Callable[..., Any]:
        return losskit.get(self.name)

    def loss_shape(self, n: int) -> tuple[int, ...]:
        return (n,) if self.classes or self.reduced else (n, D)

    def weight_shape(self, n: int) -> tuple[int, ...]:
        """One weight per example, broadcast over the rest of the loss."""
        return (n,) + (1,) * (len(self.loss_shape(n)) - 1)

    def examples(self, arrays: tuple[Any, ...], rows: slice) -> tuple[Any, ...]:
        """The arguments of the examples ``rows`` only."""
        return tuple(x if i in self.shared else x[rows] for i, x in enumerate(arrays))

    def floats(self, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        """The floating arguments: all but the labels."""
        return arrays[:-1] if self.labels else arrays

    def total_weight(self, arrays: tuple[np.ndarray, ...], weight: Any = None, **kwargs: Any) -> float:
        """The denominator of ``reduction="mean"`` on NumPy arguments: ``sum(w * d)`` of docs/conventions.md.

        ``d`` is an example's class weight, 0 where its label is ``ignore_index``, and 1 otherwise;
        ``kwargs`` are added to the case's own. Not for in-batch losses (``batch``), whose mean
        divides by the pairs or triplets counted.
        """
        kwargs = {**self.kwargs, **kwargs}
        shape = self.loss_shape(len(arrays[0]))
        d = np.ones(shape)
        if self.classes or self.shared:  # one loss per categorical target: its class weight and ignore_index count
            target, class_weight = arrays[-1], kwargs.get("class_weight")
            if self.labels:
                keep = np.ones(shape, dtype=bool) if kwargs.get("ignore_index") is None else (
                    target != kwargs["ignore_index"])
                if class_weight is not None:
                    d = np.asarray(class_weight, dtype=np.float64)[np.where(keep, target, 0)]
                d = np.where(keep, d, 0.0)
            elif class_weight is not None:
                d = target @ np.asarray(class_weight, dtype=np.float64)
        return float(np.sum(d * (1.0 if weight is None else np.broadcast_to(weight, shape))))

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


def _gan_scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=n) * 3, rng.normal(size=n) * 3  # discriminator logits on real, fake


def _gan_scores_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n, 1e3), np.full(n, -1e3)  # softplus(-1000) is exactly 0 in float64


def _gan_fake(rng: np.random.Generator, n: int) -> tuple[np.ndarray]:
    return (rng.normal(size=n) * 3,)


def _gan_fake_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray]:
    return (np.full(n, 1e3),)


P = 5  # pixels per image of the segmentation losses, (n, C, P)


def _masks(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.02, 0.98, size=(n, C, P)), (rng.uniform(size=(n, C, P)) > 0.6).astype(np.float64)


def _masks_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.uniform(size=(n, C, P)) > 0.6).astype(np.float64)  # empty masks included
    return y.copy(), y


def _mask_logits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, C, P)) * 3, (rng.uniform(size=(n, C, P)) > 0.6).astype(np.float64)


def _mask_logits_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.uniform(size=(n, C, P)) > 0.6).astype(np.float64)
    return (2 * y - 1) * 1e3, y


def _label_map_logits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, C, P)) * 3, rng.integers(0, C, size=(n, P))


def _label_map_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, C, size=(n, P))
    return np.moveaxis(np.eye(C)[y], -1, 1) * 1e3, y


def _distributions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _softmax(rng.normal(size=(n, C)) * 2)
    y[:, 0] = 0.0  # zeros in the target: 0 log 0 = 0
    return _softmax(rng.normal(size=(n, C))), y / y.sum(axis=-1, keepdims=True)


def _same_distribution(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _softmax(rng.normal(size=(n, C)) * 2)
    return y.copy(), y


def _gaussian(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)), rng.normal(size=(n, D))


def _standard_normal(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n, D)), np.zeros((n, D))


def _triplets(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)), rng.normal(size=(n, D)), rng.normal(size=(n, D))


def _triplets_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    direction = rng.normal(size=(n, D))
    a = direction / np.linalg.norm(direction, axis=-1, keepdims=True) * rng.uniform(1.0, 2.0, size=(n, 1))
    return a, a.copy(), -a  # the negative is >= 2 away (euclidean) and at cosine distance 2


def _pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)), rng.normal(size=(n, D)), rng.integers(0, 2, size=n)


def _pairs_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x1, same = rng.normal(size=(n, D)), rng.integers(0, 2, size=n)
    away = rng.normal(size=(n, D))
    away = 3.0 * away / np.linalg.norm(away, axis=-1, keepdims=True)
    return x1, np.where(same[:, None] == 1, x1, x1 + away), same  # dissimilar pairs 3 apart


def _batch_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """At most 3 classes; from 3 examples on, always a positive pair and a second class."""
    y = rng.integers(0, 3, size=n)
    if n >= 3:
        y[:3] = [0, 0, 1]
        y = rng.permutation(y)
    return y


def _batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, D)), _batch_labels(rng, n)


def _batch_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _batch_labels(rng, n)
    return 3.0 * np.eye(D)[y], y  # each class at one point, the classes orthogonal and 3 * sqrt(2) apart


H = 5  # features of a token's hidden state (linear_cross_entropy); its classifier has C classes


def _tokens(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Multiples of 1/16 and 1/32: every logit is exact, whatever order a matrix product sums in (BLAS
    # picks its kernel by the number of rows), so a token's loss does not depend on its batch.
    hidden, classifier = rng.integers(-64, 65, size=(n, H)) / 16, rng.integers(-64, 65, size=(C, H)) / 32
    return hidden, classifier, _labels(rng, n)


def _tokens_perfect(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = _labels(rng, n)
    return 1e3 * np.eye(H)[y], np.eye(C, H), y  # the logits are 1e3 * one-hot


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
    Case("categorical_focal", _probs_onehot, _onehot_perfect, {"alpha": [0.5, 1.0, 2.0, 1.0]}, classes=C),
    Case("categorical_focal", _logits_onehot, _logits_onehot_perfect, {"from_logits": True, "gamma": 1.5},
         classes=C),
    Case("sparse_categorical_focal", _probs_labels, _probs_labels_perfect, {"gamma": 0.5}, classes=C, labels=True),
    Case("sparse_categorical_focal", _logits_labels, _logits_labels_perfect,
         {"from_logits": True, "alpha": 0.25, "label_smoothing": 0.0}, classes=C, labels=True),
    Case("dice", _masks, _masks_perfect, reduced=True),
    Case("dice", _label_map_logits, _label_map_perfect,
         {"mode": "multiclass", "from_logits": True, "class_weight": [1.0, 2.0, 0.5, 1.0]}, labels=True, reduced=True),
    Case("jaccard", _mask_logits, _mask_logits_perfect, {"from_logits": True, "squared": True}, reduced=True),
    Case("tversky", _masks, _masks_perfect, {"alpha": 0.3, "beta": 0.7}, reduced=True),
    Case("focal_tversky", _label_map_logits, _label_map_perfect, {"mode": "multiclass", "from_logits": True},
         labels=True, reduced=True),
    Case("dice_bce", _mask_logits, _mask_logits_perfect, {"from_logits": True, "bce_weight": 0.5}, reduced=True),
    Case("dice_bce", _label_map_logits, _label_map_perfect, {"mode": "multiclass", "from_logits": True},
         labels=True, reduced=True),
    Case("reconstruction", _real, _real_perfect, reduced=True),
    Case("reconstruction", _logits01, _logits01_perfect, {"kind": "bce", "from_logits": True, "features": "mean"},
         reduced=True),
    Case("kl_divergence", _distributions, _same_distribution, classes=C),
    Case("js_divergence", _distributions, _same_distribution, classes=C),
    Case("gaussian_kl", _gaussian, _standard_normal, reduced=True, inputs=2),
    Case("hinge", _scores_signs, _scores_signs_perfect),
    Case("squared_hinge", _scores_signs, _scores_signs_perfect, {"margin": 0.5}),
    Case("triplet", _triplets, _triplets_perfect, reduced=True, inputs=3),
    Case("triplet", _triplets, _triplets_perfect, {"distance": "cosine", "swap": True, "margin": 0.3}, reduced=True,
         inputs=3),
    Case("contrastive", _pairs, _pairs_perfect, {"margin": 1.5}, labels=True, reduced=True, inputs=2),
    Case("batch_triplet", _batch, _batch_perfect, labels=True, reduced=True, batch=3),
    Case("batch_triplet", _batch, _batch_perfect, {"mining": "hard", "margin": 0.5}, labels=True, reduced=True,
         batch=3),
    Case("batch_triplet", _batch, _batch_perfect,
         {"mining": "semi_hard", "distance": "cosine", "margin": 0.5, "average": "mined"}, labels=True, reduced=True,
         batch=3),
    # exp(-1 / temperature) underflows: orthogonal negatives cost exactly 0 at the minimum
    Case("info_nce", _batch, _batch_perfect, {"temperature": 1e-3}, labels=True, reduced=True, batch=3),
    Case("multiclass_hinge", _logits_labels, _scores_labels_perfect, classes=C, labels=True),
    Case("multiclass_hinge", _logits_labels, _scores_labels_perfect, {"kind": "weston_watkins"}, classes=C,
         labels=True),
    Case("gan_discriminator_loss", _gan_scores, _gan_scores_perfect, {"kind": "non_saturating"}, reduced=True,
         inputs=2),
    Case("gan_generator_loss", _gan_fake, _gan_fake_perfect, {"kind": "non_saturating"}, reduced=True),
    # chunks of 3 tokens: most batches end on a shorter chunk
    Case("linear_cross_entropy", _tokens, _tokens_perfect, {"chunk_size": 3}, labels=True, reduced=True, inputs=2,
         shared=(1,)),
]
