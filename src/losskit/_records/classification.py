"""Catalogue records of the classification losses."""

from __future__ import annotations

from ..catalog import Record

RECORDS: tuple[Record, ...] = ()
