"""The catalogue's records, one module per family of losses (see :mod:`losskit.catalog`)."""

from __future__ import annotations

from ..catalog import Record
from . import autoencoder, classification, detection, embedding, gan, language, regression, segmentation

RECORDS: tuple[Record, ...] = (
    *regression.RECORDS,
    *classification.RECORDS,
    *detection.RECORDS,
    *segmentation.RECORDS,
    *autoencoder.RECORDS,
    *gan.RECORDS,
    *embedding.RECORDS,
    *language.RECORDS,
)
