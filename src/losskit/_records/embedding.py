"""Catalogue records of the embedding losses: probed against a distance or an angle in a small batch.

The distance-based losses are probed on the side that pulls: against the distance between an
anchor and its positive (for :func:`losskit.contrastive`, a similar pair), on one-dimensional
embeddings, with any negative at a fixed place -- a wrong positive is what makes these losses
unbounded. :func:`losskit.info_nce` compares directions only, so it is probed against the angle of
an anchor that turns from its positive towards a negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record

_NEGATIVE_AT = 2.0
_BATCH_NEGATIVES_AT = (1.2, 2.2)


def _anchor_positive(loss: str) -> Any:
    """The triplet loss of anchor 0, positive ``-x`` and negative ``-2`` (one-dimensional) against ``x >= 0``.

    Every distance is ``|a - b + eps|``, so both grow by the same ``eps``: the loss is ``max(0, x - 1)``.
    """

    def probe(x: Floats, **params: Any) -> Floats:
        x = np.asarray(x, dtype=np.float64)[:, None]
        anchor = np.zeros_like(x)
        return np.asarray(losskit.get(loss)(anchor, -x, np.full_like(x, -_NEGATIVE_AT), reduction="none",
                                            **params))

    return probe


def _batch_positive(loss: str) -> Any:
    """The loss of anchor 0 in the one-dimensional batch ``[0, x, 1.2, 2.2]``, labels ``[0, 0, 1, 1]``.

    ``x`` is both the position of the anchor's positive and its distance; the other anchors' losses are
    left out.
    """

    def probe(x: Floats, **params: Any) -> Floats:
        fn = losskit.get(loss)
        labels = np.array([0, 0, 1, 1])
        batch = np.array([0.0, 0.0, *_BATCH_NEGATIVES_AT])[:, None]
        out = np.empty(np.size(x))
        for i, xi in enumerate(np.asarray(x, dtype=np.float64).ravel()):
            batch[1, 0] = xi
            out[i] = np.asarray(fn(batch, labels, reduction="none", **params))[0]
        return out

    return probe


def _similar_pair(loss: str) -> Any:
    """The loss of a similar pair of one-dimensional embeddings ``0`` and ``x`` against ``x >= 0``, their distance."""

    def probe(x: Floats, **params: Any) -> Floats:
        x = np.asarray(x, dtype=np.float64)[:, None]
        same = np.ones(x.shape[0], dtype=np.int64)
        return np.asarray(losskit.get(loss)(np.zeros_like(x), x, same, reduction="none", **params))

    return probe


def _anchor_angle(loss: str) -> Any:
    """The loss of anchor 0 at angle ``theta`` in the batch: anchor, its positive at angle 0, a negative at π/2."""

    def probe(theta: Floats, **params: Any) -> Floats:
        fn = losskit.get(loss)
        labels = np.array([0, 0, 1])
        out = np.empty(np.size(theta))
        for i, t in enumerate(np.asarray(theta, dtype=np.float64).ravel()):
            batch = np.array([[np.cos(t), np.sin(t)], [1.0, 0.0], [0.0, 1.0]])
            out[i] = np.asarray(fn(batch, labels, reduction="none", **params))[0]
        return out

    return probe


def _distance(choices: str = "'euclidean' | 'squared_euclidean' | 'cosine'") -> Param:
    return Param("distance", "euclidean", choices,
                 "d: the distance between two embeddings (cosine: 1 - cosine similarity).")


# Along the pulling side a hinge (triplet losses) or a square (contrastive) of the distance: convex in
# it, unbounded; the hinges have kinks and a bounded slope, the square is smooth with an unbounded slope.
RECORDS: tuple[Record, ...] = (
    Record(
        name="triplet",
        family="embedding",
        summary="Triplet margin loss: an anchor must be closer to its positive than to its negative, by a margin.",
        measures="positive closer than negative",
        formula_latex=r"\ell = \max\big(0,\; d(a, p) - d(a, n) + m\big)",
        formula_text="ℓ = max(0, d(a, p) - d(a, n) + m)",
        params=(
            Param("margin", 1.0, "≥ 0", "m: how much farther than the positive the negative must be."),
            _distance(),
            Param("swap", False, "bool",
                  "replace d(a, n) by min(d(a, n), d(p, n)), the harder of the two negative distances."),
            Param("eps", 1e-6, "≥ 0",
                  "'euclidean': added to the difference, as torch does (0 for the exact distance); 'cosine': "
                  "the floor of the norms."),
        ),
        activation="none",
        target="pairs",
        traits=frozenset({"convex", "lipschitz"}),
        advantages=(
            "Only relative distances matter: no absolute distance is imposed on a pair, so each class can "
            "spread as the data needs.",
            "Triplets already satisfied by the margin cost 0: the effort goes to the violated ones.",
            "Slope bounded in the distances: a badly placed triplet pulls with a bounded force.",
        ),
        disadvantages=(
            "Most random triplets are easy (loss 0): training is slow unless hard triplets are mined "
            "(batch_triplet).",
            "A kink at the margin, and convex in the distances but not in the embeddings: the negative's "
            "distance enters with a minus sign.",
            "Unbounded: a wrong positive far from the anchor costs in proportion to its distance.",
        ),
        use_cases=(
            "Face recognition and person re-identification embeddings.",
            "Learning local image descriptors and retrieval embeddings from given triplets.",
        ),
        references=(
            "Weinberger & Saul, \"Distance Metric Learning for Large Margin Nearest Neighbor Classification\", "
            "JMLR 10, 2009.",
            "Schroff, Kalenichenko & Philbin, \"FaceNet: A Unified Embedding for Face Recognition and "
            "Clustering\", CVPR 2015.",
            "Balntas et al., \"Learning local feature descriptors with triplets and shallow convolutional "
            "neural networks\", BMVC 2016.",
        ),
        alternatives=("batch_triplet", "contrastive", "info_nce"),
        example="a = np.array([[0.0, 0.0]])\n"
                "p = np.array([[0.3, 0.4]])\n"
                "n = np.array([[0.6, 0.0]])\n"
                "print(losskit.triplet(a, p, n))",
        probe=_anchor_positive("triplet"),
        probe_axis="anchor-positive distance d(a, p) (the negative at distance 2)",
        probe_range=(0.0, 3.0),
    ),
    Record(
        name="batch_triplet",
        family="embedding",
        summary="Triplet loss over the triplets mined inside a labelled batch: all, the hardest, or semi-hard.",
        measures="relative distances within a batch",
        formula_latex=r"\ell_a = \sum_{(p, n) \in T(a)} \max\big(0,\; d(a, p) - d(a, n) + m\big)",
        formula_text="ℓ_a = Σ_(p,n)∈T(a) max(0, d(a, p) - d(a, n) + m)  (T(a): the anchor's mined triplets)",
        params=(
            Param("margin", 0.2, "≥ 0", "m: how much farther than the positive a negative must be."),
            Param("mining", "all", "'all' | 'hard' | 'semi_hard'",
                  "which triplets count: every (positive, negative) pair of the anchor, its farthest positive "
                  "with its closest negative (batch hard), or the negatives farther than the positive but "
                  "within the margin (FaceNet's semi-hard)."),
            _distance(),
            Param("average", "nonzero", "'nonzero' | 'mined'",
                  "what 'mean' divides by: the triplets with a positive loss, or all mined triplets."),
        ),
        activation="none",
        target="pairs",
        # two hinges of the positive's distance (kinks at 1 and 2 along the probe): convex, slope up to 2
        traits=frozenset({"convex", "lipschitz"}),
        advantages=(
            "Forms its own triplets from a labelled batch: up to N³ of them from N embeddings, with no extra "
            "forward passes.",
            "Hard and semi-hard mining focus training on informative triplets; the non-zero mean keeps "
            "satisfied triplets from diluting the loss.",
            "Slope bounded in the distances.",
        ),
        disadvantages=(
            "Memory O(N³) for 'all' and 'semi_hard' mining; each batch needs several examples of each class "
            "(P×K sampling).",
            "Hard mining is sensitive to label noise and can collapse the embedding early in training.",
            "Unbounded, with kinks at the margin, and not convex in the embeddings.",
        ),
        use_cases=(
            "Person re-identification and face recognition trained on P×K batches (batch hard).",
            "Metric learning for image retrieval from class labels.",
        ),
        references=(
            "Schroff, Kalenichenko & Philbin, \"FaceNet: A Unified Embedding for Face Recognition and "
            "Clustering\", CVPR 2015.",
            "Hermans, Beyer & Leibe, \"In Defense of the Triplet Loss for Person Re-Identification\", "
            "arXiv:1703.07737, 2017.",
        ),
        alternatives=("triplet", "info_nce", "contrastive"),
        example="x = np.array([[0.0, 0.0], [0.1, 0.3], [0.3, 0.0], [0.9, 0.2]])\n"
                "labels = np.array([0, 0, 1, 1])\n"
                "print(losskit.batch_triplet(x, labels, mining=\"hard\"))",
        probe=_batch_positive("batch_triplet"),
        probe_axis="distance of anchor 0 from its positive (1-D batch: anchor at 0, negatives at 1.2 and 2.2)",
        probe_range=(0.0, 3.0),
    ),
    Record(
        name="contrastive",
        family="embedding",
        summary="Contrastive (pair) loss: similar pairs are pulled together, dissimilar ones pushed beyond a "
                "margin.",
        measures="pair distance against a same/different label",
        formula_latex=r"\ell = \tfrac12\, s\, d^2 + \tfrac12\,(1 - s) \max(0,\; m - d)^2, \quad d = d(x_1, x_2)",
        formula_text="ℓ = ½·s·d² + ½·(1 - s)·max(0, m - d)²,  d = d(x₁, x₂), s = 1 for a similar pair",
        params=(
            Param("margin", 1.0, "≥ 0", "m: the distance beyond which a dissimilar pair costs nothing."),
            _distance(),
        ),
        activation="none",
        target="pairs",
        # a similar pair costs d²/2: convex and smooth, with an unbounded slope and value
        traits=frozenset({"convex", "differentiable"}),
        advantages=(
            "Needs only pairs labelled same or different, the simplest supervision for metric learning.",
            "Smooth in the distance (both terms are squares); dissimilar pairs beyond the margin cost 0.",
            "Gives distances an absolute meaning (similar near 0, dissimilar beyond m), so a threshold "
            "decides verification.",
        ),
        disadvantages=(
            "Unbounded for similar pairs: a mislabelled similar pair far apart costs its squared distance.",
            "Pulls every similar pair to one point, ignoring the spread within a class; one absolute margin "
            "is hard to choose.",
            "With the Euclidean distance a dissimilar pair at exactly the same point gets gradient 0 and is "
            "not pushed apart.",
        ),
        use_cases=(
            "Siamese networks for verification: same signature, face or speaker or not.",
            "Dimensionality reduction that keeps a neighbourhood graph (Hadsell et al.).",
        ),
        references=(
            "Chopra, Hadsell & LeCun, \"Learning a Similarity Metric Discriminatively, with Application to Face "
            "Verification\", CVPR 2005.",
            "Hadsell, Chopra & LeCun, \"Dimensionality Reduction by Learning an Invariant Mapping\", CVPR 2006.",
        ),
        alternatives=("triplet", "info_nce", "batch_triplet"),
        example="x1 = np.array([[0.0, 0.0], [0.0, 0.0]])\n"
                "x2 = np.array([[0.3, 0.4], [0.6, 0.0]])\n"
                "print(losskit.contrastive(x1, x2, np.array([1, 0])))",
        probe=_similar_pair("contrastive"),
        probe_axis="distance of a similar pair",
        probe_range=(0.0, 3.0),
    ),
    Record(
        name="info_nce",
        family="embedding",
        summary="InfoNCE / NT-Xent: each positive pair is a softmax classification against the anchor's "
                "negatives, on cosine similarities over a temperature.",
        measures="positive more similar than the negatives",
        formula_latex=r"\ell_a = \sum_{p \in P(a)} -\log \frac{e^{s_{ap}}}{e^{s_{ap}} + \sum_{n \in N(a)} "
                      r"e^{s_{an}}}, \quad s_{ij} = \cos(x_i, x_j) / \tau",
        formula_text="ℓ_a = Σ_p∈P(a) -log[e^(s_ap) / (e^(s_ap) + Σ_n∈N(a) e^(s_an))],  s_ij = cos(x_i, x_j) / τ",
        params=(
            Param("temperature", 0.07, "> 0",
                  "τ: divides the cosine similarities; a small τ sharpens the softmax and puts the gradient "
                  "on the hardest negatives."),
        ),
        activation="none",
        target="pairs",
        # softplus((sin θ - cos θ) / τ) along the probe: smooth, periodic, between two finite bounds
        traits=frozenset({"differentiable", "lipschitz", "bounded", "robust"}),
        advantages=(
            "Every other example of the batch is a negative: many negatives per positive at no extra cost, "
            "the workhorse of self-supervised learning.",
            "Cosine similarities make it bounded (about 2/τ + log of the number of negatives per pair) and "
            "blind to the embeddings' norms.",
            "Smooth, and stable for any temperature (computed in log space).",
        ),
        disadvantages=(
            "Needs large batches (many negatives); examples of one class given different labels act as "
            "false negatives.",
            "Sensitive to the temperature, and not convex in the embeddings.",
            "Memory O(N²) in the batch size.",
        ),
        use_cases=(
            "Self-supervised contrastive learning: SimCLR gives the two augmented views of an image one label.",
            "Representation learning and retrieval from class labels, each pair of one class a positive.",
        ),
        references=(
            "van den Oord, Li & Vinyals, \"Representation Learning with Contrastive Predictive Coding\", "
            "arXiv:1807.03748, 2018.",
            "Chen et al., \"A Simple Framework for Contrastive Learning of Visual Representations\", ICML 2020.",
            "Sohn, \"Improved Deep Metric Learning with Multi-class N-pair Loss Objective\", NeurIPS 2016.",
        ),
        alternatives=("contrastive", "batch_triplet", "triplet"),
        example="x = np.array([[1.0, 0.1], [0.9, 0.2], [-0.2, 1.0], [0.1, 0.8]])\n"
                "print(losskit.info_nce(x, np.array([0, 0, 1, 1]), temperature=0.5))",
        probe=_anchor_angle("info_nce"),
        probe_axis="angle θ of anchor 0 in radians (its positive at angle 0, a negative at π/2)",
        probe_range=(-np.pi, np.pi),
    ),
)
