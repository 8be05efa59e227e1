"""``import_file``: one file into one layer, in one transaction (a failed import changes
nothing). Stream → validate → COPY into a TEMP stage → fuse → set-based writes → import_run;
or, for a source's first import of a bulk-friendly layer, stream → validate → COPY straight
into the table (:mod:`geodata.ingest.direct`), falling back to the staged path when the file
repeats an id or key. Both COPY in the binary format, a batch at a time."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import shapely
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from geodata.bulk import raw_connection
from geodata.crs import WGS84, parse_crs
from geodata.errors import (
    ImportRejected,
    MappingError,
    OutsideCityExtent,
    SuspectedOffsetCRS,
)
from geodata.ingest import defer, direct, fuse, hints, stage, write
from geodata.ingest.areas import AreaIndex
from geodata.ingest.csvgeom import CSVGeometry
from geodata.ingest.mapping import GEOMETRY_KEYS, Mapping, resolve
from geodata.ingest.readers import Reader, open_reader
from geodata.ingest.report import ImportReport, RejectedRow, RejectsWriter
from geodata.ingest.schema import LAYERS, LayerSchema
from geodata.ingest.validate import CleanBatch, Rules, stage_fields, validate_batch
from geodata.models import Base
from geodata.settings import Settings
from geodata.store import refresh_resident_stats

EXAMPLES = 10
DEFAULT_TZ = "Asia/Shanghai"
Progress = bool | Callable[[int], None] | None


def default_source(path: Path) -> str:
    """The file's stem (``Helsinki.osm.pbf`` → ``Helsinki``), at most 64 characters."""
    name = path.name
    for suffix in (".osm.pbf", ".osm", ".pbf"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)][:64]
    return path.stem[:64]


