"""Catalogue records of the classification losses: probed against a logit, a score or a margin.

Binary losses are probed against the logit (or raw score) of one example whose label is 1 -- the
margin :math:`y\\hat y` of a hinge loss -- and multi-class losses against the logit :math:`z` of
the true class among the logits ``[z, 0, 0]``. Probabilistic losses are probed with
``from_logits=True``, so the axis is the pre-activation score a network outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record


def _positive(loss: str, **fixed: Any) -> Any:
    """The loss of one example with label 1 as a function of its logit (or score) ``x``.

    ``fixed`` holds the keyword arguments the probe always passes (``from_logits=True``).
    """

    def probe(x: Floats, **params: Any) -> Floats:
        x = np.asarray(x, dtype=np.float64)
        return np.asarray(losskit.get(loss)(x, np.ones_like(x), reduction="none", **fixed, **params))

    return probe


def _true_class(loss: str, *, labels: bool, **fixed: Any) -> Any:
    """The loss of one example of class 0 as a function of its logit ``z`` among ``[z, 0, 0]``.

    The target is the integer label 0 when ``labels``, else the one-hot row ``[1, 0, 0]``.
    """

    def probe(z: Floats, **params: Any) -> Floats:
        z = np.asarray(z, dtype=np.float64)
        logits = np.concatenate([z[:, None], np.zeros((z.size, 2))], axis=1)
        if labels:
            target = np.zeros(z.size, dtype=np.int64)
        else:
            target = np.zeros_like(logits)
            target[:, 0] = 1.0
        return np.asarray(losskit.get(loss)(logits, target, reduction="none", **fixed, **params))

    return probe


_FROM_LOGITS = Param("from_logits", False, "bool",
                     "whether pred holds logits (pre-activation scores) rather than probabilities; "
                     "True is faster and numerically safer.")
_AXIS = Param("axis", -1, "an axis of pred", "the class axis (1 for (N, C, H, W) maps).")
_CLASS_WEIGHT = Param("class_weight", None, "None | (C,) array ≥ 0",
                      "one weight per class, to counter class imbalance; 'mean' divides by the total weight.")
_IGNORE_INDEX = Param("ignore_index", -100, "int | None",
                      "label whose entries get loss 0, gradient 0 and no share in the mean (e.g. padding).")


def _smoothing(uniform: str) -> Param:
    return Param("label_smoothing", 0.0, "[0, 1]",
                 f"e: mixes the target with the uniform one, y(1 - e) + e/{uniform}, against over-confidence.")


_MARGIN = Param("margin", 1.0, "≥ 0", "m: the score beyond which a correct example costs nothing.")

RECORDS: tuple[Record, ...] = (
    Record(
        name="binary_cross_entropy",
        family="classification",
        summary="Binary cross-entropy (log loss): the negative log-likelihood of a Bernoulli label.",
        measures="log-likelihood of yes/no labels",
        formula_latex=r"\ell(\hat y, y) = -\big(w_+\, y \log p + (1 - y) \log(1 - p)\big), "
                      r"\quad p = \sigma(\hat y) \text{ with logits}",
        formula_text="ℓ = -(w₊·y·log p + (1 - y)·log(1 - p)),  p = σ(ŷ) with logits",
        params=(
            _FROM_LOGITS,
            Param("pos_weight", None, "None | ≥ 0, scalar or broadcastable (e.g. (C,))",
                  "w₊: weight of the positive term; > 1 trades precision for recall on a rare class."),
            _smoothing("2"),
        ),
        activation="sigmoid",
        target="binary",
        # in the logit: log(1 + e^-x), convex, smooth, slope bounded by 1, unbounded as x -> -inf
        traits=frozenset({"convex", "differentiable", "lipschitz", "margin_based"}),
        advantages=(
            "Proper scoring rule: minimised by the true probability, so sigmoid outputs are calibrated.",
            "Convex and smooth in the logit, with gradient σ(x) - y: simple, well-scaled updates.",
            "Handles multi-label outputs (one independent sigmoid per label) and soft labels.",
        ),
        disadvantages=(
            "Unbounded: a confidently wrong or mislabelled example costs without limit and can dominate.",
            "Dominated by the many easy examples under heavy class imbalance (see focal).",
            "Fed probabilities instead of logits it saturates and loses precision near 0 and 1.",
        ),
        use_cases=(
            "Binary classification and multi-label classification with sigmoid outputs.",
            "Per-pixel foreground masks and the discriminator of a GAN.",
        ),
        references=(
            "Cox, \"The Regression Analysis of Binary Sequences\", JRSS B 20(2), 1958.",
            "Goodfellow, Bengio & Courville, Deep Learning, MIT Press, 2016, section 6.2.2.",
        ),
        alternatives=("focal", "hinge", "dice_bce"),
        example="print(losskit.binary_cross_entropy(np.array([2.0, -1.0]), np.array([1, 0]), from_logits=True))",
        probe=_positive("binary_cross_entropy", from_logits=True),
        probe_axis="margin y·ŷ",
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="categorical_cross_entropy",
        family="classification",
        summary="Categorical cross-entropy: negative log-likelihood of the target classes under a softmax.",
        measures="log-likelihood of the class distribution",
        formula_latex=r"\ell(\hat y, y) = -\sum_c w_c\, y_c \log p_c, "
                      r"\quad p = \mathrm{softmax}(\hat y) \text{ with logits}",
        formula_text="ℓ = -Σ_c w_c·y_c·log p_c,  p = softmax(ŷ) with logits",
        params=(_FROM_LOGITS, _AXIS, _CLASS_WEIGHT, _smoothing("C")),
        activation="softmax",
        target="one_hot",
        traits=frozenset({"convex", "differentiable", "lipschitz"}),
        advantages=(
            "Proper scoring rule: minimised by the true class probabilities, so softmax outputs are calibrated.",
            "Convex and smooth in the logits, with gradient p - y.",
            "Accepts soft targets: label smoothing, mixup, distillation.",
        ),
        disadvantages=(
            "Unbounded: mislabelled examples cost without limit and can dominate training.",
            "Builds and stores a dense one-hot target (sparse_categorical_cross_entropy avoids it).",
            "Keeps pushing correct logits apart, which fosters over-confidence in large networks.",
        ),
        use_cases=(
            "Multi-class classification with a softmax output and one-hot or soft targets.",
            "Knowledge distillation and label-smoothed training, where targets are distributions.",
        ),
        references=(
            "Bridle, \"Probabilistic Interpretation of Feedforward Classification Network Outputs\", "
            "Neurocomputing, NATO ASI Series F68, 1990.",
            "Goodfellow, Bengio & Courville, Deep Learning, MIT Press, 2016, section 6.2.2.",
        ),
        alternatives=("sparse_categorical_cross_entropy", "categorical_focal", "multiclass_hinge"),
        example="print(losskit.categorical_cross_entropy(np.array([[2.0, 0.5, -1.0]]), np.array([[1.0, 0, 0]]), "
                "from_logits=True))",
        probe=_true_class("categorical_cross_entropy", labels=False, from_logits=True),
        probe_axis="score z of the true class, among [z, 0, 0]",
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="sparse_categorical_cross_entropy",
        family="classification",
        summary="Categorical cross-entropy with integer labels: -log p of the true class, without a one-hot target.",
        measures="log-likelihood of the true class",
        formula_latex=r"\ell(\hat y, y) = -(1 - e)\, w_y \log p_y - \frac{e}{C} \sum_c w_c \log p_c",
        formula_text="ℓ = -(1 - e)·w_y·log p_y - (e/C)·Σ_c w_c·log p_c",
        params=(_FROM_LOGITS, _AXIS, _CLASS_WEIGHT, _IGNORE_INDEX, _smoothing("C")),
        activation="softmax",
        target="labels",
        traits=frozenset({"convex", "differentiable", "lipschitz"}),
        advantages=(
            "Same values as categorical_cross_entropy on one-hot targets, with less memory and time.",
            "ignore_index masks padding tokens or unlabelled pixels without a separate weight array.",
            "Convex and smooth in the logits, and calibrated, as the categorical form.",
        ),
        disadvantages=(
            "Hard labels only (label smoothing aside): no mixup or distillation targets.",
            "Unbounded: mislabelled examples cost without limit.",
        ),
        use_cases=(
            "Multi-class classification and language modelling over large vocabularies.",
            "Semantic segmentation with an integer label map and ignored pixels.",
        ),
        references=(
            "Bridle, \"Probabilistic Interpretation of Feedforward Classification Network Outputs\", "
            "Neurocomputing, NATO ASI Series F68, 1990.",
            "Goodfellow, Bengio & Courville, Deep Learning, MIT Press, 2016, section 6.2.2.",
        ),
        alternatives=("categorical_cross_entropy", "sparse_categorical_focal", "multiclass_hinge"),
        example="print(losskit.sparse_categorical_cross_entropy(np.array([[2.0, 0.5, -1.0]]), np.array([0]), "
                "from_logits=True))",
        probe=_true_class("sparse_categorical_cross_entropy", labels=True, from_logits=True),
        probe_axis="score z of the true class, among [z, 0, 0]",
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="hinge",
        family="classification",
        summary="Hinge loss: the SVM loss, zero once an example is on the right side with a margin, linear otherwise.",
        measures="margin violation",
        formula_latex=r"\ell(\hat y, y) = \max(0,\; m - y\,\hat y), \quad y \in \{-1, +1\}",
        formula_text="ℓ = max(0, m - y·ŷ),  y ∈ {-1, +1}",
        params=(_MARGIN,),
        activation="identity",
        target="signed",
        traits=frozenset({"convex", "lipschitz", "margin_based"}),
        advantages=(
            "Convex, and exactly zero beyond the margin: well-classified examples stop contributing (sparsity).",
            "Gradient bounded by 1: grows only linearly with the violation, less than the squared hinge.",
        ),
        disadvantages=(
            "Kink at the margin: only a subgradient there.",
            "Scores are not probabilities: no calibrated confidence without a post-hoc fit (e.g. Platt scaling).",
            "Unbounded: a mislabelled example far on the wrong side still costs without limit.",
        ),
        use_cases=(
            "Linear or kernel SVMs, and a max-margin linear output on learned features.",
            "Binary classification where only the decision, not its probability, matters.",
        ),
        references=("Cortes & Vapnik, \"Support-Vector Networks\", Machine Learning 20, 1995.",),
        alternatives=("squared_hinge", "binary_cross_entropy", "multiclass_hinge"),
        example="print(losskit.hinge(np.array([2.0, 0.5, 0.5]), np.array([1, 1, -1]), reduction=\"none\"))",
        probe=_positive("hinge"),
        probe_axis="margin y·ŷ",
    ),
    Record(
        name="squared_hinge",
        family="classification",
        summary="Squared hinge loss (L2-SVM): the hinge loss squared, smooth at the margin.",
        measures="squared margin violation",
        formula_latex=r"\ell(\hat y, y) = \max(0,\; m - y\,\hat y)^2, \quad y \in \{-1, +1\}",
        formula_text="ℓ = max(0, m - y·ŷ)²,  y ∈ {-1, +1}",
        params=(_MARGIN,),
        activation="identity",
        target="signed",
        traits=frozenset({"convex", "differentiable", "margin_based"}),
        advantages=(
            "Continuously differentiable: gradient-based and second-order solvers converge more smoothly.",
            "Still exactly zero beyond the margin, as the hinge loss.",
        ),
        disadvantages=(
            "Grows quadratically with the violation: outliers and mislabelled examples weigh more than with hinge.",
            "Scores are not calibrated probabilities.",
        ),
        use_cases=(
            "Linear SVMs solved by smooth optimisers (L2-loss SVM).",
            "A max-margin output layer of a neural network trained by gradient descent.",
        ),
        references=(
            "Lee & Lin, \"A Study on L2-Loss (Squared Hinge-Loss) Multiclass SVM\", Neural Computation 25(5), 2013.",
            "Tang, \"Deep Learning using Linear Support Vector Machines\", ICML Workshop, 2013.",
        ),
        alternatives=("hinge", "binary_cross_entropy", "multiclass_hinge"),
        example="print(losskit.squared_hinge(np.array([2.0, 0.5, 0.5]), np.array([1, 1, -1]), reduction=\"none\"))",
        probe=_positive("squared_hinge"),
        probe_axis="margin y·ŷ",
    ),
    Record(
        name="multiclass_hinge",
        family="classification",
        summary="Multi-class hinge loss: the true class's score must beat its rivals' by a margin.",
        measures="multi-class margin violation",
        formula_latex=r"\ell(\hat y, y) = \max\big(0,\; m + \max_{j \ne y} \hat y_j - \hat y_y\big) "
                      r"\;\text{(Crammer-Singer)}, \quad "
                      r"\frac1C \sum_{j \ne y} \max(0,\; m + \hat y_j - \hat y_y) \;\text{(Weston-Watkins)}",
        formula_text="ℓ = max(0, m + max_{j≠y} ŷ_j - ŷ_y)  (Crammer-Singer);  "
                     "(1/C)·Σ_{j≠y} max(0, m + ŷ_j - ŷ_y)  (Weston-Watkins)",
        params=(
            _MARGIN,
            Param("kind", "crammer_singer", "'crammer_singer' | 'weston_watkins'",
                  "penalise only the strongest rival class, or every rival within the margin."),
            _AXIS,
        ),
        activation="identity",
        target="labels",
        traits=frozenset({"convex", "lipschitz"}),
        advantages=(
            "Convex, and zero once the true class wins by the margin: confident examples stop contributing.",
            "Gradient bounded: grows only linearly with the violation.",
        ),
        disadvantages=(
            "Kinks wherever a rival's violation starts: only a subgradient there.",
            "Scores are not probabilities, and once the margin is met the other classes get no ranking signal.",
            "Unbounded: a mislabelled example costs without limit.",
        ),
        use_cases=(
            "Multi-class SVMs, and max-margin output layers of neural networks.",
            "Classification where only the predicted class, not its probability, matters.",
        ),
        references=(
            "Crammer & Singer, \"On the Algorithmic Implementation of Multiclass Kernel-based Vector Machines\", "
            "JMLR 2, 2001.",
            "Weston & Watkins, \"Support Vector Machines for Multi-Class Pattern Recognition\", ESANN, 1999.",
        ),
        alternatives=("hinge", "sparse_categorical_cross_entropy", "categorical_cross_entropy"),
        example="print(losskit.multiclass_hinge(np.array([[3.0, 2.5, -1.0], [0.0, 1.0, 2.0]]), np.array([0, 2]), "
                "reduction=\"none\"))",
        probe=_true_class("multiclass_hinge", labels=True),
        probe_axis="score z of the true class, among [z, 0, 0]",
    ),
)
