"""Benchmark: the 3D twin's first view in headless Chromium (software WebGL).

Builds the demo city into a fresh database (or uses ``--url``), serves it with ``app.py`` and
opens ``/twin`` at the middle of the city twice in one browser profile: cold (empty cache) and
warm (reload). Prints, from Chrome's network events, the bytes transferred for the first view
without the deck.gl bundle (budget: 1 MB), the bundle's own bytes (cached for a year after
the first visit), the number of requests and requests to other origins (must be 0), and the
time from navigation to the first frame drawn with the viewport's data.

    .venv/bin/python bench/twin_view.py --scale 1
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import scratch_demo, serve_app, session_cookies  # noqa: E402
from geodata.engine import get_engine  # noqa: E402
from tests.ui.conftest import launch  # noqa: E402

SOFTWARE_WEBGL = ("--use-angle=swiftshader", "--enable-unsafe-swiftshader")
BUDGET = 1_000_000
PAINTED = """() => new Promise(resolve => {
    const done = () => requestAnimationFrame(() => resolve(performance.now()));
    (function poll() {
        const t = window.onemap && window.onemap.twin;
        if (t && t.loaded > 0) { done(); } else { requestAnimationFrame(poll); }
    })();
})"""


@dataclass
class Visit:
    """Bytes on the wire per URL of one page load and its first-paint time."""

    sizes: dict[str, int] = field(default_factory=dict)
    paint_ms: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)

    def bytes(self, part: str | None = None) -> int:
        """Bytes of one part (``deck``, ``dash``, ``page``), or of all but the deck bundle."""
        return sum(n for url, n in self.sizes.items() if _part(url) == part or (
            part is None and _part(url) != "deck"))  # fmt: skip


def _part(url: str) -> str:
    if "/vendor/deck.gl/" in url:
        return "deck"
    return "dash" if "/_dash-component-suites/" in url else "page"


def _centre(url: str) -> tuple[float, float]:
    sql = "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Extent(loc)::geometry) c FROM building) x"  # noqa: E501
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(text(sql)).one())


def visit(page, cdp, target: str) -> Visit:
    """Load ``target`` and record encoded bytes per request until the view is drawn."""
    result, urls = Visit(), {}

    def on_response(event: dict) -> None:
        urls[event["requestId"]] = event["response"]["url"]

    def on_finished(event: dict) -> None:
        url = urls.get(event["requestId"], event["requestId"])
        result.sizes[url] = result.sizes.get(url, 0) + int(event["encodedDataLength"])

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    page.goto(target, wait_until="commit")
    result.paint_ms = page.evaluate(PAINTED)
    result.timing = page.evaluate("window.onemap.twin.timing")
    page.wait_for_load_state("networkidle")
    cdp.remove_listener("Network.responseReceived", on_response)
    cdp.remove_listener("Network.loadingFinished", on_finished)
    return result


def largest(v: Visit, base: str, n: int = 6) -> str:
    """The ``n`` biggest transfers (kB, path)."""
    top = sorted(v.sizes.items(), key=lambda item: -item[1])[:n]
    return ", ".join(f"{size / 1e3:.0f} kB {url.removeprefix(base)[:48]}" for url, size in top)


def report(label: str, v: Visit, base: str) -> None:
    other = [u for u in v.sizes if not u.startswith(base) and not u.startswith("data:")]
    view = v.bytes()
    t = v.timing
    print(
        f"{label:5} first view {view / 1e6:6.3f} MB without deck.gl "
        f"({'within' if view <= BUDGET else 'OVER'} the 1 MB budget; Dash framework JS "
        f"{v.bytes('dash') / 1e6:.3f} MB, page + glue + data {v.bytes('page') / 1e6:.3f} MB), "
        f"deck.gl bundle {v.bytes('deck') / 1e6:5.3f} MB, {len(v.sizes)} requests, "
        f"{len(other)} to other origins"
    )
    print(
        f"      first paint {v.paint_ms:6.0f} ms after navigation (deck.gl ready "
        f"{t.get('bundle', 0):.0f} ms, deck created {t.get('deck', 0):.0f} ms, "
        f"data drawn {t.get('data', 0):.0f} ms)"
    )


def show(url: str, zoom: float) -> None:
    """Serve ``url`` and load the twin's first view cold and warm."""
    with serve_app(url, timeout=120) as base:
        lat, lon = _centre(url)
        target = f"{base}twin?lat={lat:.6f}&lon={lon:.6f}&zoom={zoom:g}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = launch(p, SOFTWARE_WEBGL)
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            context.add_cookies(session_cookies(url, base))
            page = context.new_page()
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            print(f"view: {target.removeprefix(base)} at 1920×1080")
            cold = visit(page, cdp, target)
            report("cold", cold, base)
            print("      largest:", largest(cold, base))
            report("warm", visit(page, cdp, target), base)
            counts = page.evaluate(
                "Object.fromEntries(Object.entries(window.onemap.twin.meta)"
                ".filter(([, m]) => m).map(([k, m]) => [k, m.count]))"
            )
            print("features/cells drawn per layer:", counts)
            shot = ROOT / ".onemap" / "artifacts" / "twin_bench.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shot))
            print(f"screenshot: {shot.relative_to(ROOT)}")
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--url", help="use this database instead of building the demo")
    parser.add_argument("--zoom", type=float, default=15.6, help="2D-scale zoom of the view")
    args = parser.parse_args()

    if args.url:
        show(args.url, args.zoom)
        return
    with scratch_demo(f"twin_{os.getpid()}", args.scale, args.seed) as url:
        show(url, args.zoom)


if __name__ == "__main__":
    main()
