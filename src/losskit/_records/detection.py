"""Catalogue records of the detection losses."""

from __future__ import annotations

from ..catalog import Record

RECORDS: tuple[Record, ...] = ()
