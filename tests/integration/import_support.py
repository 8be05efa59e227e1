"""What the import tests share: the tables an import writes, and emptying them."""

from __future__ import annotations

from sqlalchemy import text

from geodata.engine import get_engine

TABLES = ("area", "road", "building", "house", "resident", "organization", "device", "facility",
          "event", "source_link", "import_run", "resident_identity")  # fmt: skip


def emptied(url: str) -> str:
    """``url`` after truncating every table an import writes (ids restart at 1)."""
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return url
