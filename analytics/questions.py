"""Analyst questions without SQL (空间分析): a JSON question in, features + table + CSV out.

:func:`ask` checks the question (:mod:`analytics.question_spec`), looks up what it names in
the store (area codes, the viewer's scope, the sizes of both sides), composes one parametrised
query (:mod:`analytics.question_sql`) and runs it in a read-only transaction with a statement
timeout. No text from the question becomes SQL.

Privacy: residents are answered only as counts per building. Buildings with fewer than
:data:`geodata.privacy.MIN_COUNT` matching people are withheld (their number is reported)
unless the viewer is an admin, or a grid worker (whose scope is its own grids).
Scope: every subject row lies in the viewer's areas (the subtrees of ``area_ids``). Reference
layers of public things (hydrants, cameras, buildings …) count city-wide — a hydrant across
the grid's border still serves it — while incidents as a reference stay inside the scope.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from analytics import question_sql
from analytics.question_spec import Limits, Question, QuestionError, parse_question
from geodata import city_time
from geodata.accounts.viewer import Viewer
from geodata.area_subtree import roots, subtree_ids
from geodata.conditions import Conditions
from geodata.engine import get_engine, heavy_engine, planned_rows
from geodata.errors import OneMapError
from geodata.privacy import MIN_COUNT
from geodata.settings import Settings
from geodata.spatial_sql import degrees_per_metre
from geodata.vocab import UNSUPPRESSED_ROLES, Role, Text

SIZE_CAP = 20_000
"""Row counts that decide which side of a distance search drives it stop here."""


class QuestionTimeout(OneMapError):
    """The question ran longer than the statement timeout (narrow the area or the filters)."""

    status = 504
    code = "timeout"
    TITLE: ClassVar[dict[str, str]] = {"zh": "查询超时", "en": "Question timed out"}

    def details(self) -> dict[str, object]:
        """The code and the zh/en title of the problem."""
        return {"code": self.code, "title": dict(self.TITLE)}


@dataclass
class AnalysisAnswer:
    """An answer: GeoJSON features, a table (columns + rows) and what was asked."""

    columns: tuple[tuple[str, Text], ...]
    rows: list[list[object]]
    features: list[dict[str, object]]
    points: list[tuple[float | None, float | None]]
    """Lon/lat of each row's representative point (for the CSV)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """JSON values: what was asked, counts (``total`` …), timings."""

    def as_dict(self) -> dict[str, object]:
        """The JSON body: a FeatureCollection with ``table`` and the answer's metadata."""
        return {
            "type": "FeatureCollection",
            **self.meta,
            "table": {
                "columns": [{"name": n, "label": dict(label)} for n, label in self.columns],
                "rows": self.rows,
            },
            "features": self.features,
        }

    def to_csv(self) -> str:
        """The table as CSV (UTF-8 text; with lon/lat of each row's representative point)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([n for n, _ in self.columns] + ["lon", "lat"])
        for row, (lon, lat) in zip(self.rows, self.points, strict=True):
            writer.writerow([_csv_value(v) for v in row] + [lon, lat])
        return out.getvalue()


def _csv_value(value: object) -> object:
    return "" if value is None else value


def limits(settings: Settings) -> Limits:
    """The question limits of ``settings``."""
    return Limits(
        max_features=settings.analytics.analyze_max_features,
        max_distance_m=settings.analytics.analyze_max_distance_m,
        max_polygon_vertices=settings.analytics.analyze_max_polygon_vertices,
        extent=settings.city.extent,
        timezone=settings.city.timezone,
    )


def min_count(viewer: Viewer) -> int:
    """The smallest resident group the viewer may see (1: every group)."""
    if viewer.role in UNSUPPRESSED_ROLES:
        return 1
    if viewer.role == Role.grid_worker and viewer.area_ids is not None:
        return 1
    return MIN_COUNT


@contextmanager
def read_only(url: str, timeout_s: float, engine: Engine | None = None) -> Iterator[Connection]:
    """A connection in a read-only transaction whose statements stop after ``timeout_s``
    (from ``engine``'s pool when given, else the process-wide one's)."""
    with (engine or get_engine(url)).connect() as conn, conn.begin() as trans:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        conn.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"),
            {"ms": str(max(1, int(timeout_s * 1000)))},
        )
        try:
            yield conn
        finally:
            trans.rollback()


def _subtree(conn: Connection, column: Literal["id", "code"], value: object) -> list[int]:
    """The area subtree (:mod:`geodata.area_subtree`) of the areas whose ``column`` is ``value``."""
    return subtree_ids(
        lambda sql, params: conn.execute(text(sql), params), roots("named", column, value)
    )


def _area_ids(conn: Connection, question: Question) -> list[int] | None:
    within = question.within
    if within is None or (within.area_code is None and within.area_id is None):
        return None
    if within.area_code is not None:
        ids = _subtree(conn, "code", within.area_code)
        what = f"no area has code {within.area_code!r}"
    else:
        ids = _subtree(conn, "id", within.area_id)
        what = f"no area has id {within.area_id}"
    if not ids:
        path = "within.area" if within.area_code is not None else "within.area_id"
        raise QuestionError(path, "unknown_area", what)
    return ids


def _scope_ids(conn: Connection, viewer: Viewer) -> list[int] | None:
    if viewer.area_ids is None:
        return None
    return _subtree(conn, "id", viewer.area_ids)


def _size(conn: Connection, rows: tuple[Conditions, str], alias: str) -> float:
    """How many of ``rows`` (conditions on ``alias``, table) there are: counted up to
    :data:`SIZE_CAP`, beyond it the planner's estimate."""
    where, table = rows
    select = question_sql.rows_sql(where, table, alias)
    counted = question_sql.count_sql(where, table, alias, SIZE_CAP)
    n = int(conn.execute(text(counted), where.params).scalar_one())
    if n < SIZE_CAP:
        return n
    planned = planned_rows(lambda sql, p: list(conn.execute(text(sql), p)), select, where.params)
    return max(float(SIZE_CAP), planned)


