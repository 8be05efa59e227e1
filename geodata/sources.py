"""Data sources: each department's import source, its expected update cadence, and its freshness.

A source is registered once (:func:`register`, ``python -m geodata source add``); an import run
belongs to it when the run's ``source`` (``python -m geodata import --source NAME``) is its name.
:func:`freshness` computes, in one SQL query, each active source's last successful import, the
rows that run wrote, and whether it is overdue: ``now - last > cadence + grace`` (a source never
imported is overdue from its registration on the same terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geodata.errors import OneMapError

CADENCES: dict[str, timedelta] = {
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=30),
    "quarterly": timedelta(days=91),
}
"""Named cadences; any ``<n>d`` or ``<n>h`` is accepted too."""


class SourceError(OneMapError):
    """A data source registration that cannot be stored as given."""

    status = 400
    code = "InvalidParameterValue"


def parse_cadence(value: str) -> timedelta:
    """``daily``/``weekly``/``monthly``/``quarterly``, ``<n>d`` or ``<n>h`` as an interval."""
    v = value.strip().lower()
    if v in CADENCES:
        return CADENCES[v]
    unit = {"d": "days", "h": "hours"}.get(v[-1:])
    if unit and v[:-1].isdigit() and int(v[:-1]) > 0:
        return timedelta(**{unit: int(v[:-1])})
    raise SourceError(
        f"cadence {value!r}: expected one of {', '.join(CADENCES)}, or <n>d / <n>h (e.g. 14d)"
    )


@dataclass(frozen=True)
class SourceSpec:
    """What registering a source needs."""

    name: str
    title_zh: str
    title_en: str
    department: str
    cadence: timedelta
    area_code: str | None = None
    account: str | None = None
    active: bool = True


UPSERT = text(
    """
    INSERT INTO data_source (name, title_zh, title_en, department, cadence, area_id, account,
                             active)
    VALUES (:name, :title_zh, :title_en, :department, :cadence,
            (SELECT id FROM area WHERE code = :area_code), :account, :active)
    ON CONFLICT (name) DO UPDATE SET
        title_zh = EXCLUDED.title_zh, title_en = EXCLUDED.title_en,
        department = EXCLUDED.department, cadence = EXCLUDED.cadence,
        area_id = EXCLUDED.area_id, account = EXCLUDED.account, active = EXCLUDED.active
    RETURNING id
    """
)


def register(db: Session | Connection, spec: SourceSpec) -> int:
    """Add or update the source ``spec.name``; its id. An unknown area code is refused."""
    if not spec.name.strip() or len(spec.name) > 64:
        raise SourceError(f"source name {spec.name!r}: 1 to 64 characters")
    if spec.area_code is not None:
        found = db.execute(text("SELECT 1 FROM area WHERE code = :c"), {"c": spec.area_code})
        if found.first() is None:
            raise SourceError(f"area code {spec.area_code!r} is not in the store")
    params = {k: getattr(spec, k) for k in SourceSpec.__dataclass_fields__}
    return int(db.execute(UPSERT, params).scalar_one())


@dataclass(frozen=True)
class Freshness:
    """One source's state at a moment."""

    id: int
    name: str
    title_zh: str
    title_en: str
    department: str
    cadence: timedelta
    area_id: int | None
    account: str | None
    last_import: datetime | None
    last_rows: int | None
    total_rows: int
    runs: int
    failed_runs: int
    overdue: bool
    since: datetime
    """The last successful import, else the registration: where overdue time counts from."""


FRESHNESS = text(
    """
    SELECT s.id, s.name, s.title_zh, s.title_en, s.department, s.cadence, s.area_id, s.account,
           last.at AS last_import, last.rows_written AS last_rows,
           coalesce(agg.total_rows, 0) AS total_rows, coalesce(agg.runs, 0) AS runs,
           coalesce(agg.failed_runs, 0) AS failed_runs,
           coalesce(last.at, s.created_at) AS since,
           CAST(:now AS timestamptz) - coalesce(last.at, s.created_at)
               > s.cadence + make_interval(secs => :grace_s) AS overdue
    FROM data_source s
    LEFT JOIN LATERAL (
        SELECT r.at, r.rows_written FROM import_run r
        WHERE r.source = s.name AND r.outcome = 'ok' AND r.at <= :now
        ORDER BY r.at DESC LIMIT 1
    ) last ON true
    LEFT JOIN LATERAL (
        SELECT sum(r.rows_written) FILTER (WHERE r.outcome = 'ok') AS total_rows,
               count(*) AS runs, count(*) FILTER (WHERE r.outcome = 'failed') AS failed_runs
        FROM import_run r WHERE r.source = s.name AND r.at <= :now
    ) agg ON true
    WHERE s.active
    ORDER BY overdue DESC, s.name
    """
)


def freshness(db: Session | Connection, now: datetime, grace: timedelta) -> list[Freshness]:
    """Every active source's freshness at ``now`` (overdue ones first, then by name)."""
    rows = db.execute(FRESHNESS, {"now": now, "grace_s": grace.total_seconds()}).mappings()
    return [Freshness(**r) for r in rows]


def all_sources(db: Session | Connection) -> list[dict]:
    """Every registered source (active or not) as plain rows, by name."""
    rows = db.execute(
        text(
            "SELECT s.name, s.title_zh, s.title_en, s.department, s.cadence, a.code AS area, "
            "s.account, s.active FROM data_source s LEFT JOIN area a ON a.id = s.area_id "
            "ORDER BY s.name"
        )
    )
    return [dict(r._mapping) for r in rows]


def is_registered(db: Session | Connection, name: str) -> bool:
    """Whether ``name`` is a registered data source."""
    found = db.execute(text("SELECT 1 FROM data_source WHERE name = :n"), {"n": name})
    return found.first() is not None
