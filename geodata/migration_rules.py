"""What Alembic compares between the models and the database."""

from __future__ import annotations

import re

from geoalchemy2 import alembic_helpers

PARTITION = re.compile(r"^reading_(\d{6}|default)$")
"""Names of reading's partitions: reading_YYYYMM (onemap_reading_partition) and the default."""


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Skip reading's partitions (made by onemap_reading_partition), then GeoAlchemy2's rules."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    if table and PARTITION.match(table):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
