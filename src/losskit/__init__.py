"""losskit: the loss functions of deep learning, on NumPy, PyTorch, JAX and any array-API library.

A *loss* is the error of one example (``reduction="none"``); a *cost* aggregates it over the data
(``reduction="mean"`` or ``"sum"``, with optional ``weight``). See ``docs/conventions.md``.
"""

from ._core.checks import checks, set_checks
from ._core.reduction import mean_parts
from ._core.registry import get, names
from .autoencoder import gaussian_kl, js_divergence, kl_divergence, reconstruction
from .catalog import catalog, info
from .classification import (
    binary_cross_entropy,
    categorical_cross_entropy,
    hinge,
    multiclass_hinge,
    sparse_categorical_cross_entropy,
    squared_hinge,
)
from .cost import Cost, CostParts
from .detection import categorical_focal, focal, sparse_categorical_focal
from .embedding import batch_triplet, contrastive, info_nce, triplet
from .gan import gan_discriminator_loss, gan_generator_loss, gan_minimax_value, gradient_penalty, r1_penalty
from .language import linear_cross_entropy
from .recommend import recommend
from .regression import huber, log_cosh, mae, mse, quantile
from .segmentation import dice, dice_bce, focal_tversky, jaccard, tversky

__version__ = "0.1.0"

__all__ = [
    "Cost",
    "CostParts",
    "batch_triplet",
    "binary_cross_entropy",
    "catalog",
    "categorical_cross_entropy",
    "categorical_focal",
    "checks",
    "contrastive",
    "dice",
    "dice_bce",
    "focal",
    "focal_tversky",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gan_minimax_value",
    "gaussian_kl",
    "get",
    "gradient_penalty",
    "hinge",
    "huber",
    "info",
    "info_nce",
    "jaccard",
    "js_divergence",
    "kl_divergence",
    "linear_cross_entropy",
    "log_cosh",
    "mae",
    "mean_parts",
    "mse",
    "multiclass_hinge",
    "names",
    "quantile",
    "r1_penalty",
    "recommend",
    "reconstruction",
    "set_checks",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_focal",
    "squared_hinge",
    "triplet",
    "tversky",
]
