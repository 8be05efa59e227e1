"""A checked :class:`~analytics.question_spec.Question` as one parametrised PostGIS query.

Identifiers (tables, columns) come from the catalogue (:mod:`analytics.question_catalog`, a view
of :mod:`geodata.catalogue`); every value from the question is a bound parameter, collected by
a :class:`~geodata.conditions.Conditions` (``named`` placeholders). Distances are geodesic
(``geography``) metres; a degree box around each feature (``ST_Expand``) lets the GiST indexes
pick the candidates first. Cameras are measured by their field-of-view wedge, the polygon the
map draws, read from its stored, GiST-indexed copy (``device.fov_wedge``): the box around the
wedge itself picks the candidates, from either side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from analytics.question_catalog import BUILDING_COUNT_COLUMNS, DISTANCE_COLUMN, LayerSpec
from analytics.question_spec import Condition, Near, Question, QuestionError, TimeSpan
from geodata import catalogue
from geodata.catalogue import AnalystField
from geodata.conditions import Conditions
from geodata.spatial_sql import METRES_PER_DEGREE, stored_wedge
from geodata.vocab import Text

DIGITS = 7
COMPARISONS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class Context:
    """What the runner looked up before composing: area ids, scope ids, the city's degrees per
    metre, the privacy threshold and the search directions."""

    area_ids: list[int] | None
    scope_ids: list[int] | None
    deg_per_m: float
    min_count: int
    by_reference: tuple[bool, ...] = ()
    """Per near clause: search from the reference side (it is the smaller set)."""


@dataclass(frozen=True)
class Plan:
    """The query and how to read its rows."""

    sql: str
    params: dict[str, object]
    columns: tuple[tuple[str, Text], ...]
    counts_per_building: bool
    nearest: bool


def _column(alias: str, spec: AnalystField) -> str:
    return f'{alias}."{spec.column}"'


def _scope_column(alias: str, layer: LayerSpec) -> str:
    """The column of row ``alias`` that area filters and the viewer's scope apply to (the
    catalogue's scope rule of the layer's table: its area subtree)."""
    return f"{alias}.{catalogue.table(layer.catalogued_as or layer.table).scope.column}"


def _condition(where: Conditions, alias: str, cond: Condition) -> str:
    col = _column(alias, cond.field)
    if cond.op == "has":
        return f"{col} @> CAST({where.bind([cond.value])} AS varchar[])"
    if cond.op == "in":
        assert isinstance(cond.value, list), "question_spec._value gives 'in' a list"
        return f"{col} = ANY({where.bind(list(cond.value))})"
    if cond.op == "between":
        assert isinstance(cond.value, list), "question_spec._value gives 'between' [low, high]"
        low, high = cond.value
        return f"{col} BETWEEN {where.bind(low)} AND {where.bind(high)}"
    return f"{col} {COMPARISONS[cond.op]} {where.bind(cond.value)}"


def _time(where: Conditions, alias: str, span: TimeSpan | None) -> list[str]:
    if span is None:
        return []
    col = _column(alias, span.field)
    out = []
    if span.start is not None:
        out.append(f"{col} >= {where.bind(span.start)}")
    if span.end is not None:
        out.append(f"{col} < {where.bind(span.end)}")
    return out


def _rows_of(where: Conditions, alias: str, layer: LayerSpec, conds, span) -> list[str]:
    """The fixed rows, conditions and time span of ``layer`` on ``alias``."""
    out = [f'{alias}."{c}" = {where.bind(v)}' for c, v in layer.fixed]
    out += [_condition(where, alias, c) for c in conds]
    return out + _time(where, alias, span)


def geometry(layer: LayerSpec, alias: str) -> str:
    """The geometry a layer is measured and drawn by."""
    return stored_wedge(alias) if layer.wedge else f"{alias}.geom"


def _reference_rows(where: Conditions, near: Near, ctx: Context) -> list[str]:
    """The reference layer's own rows: fixed, conditions, time, and scope for case data."""
    rows = _rows_of(where, "r", near.layer, near.conditions, near.time)
    if near.layer.scoped_reference and ctx.scope_ids is not None:
        rows.append(f"{_scope_column('r', near.layer)} = ANY({where.bind(ctx.scope_ids)})")
    return rows