def _schema(layer: str) -> LayerSchema:
    if layer not in LAYERS:
        raise MappingError(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
    return LAYERS[layer]


def _check_required(schema: LayerSchema, mapping: Mapping) -> None:
    provided = mapping.provided()
    derivable = {"sex", "birth_year"} if "id_number" in provided else set()
    missing = [
        f.name
        for f in schema.fields
        if f.required and f.name not in provided and f.name not in derivable
    ]
    if missing:
        hint = " ".join(f"--map {m}=COLUMN" for m in missing)
        raise MappingError(
            f"layer {schema.name} needs {', '.join(missing)}, and no column of the file was "
            f"recognised for it: name the column with {hint}, or give one value for all rows "
            f"with --set {missing[0]}=VALUE"
        )


def _not_null(schema: LayerSchema) -> frozenset[str]:
    table = Base.metadata.tables[schema.table]
    names = {c.name for c in table.columns if not c.nullable}
    if schema.name == "residents":
        names.add("name")
    return frozenset(names)


def _progress_bar(progress: Progress, total: int | None, name: str):
    if callable(progress):
        return None
    return tqdm(total=total, unit=" rows", desc=name, file=sys.stderr, disable=not progress,
                mininterval=0.5)  # fmt: skip


class _Rejects:
    """Refused rows: written to the rejects file, or kept as examples for the error."""

    def __init__(self, path: str | Path | None) -> None:
        self.writer = RejectsWriter(path) if path else None
        self.examples: list[RejectedRow] = []
        self.count = 0
        self.outside = 0
        self.outside_raw: list[np.ndarray] = []
        self.first_outside: str | None = None

    def add(self, rejects: list[RejectedRow]) -> None:
        self.count += len(rejects)
        if self.writer:
            self.writer.write(rejects)
        room = EXAMPLES - len(self.examples)
        self.examples.extend(rejects[: max(room, 0)])
        for r in rejects:
            if r.reason.startswith("outside the city extent"):
                self.outside += 1
                self.first_outside = self.first_outside or f"row {r.row}{r.reason[23:]}"

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def import_file(
    url: str,
    path: str | Path,
    layer: str,
    settings: Settings,
    *,
    source: str | None = None,
    crs: str | None = None,
    mapping: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    skip_bad: str | Path | None = None,
    progress: Progress = False,
    encoding: str | None = None,
    level: str | None = None,
    timezone: str = DEFAULT_TZ,
    actor: str | None = None,
) -> ImportReport:
    """Import ``path`` into ``layer`` of the store at ``url``; see the module doc.

    Raises :class:`geodata.errors.ImportRejected` (or a subclass) when anything is wrong and
    ``skip_bad`` is not given; then the store is unchanged. With ``skip_bad`` good rows load
    and refused rows are written to that CSV (row, field, reason, original values).
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    schema = _schema(layer)
    path = Path(path)
    given = dict(mapping or {})
    consts = dict(constants or {})
    if level:
        consts["level"] = level
    geometry_cols = {k: given[k] for k in GEOMETRY_KEYS if k in given}

    def attempt(direct_ok: bool) -> ImportReport:
        """Read, check and write the whole file in one transaction."""
        reader = open_reader(path, layer, encoding=encoding, geometry_columns=geometry_cols)
        src_crs = parse_crs(crs) if crs else (reader.crs or WGS84)
        report = ImportReport(layer, source or default_source(path), path.name, src_crs)
        report.notes.extend(reader.notes)
        if not crs and not reader.crs:
            report.notes.append("the file names no CRS: WGS84 (EPSG:4326) assumed; see --crs")
        columns = [c for c in reader.columns if c not in geometry_cols.values()]
        resolved = resolve(schema, columns, given, consts, path.name)
        _check_required(schema, resolved)
        if resolved.id_column is None:
            report.notes.append(
                "no id column: each row's source_id is a hash of its attributes and geometry "
                "(re-importing identical rows updates them); map one with --map id=COLUMN"
            )
        rules = Rules(
            schema, resolved, src_crs, settings.city.extent, timezone,
            settings.privacy.id_hash_key, secret_columns=_secret_columns(schema, resolved),
            not_null=_not_null(schema), city=settings.city.name,
        )  # fmt: skip
        rejects = _Rejects(skip_bad)
        try:
            with raw_connection(url) as conn:
                try:
                    _run(conn, reader, rules, report, rejects, progress,
                         check_offset=crs is None, direct_ok=direct_ok)  # fmt: skip
                    report.import_run_id = write.record_run(conn, report, actor, started_at)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
        finally:
            rejects.close()
        return report

    try:
        try:
            report = attempt(direct_ok=True)
        except direct.Fallback:
            report = attempt(direct_ok=False)
    except Exception as exc:
        _record_failure(url, layer, source or default_source(path), path.name, actor, started_at,
                        exc)  # fmt: skip
        raise
    if layer in RESIDENT_COUNT_LAYERS:
        refresh_resident_stats(url)
    if skip_bad:
        report.rejects_path = str(skip_bad)
    report.seconds = time.perf_counter() - started
    return report


def _record_failure(
    url: str,
    layer: str,
    source: str,
    file_name: str,
    actor: str | None,
    started_at: datetime,
    exc: Exception,
) -> None:
    """Keep a failed run on its registered data source's record (nothing else is written)."""
    try:
        with raw_connection(url) as conn:
            write.record_failed_run(conn, layer, source, file_name, actor, started_at,
                                    f"{type(exc).__name__}: {exc}")  # fmt: skip
            conn.commit()
    except (psycopg.Error, SQLAlchemyError):
        pass  # the store itself failed: the original error is what the caller must see


RESIDENT_COUNT_LAYERS = ("residents", "houses")
"""Imports that change the map's resident counts (``resident_stats``)."""


def _secret_columns(schema: LayerSchema, mapping: Mapping) -> frozenset[str]:
    return frozenset(
        mapping.columns[f.name] for f in schema.fields if not f.stored and f.name in mapping.columns
    )


def _run(
    conn: psycopg.Connection,
    reader: Reader,
    rules: Rules,
    report: ImportReport,
    rejects: _Rejects,
    progress: Progress,
    *,
    check_offset: bool,
    direct_ok: bool = False,
) -> None:
    schema = rules.schema
    fields = stage_fields(rules)
    conn.execute("SET LOCAL onemap.area_assigned = 'on'")
    areas = None if schema.name == "areas" else AreaIndex(conn)
    run = _run_staged
    if direct_ok:
        write.lock_table(conn, schema)
        if direct.eligible(conn, schema, report.source, fields, reader.total):
            run = _run_direct
    report.path = "direct" if run is _run_direct else "staged"
    run(conn, reader, rules, report, rejects, progress, fields, areas, check_offset=check_offset)


def _run_staged(conn, reader, rules, report, rejects, progress, fields, areas, *,
                check_offset: bool) -> None:  # fmt: skip
    """The staged path: COPY into a TEMP stage, check the file as a whole, fuse, write."""
    schema = rules.schema
    stage.create_stage(conn, schema, fields)
    with report.phase("stream"), stage.stage_copy(conn, fields) as target:
        staged = _stream(reader, rules, report, rejects, progress,
                         lambda clean: stage.copy_batch(target, clean, fields, areas))  # fmt: skip
    _reader_counts(reader, report)
    with report.phase("checks"):
        post = stage.duplicate_ids(conn, rules.mapping.id_column is None)
        post += stage.duplicate_keys(conn, schema)
        if schema.name == "houses":
            post += stage.houses_without_building(conn)
        rejects.add(sorted(post, key=lambda r: r.row))
        _settle_rejects(rejects, report, rules)
        staged -= len(post)
        if check_offset and rules.crs == WGS84 and staged:
            _check_offset(conn, stage.sample_locations(conn, staged), report)
    with report.phase("fuse"):
        conn.execute(f"ANALYZE {stage.STAGE}")
        write.lock_table(conn, schema)
        fuse.own_targets(conn, schema, report.source)
        fuse.link_known(conn, schema, report.source)
        fuse.match_other_sources(conn, schema, report.source, fields)
        by_action = write.update_fused(conn, schema, fields)
    _write_staged(conn, schema, fields, report, staged - sum(by_action.values()))
    report.add("updated", by_action.get("link", 0))
    report.add("merged", by_action.get("merge", 0))


def _write_staged(conn, schema, fields: list[str], report: ImportReport, incoming: int) -> None:
    """Insert new and update re-imported rows (indexes set aside for a bulk load), links,
    identities."""
    deferred = None
    if defer.worth_deferring(conn, schema.table, incoming):
        deferred = defer.defer(conn, schema.table)
    with report.phase("write"):
        inserted, updated = write.insert_or_update(conn, schema, fields, report.source)
    with report.phase("indexes"):
        defer.restore(conn, deferred)
    with report.phase("write"):
        write.write_links(conn, schema, report.source)
        if schema.name == "residents":
            write.write_identities(conn, fields, report.source)
    report.add("inserted", inserted)
    report.add("updated", updated)


def _run_direct(conn, reader, rules, report, rejects, progress, fields, areas, *,
                check_offset: bool) -> None:  # fmt: skip
    """The direct path (:mod:`geodata.ingest.direct`): COPY into the (locked) table itself,
    its indexes and constraints set aside first for a bulk load."""
    table = rules.schema.table
    deferred = None
    if defer.worth_deferring(conn, table, reader.total):
        deferred = defer.defer(conn, table)
    repeats = direct.Repeats(rules.schema, fields)
    sample = direct.LocationSample(reader.total)
    lead = [report.source]

    def write_batch(clean: CleanBatch) -> int:
        repeats.add(clean)
        sample.add(clean.rows, shapely.get_x(clean.locs), shapely.get_y(clean.locs))
        return stage.write_batch(target, [lead * len(clean.rows)], clean, fields, areas)

    try:
        columns = direct.copy_columns(fields)
        with report.phase("stream"), stage.open_copy(conn, table, columns) as target:
            written = _stream(reader, rules, report, rejects, progress, write_batch)
    except psycopg.errors.UniqueViolation as exc:  # a repeat met the table's unique index
        raise direct.Fallback from exc
    with report.phase("checks"):
        if repeats.found():
            raise direct.Fallback
        _reader_counts(reader, report)
        _settle_rejects(rejects, report, rules)
        if check_offset and rules.crs == WGS84 and written:
            _check_offset(conn, sample.points(), report)
    with report.phase("indexes"):
        defer.restore(conn, deferred)
    report.add("inserted", written)


def _reader_counts(reader: Reader, report: ImportReport) -> None:
    report.add("skipped", reader.skipped)
    if reader.degenerate:
        report.notes.append(
            f"{reader.degenerate:,} features skipped: cut to nothing by the extract's edge "
            "(no area or length left; their other nodes are outside the file)"
        )


def _settle_rejects(rejects: _Rejects, report: ImportReport, rules: Rules) -> None:
    """Count the refused rows; refuse the import when there are some and no ``--skip-bad``."""
    report.add("rejected", rejects.count)
    if rejects.count and not rejects.writer:
        _refuse(rejects, report, rules)
    if rejects.outside:
        report.notes.append(_outside_text(rejects, report, rules))


def _check_offset(conn: psycopg.Connection, sample: np.ndarray, report: ImportReport) -> None:
    found = hints.suspected_offset(conn, sample)
    if found:
        raise SuspectedOffsetCRS(hints.offset_message(*found, report.counts["read"]))


def _stream(reader, rules, report, rejects, progress, write_batch) -> int:
    """Read and validate every batch and hand its clean rows to ``write_batch`` (until a row is
    refused without ``--skip-bad``: then only validate); return the number of rows written."""
    bar = _progress_bar(progress, reader.total, reader.path.name)
    written = 0
    try:
        for batch in reader.batches:
            clean = _validated(batch, rules, report, rejects)
            if rejects.writer or not rejects.count:
                written += write_batch(clean)
            if bar is not None:
                bar.update(len(batch.geoms))
            elif callable(progress):
                progress(report.counts["read"])
    finally:
        if bar is not None:
            bar.close()
    return written


def _validated(batch, rules: Rules, report: ImportReport, rejects: _Rejects) -> CleanBatch:
    """The clean rows of ``batch``; its refused rows and counts go to ``rejects``/``report``."""
    clean = validate_batch(batch, rules, stage_fields(rules))
    report.add("read", len(batch.geoms))
    report.add("repaired", clean.repaired)
    rejects.add(clean.rejects)
    if len(clean.outside_raw) and sum(map(len, rejects.outside_raw)) < hints.SAMPLE:
        rejects.outside_raw.append(clean.outside_raw)
    return clean


def _outside_text(rejects: _Rejects, report: ImportReport, rules: Rules) -> str:
    raw = np.concatenate(rejects.outside_raw) if rejects.outside_raw else np.empty((0, 2))
    return hints.outside_message(
        rejects.outside, report.counts["read"], rules.extent, raw, rejects.first_outside,
        rules.city,
    )  # fmt: skip


def _refuse(rejects: _Rejects, report: ImportReport, rules: Rules) -> None:
    """Raise the error that says what is wrong with the refused rows."""
    if rejects.outside:
        message = _outside_text(rejects, report, rules)
        others = rejects.count - rejects.outside
        if others:
            message += f" {others:,} further rows were refused for other reasons."
        raise OutsideCityExtent(message, rejects.examples, rejects.count)
    listed = "; ".join(str(r) for r in rejects.examples[:5])
    more = f" (and {rejects.count - 5:,} more)" if rejects.count > 5 else ""
    raise ImportRejected(
        f"{rejects.count:,} of {report.counts['read']:,} rows of {report.file_name} are refused: "
        f"{listed}{more}. Nothing was imported; fix these rows, or pass --skip-bad FILE.csv to "
        "load the good rows and list the bad ones there.",
        rejects.examples,
        rejects.count,
    )


__all__ = ["CSVGeometry", "import_file"]
