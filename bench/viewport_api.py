"""Viewport API benchmark: p95 per layer and zoom against the bare SQL, bytes, first paint.

    python bench/viewport_api.py --url postgresql://…/db [--runs 20] [--browser]

For every layer at several zooms (time layers over the last 30 days and over the whole
history; bbox = the view of a 1600×900 screen around the data's
centre) it times the whole request through the Flask app (parse, SQL, JSON, gzip) and, in the
same run, the bare SQL statements the provider executed (same text, same parameters, on the
same pooled engine) and prints p95 of both and their ratio, and the p50 of the sign-in lookup
inside the API time (``auth p50``: the gate's, one indexed query per request). Then the bytes
of the whole-city first view (every default layer's answer, gzip as the browser receives it)
and, with ``--browser``, the first map paint in headless Chromium and the bytes it transferred.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from itertools import product
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, freeze_startup_objects
from bench.common import bench_token, serve_app, session_cookies
from geodata.accounts.viewer import PUBLIC
from geodata.engine import get_engine, normalize_url, read_connection
from geodata.settings import Settings
from layers import engine
from layers.providers.features import features_sql, page_query
from layers.query import LayerQuery
from layers.registry import LAYERS, get_layer
from tests.conftest import signed_in

ZOOMS = (10, 12, 14, 16, 18)
SCREEN = (1600, 900)


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def view_bbox(lon: float, lat: float, zoom: float) -> str:
    """The bbox of a SCREEN-sized web-mercator view centred on lon/lat (approximate)."""
    from math import cos, radians

    deg = 360.0 / (256 * 2**zoom)
    half_w, half_h = SCREEN[0] / 2 * deg, SCREEN[1] / 2 * deg * cos(radians(lat))
    return f"{lon - half_w:.5f},{lat - half_h:.5f},{lon + half_w:.5f},{lat + half_h:.5f}"


def data_centre(url: str) -> tuple[float, float]:
    sql = (
        "SELECT ST_X(c), ST_Y(c) "
        "FROM (SELECT ST_Centroid(ST_Extent(loc)::geometry) AS c FROM building) AS x"
    )
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(text(sql)).one())


def time_sql(url: str, statements: list[tuple[str, dict]]) -> float:
    """Seconds to run ``statements`` and fetch all rows (the bare SQL of one request), on one
    pooled connection in autocommit, as the provider runs them (:class:`layers.engine.Runner`)."""
    started = time.perf_counter()
    with read_connection(url) as conn:
        for sql, params in statements:
            conn.execute(text(sql), params).all()
    return time.perf_counter() - started


class SignInTimer:
    """Times the gate's sign-in lookup (:func:`web.gate._lookup`) inside each request, so its
    share of the API time can be printed (the lookup is the gate's, not the layer API's)."""

    def __init__(self) -> None:
        import web.gate

        self.seconds: list[float] = []
        self._lookup = web.gate._lookup

        def timed(kind: str, secret: str) -> object:
            started = time.perf_counter()
            try:
                return self._lookup(kind, secret)
            finally:
                self.seconds.append(time.perf_counter() - started)

        web.gate._lookup = timed

    def take(self) -> float:
        """Seconds of lookups since the last call."""
        total, self.seconds = sum(self.seconds), []
        return total


def time_request(client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, headers={"Accept-Encoding": "gzip"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.data[:300]
    return elapsed, len(response.data)


def extra_params(layer_id: str, window: str | None) -> str:
    layer = get_layer(layer_id)
    return f"&time={window}" if layer.time_column and window else ""


def last_month(url: str) -> str | None:
    sql = "SELECT max(reported_at AT TIME ZONE 'UTC')::date FROM event"
    with get_engine(url).connect() as conn:
        last = conn.execute(text(sql)).scalar()
    if last is None:
        return None
    from datetime import timedelta

    return f"{(last - timedelta(days=29)).isoformat()}/{last.isoformat()}"


def bench_layers(url: str, runs: int, only: set[str] | None = None) -> None:
    settings = Settings(database_url=url)
    client = signed_in(create_app(settings, url).server.test_client(), bench_token(url))
    freeze_startup_objects()  # as the served app does after start-up
    lon, lat = data_centre(url)
    window = last_month(url)
    sign_in = SignInTimer()
    print(
        f"{'layer':18} {'time':>4} {'zoom':>4} {'features':>8} {'gz KB':>7} {'api p95':>8} "
        f"{'sql p95':>8} {'ratio':>6} {'api p50':>8} {'sql p50':>8} {'ratio':>6} {'auth p50':>8}"
    )
    worst = 0.0
    medians: list[tuple[str, float, float]] = []
    for layer in LAYERS:
        if only and layer.id not in only:
            continue
        # time layers twice: the home page's 30 days and the whole history
        for span, zoom in product(("30d", "all") if layer.time_column else ("",), ZOOMS):
            bbox = view_bbox(lon, lat, zoom)
            extra = extra_params(layer.id, window if span == "30d" else None)
            path = f"/api/layers/{layer.id}?bbox={bbox}&zoom={zoom}{extra}"
            query = LayerQuery.from_args(
                layer, dict(p.split("=", 1) for p in path.split("?", 1)[1].split("&")), 5000
            )
            answer = engine.answer(url, layer, query, PUBLIC, settings)
            time_request(client, path)  # warm
            api, sql, auth, size = [], [], [], 0
            sign_in.take()
            for _ in range(runs):
                elapsed, size = time_request(client, path)
                api.append(elapsed)
                auth.append(sign_in.take())
                sql.append(time_sql(url, answer.statements) if answer.statements else 0.0)
            a, s = p95(api) * 1000, p95(sql) * 1000
            ratio = a / s if s > 0.05 else float("nan")
            m_api, m_sql = p50(api) * 1000, p50(sql) * 1000
            median_ratio = m_api / m_sql if m_sql > 0.05 else float("nan")
            worst = max(worst, a)
            if m_sql > 0.05:
                medians.append((f"{layer.id} {span} z{zoom}", m_api, m_sql))
            print(
                f"{layer.id:18} {span:>4} {zoom:>4} {answer.meta['count']:>8} {size / 1024:>7.1f} "
                f"{a:>7.1f}ms {s:>7.1f}ms {ratio:>6.2f} "
                f"{m_api:>7.1f}ms {m_sql:>7.1f}ms {median_ratio:>6.2f} {p50(auth) * 1000:>6.2f}ms"
            )
    print(f"worst api p95: {worst:.1f} ms")
    print_ratio_summary(medians)


def print_ratio_summary(medians: list[tuple[str, float, float]]) -> None:
    """How many layer-zooms keep the p50 ratio within 1.5, how slow the SQL of those that do
    not is, and the fixed cost of a request (API minus SQL where the SQL is under 2 ms)."""
    over = [(name, a, s) for name, a, s in medians if a / s > 1.5]
    print(f"p50 ratio <= 1.5: {len(medians) - len(over)} of {len(medians)} layer-zooms")
    if over:
        slowest = max(over, key=lambda m: m[2])
        print(f"  over 1.5: {len(over)}, slowest SQL among them {slowest[2]:.1f} ms ({slowest[0]})")
    small = [a - s for _, a, s in medians if s < 2.0]
    if small:
        print(f"  fixed cost per request (p50 api - sql, SQL < 2 ms): {p50(small):.2f} ms")


def rank_every_match_baseline(url: str, runs: int) -> None:
    """Incidents over the whole history: the widening-window plan's statements against the plan
    it replaced, which ranks every match in the view (same answer: see
    tests/integration/test_newest_features.py)."""
    settings = Settings(database_url=url)
    layer = get_layer("incidents")
    lon, lat = data_centre(url)
    print("incidents, whole history: newest-page plan against ranking every match (bare SQL p50)")
    for zoom in (14, 16, 18):
        query = LayerQuery.from_args(
            layer, {"bbox": view_bbox(lon, lat, zoom), "zoom": str(zoom)}, 5000
        )
        answer = engine.answer(url, layer, query, PUBLIC, settings)
        where, params = page_query(layer, query, PUBLIC)
        ranked = [(features_sql(layer, where), params)]
        time_sql(url, ranked)  # warm
        new = p50([time_sql(url, answer.statements) for _ in range(runs)]) * 1000
        old = p50([time_sql(url, ranked) for _ in range(runs)]) * 1000
        print(
            f"  z{zoom}: {answer.meta.get('total', answer.meta['count']):>9,} matches, "
            f"{len(answer.statements)} statements {new:7.1f} ms; ranking every match {old:7.1f} ms "
            f"({old / new:.1f}x)"
        )


def first_view_bytes(url: str) -> None:
    """Bytes of the data of the whole-city first view (default layers, gzip)."""
    settings = Settings(database_url=url)
    client = signed_in(create_app(settings, url).server.test_client(), bench_token(url))
    freeze_startup_objects()  # as the served app does after start-up
    window = last_month(url)
    for name, zoom in (("whole city", 11), ("home (zoom 14)", 14)):
        lon, lat = data_centre(url) if zoom == 14 else settings.city.center
        bbox = view_bbox(lon, lat, zoom)
        total = raw = 0
        for layer in LAYERS:
            if not layer.visible:
                continue
            path = f"/api/layers/{layer.id}?bbox={bbox}&zoom={zoom}{extra_params(layer.id, window)}"
            response = client.get(path, headers={"Accept-Encoding": "gzip"})
            total += len(response.data)
            body = response.data
            raw += len(gzip.decompress(body) if response.headers.get("Content-Encoding") else body)
        print(f"first view data, {name}: {total / 1024:.1f} KB gzip ({raw / 1024:.1f} KB raw)")


def browser_paint(url: str) -> None:
    """First map paint and bytes transferred for the home page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.ui.conftest import CHROMIUM_ARGS

    with serve_app(url, timeout=90) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for label, query in (("cold", "?zoom=11"), ("warm cache", "?zoom=11")):
            context = browser.new_context(viewport={"width": SCREEN[0], "height": SCREEN[1]})
            context.add_cookies(session_cookies(url, base))
            page = context.new_page()
            sizes: list[int] = []
            page.on("response", lambda r, sizes=sizes: sizes.append(_encoded_size(r)))
            started = time.perf_counter()
            page.goto(base + query)
            page.wait_for_function(
                "document.querySelectorAll('.leaflet-overlay-pane path').length > 0"
            )
            paint = time.perf_counter() - started
            page.wait_for_load_state("networkidle")
            print(
                f"first map paint ({label}): {paint * 1000:.0f} ms; "
                f"transferred {sum(sizes) / 1024:.0f} KB in {len(sizes)} responses"
            )
            context.close()
        browser.close()


def _encoded_size(response) -> int:
    try:
        return response.request.sizes()["responseBodySize"]
    except Exception:  # a failed size must not stop the bench
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--browser", action="store_true", help="also time the first paint")
    parser.add_argument("--layers", help="comma-separated layer ids (default: every layer)")
    args = parser.parse_args()
    if not args.url:
        parser.error("--url (or DATABASE_URL) is required")
    url = normalize_url(args.url)
    with get_engine(url).connect() as conn:
        people = conn.execute(text("SELECT count(*) FROM resident")).scalar_one()
    print(f"store: {people} residents")
    only = set(args.layers.split(",")) if args.layers else None
    unknown = sorted((only or set()) - {layer.id for layer in LAYERS})
    if unknown:
        parser.error(f"--layers: no layer {', '.join(unknown)}")
    bench_layers(url, args.runs, only)
    if not only or "incidents" in only:
        rank_every_match_baseline(url, args.runs)
    first_view_bytes(url)
    if args.browser:
        browser_paint(url)


if __name__ == "__main__":
    main()
