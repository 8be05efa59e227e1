"""Why coordinates do not fit: outside the city extent, or offset like GCJ-02/BD-09."""

from __future__ import annotations

import numpy as np
import psycopg
import shapely

from geodata.crs import offset_hint, offset_likelihood, suggest_offset_crs

SAMPLE = 10_000
MIN_SHARE = 0.5
MARGIN = 0.2


def outside_message(
    outside: int, read: int, extent: tuple, raw: np.ndarray, first: str | None, city: str
) -> str:
    """The refusal for rows outside the city extent, with the likely cause."""
    hint = offset_hint(raw[:, 0], raw[:, 1], extent) if len(raw) else None
    w, s, e, n = extent
    cause = (
        f"likely cause: {hint}"
        if hint
        else f"check that the data belongs to {city} and that --crs names its coordinate system"
    )
    example = f" (first: {first})" if first else ""
    return (
        f"{outside:,} of {read:,} rows lie outside the city extent lon {w}–{e}, lat {s}–{n}"
        f"{example}; {cause}. Nothing was imported."
    )


def reference_areas(conn: psycopg.Connection, pts: np.ndarray) -> np.ndarray:
    """The deepest level of stored areas near the sample points (shapely polygons)."""
    if not len(pts):
        return np.empty(0, dtype=object)
    (minx, miny), (maxx, maxy) = pts.min(axis=0) - 0.05, pts.max(axis=0) + 0.05
    rows = conn.execute(
        "WITH near AS (SELECT depth, geom FROM area "
        "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)) "
        "SELECT ST_AsBinary(geom) FROM near WHERE depth = (SELECT max(depth) FROM near)",
        (minx, miny, maxx, maxy),
    ).fetchall()
    return shapely.from_wkb([r[0] for r in rows]) if rows else np.empty(0, dtype=object)


def suspected_offset(conn: psycopg.Connection, pts: np.ndarray) -> tuple[str, dict] | None:
    """("gcj02"|"bd09", shares) when WGS84-labelled points fit the stored areas clearly better
    after converting from that offset system; None otherwise (or when there are no areas)."""
    areas = reference_areas(conn, pts)
    if not len(areas):
        return None
    shares = offset_likelihood(pts[:, 0], pts[:, 1], areas)
    best = suggest_offset_crs(shares, margin=MARGIN)
    if best and shares[best] >= MIN_SHARE:
        return best, shares
    return None


def offset_message(crs: str, shares: dict, read: int) -> str:
    """The refusal for data that looks like GCJ-02/BD-09 given as WGS84."""
    name = {"gcj02": "GCJ-02 (AMap/Tencent)", "bd09": "BD-09 (Baidu)"}[crs]
    return (
        f"the {read:,} rows were read as WGS84, but only {shares['as_given']:.0%} of them fall "
        f"inside the stored areas, against {shares[crs]:.0%} if they are {name}: this looks "
        f"like {name} data — pass --crs {crs} (or --crs EPSG:4326 if it really is WGS84). "
        "Nothing was imported."
    )
