"""Which file column feeds which target field: the user's ``--map``/``--set``, else by name."""

from __future__ import annotations

from dataclasses import dataclass, field

from geodata.errors import MappingError
from geodata.ingest.schema import ID_ALIASES, LayerSchema

GEOMETRY_KEYS = ("lon", "lat", "wkt")


@dataclass(frozen=True)
class Mapping:
    """target field → file column, constants, and the column holding the record id."""

    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    id_column: str | None = None

    def provided(self) -> set[str]:
        """Target fields the file (or a constant) gives a value for."""
        return set(self.columns) | set(self.constants)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered: dict[str, str] = {}
    for c in columns:
        lowered.setdefault(c.strip().lower(), c)
    return next((lowered[n.lower()] for n in names if n.lower() in lowered), None)


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """``["target=column", …]`` → dict; :class:`MappingError` on malformed items."""
    out: dict[str, str] = {}
    for item in pairs or ():
        target, sep, value = item.partition("=")
        if not sep or not target.strip() or not value.strip():
            raise MappingError(f"{option} {item!r}: expected TARGET=VALUE, e.g. name=NAME")
        out[target.strip()] = value.strip()
    return out


def resolve(
    schema: LayerSchema,
    file_columns: list[str],
    given: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    file_name: str = "the file",
) -> Mapping:
    """Check the user's mapping against the layer and the file; fill the rest by name."""
    given = dict(given or {})
    constants = dict(constants or {})
    allowed = set(schema.names) | {"id"} | set(GEOMETRY_KEYS)
    for target in (*given, *constants):
        if target not in allowed:
            raise MappingError(
                f"--map/--set {target}: layer {schema.name} has no field {target!r}; fields: "
                f"{', '.join(schema.names)} (plus id, and lon/lat/wkt for CSV)"
            )
    for target, column in given.items():
        if target not in GEOMETRY_KEYS and column not in file_columns:
            raise MappingError(
                f"--map {target}={column}: {file_name} has no column {column!r} "
                f"(columns: {', '.join(file_columns)})"
            )
    id_column = given.pop("id", None) or _find(file_columns, ID_ALIASES)
    for key in GEOMETRY_KEYS:
        given.pop(key, None)
    taken = set(given.values()) | {id_column}
    columns = dict(given)
    for f in schema.fields:
        if f.name in columns or f.name in constants:
            continue
        found = _find([c for c in file_columns if c not in taken], (f.name, *f.aliases))
        if found:
            columns[f.name] = found
            taken.add(found)
    return Mapping(columns, constants, id_column)
