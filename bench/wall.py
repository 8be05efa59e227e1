"""Benchmark: the command wall (/wall) — first full render in headless Chromium and the
server-side time of one live refresh, each beside a baseline measured in the same run.

The store: ``--url`` (used as is; a bench leader account is added), ``--template NAME`` (a
copy of that database on the embedded cluster, e.g. a kept scale-40 bench city; dropped
afterwards), or else a demo city built at ``--scale`` (default 40: ≈2 million residents).

- **first full render** at 1920×1080 and at 3840×2160: navigation to ``/wall`` until the KPI
  tiles, the map's four layers, the trend chart and the 3D panel's first data are all drawn
  (the 3D panel: once the GPU has finished its first frame with data, a fence the glue
  polls). Cold: a new browser profile (empty cache) right after signing in, the app warmed
  by one visit from another profile first; warm: a reload.
  Baselines: the home map ``/`` until its first layer answer is drawn, and the 3D page
  ``/twin`` until its first frame with data (software WebGL), same browser.
- **live refresh, server-side**: the wall's refresh callback (``/_dash-update-component``, the
  payload the browser sends on a live tick) and the four map-layer requests a tick refetches,
  replayed over HTTP; best of ``--repeat``, for the whole city and for the busiest district.
  Baseline: ``GET /api/layers`` (the layer list: auth + routing, no data).

    .venv/bin/python bench/wall.py --template layersdev_s40 --forecast
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import serve_app  # noqa: E402
from geodata import accounts  # noqa: E402
from geodata.engine import get_engine  # noqa: E402
from geodata.settings import Settings  # noqa: E402
from geodata.store import drop_database, embedded_store, migrate  # noqa: E402
from geodata.vocab import CLOSED_SQL  # noqa: E402
from tests.ui.conftest import launch, log_in  # noqa: E402

SOFTWARE_WEBGL = ("--use-angle=swiftshader", "--enable-unsafe-swiftshader")
USER = "bench_wall_leader"
FULL_HD = {"width": 1920, "height": 1080}
WALL_PARTS = {
    "tiles": "document.querySelector('#wall-kpi-open')",
    "trend": "document.querySelector('#wall-trend .wall-bar-day')",
    "map": "(w => w && w.summary && w.summary.hex && w.summary.areas && w.summary.alarms"
    " && w.summary.risk)(window.onemap && window.onemap.wall)",
    "twin": "(t => t && t.timing.drawn > 0)(window.onemap && window.onemap.twin)",
}
WALL_READY = (
    "() => new Promise(resolve => { const parts = {"
    + ", ".join(f"{k}: () => {v}" for k, v in WALL_PARTS.items())
    + "}; const seen = {}; (function poll() {"
    " Object.keys(parts).forEach(k => { if (!(k in seen) && parts[k]()) {"
    " seen[k] = performance.now(); } });"
    " if (Object.keys(seen).length === Object.keys(parts).length) {"
    " requestAnimationFrame(() => { seen.all = performance.now(); resolve(seen); }); }"
    " else { setTimeout(poll, 20); } })(); })"
)
TWIN_READY = """() => new Promise(resolve => {
    (function poll() {
        const t = window.onemap && window.onemap.twin;
        if (t && t.timing.drawn > 0) { requestAnimationFrame(() => resolve(performance.now())); }
        else { setTimeout(poll, 20); }
    })();
})"""
HOME_READY = """() => new Promise(resolve => {
    (function poll() {
        if (document.querySelector('.leaflet-overlay-pane path, .leaflet-overlay-pane svg g')) {
            requestAnimationFrame(() => resolve(performance.now()));
        } else { setTimeout(poll, 20); }
    })();
})"""


def _admin(server: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE DATABASE) on the server of ``server``."""
    engine = get_engine(server)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))


@contextmanager
def store(args: argparse.Namespace) -> Iterator[str]:
    """The database the bench serves (a copy or a fresh build is dropped afterwards)."""
    if args.url:
        yield args.url
        return
    cluster = embedded_store(Settings(database_url=None))
    cluster.start()
    name = f"onemap_bench_wall_{os.getpid()}"
    server = cluster.url()
    drop_database(server, name)
    started = time.perf_counter()
    if args.template:
        _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{args.template}"')
        url = server.rsplit("/", 1)[0] + f"/{name}"
        migrate(url)
        print(f"copied {args.template} in {time.perf_counter() - started:.1f} s")
    else:
        from geodata.demo import build_demo

        _admin(server, f'CREATE DATABASE "{name}"')
        url = server.rsplit("/", 1)[0] + f"/{name}"
        migrate(url)
        build_demo(url, scale=args.scale, seed=args.seed)
        print(f"demo city scale {args.scale:g} built in {time.perf_counter() - started:.1f} s")
    try:
        yield url
    finally:
        get_engine(url).dispose()
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(server, name)