def _close(where: Conditions, near: Near, ctx: Context, subject: str, other: str) -> str:
    """``subject`` (alias) lies within the distance of reference ``r`` measured by ``other``."""
    if near.layer.wedge:
        return _close_to_wedge(where, near, ctx, subject, other)
    margin = where.bind(near.distance_m * ctx.deg_per_m + 1e-9)
    box = f"r.geom && ST_Expand({subject}.geom, {margin})"
    box += f" AND {subject}.geom && ST_Expand(r.geom, {margin})"  # either index may drive
    if near.distance_m == 0:
        return f"{box} AND ST_Intersects({subject}.geom, {other})"
    metres = where.bind(near.distance_m)
    return f"{box} AND ST_DWithin({subject}.geom::geography, ({other})::geography, {metres})"


def _close_to_wedge(where: Conditions, near: Near, ctx: Context, subject: str, wedge: str) -> str:
    """``subject`` lies within the distance of the stored ``wedge``: the boxes are the wedge's
    own (its GiST index or the subject's may drive), not its camera's point widened by the
    longest range."""
    geom = f"{subject}.geom"
    if near.distance_m == 0:
        return f"{wedge} && {geom} AND ST_Intersects({geom}, {wedge})"
    margin = where.bind(near.distance_m * ctx.deg_per_m + 1e-9)
    box = f"{wedge} && ST_Expand({geom}, {margin}) AND {geom} && ST_Expand({wedge}, {margin})"
    metres = where.bind(near.distance_m)
    return f"{box} AND ST_DWithin({geom}::geography, {wedge}::geography, {metres})"


def _near_per_row(where: Conditions, near: Near, ctx: Context) -> str:
    """``[NOT] EXISTS`` a reference feature close to row ``t`` (driven by the subject rows)."""
    inner = [
        *_reference_rows(where, near, ctx),
        _close(where, near, ctx, "t", geometry(near.layer, "r")),
    ]
    negation = "NOT " if near.beyond else ""
    return f'{negation}EXISTS (SELECT 1 FROM "{near.layer.table}" r WHERE {" AND ".join(inner)})'


def _near_by_reference(where: Conditions, near: Near, ctx: Context, question: Question) -> str:
    """``t.id [NOT] IN`` the subject rows close to some reference feature, found from the
    reference side: each reference feature (its wedge built once) probes the subject's index,
    the subject's own filters applied before any distance is measured."""
    subject = question.layer
    ref = " AND ".join(_reference_rows(where, near, ctx)) or "TRUE"
    own = _rows_of(where, "t2", subject, question.conditions, question.time)
    fixed = "".join(f" AND {clause}" for clause in own)
    found = (
        f"SELECT t2.id FROM (SELECT r.geom, {geometry(near.layer, 'r')} AS g "
        f'FROM "{near.layer.table}" r WHERE {ref} OFFSET 0) r '
        f'JOIN "{subject.table}" t2 ON {_close(where, near, ctx, "t2", "r.g")}{fixed}'
    )
    return f"t.id {'NOT ' if near.beyond else ''}IN ({found})"


def _near(
    where: Conditions, near: Near, ctx: Context, question: Question, by_reference: bool
) -> str:
    if by_reference:
        return _near_by_reference(where, near, ctx, question)
    return _near_per_row(where, near, ctx)


def rows_sql(where: Conditions, table: str, alias: str) -> str:
    """The rows of ``table`` (as ``alias``) that match ``where``."""
    return f'SELECT 1 FROM "{table}" {alias} WHERE {where.sql}'


def count_sql(where: Conditions, table: str, alias: str, cap: int) -> str:
    """How many rows of ``table`` (as ``alias``) match ``where`` (counting stops at ``cap``)."""
    return f"SELECT count(*) FROM ({rows_sql(where, table, alias)} LIMIT {where.bind(cap)}) AS x"


