"""Catalogue records of the segmentation losses: probed against the logit of one foreground pixel.

Every overlap loss is probed on the same 2 x 2 image, true mask ``[[1, 1], [0, 0]]``, as a function
of the logit ``z`` of its first foreground pixel; the other three logits are fixed at ``2, -2, -2``
(a fair prediction), and the loss is called with ``mode="binary", from_logits=True`` -- the
pre-activation score a network outputs. Along it the overlap losses are smooth S-curves between two
finite limits: bounded, with a bounded slope, and not convex.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import losskit

from ..catalog import Floats, Param, Record

_MASK = np.array([1.0, 1.0, 0.0, 0.0])
_OTHER_LOGITS = np.array([0.0, 2.0, -2.0, -2.0])  # the first entry is the probed one


def _pixel(loss: str) -> Any:
    """The loss of the probe image as a function of the logit ``z`` of its first foreground pixel."""

    def probe(z: Floats, **params: Any) -> Floats:
        z = np.asarray(z, dtype=np.float64)
        logits = np.tile(_OTHER_LOGITS, (z.size, 1))
        logits[:, 0] = z
        pred = logits.reshape(z.size, 1, 2, 2)  # (N, C=1, 2, 2): one image per value of z
        target = np.tile(_MASK, (z.size, 1)).reshape(pred.shape)
        return np.asarray(losskit.get(loss)(pred, target, mode="binary", from_logits=True, reduction="none",
                                            **params))

    return probe


_PROBE_AXIS = "logit of one foreground pixel (2×2 mask [[1, 1], [0, 0]], other logits 2, -2, -2)"


def _mask_params(*, squared: bool = False) -> tuple[Param, ...]:
    """The keyword arguments every overlap loss shares, in the order of their signatures."""
    return (
        Param("mode", "binary", "'binary' | 'multiclass'",
              "binary: every channel is its own yes/no mask (sigmoid, multi-label); multiclass: the channels "
              "are exclusive classes (softmax over axis), and the target may be an integer label map."),
        Param("from_logits", False, "bool",
              "whether pred holds logits, turned into probabilities by a sigmoid (binary) or a softmax "
              "(multiclass)."),
        Param("axis", 1, "int | None",
              "the class axis (1: channels first, -1: channels last); None: pred is (N, *spatial), one binary "
              "channel."),
        Param("smooth", 1e-5, "≥ 0",
              "s: added to numerator and denominator, so that an empty mask predicted empty costs 0 and the "
              "ratio is always defined."),
        *((Param("squared", False, "bool",
                 "Σp² + Σy² in the denominator instead of Σp + Σy (the V-Net form)."),) if squared else ()),
        Param("batch", False, "bool",
              "pool the sums over the whole batch before scoring (one loss for the batch): the usual choice "
              "when many images hold no foreground."),
        Param("class_weight", None, "None | (C,) array ≥ 0, not all 0",
              "weights of the per-class losses in their mean; a 0 leaves a class (e.g. background) out."),
        Param("ignore_index", None, "int | None",
              "a label (or mask value) whose pixels count in neither the overlap nor the sums."),
    )


# Along the probe the overlap losses are smooth S-curves with finite limits (bounded, bounded slope,
# concave where the pixel is hopeless, convex where it is nearly right); dice_bce adds a cross-entropy
# that grows linearly as the logit goes to -inf, whose curvature does not make up for Dice's concavity.
_OVERLAP = frozenset({"differentiable", "lipschitz", "bounded", "robust"})

_EXAMPLE_MASKS = (
    "p = np.array([[[0.9, 0.7, 0.2, 0.1]]])  # (N=1, C=1, 4 pixels): probabilities\n"
    "y = np.array([[[1.0, 1.0, 0.0, 0.0]]])\n"
)

RECORDS: tuple[Record, ...] = (
    Record(
        name="dice",
        family="segmentation",
        summary="Soft Dice loss: one minus the soft Dice (F1) overlap of the predicted and true masks, per class.",
        measures="mask overlap (Dice / F1)",
        formula_latex=r"\ell = \operatorname{mean}_c \Big(1 - \frac{2 \sum_i p_{ic}\, y_{ic} + s}"
                      r"{\sum_i p_{ic} + \sum_i y_{ic} + s}\Big)",
        formula_text="ℓ = mean_c [1 - (2·Σᵢ pᵢ·yᵢ + s) / (Σᵢ pᵢ + Σᵢ yᵢ + s)]",
        params=_mask_params(squared=True),
        activation="sigmoid",
        target="mask",
        traits=_OVERLAP,
        advantages=(
            "Scores each class's overlap as a whole, so a small structure weighs as much as a large one: "
            "no per-pixel class weights to tune against imbalance.",
            "A smooth version of the Dice score that segmentation is usually evaluated by.",
            "Bounded in [0, 1]: a badly labelled region costs at most 1 per class.",
        ),
        disadvantages=(
            "Not convex, and each pixel's gradient depends on the sums over the whole image: noisy and "
            "unstable when the foreground is small.",
            "On an image without the class, any false positive costs nearly the full loss of 1 (pool with "
            "batch=True, or use class_weight).",
            "Not a proper scoring rule: the probabilities it trains are poorly calibrated, pushed towards 0 and 1.",
        ),
        use_cases=(
            "Medical and other segmentation with a small foreground: organs, lesions, cells.",
            "Fine-tuning a segmentation network for the Dice score it is evaluated on, usually next to a "
            "cross-entropy (dice_bce).",
        ),
        references=(
            "Dice, \"Measures of the Amount of Ecologic Association Between Species\", Ecology 26(3), 1945.",
            "Milletari, Navab & Ahmadi, \"V-Net: Fully Convolutional Neural Networks for Volumetric Medical "
            "Image Segmentation\", 3DV 2016.",
            "Sudre et al., \"Generalised Dice overlap as a deep learning loss function for highly unbalanced "
            "segmentations\", DLMIA 2017.",
        ),
        alternatives=("jaccard", "tversky", "dice_bce", "focal_tversky"),
        example=_EXAMPLE_MASKS + "print(losskit.dice(p, y))",
        probe=_pixel("dice"),
        probe_axis=_PROBE_AXIS,
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="jaccard",
        family="segmentation",
        summary="Soft Jaccard (IoU) loss: one minus the soft intersection over union of the masks, per class.",
        measures="mask overlap (IoU)",
        formula_latex=r"\ell = \operatorname{mean}_c \Big(1 - \frac{\sum_i p_{ic}\, y_{ic} + s}"
                      r"{\sum_i p_{ic} + \sum_i y_{ic} - \sum_i p_{ic}\, y_{ic} + s}\Big)",
        formula_text="ℓ = mean_c [1 - (Σᵢ pᵢ·yᵢ + s) / (Σᵢ pᵢ + Σᵢ yᵢ - Σᵢ pᵢ·yᵢ + s)]",
        params=_mask_params(squared=True),
        activation="sigmoid",
        target="mask",
        traits=_OVERLAP,
        advantages=(
            "A smooth version of the IoU, the metric most segmentation benchmarks report.",
            "Insensitive to the size of the foreground, like Dice; since J = D / (2 - D) it charges a "
            "mediocre overlap more than Dice does.",
            "Bounded in [0, 1]: a badly labelled region costs at most 1 per class.",
        ),
        disadvantages=(
            "Not convex, with Dice's noisy, image-wide gradient on small or empty masks.",
            "Orders two predictions of one image as Dice does (J = D / (2 - D)): only the weighting of "
            "images, classes and gradients differs.",
            "The probabilities it trains are poorly calibrated, as with Dice.",
        ),
        use_cases=(
            "Binary or multi-label segmentation judged by IoU, e.g. buildings or roads in aerial images.",
            "Fine-tuning for the IoU after pre-training with a cross-entropy.",
        ),
        references=(
            "Jaccard, \"The distribution of the flora in the alpine zone\", New Phytologist 11(2), 1912.",
            "Rahman & Wang, \"Optimizing Intersection-Over-Union in Deep Neural Networks for Image "
            "Segmentation\", ISVC 2016.",
        ),
        alternatives=("dice", "tversky", "dice_bce"),
        example=_EXAMPLE_MASKS + "print(losskit.jaccard(p, y))",
        probe=_pixel("jaccard"),
        probe_axis=_PROBE_AXIS,
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="tversky",
        family="segmentation",
        summary="Tversky loss: an overlap loss that weighs false positives (α) and false negatives (β) apart.",
        measures="overlap, false positives and negatives weighed apart",
        formula_latex=r"\ell = \operatorname{mean}_c \Big(1 - \frac{TP + s}{TP + \alpha\, FP + \beta\, FN + s}\Big),"
                      r"\quad TP = \sum p\,y,\ FP = \sum p\,(1 - y),\ FN = \sum (1 - p)\,y",
        formula_text="ℓ = mean_c [1 - (TP + s) / (TP + α·FP + β·FN + s)],  "
                     "TP = Σ p·y, FP = Σ p·(1 - y), FN = Σ (1 - p)·y",
        params=(
            Param("alpha", 0.5, "≥ 0", "α: weight of the (soft) false positives."),
            Param("beta", 0.5, "≥ 0", "β: weight of the (soft) false negatives; β > α favours recall."),
            *_mask_params(),
        ),
        activation="sigmoid",
        target="mask",
        # the defaults alpha = beta = 1/2 make it Dice (with smooth 2s): the same S-curve along the probe
        traits=_OVERLAP,
        advantages=(
            "Sets the trade-off between precision and recall: β > α charges missed foreground more, what "
            "small lesions need.",
            "Contains Dice (α = β = ½) and the Jaccard loss (α = β = 1) as special cases.",
            "Bounded in [0, 1], like Dice.",
        ),
        disadvantages=(
            "Two more hyper-parameters, whose best values depend on the data and on the metric.",
            "Not convex, with Dice's noisy gradient on small or empty masks.",
        ),
        use_cases=(
            "Segmenting small, rare structures (lesions, tumours) where a miss is worse than a false alarm.",
            "Any segmentation whose metric weighs false positives and false negatives unequally.",
        ),
        references=(
            "Tversky, \"Features of similarity\", Psychological Review 84(4), 1977.",
            "Salehi, Erdogmus & Gholipour, \"Tversky loss function for image segmentation using 3D fully "
            "convolutional deep networks\", MLMI 2017.",
        ),
        alternatives=("dice", "focal_tversky", "jaccard"),
        example=_EXAMPLE_MASKS + "print(losskit.tversky(p, y, alpha=0.3, beta=0.7))",
        probe=_pixel("tversky"),
        probe_axis=_PROBE_AXIS,
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="focal_tversky",
        family="segmentation",
        summary="Focal Tversky loss: each class's Tversky loss raised to a power γ (< 1 by default).",
        measures="Tversky overlap, sharpened by γ",
        formula_latex=r"\ell = \operatorname{mean}_c \big(1 - TI_c\big)^{\gamma}, "
                      r"\quad TI_c = \frac{TP + s}{TP + \alpha\, FP + \beta\, FN + s}",
        formula_text="ℓ = mean_c (1 - TI_c)^γ,  TI_c = (TP + s) / (TP + α·FP + β·FN + s)",
        params=(
            Param("alpha", 0.3, "≥ 0", "α: weight of the (soft) false positives."),
            Param("beta", 0.7, "≥ 0", "β: weight of the (soft) false negatives; the default favours recall."),
            Param("gamma", 0.75, "> 0",
                  "γ: the exponent of each class's Tversky loss; γ < 1 shrinks a good class's loss slowly, "
                  "keeping its gradient large (the paper writes it 1/γ, with γ = 4/3)."),
            *_mask_params(),
        ),
        activation="sigmoid",
        target="mask",
        # (1 - TI)^0.75 of an S-curve with a positive lower limit: still a bounded, smooth S-curve in the
        # logit (the infinite slope at a perfect overlap is in the probabilities, and the sigmoid's
        # vanishing slope more than cancels it)
        traits=_OVERLAP,
        advantages=(
            "With γ < 1 a class that is nearly right keeps a large gradient, so training goes on refining "
            "small structures it has already found.",
            "Keeps Tversky's separate weights of false positives and false negatives (recall by default).",
            "Bounded in [0, 1].",
        ),
        disadvantages=(
            "Three hyper-parameters to choose; γ far from 1 can destabilise training.",
            "For γ < 1 its gradient in the probabilities grows without bound as the overlap becomes perfect "
            "(taken as 0 at an exactly perfect one).",
            "Not convex, with Dice's noisy gradient on empty masks.",
        ),
        use_cases=(
            "Lesion segmentation under strong class imbalance, where small regions are hard to learn.",
            "A replacement for tversky when training stalls on the last, hard pixels.",
        ),
        references=(
            "Abraham & Khan, \"A Novel Focal Tversky loss function with improved Attention U-Net for lesion "
            "segmentation\", ISBI 2019.",
        ),
        alternatives=("tversky", "dice", "dice_bce"),
        example=_EXAMPLE_MASKS + "print(losskit.focal_tversky(p, y))",
        probe=_pixel("focal_tversky"),
        probe_axis=_PROBE_AXIS,
        probe_range=(-6.0, 6.0),
    ),
    Record(
        name="dice_bce",
        family="segmentation",
        summary="Dice plus cross-entropy: an overlap term and a per-pixel log-likelihood term, each weighted.",
        measures="overlap plus per-pixel log-likelihood",
        formula_latex=r"\ell = w_D\, \ell_{\text{dice}} + w_{CE}\, \frac{1}{|\Omega|} \sum_{i \in \Omega} "
                      r"-\big(y_i \log p_i + (1 - y_i) \log(1 - p_i)\big)",
        formula_text="ℓ = w_D·ℓ_dice + w_CE·mean_pixels[-(y·log p + (1 - y)·log(1 - p))]",
        params=(
            Param("dice_weight", 1.0, "≥ 0", "w_D: weight of the Dice term."),
            Param("bce_weight", 1.0, "≥ 0",
                  "w_CE: weight of the cross-entropy averaged over the counted pixels (binary in 'binary' "
                  "mode, categorical in 'multiclass' mode)."),
            *_mask_params(),
        ),
        activation="sigmoid",
        target="mask",
        # the cross-entropy grows like -z/4 as the pixel's logit z -> -inf: unbounded, slope bounded; in
        # that tail Dice's concavity (-0.46 e^z) beats the cross-entropy's curvature (e^z / 4)
        traits=frozenset({"differentiable", "lipschitz"}),
        advantages=(
            "The cross-entropy gives every pixel a smooth, well-scaled gradient from the first step; the "
            "Dice term keeps a small foreground from being ignored.",
            "Trains more steadily than Dice alone: the default loss of nnU-Net.",
            "Two weights make the balance between the terms explicit.",
        ),
        disadvantages=(
            "Unbounded through its cross-entropy: a confidently wrong or mislabelled pixel costs without limit.",
            "Not convex (the Dice term), and the two terms live on different scales, so the weights may need "
            "tuning.",
            "class_weight weighs the Dice term's classes only.",
        ),
        use_cases=(
            "A strong default for medical image segmentation (the nnU-Net recipe).",
            "Binary or multi-label masks with a small foreground, where Dice alone trains unsteadily.",
        ),
        references=(
            "Isensee et al., \"nnU-Net: a self-configuring method for deep learning-based biomedical image "
            "segmentation\", Nature Methods 18, 2021.",
            "Taghanaki et al., \"Combo loss: Handling input and output imbalance in multi-organ "
            "segmentation\", Computerized Medical Imaging and Graphics 75, 2019.",
        ),
        alternatives=("dice", "binary_cross_entropy", "focal_tversky"),
        example=_EXAMPLE_MASKS + "print(losskit.dice_bce(p, y))",
        probe=_pixel("dice_bce"),
        probe_axis=_PROBE_AXIS,
        probe_range=(-6.0, 6.0),
    ),
)