def leader(url: str) -> tuple[str, str]:
    """A whole-city leader account for the bench: (password, API token)."""
    password = accounts.new_password()
    with get_engine(url).begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM account WHERE username = :u"), {"u": USER})
        if exists.first():
            accounts.set_password(conn, USER, password)
        else:
            accounts.add_account(conn, USER, "leader", password, [])
        token = accounts.issue_token(conn, USER, "bench")
    return password, token


def scale_of(url: str) -> str:
    with get_engine(url).connect() as conn:
        residents = conn.execute(text("SELECT count(*) FROM resident")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
        devices = conn.execute(text("SELECT count(*) FROM device")).scalar_one()
    return f"{residents:,} residents, {events:,} incidents, {devices:,} devices"


def busiest_district(url: str) -> int:
    sql = (
        "SELECT a.id FROM area a JOIN event e ON e.area_id IS NOT NULL "
        "AND ST_Intersects(e.loc, a.geom) WHERE a.level = 'district' "
        f"AND e.status NOT IN {CLOSED_SQL} "
        "GROUP BY a.id ORDER BY count(*) DESC LIMIT 1"
    )
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def timed(request: urllib.request.Request, repeat: int) -> float:
    """Best wall time (ms) of ``repeat`` HTTP calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _get(url: str, token: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})


def refresh_payload(page) -> dict:
    """The body the browser posts for the wall's refresh callback on a live tick."""
    with page.expect_request(
        lambda r: "_dash-update-component" in r.url and "wall-kpi-open" in (r.post_data or "")
    ) as caught:
        page.evaluate("window.dash_clientside.set_props('wall-tick', {data: Date.now()})")
    return json.loads(caught.value.post_data)


def drill(page, area: int) -> None:
    """Click area ``area`` on the wall's map and wait for its layers."""
    page.locator(f"path.wall-area-{area}").dispatch_event("click")
    page.wait_for_function(
        "id => (window.onemap.wall.summary || {}).areasOf === id", arg=area, timeout=60_000
    )


def replay(base: str, token: str, payload: dict, repeat: int) -> float:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        base + "_dash-update-component",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return timed(request, repeat)


def layer_urls(page) -> dict[str, str]:
    """The requests a live tick makes: the wall map's layers and the 3D panel's live layers."""
    return page.evaluate(
        """() => {
            const out = {}, wall = window.onemap.wall.urls, twin = window.onemap.twin;
            Object.keys(wall).forEach(k => { out["map " + k] = wall[k]; });
            ["hexagons", "alarms"].forEach(k => {
                if (twin && twin.urls[k]) { out["3D " + k] = twin.urls[k]; }
            });
            return out;
        }"""
    )


def _absolute(base: str, url: str) -> str:
    return url if url.startswith("http") else base + url.lstrip("/")


def render(page, base: str, path: str, ready: str):
    page.goto(base + path, wait_until="commit")
    return page.evaluate(ready)


def parts(seen: dict[str, float]) -> str:
    """``tiles 900 ms, map 1200 ms …`` (when each part was first drawn)."""
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(seen.items(), key=lambda kv: kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--url", help="use this database as is")
    parser.add_argument("--template", help="copy this database of the embedded cluster")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the copy or build")
    parser.add_argument(
        "--forecast", action="store_true", help="store a 7-day risk forecast run first"
    )
    args = parser.parse_args()

    with store(args) as url:
        print(f"store: {scale_of(url)}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")  # fmt: skip
        if args.forecast:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "analytics", "forecast", "--horizon", "7"],
                cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            print(f"risk forecast run stored in {time.perf_counter() - started:.1f} s")
        password, token = leader(url)
        district = busiest_district(url)
        with serve_app(url) as base:
            run(base, password, token, district, args.repeat)


def wall_4k(browser, base: str, password: str, home_ms: float) -> None:
    """The first full render of /wall on a 3840×2160 wall (its own browser context: cold,
    then warm), beside the home map's figure of the same run."""
    page = signed_in(browser, base, password, {"width": 3840, "height": 2160})
    cold = render(page, base, "wall", WALL_READY)
    warm = render(page, base, "wall", WALL_READY)
    print(f"first full render of /wall at 3840×2160: cold {cold['all']:.0f} ms, "
          f"warm {warm['all']:.0f} ms (budget 3000 ms; ratio to the home map "
          f"{warm['all'] / home_ms:.2f})")  # fmt: skip
    print(f"  cold, ms after navigation: {parts(cold)}")
    print(f"  warm, ms after navigation: {parts(warm)}")
    page.context.close()


def signed_in(browser, base: str, password: str, viewport: dict[str, int]):
    """A page of a new browser profile (empty cache) signed in as the bench leader."""
    page = browser.new_context(viewport=viewport).new_page()
    log_in(page, base, USER, password)
    return page


def warm_server(browser, base: str, password: str) -> None:
    """One visit to /wall from a browser profile of its own, so that the measured first visits
    find the app warm (its first queries planned, its pool filled), as bench/grid_page.py does;
    the profiles measured after it start with empty caches."""
    page = signed_in(browser, base, password, FULL_HD)
    render(page, base, "wall", WALL_READY)
    page.context.close()


def run(base: str, password: str, token: str, district: int, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, SOFTWARE_WEBGL)
        context = browser.new_context(viewport=FULL_HD)
        page = context.new_page()
        other: list[str] = []
        page.on("request", lambda r: other.append(r.url) if not r.url.startswith(base) else None)
        warm_server(browser, base, password)
        log_in(page, base, USER, password)
        cold = render(page, base, "wall", WALL_READY)
        cold_timing = page.evaluate("window.onemap.twin.timing")
        warm = render(page, base, "wall", WALL_READY)
        timing = page.evaluate("window.onemap.twin.timing")
        drawn = page.evaluate(
            "Object.fromEntries(Object.entries(window.onemap.twin.meta)"
            ".filter(([, m]) => m).map(([k, m]) => [k, m.count]))"
        )
        home = render(page, base, "", HOME_READY)
        twin_page = render(page, base, "twin", TWIN_READY)
        print(f"first full render of /wall at 1920×1080: cold {cold['all']:.0f} ms, "
              f"warm {warm['all']:.0f} ms (budget 3000 ms); baselines: home map / {home:.0f} ms, "
              f"3D twin /twin {twin_page:.0f} ms; "
              f"requests to other origins: {len(other)}")  # fmt: skip
        print(f"  cold, ms after navigation: {parts(cold)}")
        print(f"  warm, ms after navigation: {parts(warm)}")
        for label, times in (("cold", cold_timing), ("warm", timing)):
            print(f"  3D panel ({label}):", ", ".join(f"{k} {v:.0f}" for k, v in times.items()),
                  "ms")  # fmt: skip
        print("  3D panel features/cells drawn:", drawn)
        render(page, base, "wall", WALL_READY)
        shot = ROOT / ".onemap" / "artifacts" / "wall_bench.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot))
        print(f"  screenshot: {shot.relative_to(ROOT)}")
        payload = refresh_payload(page)
        page.wait_for_timeout(1500)
        urls = layer_urls(page)
        drill(page, district)
        district_payload = refresh_payload(page)
        page.wait_for_timeout(1500)
        district_urls = layer_urls(page)
        wall_4k(browser, base, password, home)
        browser.close()
    baseline = timed(_get(base + "api/layers", token), repeat)
    runs = (("city", payload, urls), (f"district {district}", district_payload,
                                       district_urls))  # fmt: skip
    for label, body, layer_urls_ in runs:
        callback = replay(base, token, body, repeat)
        each = {k: timed(_get(_absolute(base, u), token), repeat) for k, u in layer_urls_.items()}
        layers = sum(each.values())
        print(f"live refresh ({label}): callback {callback:.0f} ms + {len(each)} layer requests "
              f"{layers:.0f} ms = {callback + layers:.0f} ms server-side, sequential "
              f"(budget 500 ms); baseline GET /api/layers {baseline:.0f} ms")  # fmt: skip
        print("  per layer:", ", ".join(f"{k} {v:.0f} ms" for k, v in each.items()))


if __name__ == "__main__":
    main()