def subject_rows(question: Question, ctx: Context) -> tuple[Conditions, str]:
    """The subject rows before any near clause: (conditions, table)."""
    return _subject_where(question, ctx), question.layer.table


def reference_rows(near: Near, ctx: Context) -> tuple[Conditions, str]:
    """The reference rows of a near clause: (conditions, table)."""
    where = Conditions()
    where.extend(_reference_rows(where, near, ctx))
    return where, near.layer.table


def where_sql(question: Question, ctx: Context) -> Conditions:
    """The WHERE clause over the subject rows ``t``."""
    where = _subject_where(question, ctx)
    for near, by_reference in zip(question.near, ctx.by_reference, strict=True):
        where.add(_near(where, near, ctx, question, by_reference))
    return where


def _subject_where(question: Question, ctx: Context) -> Conditions:
    """The subject rows' own filters, selected area, ``within`` shape and viewer's scope."""
    where = Conditions()
    layer = question.layer
    where.extend(_rows_of(where, "t", layer, question.conditions, question.time))
    within = question.within
    if ctx.area_ids is not None:
        where.add(f"{_scope_column('t', layer)} = ANY({where.bind(ctx.area_ids)})")
    if within is not None and within.polygon_geojson is not None:
        shape = f"ST_SetSRID(ST_GeomFromGeoJSON({where.bind(within.polygon_geojson)}), 4326)"
        where.add(f"ST_Intersects(t.geom, {shape})")
    if within is not None and within.bbox is not None:
        box = ", ".join(where.bind(v) for v in within.bbox)
        where.add(f"ST_Intersects(t.geom, ST_MakeEnvelope({box}, 4326))")
    if ctx.scope_ids is not None:
        where.add(f"{_scope_column('t', layer)} = ANY({where.bind(ctx.scope_ids)})")
    return where


def _feature_columns(layer: LayerSpec) -> tuple[tuple[str, Text], ...]:
    return tuple((name, spec.label) for name, spec in layer.fields.items() if spec.shown)


def rows_plan(question: Question, ctx: Context) -> Plan:
    """Features of the subject layer, newest/first by id, at most ``limit``, with the total."""
    where = where_sql(question, ctx)
    layer = question.layer
    columns = _feature_columns(layer)
    selected = ", ".join(_column("t", layer.fields[name]) for name, _ in columns)
    geom = f"ST_AsGeoJSON({geometry(layer, 't')}, {DIGITS})"
    position = f"ST_X(t.loc), ST_Y(t.loc), {geom}"
    if question.nearest is not None:
        nearest = question.nearest
        point = (
            f"ST_SetSRID(ST_MakePoint({where.bind(nearest.lon)}, {where.bind(nearest.lat)}), 4326)"
        )
        limit = where.bind(min(nearest.n, question.limit))
        # The index orders by degrees, not metres: its N nearest give a radius that holds the
        # true N nearest; the rows in that radius's box are then ranked in metres.
        text = f"""WITH knn AS (
    SELECT t.geom FROM "{layer.table}" t WHERE {where.sql}
    ORDER BY t.geom <-> {point} LIMIT {limit}),
radius AS (
    SELECT max(ST_Distance(geom::geography, {point}::geography)) AS m FROM knn)
SELECT {selected}, {position},
       round(ST_Distance(t.geom::geography, {point}::geography)::numeric, 1)::float8
FROM "{layer.table}" t, radius
WHERE {where.sql}
  AND t.geom && ST_Expand({point}, radius.m / ({METRES_PER_DEGREE} * cos(radians(ST_Y({point})))))
ORDER BY ST_Distance(t.geom::geography, {point}::geography), t.id LIMIT {limit}"""
        return Plan(text, where.params, (*columns, DISTANCE_COLUMN), False, True)
    limit = where.bind(question.limit)
    text = f"""SELECT {selected}, {position}, count(*) OVER () AS total
FROM "{layer.table}" t WHERE {where.sql}
ORDER BY t.id LIMIT {limit}"""
    return Plan(text, where.params, columns, False, False)