def _by_reference(
    conn: Connection, question: Question, ctx: question_sql.Context
) -> tuple[bool, ...]:
    """Per near clause: True when its reference rows are fewer than the subject rows (then
    the search starts from them). Both are counted up to :data:`SIZE_CAP` and estimated by the
    planner beyond (at 9.4 million residents 25,000 tall buildings and 43,000 hydrants both
    pass the cap; starting from the hydrants took 2.5 s, from the buildings 0.4 s). The subject
    rows are those of the selected area, ``within`` shape and viewer's scope: the fire lanes of
    one street start the search, not the city's 32,000 cameras."""
    if not question.near:
        return ()
    subject = _size(conn, question_sql.subject_rows(question, ctx), "t")
    return tuple(
        _size(conn, question_sql.reference_rows(near, ctx), "r") <= subject
        for near in question.near
    )


def context(
    conn: Connection, question: Question, viewer: Viewer, settings: Settings
) -> question_sql.Context:
    """What the query needs from the store besides the question."""
    ctx = question_sql.Context(
        area_ids=_area_ids(conn, question),
        scope_ids=_scope_ids(conn, viewer),
        deg_per_m=degrees_per_metre(settings.city.extent),
        min_count=min_count(viewer),
    )
    return dataclasses.replace(ctx, by_reference=_by_reference(conn, question, ctx))


def _json_value(value: object, tz: str) -> object:
    """A stored value as JSON: instants as ISO 8601 with the city's offset (zone ``tz``)."""
    if isinstance(value, dt.datetime):
        return city_time.iso(value, tz)
    return value


def _feature(fid: str, geometry: object, props: dict[str, object]) -> dict[str, object]:
    geom = json.loads(geometry) if isinstance(geometry, str) else geometry
    return {"type": "Feature", "id": fid, "geometry": geom, "properties": props}


