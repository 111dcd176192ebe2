"""The cases of ``tests/test_fast.py``: calls that each torch fast path must take, by family.

Each family's module lists ``CASES``. A case draws tensors (the first ``grads`` of them are
differentiated) and keyword arguments; the suite checks that the public function takes the fast
path and agrees with ``losskit.reference`` in value and gradient, eagerly, under
``torch.compile(fullgraph=True)`` and under autocast.
"""

from __future__ import annotations

from ._case import FastCase
from .autoencoder import CASES as _autoencoder
from .classification import CASES as _classification
from .detection import CASES as _detection
from .embedding import CASES as _embedding
from .gan import CASES as _gan
from .language import CASES as _language
from .regression import CASES as _regression
from .segmentation import CASES as _segmentation

CASES: list[FastCase] = [*_regression, *_classification, *_detection, *_segmentation, *_autoencoder, *_gan,
                         *_embedding, *_language]

__all__ = ["CASES", "FastCase"]
