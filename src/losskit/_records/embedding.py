"""Catalogue records of the embedding losses."""

from __future__ import annotations

from ..catalog import Record

RECORDS: tuple[Record, ...] = ()
