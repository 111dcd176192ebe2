"""Catalogue records of the segmentation losses."""

from __future__ import annotations

from ..catalog import Record

RECORDS: tuple[Record, ...] = ()
