"""Catalogue records of the autoencoder losses."""

from __future__ import annotations

from ..catalog import Record

RECORDS: tuple[Record, ...] = ()