COUNTS_TAIL = """shown AS (SELECT b, n FROM hits WHERE n >= {least}),
page AS (
    SELECT s.b, bl.name, s.n, ST_X(bl.loc) AS x, ST_Y(bl.loc) AS y,
           ST_AsGeoJSON(bl.geom, {digits})::json AS g
    FROM shown s JOIN building bl ON bl.id = s.b ORDER BY s.n DESC, s.b LIMIT {limit}
)
SELECT (SELECT count(*) FROM shown), (SELECT coalesce(sum(n), 0) FROM shown)::bigint,
       (SELECT count(*) FROM hits WHERE n < {least}),
       coalesce((SELECT json_agg(json_build_array(b, name, n, x, y, g) ORDER BY n DESC, b)
                 FROM page), '[]'::json)::text"""
"""Shown groups (the total people is their sum), the number withheld and the page."""


def counts_plan(question: Question, ctx: Context) -> Plan:
    """People of the subject per building (groups under ``min_count`` withheld), the largest
    first; with the number of groups and people shown and of groups withheld. For a viewer
    who sees counts only (``min_count`` > 1) the buildings are whole units
    (:func:`fixed_counts_plan`)."""
    if ctx.min_count > 1:
        return fixed_counts_plan(question, ctx)
    where = where_sql(question, ctx)
    least = where.bind(ctx.min_count)
    limit = where.bind(question.limit)
    tail = COUNTS_TAIL.format(least=least, limit=limit, digits=DIGITS)
    text = f"""WITH hits AS (
    SELECT h.building_id AS b, count(*) AS n
    FROM "{question.layer.table}" t JOIN house h ON h.id = t.house_id
    WHERE {where.sql} GROUP BY 1
), {tail}"""
    return Plan(text, where.params, BUILDING_COUNT_COLUMNS, True, False)


def check_fixed_categories(question: Question) -> None:
    """Refuse conditions other than one ``care_tags has <tag>`` (the published categories:
    docs/privacy.md): narrower or overlapping conditions could be differenced."""
    conds = question.conditions
    for i, cond in enumerate(conds):
        if cond.field.column != "care_tags" or cond.op != "has" or i > 0:
            raise QuestionError(
                f"where[{i}]",
                "disclosure",
                "residents are counted per whole building, overall or by one care tag "
                "(care_tags has <tag>); other conditions are for roles that see residents",
            )
    if question.time is not None:
        raise QuestionError("time", "disclosure", "residents are not counted by time windows")


def fixed_counts_plan(question: Question, ctx: Context) -> Plan:
    """People per whole building for a counts-only viewer: the place conditions (within, near,
    areas) pick buildings with an active resident there (measured on the layer's distinct
    places), and each picked building counts all its residents of the tag (in the viewer's
    scope) wherever the polygon or distance cut it."""
    check_fixed_categories(question)
    layer = question.layer
    at_places = replace(question, layer=layer.at_places(), conditions=(), time=None)
    where = where_sql(at_places, ctx)
    counted = _rows_of(where, "t", layer, question.conditions, None)
    if ctx.scope_ids is not None:
        counted.append(f"{_scope_column('t', layer)} = ANY({where.bind(ctx.scope_ids)})")
    least = where.bind(ctx.min_count)
    limit = where.bind(question.limit)
    tail = COUNTS_TAIL.format(least=least, limit=limit, digits=DIGITS)
    text = f"""WITH picked AS (
    SELECT DISTINCT t.building_id AS b FROM "{layer.places}" t WHERE {where.sql}
), hits AS (
    SELECT h.building_id AS b, count(*) AS n
    FROM picked p JOIN house h ON h.building_id = p.b JOIN "{layer.table}" t ON t.house_id = h.id
    WHERE {" AND ".join(counted) or "TRUE"} GROUP BY 1
), {tail}"""
    return Plan(text, where.params, BUILDING_COUNT_COLUMNS, True, False)


def plan(question: Question, ctx: Context) -> Plan:
    """The query answering ``question`` for the looked-up context."""
    if question.layer.counts_per_building:
        return counts_plan(question, ctx)
    return rows_plan(question, ctx)
