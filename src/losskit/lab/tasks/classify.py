"""What the binary, imbalanced and multiclass tasks share: an MLP on standardised features, logits out,
and a user's CSV file in place of the built-in data (``--data FILE --target COL``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

import losskit

from ...recommend import Recommendation
from ..data import Split, UserData, split
from ..task import Variant
from ..train import Batch, LossOf

HINGES = ("hinge", "squared_hinge")


def encode(user: UserData, rec: Recommendation) -> np.ndarray:
    """Class labels as 0..C-1 in the recommendation's class order (binary: the positive class is 1)."""
    index = {c: i for i, c in enumerate(rec.classes)}
    # Labels were read as int, float or str; the recommendation lists them as Python values of the same kind.
    return np.array([index[v.item() if hasattr(v, "item") else v] for v in user.y], dtype=np.int64)


def user_split(user: UserData, rec: Recommendation, seed: int) -> Split:
    return split(user.x, encode(user, rec), seed, classes=True)


def recommended(rec: Recommendation) -> Variant:
    """The loss ``recommend`` suggests, with its parameters: the lab always passes logits."""
    params = {k: v for k, v in rec.kwargs().items() if k != "from_logits"}
    shown = ", ".join(f"{k}={v:.3g}" for k, v in params.items() if np.ndim(v) == 0)
    vectors = [k for k, v in params.items() if np.ndim(v) > 0]
    shown = ", ".join(filter(None, [shown, *(f"{k}=per class" for k in vectors)]))
    return Variant(f"{rec.loss}({shown}) [recommended]" if shown else f"{rec.loss} [recommended]", rec.loss, params)


def with_recommendation(choices: dict[str, tuple[Variant, ...]], rec: Recommendation) -> dict[str, tuple[Variant, ...]]:
    variant = recommended(rec)
    return {**choices, rec.loss: (*(v for v in choices.get(rec.loss, ()) if v.params != variant.params), variant)}


def binary_loss(variant: Variant, device: torch.device) -> LossOf:
    """The cost of a batch of one-logit outputs: logits for cross-entropies, raw scores for the hinges."""
    fn = losskit.get(variant.loss)
    params: dict[str, Any] = {k: torch.as_tensor(v, dtype=torch.float32, device=device) if np.ndim(v) else v
                              for k, v in variant.params.items()}
    if variant.loss not in HINGES:
        params["from_logits"] = True

    def loss_of(model: nn.Module, batch: Batch) -> Any:
        x, y = batch
        return fn(model(x).squeeze(-1), y, **params)
    return loss_of


def probability(scores: np.ndarray) -> np.ndarray:
    """P(y = 1) read from a model's scores: the sigmoid of a logit (of a margin too, for lack of a better reading)."""
    with np.errstate(over="ignore"):  # exp overflows to inf for a very negative score: the probability is then 0
        return np.asarray(1.0 / (1.0 + np.exp(-scores)), dtype=np.float64)

