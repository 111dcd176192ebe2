"""Catalogue record of the language-model loss: probed against the logit of the true class.

:func:`losskit.linear_cross_entropy` is probed as the classification losses are: one token whose
one-feature hidden state ``z`` meets the classifier rows ``[1], [0], [0]``, so its logits are
``[z, 0, 0]`` and its label is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record


def _true_class(loss: str) -> Any:
    """The loss of one token of class 0 as a function of its logit ``z`` among ``[z, 0, 0]``."""

    def probe(z: Floats, **params: Any) -> Floats:
        hidden = np.asarray(z, dtype=np.float64)[:, None]
        classifier = np.array([[1.0], [0.0], [0.0]])
        labels = np.zeros(hidden.shape[0], dtype=np.int64)
        return np.asarray(losskit.get(loss)(hidden, classifier, labels, reduction="none", **params))

    return probe


RECORDS: tuple[Record, ...] = (
    Record(
        name="linear_cross_entropy",
        family="language",
        summary="Cross-entropy of a linear classifier head, hidden @ classifier.T + bias, over a large vocabulary: "
                "on torch without ever holding all logits.",
        measures="log-likelihood of the next token",
        formula_latex=r"\ell = -(1 - e)\, w_y \log p_y - \frac{e}{C} \sum_c w_c \log p_c + \lambda \log^2 Z, "
                      r"\quad p = \mathrm{softmax}(h W^\top + b)",
        formula_text="ℓ = -(1 - e)·w_y·log p_y - (e/C)·Σ_c w_c·log p_c + λ·log² Z,  p = softmax(h·Wᵀ + b)",
        params=(
            Param("bias", None, "None | (V,) array", "the output projection's bias."),
            Param("class_weight", None, "None | (V,) array ≥ 0",
                  "one weight per class (token); 'mean' divides by the total weight."),
            Param("ignore_index", -100, "int | None",
                  "label of the tokens that get loss 0, gradient 0 and no share in the mean (padding, prompts)."),
            Param("label_smoothing", 0.0, "[0, 1]",
                  "e: mixes the target with the uniform one, y(1 - e) + e/V, against over-confidence."),
            Param("softcap", None, "None | > 0", "s: caps the logits smoothly to s·tanh(z/s) (Gemma 2)."),
            Param("z_loss", 0.0, "≥ 0",
                  "λ: PaLM's auxiliary loss on log Z, the softmax normaliser, which keeps it near 0 (1e-4)."),
            Param("chunk_size", None, "None | int ≥ 1",
                  "tokens per chunk on torch (default 1024); a chunk's logits are chunk_size × V values."),
        ),
        activation="softmax",
        target="labels",
        traits=frozenset({"convex", "differentiable", "lipschitz"}),
        advantages=(
            "The numbers of sparse_categorical_cross_entropy on the logits, without the (tokens, vocabulary) "
            "logits and their gradient: 8 GiB at 8k tokens and a 128k vocabulary in float32.",
            "On torch, loss and the gradients of hidden states, projection and bias in one chunked pass: "
            "the three matrix products of the naive computation, no more.",
            "Class weights, ignore_index, label smoothing, logit soft-capping and the z-loss in the same pass.",
        ),
        disadvantages=(
            "Only a linear head: a projection followed by anything but a softmax needs the logits.",
            "The other backends (and a double backward) form every logit, as the naive computation does.",
            "Unbounded, as every cross-entropy: mislabelled tokens cost without limit.",
        ),
        use_cases=(
            "Training language models with large vocabularies: next-token prediction, fine-tuning with "
            "prompt tokens ignored.",
            "Any classifier with very many classes whose last layer is linear (retrieval over a catalogue, "
            "extreme classification).",
        ),
        references=(
            "Wijmans et al., \"Cut Your Losses in Large-Vocabulary Language Models\", ICLR 2025.",
            "Hsu et al., \"Liger Kernel: Efficient Triton Kernels for LLM Training\", arXiv:2410.10989, 2024.",
            "Chowdhery et al., \"PaLM: Scaling Language Modeling with Pathways\", JMLR 24, 2023 (z-loss).",
        ),
        alternatives=("sparse_categorical_cross_entropy", "categorical_cross_entropy"),
        example="hidden = np.array([[1.0, 0.0], [0.5, -1.0]])\n"
                "classifier = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])\n"
                "print(losskit.linear_cross_entropy(hidden, classifier, np.array([0, 2])))",
        probe=_true_class("linear_cross_entropy"),
        probe_axis="score z of the true class, among [z, 0, 0]",
        probe_range=(-6.0, 6.0),
    ),
)
