"""One batch of a file → clean typed rows for the staging table, plus the refused rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from geodata.cells import representative_points
from geodata.ingest.geometry import check_geometries
from geodata.ingest.mapping import Mapping
from geodata.ingest.readers import Batch
from geodata.ingest.report import RejectedRow
from geodata.ingest.schema import LayerSchema
from geodata.ingest.values import parse
from geodata.privacy import hash_id_number, valid_id_number
from geodata.vocab import LEVEL_DEPTH

MASK = "***"


@dataclass(frozen=True)
class Rules:
    """Everything validation needs to know besides the batch."""

    schema: LayerSchema
    mapping: Mapping
    crs: str
    extent: tuple[float, float, float, float]
    tz: str
    id_hash_key: str
    secret_columns: frozenset[str] = frozenset()
    not_null: frozenset[str] = frozenset()
    city: str = "the city"


@dataclass
class CleanBatch:
    """Rows that passed, as stage columns; the rows refused; diagnostics."""

    rows: np.ndarray
    geoms: np.ndarray
    locs: np.ndarray
    columns: dict[str, list]
    rejects: list[RejectedRow] = field(default_factory=list)
    repaired: int = 0
    outside_raw: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def points(self) -> bool:
        """True when every geometry is a point (its own location)."""
        return bool(len(self.geoms)) and bool((shapely.get_type_id(self.geoms) == 0).all())


def stage_fields(rules: Rules) -> list[str]:
    """Stage columns after row_no/source_id/geometry: the provided and derived fields."""
    provided = rules.mapping.provided()
    out = [f.name for f in rules.schema.fields if f.name in provided and f.stored]
    derived = {
        "buildings": ["height"] if "floors" in provided else [],
        "residents": ["sex", "birth_year", "id_hash"],
        "events": ["title"],
        "areas": ["depth"],
        "houses": ["building_id"],
    }.get(rules.schema.name, [])
    return out + [d for d in derived if d not in out]


def _row_hash(attrs: pd.DataFrame, geoms: np.ndarray) -> list[str]:
    """A stable id from a row's attribute values and geometry (when the file has no ids)."""
    wkb = shapely.to_wkb(geoms, hex=True)
    out = []
    for values, g in zip(attrs.itertuples(index=False, name=None), wkb, strict=True):
        text = "\x1f".join(map(str, values)) + "\x1e" + str(g)
        out.append("h:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest())
    return out


def _source_ids(batch: Batch, rules: Rules, errors: dict[int, tuple[str, str]]) -> list:
    col = rules.mapping.id_column
    if col is None:
        return _row_hash(batch.attrs, batch.geoms)
    series = batch.attrs[col]
    if pd.api.types.is_float_dtype(series) and (series.dropna() % 1 == 0).all():
        series = series.astype("Int64")
    text = series.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    long = (text.str.len() > 128).fillna(False).to_numpy(dtype=bool)
    for i in np.flatnonzero(empty):
        errors.setdefault(int(i), ("id", f"id column {col!r} is empty"))
    for i in np.flatnonzero(long):
        errors.setdefault(int(i), ("id", "id longer than 128 characters"))
    return text.astype(object).where(~empty, None).tolist()


def _parse_fields(batch: Batch, rules: Rules, errors: dict) -> dict[str, list]:
    n = len(batch.geoms)
    values: dict[str, list] = {}
    for f in rules.schema.fields:
        if f.name in rules.mapping.columns:
            series = batch.attrs[rules.mapping.columns[f.name]]
        elif f.name in rules.mapping.constants:
            series = pd.Series([rules.mapping.constants[f.name]] * n, dtype=object)
        else:
            continue
        parsed = parse(f, series.reset_index(drop=True), rules.tz)
        for i, reason in parsed.errors.items():
            errors.setdefault(i, (f.name, reason))
        vals = parsed.values
        if f.default is not None:
            vals = [f.default if v is None else v for v in vals]
        values[f.name] = vals
    return values


def _derive(values: dict[str, list], rules: Rules, n: int, errors: dict) -> None:
    """Values computed from others: building height, resident sex/birth year/ID hash, event
    titles, area depth."""
    layer = rules.schema.name
    if layer == "buildings" and "floors" in values:
        given = values.get("height", [None] * n)
        values["height"] = [
            h if h is not None else (3.0 * f if f is not None else None)
            for h, f in zip(given, values["floors"], strict=True)
        ]
    elif layer == "residents":
        _derive_resident(values, rules, n, errors)
    elif layer == "events":
        given = values.get("title", [None] * n)
        values["title"] = [
            t if t is not None else (c[:256] if c else None)
            for t, c in zip(given, values["category"], strict=True)
        ]
    elif layer == "areas":
        values["depth"] = [LEVEL_DEPTH.get(v) if v else None for v in values["level"]]


def _derive_resident(values: dict[str, list], rules: Rules, n: int, errors: dict) -> None:
    numbers = values.pop("id_number", [None] * n)
    sex = values.get("sex", [None] * n)
    birth = values.get("birth_year", [None] * n)
    hashes: list = []
    for i, number in enumerate(numbers):
        if number is None:
            hashes.append(None)
            continue
        ok = valid_id_number(number)
        if not ok and len(number.strip()) == 18:
            errors.setdefault(i, ("id_number", "ID number has a wrong check digit"))
        hashes.append(hash_id_number(number, rules.id_hash_key))
        if ok:
            s = number.strip().upper()
            sex[i] = sex[i] or ("M" if int(s[16]) % 2 else "F")
            birth[i] = birth[i] or int(s[6:10])
    values["id_hash"], values["sex"], values["birth_year"] = hashes, sex, birth


def _check_not_null(values: dict[str, list], rules: Rules, errors: dict) -> None:
    for name, vals in values.items():
        if name not in rules.not_null or None not in vals:
            continue
        for i, v in enumerate(vals):
            if v is None:
                errors.setdefault(i, (name, "value required (empty in this row)"))


def _original(batch: Batch, i: int, rules: Rules) -> dict:
    row = batch.attrs.iloc[i].to_dict()
    for col in rules.secret_columns:
        if col in row and not pd.isna(row[col]):
            row[col] = MASK
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def _kept(values: list, idx: np.ndarray, n: int) -> list:
    """The values at ``idx`` (all of them, uncopied, when no row was refused)."""
    return values if len(idx) == n else [values[i] for i in idx]


def _check_nul(attrs: pd.DataFrame, errors: dict[int, tuple[str, str]]) -> None:
    """Refuse rows with a NUL character in any text column (PostgreSQL text cannot hold one)."""
    for column in attrs.columns:
        series = attrs[column]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        found = series.astype("string").str.contains("\x00", regex=False)
        for i in np.flatnonzero(found.fillna(False).to_numpy(dtype=bool)):
            errors.setdefault(int(i), (str(column), "holds a NUL character (byte 0)"))


def validate_batch(batch: Batch, rules: Rules, stage_cols: list[str]) -> CleanBatch:
    """Check and convert one batch; refused rows carry their row number, field and reason."""
    n = len(batch.geoms)
    checked = check_geometries(batch.geoms, rules.schema, rules.crs, batch.geom_errors)
    errors: dict[int, tuple[str, str]] = {i: ("geometry", r) for i, r in checked.errors.items()}
    geoms = checked.geoms
    present = ~shapely.is_missing(geoms)
    locs = np.full(n, None, dtype=object)
    locs[present] = representative_points(geoms[present])
    x, y = shapely.get_x(locs), shapely.get_y(locs)
    w, s, e, nn = rules.extent
    outside = present & ~((x >= w) & (x <= e) & (y >= s) & (y <= nn))
    for i in np.flatnonzero(outside):
        errors[int(i)] = ("geometry", f"outside the city extent at ({x[i]:.6f}, {y[i]:.6f})")
    raw = batch.geoms[outside]
    raw_pts = shapely.point_on_surface(raw) if len(raw) else raw
    outside_raw = np.column_stack([shapely.get_x(raw_pts), shapely.get_y(raw_pts)])
    _check_nul(batch.attrs, errors)
    values = _parse_fields(batch, rules, errors)
    _derive(values, rules, n, errors)
    _check_not_null(values, rules, errors)
    ids = _source_ids(batch, rules, errors)
    rows = batch.rows
    rejects = [
        RejectedRow(int(rows[i]), f, reason, _original(batch, i, rules))
        for i, (f, reason) in sorted(errors.items())
    ]
    keep = np.ones(n, dtype=bool)
    keep[list(errors)] = False
    idx = np.flatnonzero(keep)
    columns = {"source_id": _kept(ids, idx, n)}
    for name in stage_cols:
        columns[name] = _kept(values.get(name, [None] * n), idx, n)
    return CleanBatch(rows[idx], geoms[idx], locs[idx], columns, rejects,
                      checked.repaired, outside_raw)  # fmt: skip