def _row_answer(
    question: Question, plan: question_sql.Plan, rows: Sequence[Any], tz: str
) -> AnalysisAnswer:
    names = [n for n, _ in plan.columns]
    width = len(names) - (1 if plan.nearest else 0)
    table, features, points = [], [], []
    for row in rows:
        values = [_json_value(v, tz) for v in row[:width]]
        if plan.nearest:
            values.append(row[width + 3])
        table.append(values)
        props = dict(zip(names, values, strict=True))
        points.append((row[width], row[width + 1]))
        features.append(_feature(f"{question.layer.name}-{props['id']}", row[width + 2], props))
    total = len(rows) if plan.nearest or not rows else int(rows[0][width + 3])
    return AnalysisAnswer(plan.columns, table, features, points, {"total": total})


def _count_answer(plan: question_sql.Plan, row) -> AnalysisAnswer:
    groups, people, withheld, page = row
    table, features, points = [], [], []
    for b, name, n, x, y, geom in json.loads(page):
        table.append([b, name, n])
        points.append((x, y))
        props = {"building_id": b, "building": name, "count": n}
        features.append(_feature(f"building-{b}", geom, props))
    meta = {"total": int(groups), "people": int(people), "withheld_groups": int(withheld)}
    return AnalysisAnswer(plan.columns, table, features, points, meta)


def windows(question: Question, tz: str) -> list[dict[str, object]]:
    """The question's time windows as asked (``part``, ``layer``, ``field``, ``from``/``to`` as
    ISO 8601 with the city's offset, None for an open end): what "the last 24 hours" meant."""
    spans = [("time", question.layer, question.time)]
    spans += [(f"near[{i}].time", n.layer, n.time) for i, n in enumerate(question.near)]
    return [
        {"part": part, "layer": layer.name,
         "field": next(k for k, f in layer.fields.items() if f == span.field),
         "from": city_time.iso(span.start, tz), "to": city_time.iso(span.end, tz)}
        for part, layer, span in spans
        if span is not None
    ]  # fmt: skip


def _describe(
    question: Question, ctx: question_sql.Context, answer: AnalysisAnswer, tz: str
) -> None:
    """The answer's metadata: what was asked, its time windows and zone, how many, capped,
    privacy threshold."""
    answer.meta |= {
        "timezone": tz,
        "windows": windows(question, tz),
        "layer": question.layer.name,
        "title": dict(question.layer.title),
        "question": question.echo,
        "count": len(answer.rows),
        "capped": answer.meta["total"] > len(answer.rows),
        "distances": "geodesic metres",
    }
    if question.layer.counts_per_building:
        answer.meta |= {"by": "building", "min_count": ctx.min_count}


def ask(
    url: str, spec: object, viewer: Viewer, settings: Settings, now: dt.datetime | None = None
) -> AnalysisAnswer:
    """The answer to question ``spec`` (JSON-like) for ``viewer`` from the store at ``url``.

    Runs on heavy work's own pool (:func:`geodata.engine.heavy_engine`), not the one map
    requests and intake use. Raises :class:`QuestionError` for a question that cannot be asked and
    :class:`QuestionTimeout` when it runs longer than ``settings.analytics.analyze_timeout_s``.
    """
    question = parse_question(spec, limits(settings), now)
    started = time.perf_counter()
    try:
        engine = heavy_engine(url, settings.analytics.heavy_global_limit)
        with read_only(url, settings.analytics.analyze_timeout_s, engine) as conn:
            ctx = context(conn, question, viewer, settings)
            plan = question_sql.plan(question, ctx)
            rows = conn.execute(text(plan.sql), plan.params).all()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
            raise QuestionTimeout(
                f"the question took longer than {settings.analytics.analyze_timeout_s:g} s; "
                "narrow the area, the time window or the filters"
            ) from None
        raise
    if plan.counts_per_building:
        answer = _count_answer(plan, rows[0])
    else:
        answer = _row_answer(question, plan, rows, settings.city.timezone)
    _describe(question, ctx, answer, settings.city.timezone)
    answer.meta["seconds"] = round(time.perf_counter() - started, 3)
    return answer
