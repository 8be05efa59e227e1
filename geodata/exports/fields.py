"""What may leave the store: the one allow-list of exported fields, per table and viewer role.

Every bulk read that leaves OneMap — file exports (CLI and ``/api/export``) and the OGC API —
selects its columns through :func:`allowed_fields`, so they cannot disagree. It is an
allow-list, kept with each table in :mod:`geodata.catalogue`: a column not named there is never
exported. Personal identifiers (``resident_identity``: name, ID-number hash, phone) are not
named anywhere and this module refuses, on import, any policy that would name them; the
residents layer goes out without them.

Roles: one policy (key ``"*"``) serves every role; a role that needs more (or less) gets its
own entry in a table's ``export``, checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, SmallInteger, String, Text

from geodata import catalogue
from geodata.accounts.viewer import Viewer
from geodata.catalogue import AREA_COLUMNS
from geodata.models import Base

Kind = Literal["int16", "int32", "int64", "float", "text", "bool", "timestamp"]

NEVER_EXPORTED_TABLES = frozenset({"resident_identity", "account", "account_scope", "audit_log"})
"""Tables whose columns never leave the store in bulk, for any role."""
NEVER_EXPORTED_COLUMNS = frozenset({"id_hash", "phone", "password_hash"})
"""Column names refused wherever they appear."""


def _policy() -> dict[str, dict[str, tuple[str, ...]]]:
    """The catalogue's export allow-lists as role → table → columns."""
    policy: dict[str, dict[str, tuple[str, ...]]] = {}
    for table in catalogue.TABLES.values():
        for role, columns in table.export.items():
            policy.setdefault(role, {})[table.name] = columns
    return policy


POLICY: dict[str, dict[str, tuple[str, ...]]] = _policy()
"""Exported columns per role (``"*"``: every role without an entry of its own) and table, as
the catalogue (:mod:`geodata.catalogue`, each table's ``export``) lists them."""

SHAPEFILE_NAMES: dict[str, str] = {
    "parent_code": "parent_cd",
    "household_role": "hh_role",
    "building_id": "bldg_id",
    "credit_code": "credit_cd",
    "installed_at": "installed",
    "reported_at": "reported",
    "resolved_at": "resolved",
}
"""dBASE field names are at most 10 characters: the deliberate renames (all others fit)."""

SQL_OVERRIDES: dict[str, str] = {
    # H3 cells as the usual hex strings: 64-bit integers do not survive JavaScript or dBASE.
    "h3_r7": "to_hex(t.h3_r7)",
    "h3_r9": "to_hex(t.h3_r9)",
    # Arrays do not fit CSV, dBASE or most GIS tools: comma-separated tags.
    "care_tags": "array_to_string(t.care_tags, ',')",
}


@dataclass(frozen=True)
class Field:
    """An exported column: its name, SQL expression over alias ``t``, type and dBASE name."""

    name: str
    sql: str
    kind: Kind
    shp: str


def _kind(table: str, column: str) -> Kind:
    if column in SQL_OVERRIDES or column in AREA_COLUMNS:
        return "text"
    sa_type = Base.metadata.tables[table].c[column].type
    kinds: tuple[tuple[tuple[type, ...], Kind], ...] = (
        ((BigInteger,), "int64"),
        ((SmallInteger,), "int16"),
        ((Integer,), "int32"),
        ((Float,), "float"),
        ((Boolean,), "bool"),
        ((DateTime,), "timestamp"),
        ((String, Text), "text"),
    )
    for types, kind in kinds:
        if isinstance(sa_type, types):
            return kind
    raise TypeError(f"{table}.{column}: no export type for {sa_type!r}")


def _field(table: str, column: str) -> Field:
    return Field(
        name=column,
        sql=AREA_COLUMNS.get(column) or SQL_OVERRIDES.get(column, f't."{column}"'),
        kind=_kind(table, column),
        shp=SHAPEFILE_NAMES.get(column, column),
    )


def _check(policy: dict[str, dict[str, tuple[str, ...]]]) -> dict[tuple[str, str], tuple]:
    """Build every (role, table) field list, refusing identifiers and bad dBASE names."""
    built = {}
    for role, tables in policy.items():
        for table, columns in tables.items():
            where = f"export policy {role!r}/{table!r}"
            if table in NEVER_EXPORTED_TABLES or table not in Base.metadata.tables:
                raise ValueError(f"{where}: table may not be exported")
            banned = sorted(set(columns) & NEVER_EXPORTED_COLUMNS)
            if banned:
                raise ValueError(f"{where}: personal identifiers {banned} are never exported")
            fields = tuple(_field(table, c) for c in dict.fromkeys(columns))
            shp = [f.shp for f in fields]
            if any(len(n) > 10 for n in shp) or len(set(shp)) != len(shp):
                raise ValueError(f"{where}: dBASE names must be unique and ≤ 10 chars: {shp}")
            built[role, table] = fields
    return built


_FIELDS = _check(POLICY)


def allowed_fields(table: str, viewer: Viewer) -> tuple[Field, ...]:
    """The columns of ``table`` that ``viewer`` may take out of the store (maybe none): the
    table's list for the viewer's role, else its list for every other role — per table, as the
    catalogue defines ``export``."""
    own = _FIELDS.get((viewer.role, table))
    return own if own is not None else _FIELDS.get((catalogue.EVERY_OTHER_ROLE, table), ())
