"""CQL2 filters (OGC API – Features Part 3) turned into one bound, allow-listed SQL condition.

Parsing is done by maintained libraries: ``cql2`` reads and validates cql2-text (and checks
cql2-json), ``pygeofilter`` turns the CQL2 JSON into its AST. We walk that AST ourselves into a
:class:`~geodata.conditions.Clause`, so that

- every property is one the viewer may see (the export allow-list of
  :mod:`geodata.exports.fields`, plus ``geometry``): an unknown or hidden one is refused, never
  silently ignored, so a filter cannot probe a column the viewer is not shown;
- a property compares as it is published (the field's SQL expression, e.g. ``to_hex(h3_r9)``);
- every literal is checked against the property's type and bound as a parameter;
- the viewer's scope and the collection's own narrowing are added by the provider as before
  (the clause is ANDed with them, see :func:`geodata.exports.query.conditions`).

Limits before any parsing: :data:`MAX_CHARS` characters, :data:`MAX_DEPTH` levels of nesting,
:data:`MAX_NODES` nodes, :data:`MAX_VERTICES` vertices per geometry. Anything wrong is a
:class:`~geodata.query.FeatureQueryError` (400) naming what and why.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import cql2
import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from shapely.geometry import shape

from geodata.conditions import Clause, Conditions
from geodata.exports.fields import Field
from geodata.query import FeatureQueryError, in_range

LANGUAGES = ("cql2-text", "cql2-json", "cql-text")
"""Accepted ``filter-lang`` values: CQL2's two encodings, and ``cql-text`` (the draft's name,
which GDAL before 3.7 sends), read as cql2-text."""
MAX_CHARS = 8_000
"""Longest filter accepted (characters)."""
MAX_DEPTH = 24
"""Deepest nesting of parentheses / JSON accepted."""
MAX_NODES = 400
"""Most JSON nodes (operators, properties, literals) in a filter."""
MAX_VERTICES = 500
"""Most vertices of a geometry literal."""
MAX_INT = 2**63 - 1
GEOMETRY = "geometry"
"""The queryable that names a feature's geometry."""
PARAM = "filter"

_COMPARISONS: dict[type, str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SPATIAL: dict[type, str] = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}
UNSUPPORTED_OPS = frozenset(
    {
        # pygeofilter reads T_OVERLAPS as T_INTERSECTS; the rest relate two intervals and
        # our time properties are instants.
        "t_overlaps",
        "t_overlappedby",
        "t_meets",
        "t_metby",
        "t_begins",
        "t_begunby",
        "t_contains",
        "t_ends",
        "t_endedby",
        "t_disjoint",
    }
)
_TEMPORAL = (
    ast.TimeOverlaps,  # T_INTERSECTS (T_OVERLAPS is refused before pygeofilter sees it)
    ast.TimeBefore,
    ast.TimeAfter,
    ast.TimeEquals,
    ast.TimeDuring,
)


def _fail(message: str) -> FeatureQueryError:
    return FeatureQueryError(PARAM, message)


def _check_text(text: str) -> None:
    """Size, characters and nesting of the raw filter, before any parser sees it."""
    if len(text) > MAX_CHARS:
        raise _fail(f"too long: at most {MAX_CHARS} characters")
    if not text.strip():
        raise _fail("empty filter")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail("not valid Unicode text (a lone surrogate)") from None
    bad = next((c for c in text if ord(c) < 32 and c not in "\t\n\r"), None)
    if bad is not None:
        raise _fail(f"control character U+{ord(bad):04X} is not allowed")
    depth, deepest, quoted = 0, 0, False
    for c in text:
        if c == "'":
            quoted = not quoted
        elif not quoted and c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif not quoted and c in ")]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise _fail(f"nested too deeply: at most {MAX_DEPTH} levels")


