"""Benchmark: the hotspot layer (Gi* per H3 r8 cell) for a one-year window on the demo city.

Builds the demo city into a fresh database (or uses ``--url``), tops its incidents up to
``--incidents`` by copying them in SQL, then times the ``hotspots`` layer's whole answer
(count SQL, study region, H3 adjacency, numpy Gi*, hexagon features) for the city bbox and the
last 365 days, best of ``--repeat``, against the bare counting SQL it runs, timed in the same
run as baseline, and each Python stage (none cached between calls) with esda's ``G_Local``
on the same input for reference. ``--incidents 0`` leaves a ``--url`` database as it is.

    .venv/bin/python bench/hotspots.py --scale 0.25 --incidents 1000000
"""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import text

from analytics import hotspots as hs
from bench.common import add_incident_args, best, incident_demo
from geodata.accounts.viewer import PUBLIC
from geodata.engine import get_engine
from geodata.query import BBox, TimeWindow
from geodata.settings import get_settings
from layers import engine
from layers.query import LayerQuery
from layers.registry import get_layer


def run(url: str, repeat: int, resolution: int) -> None:
    with get_engine(url).connect() as conn:
        n, last, box = conn.execute(
            text(
                "SELECT count(*), max(reported_at), ST_Extent(loc)::geometry::box2d::text "
                "FROM event"
            )
        ).one()
    nums = [float(v) for v in box[4:-1].replace(" ", ",").split(",")]
    window = TimeWindow(last - timedelta(days=365), last + timedelta(seconds=1))
    layer = get_layer("hotspots")
    query = LayerQuery(BBox(*nums), 12.0, 5000, window, {"res": (str(resolution),)})
    settings = get_settings()
    answer = engine.answer(url, layer, query, PUBLIC, settings)  # warm: esda import, hexagon cache
    (sql, params) = answer.statements[0]

    def baseline() -> None:
        with get_engine(url).connect() as conn:
            conn.execute(text(sql), params).all()

    base = best(baseline, repeat)
    whole = best(lambda: engine.answer(url, layer, query, PUBLIC, settings), repeat)
    agg = answer.meta["aggregate"]
    counted, counts = _counts(url, sql, params)
    stages = _stages(counted, counts, repeat)
    print(f"{n:,} incidents; window {window.start:%Y-%m-%d} … {window.end:%Y-%m-%d}: "
          f"{agg['incidents']:,} in {len(counted):,} r{resolution} cells, "
          f"study region {agg['study_cells']:,} cells, {answer.meta['count']} sent")  # fmt: skip
    print(f"baseline (bare counting SQL): {base * 1000:7.1f} ms")
    print("  Python stages (no caches): "
          + ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in stages.items()))  # fmt: skip
    verdict = "under" if whole < 2 else "OVER"
    print(f"hotspot layer, whole answer:  {whole * 1000:7.1f} ms  ({whole / base:.2f}× baseline; "
          f"{verdict} the 2 s target)  classes {agg['classes']}")  # fmt: skip


def _stages(counted: np.ndarray, counts: np.ndarray, repeat: int) -> dict[str, float]:
    """Best seconds of each Python stage of the layer, and of esda's G_Local for reference."""
    region, rows = hs._region_and_rows(counted, hs.RINGS)
    y = np.zeros(len(region))
    y[np.searchsorted(region, counted)] = counts
    index = hs.neighbour_index(region, rows)
    weights = hs.adjacency(region, index)
    return {
        "study region + disks": best(lambda: hs._region_and_rows(counted, hs.RINGS), repeat),
        "neighbour index": best(lambda: hs.neighbour_index(region, rows), repeat),
        "Gi* (numpy, classes)": best(lambda: hs.gi_star(region, y, index=index), repeat),
        "all of these": best(lambda: hs.hotspots_of_arrays(counted, counts), repeat),
        "esda G_Local (reference, W built)": best(lambda: _esda(y, weights), repeat),
    }


def _esda(y: np.ndarray, weights: object) -> None:
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G_Local(y, weights, transform="B", star=True, permutations=0, keep_simulations=False)


def _counts(url: str, sql: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(sql), params).all()
    return np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_incident_args(parser, scale=0.25)
    parser.add_argument("--res", type=int, default=8, choices=hs.RESOLUTIONS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with incident_demo(args, "hotspots") as url:
        run(url, args.repeat, args.res)


if __name__ == "__main__":
    main()
