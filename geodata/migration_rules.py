"""What Alembic compares between the models and the database."""

from __future__ import annotations

from geoalchemy2 import alembic_helpers


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Skip reading's partitions (made by onemap_reading_partition), then GeoAlchemy2's rules."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    if table and table.startswith("reading_"):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
