"""Byte-identity check of the layer API: the SHA-256 of every answer, to compare before/after.

    python bench/layer_bytes.py [--url postgresql://…/db] --out FILE
    python bench/layer_bytes.py --url postgresql://…/db --compare FILE

Without ``--url`` it builds a demo city once (scale 1, seed 2024) in a database of the embedded
cluster that is kept, stores a risk forecast run and refreshes the coverage gaps in it, and
prints its URL: reuse it with ``--url`` (never rebuild between the two runs: the forecast note
carries the run time). For every layer of the registry, zooms 9..18, a city-centre viewport
sized for the zoom and one wider bbox, every role that may see the layer (admin, leader,
planner, analyst, and a grid worker scoped to one grid) and the layer's provider options
(``of``/``metric`` of the hexagons, ``care`` of the residents, a 30-day time window on time
layers, forecast horizon and unit, hot-spot resolution, coverage kind of line) it GETs
``/api/layers/<id>?…`` through the app's Flask test client (no background workers), plus
``/api/layers`` per role, and writes ``{request: [status, sha256 of the body]}``.
``--compare FILE`` prints how many requests there were and which differ (exit 1 if any).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import embedded_store, scratch_database
from layers.registry import LAYERS
from tests.conftest import api_token, signed_in

ZOOMS = tuple(range(9, 19))
SCREEN = (1600, 900)
ROLES = ("admin", "leader", "planner", "analyst", "grid_worker")
DATABASE = "onemap_layer_bytes"


def build(scale: float, seed: int) -> str:
    """A kept database holding the demo city, one forecast run and refreshed coverage gaps."""
    from analytics.coverage import refresh_gaps
    from analytics.forecast_store import run_forecast
    from geodata.demo import build_demo

    store = embedded_store(Settings(database_url=None))
    store.start()
    with scratch_database(store.url(), DATABASE, keep=True) as url:
        started = time.perf_counter()
        build_demo(url, scale=scale, seed=seed)
        run_forecast(url)
        refresh_gaps(url)
        print(f"demo city scale {scale:g} built in {time.perf_counter() - started:.0f} s: {url}")
    return url


def one(url: str, sql: str) -> tuple:
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(text(sql)).one())


def view_bbox(lon: float, lat: float, zoom: float) -> str:
    """The bbox of a SCREEN-sized web-mercator view centred on lon/lat (approximate)."""
    deg = 360.0 / (256 * 2**zoom)
    half_w, half_h = SCREEN[0] / 2 * deg, SCREEN[1] / 2 * deg * math.cos(math.radians(lat))
    return f"{lon - half_w:.5f},{lat - half_h:.5f},{lon + half_w:.5f},{lat + half_h:.5f}"


def options(layer_id: str, window: str) -> list[str]:
    """The query strings beyond bbox and zoom worth covering for ``layer_id``."""
    month = f"&time={window}"
    if layer_id == "hexagons":
        sources = ("incidents", "residents", "organisations", "sensors", "cameras", "facilities")
        out = [""] + [f"&of={s}&metric={m}" for s in sources for m in ("count", "density")]
        return [*out, "&of=residents&care=elderly_alone&metric=share", month]
    if layer_id == "residents":
        return ["", "&care=elderly_alone"]
    if layer_id == "risk_forecast":
        return [f"&horizon={h}&unit={u}" for h in (7, 30) for u in ("h3", "grid")] + [""]
    if layer_id == "hotspots":
        return ["", "&res=9", month]
    if layer_id == "coverage_gaps":
        return ["", "&of=fire_lanes", "&of=roads"]
    layer = next(la for la in LAYERS if la.id == layer_id)
    return ["", month] if layer.time_column else [""]


def requests(url: str) -> list[str]:
    """Every path to ask (without the role)."""
    lon, lat = one(
        url,
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) AS c "
        "FROM area WHERE depth = (SELECT min(depth) FROM area)) AS x",
    )
    (last,) = one(url, "SELECT max(reported_at AT TIME ZONE 'UTC')::date FROM event")
    window = f"{(last - timedelta(days=29)).isoformat()}/{last.isoformat()}"
    paths = []
    for layer in LAYERS:
        for zoom in ZOOMS:
            for bbox in (view_bbox(lon, lat, zoom), view_bbox(lon, lat, zoom - 2)):
                for extra in options(layer.id, window):
                    paths.append(f"/api/layers/{layer.id}?bbox={bbox}&zoom={zoom}{extra}")
    return paths


def check(url: str) -> dict[str, list]:
    """``{"<role> <path>": [status, sha256]}`` of every request."""
    (grid,) = one(
        url,
        "SELECT a.code FROM area a WHERE a.level = 'grid' AND EXISTS "
        "(SELECT 1 FROM building b WHERE b.area_id = a.id) ORDER BY a.code LIMIT 1",
    )
    server = create_app(Settings(database_url=url), url).server
    clients = {
        role: signed_in(
            server.test_client(), api_token(url, role, (grid,) if role == "grid_worker" else ())
        )
        for role in ROLES
    }
    paths = requests(url)
    layers = {la.id: la for la in LAYERS}
    out: dict[str, list] = {}
    started = time.perf_counter()
    for role, client in clients.items():
        for path in ["/api/layers", *paths]:
            layer_id = path.split("?")[0].rsplit("/", 1)[-1]
            if layer_id in layers and not layers[layer_id].allows(role):
                continue
            response = client.get(path)
            digest = hashlib.sha256(response.data).hexdigest()
            out[f"{role} {path}"] = [response.status_code, digest]
        print(f"{role}: {len(out)} requests so far, {time.perf_counter() - started:.0f} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a database built by this script (else build one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", help="write the hashes to this JSON file")
    parser.add_argument("--compare", help="compare with the hashes in this JSON file")
    args = parser.parse_args()
    url = args.url or build(args.scale, args.seed)
    print(f"database: {url}")
    hashes = check(url)
    if args.out:
        Path(args.out).write_text(json.dumps(hashes, indent=0, sort_keys=True))
    statuses: dict[int, int] = {}
    for status, _ in hashes.values():
        statuses[status] = statuses.get(status, 0) + 1
    print(f"{len(hashes)} requests; statuses {dict(sorted(statuses.items()))}")
    if not args.compare:
        return 0
    before = json.loads(Path(args.compare).read_text())
    differ = sorted(k for k in before.keys() | hashes.keys() if before.get(k) != hashes.get(k))
    for key in differ[:50]:
        print(f"differs: {key}  {before.get(key)} -> {hashes.get(key)}")
    print(f"{len(hashes)} requests, {len(before)} in {args.compare}; {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
