"""Catalogue records of the detection losses: probed against the logit of the true class.

The probes are those of the classification records (``from_logits=True``): the logit of a
positive example for the binary focal loss, the logit :math:`z` of the true class among
``[z, 0, 0]`` for the softmax ones.
"""

from __future__ import annotations

from ..catalog import Param, Record
from .classification import _positive, _true_class

_GAMMA = Param("gamma", 2.0, "≥ 0",
               "γ: how strongly well-classified examples are down-weighted; 0 gives the cross-entropy.")
_FROM_LOGITS = Param("from_logits", False, "bool",
                     "whether pred holds logits rather than probabilities; True is faster and numerically safer.")
_AXIS = Param("axis", -1, "an axis of pred", "the class axis (1 for (N, C, H, W) maps).")
_CLASS_ALPHA = Param("alpha", None, "None | scalar ≥ 0 | (C,) array ≥ 0",
                     "α_c: per-class weights (a scalar scales every class); None weighs every class 1.")
_SMOOTHING = Param("label_smoothing", 0.0, "[0, 1]",
                   "e: mixes the target with the uniform one, y(1 - e) + e/C.")

_LIN = "Lin, Goyal, Girshick, He & Dollár, \"Focal Loss for Dense Object Detection\", ICCV 2017."
_MUKHOTI = "Mukhoti et al., \"Calibrating Deep Neural Networks using Focal Loss\", NeurIPS 2020."

RECORDS: tuple[Record, ...] = (
    Record(
        name="focal",
        family="detection",
        summary="Binary (sigmoid) focal loss: cross-entropy scaled down on examples already classified well.",
        measures="cross-entropy focused on hard examples",
        formula_latex=r"\ell(\hat y, y) = -\alpha_t\,(1 - p_t)^\gamma\,\log p_t, "
                      r"\quad p_t = y\,p + (1 - y)(1 - p), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y)",
        formula_text="ℓ = -α_t·(1 - p_t)^γ·log p_t,  p_t = y·p + (1 - y)·(1 - p),  α_t = α·y + (1 - α)·(1 - y)",
        params=(
            _GAMMA,
            Param("alpha", 0.25, "None | [0, 1]",
                  "α: weight of the positive class, 1 - α of the negative; None weighs both 1."),
            _FROM_LOGITS,
        ),
        activation="sigmoid",
        target="binary",
        # (1 - p_t)^gamma bends the log loss: concave far on the wrong side (any gamma > 0), slope
        # still bounded (it tends to alpha); alpha_t = 0.25 vs 0.75 breaks the symmetry of the labels.
        traits=frozenset({"differentiable", "lipschitz"}),
        advantages=(
            "The easy examples -- in a dense detector, the vast majority of background anchors -- "
            "contribute almost nothing, so the rare hard ones drive training.",
            "Handles extreme foreground-background imbalance without hard-negative mining or sampling.",
            "Smooth in the logit, with a bounded gradient.",
        ),
        disadvantages=(
            "Two more hyper-parameters (gamma, alpha) that interact and need tuning.",
            "Not convex in the logit for gamma > 0, and not a proper scoring rule: its minimiser is not the "
            "true probability (gamma pulls it toward 0.5, alpha shifts it), so scores need recalibration.",
            "Unbounded: it still grows linearly on confidently wrong, possibly mislabelled examples.",
        ),
        use_cases=(
            "Classification heads of one-stage detectors (RetinaNet, FCOS) over dense anchors.",
            "Binary or multi-label tasks with heavy class imbalance, e.g. rare-event segmentation.",
        ),
        references=(_LIN,),
        alternatives=("binary_cross_entropy", "categorical_focal", "dice"),
        example="print(losskit.focal(np.array([3.0, -0.5, -4.0]), np.array([1.0, 1.0, 0.0]), from_logits=True, "
                "reduction=\"none\"))",
        probe=_positive("focal", from_logits=True),
        probe_axis="margin y·ŷ",
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="categorical_focal",
        family="detection",
        summary="Softmax focal loss: categorical cross-entropy scaled down on classes already predicted well.",
        measures="cross-entropy focused on hard examples",
        formula_latex=r"\ell(\hat y, y) = -\sum_c \alpha_c\, y_c\, (1 - p_c)^\gamma \log p_c",
        formula_text="ℓ = -Σ_c α_c·y_c·(1 - p_c)^γ·log p_c",
        params=(_GAMMA, _CLASS_ALPHA, _FROM_LOGITS, _AXIS, _SMOOTHING),
        activation="softmax",
        target="one_hot",
        # the same bend of the log loss as focal: not convex for gamma > 0, slope bounded
        traits=frozenset({"differentiable", "lipschitz"}),
        advantages=(
            "Down-weights the easy examples of a multi-class problem, focusing on the hard ones.",
            "Curbs over-confidence: a network trained with it is often better calibrated than with cross-entropy.",
            "Accepts soft targets and per-class weights.",
        ),
        disadvantages=(
            "gamma (and alpha) must be tuned; too large a gamma under-trains the easy classes.",
            "Not convex in the logits for gamma > 0, and not a proper scoring rule.",
            "Unbounded: mislabelled examples still cost without limit.",
        ),
        use_cases=(
            "Multi-class detection or segmentation heads with a softmax output and imbalanced classes.",
            "Classification where calibrated confidence matters (as a train-time calibration loss).",
        ),
        references=(_LIN, _MUKHOTI),
        alternatives=("categorical_cross_entropy", "sparse_categorical_focal", "focal"),
        example="print(losskit.categorical_focal(np.array([[2.0, 0.5, -1.0]]), np.array([[1.0, 0, 0]]), "
                "from_logits=True))",
        probe=_true_class("categorical_focal", labels=False, from_logits=True),
        probe_axis="score z of the true class, among [z, 0, 0]",
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="sparse_categorical_focal",
        family="detection",
        summary="Softmax focal loss with integer class labels, without building a one-hot target.",
        measures="cross-entropy focused on hard examples",
        formula_latex=r"\ell(\hat y, y) = -\alpha_y\, (1 - p_y)^\gamma \log p_y",
        formula_text="ℓ = -α_y·(1 - p_y)^γ·log p_y",
        params=(
            _GAMMA, _CLASS_ALPHA, _FROM_LOGITS, _AXIS,
            Param("ignore_index", -100, "int | None",
                  "label whose entries get loss 0, gradient 0 and no share in the mean (e.g. unlabelled pixels)."),
            _SMOOTHING,
        ),
        activation="softmax",
        target="labels",
        traits=frozenset({"differentiable", "lipschitz"}),
        advantages=(
            "Same values as categorical_focal on one-hot targets, with less memory and time.",
            "Down-weights the easy examples, and ignore_index masks unlabelled entries.",
        ),
        disadvantages=(
            "gamma (and alpha) must be tuned; not convex in the logits for gamma > 0.",
            "Hard labels only (label smoothing aside), and unbounded on mislabelled examples.",
        ),
        use_cases=(
            "Semantic segmentation with an integer label map, rare classes and ignored pixels.",
            "Multi-class classification with heavy class imbalance and integer labels.",
        ),
        references=(_LIN, _MUKHOTI),
        alternatives=("sparse_categorical_cross_entropy", "categorical_focal", "focal"),
        example="print(losskit.sparse_categorical_focal(np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 0.0]]), "
                "np.array([0, 2]), from_logits=True, reduction=\"none\"))",
        probe=_true_class("sparse_categorical_focal", labels=True, from_logits=True),
        probe_axis="score z of the true class, among [z, 0, 0]",
        probe_range=(-6.0, 6.0),
    ),
)