def _count(node: Any, depth: int = 0) -> int:
    """Nodes of a JSON tree; refuses one nested deeper than :data:`MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        raise _fail(f"nested too deeply: at most {MAX_DEPTH} levels")
    if isinstance(node, dict):
        return 1 + sum(_count(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return 1 + sum(_count(v, depth + 1) for v in node)
    return 1


def _no_constant(name: str) -> float:
    raise _fail(f"{name} is not a number")


def _as_json(text: str, lang: str) -> Any:
    """The filter as CQL2 JSON, read and checked by the ``cql2`` library."""
    try:
        if lang in ("cql2-text", "cql-text"):
            return cql2.parse_text(text).to_json()
        data = json.loads(text, parse_constant=_no_constant)
        if _count(data) > MAX_NODES:
            raise _fail(f"too many terms: at most {MAX_NODES}")
        cql2.parse_json(json.dumps(data))
        return data
    except FeatureQueryError:
        raise
    except Exception as exc:  # the parsers' own errors: ParseError, ValidationError, ValueError
        raise _fail(f"not valid {lang}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _normalise(node: Any) -> Any:
    """CQL2 1.0 JSON in the shape pygeofilter 0.4 reads: ``between`` with a [low, high] pair,
    ``bbox`` literals as polygons (pygeofilter's envelope swaps the axes)."""
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    if not isinstance(node, dict):
        return node
    if str(node.get("op", "")).lower() in UNSUPPORTED_OPS:
        raise _fail(f"{str(node['op']).upper()} is not supported")
    if node.get("op") == "between" and len(node.get("args", ())) == 3:
        prop, low, high = node["args"]
        return {"op": "between", "args": [_normalise(prop), [low, high]]}
    if "bbox" in node and isinstance(node["bbox"], list):
        box = node["bbox"]
        if len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
        if len(box) != 4 or not all(isinstance(v, int | float) for v in box):
            raise _fail("a BBOX needs 4 (or 6) numbers")
        minx, miny, maxx, maxy = box
        ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
        return {"type": "Polygon", "coordinates": [ring]}
    return {k: _normalise(v) for k, v in node.items()}


def parse(text: str, lang: str | None) -> ast.Node:
    """The pygeofilter AST of ``text`` in ``lang`` (default cql2-text), after the limits."""
    lang = lang or "cql2-text"
    if lang not in LANGUAGES:
        raise FeatureQueryError("filter-lang", f"{lang!r} is not offered; use one of {LANGUAGES}")
    _check_text(text)
    data = _as_json(text, lang)
    if _count(data) > MAX_NODES:
        raise _fail(f"too many terms: at most {MAX_NODES}")
    try:
        node = parse_cql2_json(_normalise(data))
    except FeatureQueryError:
        raise
    except Exception as exc:
        raise _fail(f"unsupported expression: {_first_line(exc)}") from None
    if isinstance(node, bool):
        return ast.Include(not_=not node)
    if not isinstance(node, ast.Node):
        raise _fail("the filter must be a condition, not a value")
    return node


class _Walker:
    """Builds SQL from an AST over the allowed fields, binding every literal."""

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = {f.name: f for f in fields}
        self.where = Conditions("pyformat")

    def bind(self, value: object) -> str:
        return self.where.bind(value, f"cql{len(self.where.params)}")

    def field(self, node: object) -> Field:
        if not isinstance(node, ast.Attribute):
            raise _fail(f"expected a property, got {_show(node)}")
        found = self.fields.get(node.name)
        if found is None:
            known = ", ".join([*self.fields, GEOMETRY])
            raise _fail(f"unknown queryable {node.name[:60]!r}; queryables: {known}")
        return found

    def sql(self, node: object) -> str:
        handlers: dict[type, Callable[[Any], str]] = {
            ast.And: lambda n: f"({self.sql(n.lhs)} AND {self.sql(n.rhs)})",
            ast.Or: lambda n: f"({self.sql(n.lhs)} OR {self.sql(n.rhs)})",
            ast.Not: lambda n: f"(NOT {self.sql(n.sub_node)})",
            ast.Include: lambda n: "FALSE" if n.not_ else "TRUE",
            ast.Between: self.between,
            ast.Like: self.like,
            ast.In: self.in_,
            ast.IsNull: self.is_null,
        }
        kind = type(node)
        if kind in handlers:
            return handlers[kind](node)
        if kind in _COMPARISONS:
            return self.compare(node, _COMPARISONS[kind])
        if kind in _SPATIAL:
            return self.spatial(node, _SPATIAL[kind])
        if kind in _TEMPORAL:
            return self.temporal(node)
        raise _fail(f"{kind.__name__} is not supported")

    def operand(self, node: object) -> tuple[Field, str]:
        """A property (maybe under CASEI) and its SQL."""
        if isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            field = self.field(node.arguments[0])
            if field.kind != "text":
                raise _fail(f"CASEI applies to text; {field.name!r} is {field.kind}")
            return field, f"lower({field.sql})"
        field = self.field(node)
        return field, field.sql

    def literal(self, field: Field, node: object, *, lower: bool = False) -> str:
        if isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            return self.literal(field, node.arguments[0], lower=True)
        value = _typed(field, node)
        if lower and isinstance(value, str):
            value = value.lower()
        return self.bind(value)

    def compare(self, node: Any, op: str) -> str:
        lhs, rhs = node.lhs, node.rhs
        if not _is_property(lhs) and _is_property(rhs):
            lhs, rhs, op = rhs, lhs, _FLIPPED[op]
        field, column = self.operand(lhs)
        lower = column.startswith("lower(")
        if op not in ("=", "<>") and field.kind == "bool":
            raise _fail(f"{field.name!r} is a boolean: only = and <> apply")
        return f"({column} {op} {self.literal(field, rhs, lower=lower)})"

    def between(self, node: Any) -> str:
        field, column = self.operand(node.lhs)
        if field.kind not in ("int16", "int32", "int64", "float", "timestamp"):
            raise _fail(f"BETWEEN needs a number or time; {field.name!r} is {field.kind}")
        low, high = self.literal(field, node.low), self.literal(field, node.high)
        return f"({'NOT ' if node.not_ else ''}{column} BETWEEN {low} AND {high})"

    def like(self, node: Any) -> str:
        field, column = self.operand(node.lhs)
        if field.kind != "text":
            raise _fail(f"LIKE applies to text; {field.name!r} is {field.kind}")
        pattern = node.pattern
        if isinstance(pattern, ast.Function) and pattern.name == "lower" and pattern.arguments:
            pattern = pattern.arguments[0]
        if not isinstance(pattern, str):
            raise _fail("LIKE needs a text pattern")
        _check_str(pattern)
        if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
            raise _fail("a LIKE pattern may not end with a lone escape character (\\)")
        value = pattern.lower() if column.startswith("lower(") else pattern
        # CQL2's wildcards are SQL's (% and _, escaped by a backslash).
        return f"({column} {'NOT ' if node.not_ else ''}LIKE {self.bind(value)})"

    def in_(self, node: Any) -> str:
        field, column = self.operand(node.lhs)
        lower = column.startswith("lower(")
        items = [_typed(field, v) for v in node.sub_nodes]
        if not items:
            raise _fail("IN needs at least one value")
        if lower:
            items = [v.lower() if isinstance(v, str) else v for v in items]
        return f"({'NOT ' if node.not_ else ''}{column} = ANY({self.bind(items)}))"

    def is_null(self, node: Any) -> str:
        _, column = self.operand(node.lhs)
        return f"({column} IS {'NOT ' if node.not_ else ''}NULL)"

    def spatial(self, node: Any, function: str) -> str:
        lhs, rhs = node.lhs, node.rhs
        if not _is_geometry(lhs) and _is_geometry(rhs):
            if function in ("ST_Contains", "ST_Within"):
                function = "ST_Within" if function == "ST_Contains" else "ST_Contains"
            lhs, rhs = rhs, lhs
        if not _is_geometry(lhs):
            raise _fail(f"spatial functions compare the property {GEOMETRY!r} with a literal")
        literal = self.bind(_geometry(rhs))
        return f"{function}(t.geom, ST_SetSRID(ST_GeomFromGeoJSON({literal}), 4326))"

    def temporal(self, node: Any) -> str:
        field, column = self.operand(node.lhs)
        if field.kind != "timestamp":
            raise _fail(f"temporal functions need a time; {field.name!r} is {field.kind}")
        start, end = _span(node.rhs)
        before = None if start is None else self.bind(start)
        after = None if end is None else before if end == start else self.bind(end)
        inside = " AND ".join(
            [f"{column} >= {before}"] * (before is not None)
            + [f"{column} <= {after}"] * (after is not None)
        )
        match node:
            case ast.TimeOverlaps():
                return f"({inside or f'{column} IS NOT NULL'})"
            case ast.TimeBefore() if before is not None:
                return f"({column} < {before})"
            case ast.TimeAfter() if after is not None:
                return f"({column} > {after})"
            case ast.TimeEquals() if start == end and before is not None:
                return f"({column} = {before})"
            case ast.TimeDuring() if before is not None and after is not None:
                return f"({column} > {before} AND {column} < {after})"
        raise _fail(f"{type(node).__name__} does not apply to this instant or interval")


def _is_property(node: object) -> bool:
    if isinstance(node, ast.Function) and node.name == "lower" and node.arguments:
        return isinstance(node.arguments[0], ast.Attribute)
    return isinstance(node, ast.Attribute)


def _is_geometry(node: object) -> bool:
    return isinstance(node, ast.Attribute) and node.name == GEOMETRY


def _show(node: object) -> str:
    return repr(node)[:60]


def _check_str(value: str) -> str:
    if "\x00" in value:
        raise _fail("text values may not contain NUL")
    return value


def _instant(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    else:
        raise _fail(f"expected a TIMESTAMP or DATE, got {_show(value)}")
    return in_range(PARAM, moment)


def _iso(text: str) -> dt.datetime | None:
    """A quoted RFC 3339 time (what GDAL's cql-text sends for a time), or None."""
    try:
        return dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None


def _span(node: object) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An instant or an interval (open ends: None) as an inclusive span; a DATE is its day."""
    if isinstance(node, values.Interval):
        start = None if node.start is None else _instant(node.start)
        end = None if node.end is None else _instant(node.end)
        if isinstance(node.end, dt.date) and not isinstance(node.end, dt.datetime) and end:
            end += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
        if start and end and start > end:
            raise _fail("the interval's start is after its end")
        return start, end
    moment = _instant(node)
    return moment, moment


def _typed(field: Field, node: object) -> object:
    """``node`` as a value of ``field``'s type, or a 400 saying what was expected."""
    kind = field.kind
    if isinstance(node, ast.Node | values.Geometry | values.Interval):
        raise _fail(f"{field.name!r} compares with a literal, not {_show(node)}")
    number = isinstance(node, int | float) and not isinstance(node, bool) and _finite(node)
    if kind == "text" and isinstance(node, str):
        return _check_str(node)
    if kind == "bool" and isinstance(node, bool):
        return node
    if kind == "timestamp" and isinstance(node, dt.date):
        return _instant(node)
    if kind == "timestamp" and isinstance(node, str) and (moment := _iso(node)) is not None:
        return _instant(moment)
    if kind == "float" and number:
        return float(node)  # type: ignore[arg-type]
    whole = number and float(node).is_integer() and abs(node) <= MAX_INT  # type: ignore[arg-type]
    if kind.startswith("int") and whole:
        return int(node)  # type: ignore[call-overload]
    raise _fail(f"{field.name!r} is {_KIND_WORDS[kind]}; {_show(node)} is not")


def _finite(value: float) -> bool:
    """A finite number that fits a float (a huge JSON integer does not)."""
    try:
        return math.isfinite(value) and abs(value) <= 1e300
    except OverflowError:
        return False


_KIND_WORDS: Mapping[str, str] = {
    "int16": "a whole number",
    "int32": "a whole number",
    "int64": "a whole number",
    "float": "a number",
    "text": "text (quoted)",
    "bool": "TRUE or FALSE",
    "timestamp": "a time: TIMESTAMP('…Z') or DATE('…')",
}


def _geometry(node: object) -> str:
    """A checked lon/lat geometry literal as GeoJSON text."""
    if not isinstance(node, values.Geometry):
        raise _fail(f"expected a geometry literal, got {_show(node)}")
    try:
        geom = shape(node.geometry)
    except Exception as exc:
        raise _fail(f"unreadable geometry ({_first_line(exc)})") from None
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise _fail(f"a geometry may have at most {MAX_VERTICES} vertices")
    if geom.is_empty:
        raise _fail("empty geometry")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _fail("geometries are lon/lat degrees (CRS84)")
    if not geom.is_valid:
        raise _fail(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return shapely.to_geojson(geom)


def clause(text: str, lang: str | None, fields: tuple[Field, ...]) -> Clause:
    """The condition of filter ``text`` over ``fields`` (the viewer's allow-list)."""
    walker = _Walker(fields)
    sql = walker.sql(parse(text, lang))
    return Clause(sql, dict(walker.where.params))


CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
)
"""Part 3 and CQL2 classes implemented (not temporal-functions: only T_INTERSECTS, T_BEFORE,
T_AFTER, T_EQUALS and T_DURING are, on instants)."""
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
FILTER_CRS = (CRS84, "http://www.opengis.net/def/crs/OGC/0/CRS84")


def check_crs(value: str | None) -> None:
    """``filter-crs``: geometry literals are lon/lat (CRS84) only."""
    if value is not None and value not in FILTER_CRS:
        raise FeatureQueryError("filter-crs", f"only {CRS84} is offered")


def openapi_parameters(parameter: Callable[[str, dict, str], dict]) -> list[dict]:
    """The items operation's Part 3 parameters, made by the API's ``parameter`` helper."""
    return [
        parameter("filter", {"type": "string", "maxLength": MAX_CHARS}, "CQL2 filter"),
        parameter(
            "filter-lang",
            {"type": "string", "enum": list(LANGUAGES), "default": "cql2-text"},
            "Encoding of the filter",
        ),
        parameter("filter-crs", {"type": "string", "enum": list(FILTER_CRS)}, "CRS of geometries"),
    ]
