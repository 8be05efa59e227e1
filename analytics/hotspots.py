"""Hot and cold spots (热点/冷点分析): Getis-Ord Gi* over incident counts per H3 cell.

Counting happens in SQL (``GROUP BY`` the stored ``h3_r9`` or the r8 derived from it, over
``event.reported_at`` in the window and the layer's category/status/severity filters, the
selected area and the viewer's scope). The statistic runs in Python with esda's ``G_Local``
(``star=True``, binary weights) on a libpysal ``W`` built from H3 adjacency
(``grid_disk(cell, 1)``).

Study region: every cell with an incident plus every cell within :data:`RINGS` rings of one,
with a count of zero. Without the zero cells Gi* would compare busy cells only with other busy
cells; with them a cluster stands out against its quiet surroundings. The region does not
depend on the viewport (panning never changes a cell's class); the bbox only picks which cells
are sent.

Inference: the analytical z-score by default (exact, instant, deterministic); with
``permutations > 0`` conditional permutations with a fixed seed (:data:`SEED`) and the pseudo
p-value (esda's folded p, doubled to be two-sided). Classes: hot or cold at 99/95/90 %
confidence (|z| ≥ 2.576/1.960/1.645, or p ≤ 0.01/0.05/0.10, with the sign of z), else not
significant.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import h3
import numpy as np

from geodata.layer_query import LayerQuery
from geodata.layer_sql import cell_sql, conditions
from geodata.viewer import Viewer
from layers.base import Layer

if TYPE_CHECKING:
    from libpysal.weights import W

    from geodata.features import Runner

RESOLUTIONS = (8, 9)
DEFAULT_RESOLUTION = 8
RINGS = 1
"""Zero-count cells within this many rings of an incident cell join the study region."""
SEED = 20260701
CONFIDENCE = ((99, 2.576, 0.01), (95, 1.960, 0.05), (90, 1.645, 0.10))
"""(confidence %, two-sided |z| threshold, p threshold), strictest first."""
NOT_SIGNIFICANT = "ns"


@dataclass(frozen=True)
class HotspotClass:
    """One class of the map: its code, colour, and zh/en label."""

    code: str
    color: str
    zh: str
    en: str


CLASSES: tuple[HotspotClass, ...] = (
    HotspotClass("cold99", "#1d4ed8", "冷点（99% 置信）", "Cold spot, 99% confidence"),
    HotspotClass("cold95", "#3b82f6", "冷点（95% 置信）", "Cold spot, 95% confidence"),
    HotspotClass("cold90", "#93c5fd", "冷点（90% 置信）", "Cold spot, 90% confidence"),
    HotspotClass(NOT_SIGNIFICANT, "#64748b", "不显著", "Not significant"),
    HotspotClass("hot90", "#fca5a5", "热点（90% 置信）", "Hot spot, 90% confidence"),
    HotspotClass("hot95", "#ef4444", "热点（95% 置信）", "Hot spot, 95% confidence"),
    HotspotClass("hot99", "#b91c1c", "热点（99% 置信）", "Hot spot, 99% confidence"),
)
"""Low to high: a class's index is its ``level`` (the layer's ramp is these colours)."""
CLASS_INDEX = {c.code: i for i, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class Hotspots:
    """Gi* of every study cell (arrays aligned with ``cells``, sorted by cell id)."""

    cells: np.ndarray
    counts: np.ndarray
    z: np.ndarray
    p: np.ndarray
    classes: tuple[str, ...]
    permutations: int

    def of(self, code: str) -> list[int]:
        """The cells of class ``code``."""
        return [int(c) for c, k in zip(self.cells, self.classes, strict=True) if k == code]


def study_region(counted: Iterable[int], rings: int = RINGS) -> np.ndarray:
    """Sorted cells with incidents plus those within ``rings`` rings of one."""
    cells: set[int] = set()
    for cell in counted:
        cells.update(h3.api.basic_int.grid_disk(int(cell), rings))
    return np.array(sorted(cells), dtype=np.int64)


def adjacency(cells: np.ndarray) -> W:
    """Binary H3-adjacency weights (the six touching cells present in ``cells``)."""
    from libpysal.weights import W  # esda/libpysal take seconds to import: only when used

    present = set(cells.tolist())
    disk = h3.api.basic_int.grid_disk
    neighbours = {c: [n for n in disk(c, 1) if n != c and n in present] for c in cells.tolist()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands are legal: Gi* keeps the cell itself
        return W(neighbours, id_order=cells.tolist(), silence_warnings=True)


def classify(z: np.ndarray, p_sim: np.ndarray | None = None) -> tuple[str, ...]:
    """Class codes: hot/cold at the strictest confidence met, else not significant."""
    out = []
    for i, zi in enumerate(z.tolist()):
        code = NOT_SIGNIFICANT
        for level, z_min, p_max in CONFIDENCE:
            met = p_sim[i] <= p_max if p_sim is not None else abs(zi) >= z_min
            if met and zi != 0 and math.isfinite(zi):
                code = f"{'hot' if zi > 0 else 'cold'}{level}"
                break
        out.append(code)
    return tuple(out)


def gi_star(cells: np.ndarray, counts: np.ndarray, permutations: int = 0) -> Hotspots:
    """Getis-Ord Gi* of ``counts`` on ``cells`` (analytical, or permutations seeded)."""
    y = np.asarray(counts, dtype=float)
    n = len(y)
    if n < 3 or y.sum() == 0 or np.all(y == y[0]):  # no variation: nothing stands out
        zeros = np.zeros(n)
        return Hotspots(cells, y, zeros, np.ones(n), (NOT_SIGNIFICANT,) * n, permutations)
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # esda's note on `alternative`
        g = G_Local(
            y,
            adjacency(cells),
            transform="B",
            star=True,
            permutations=permutations,
            keep_simulations=False,
            n_jobs=1,
            seed=SEED if permutations else None,
        )
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    p = 2 * np.asarray(g.p_sim if permutations else g.p_norm, dtype=float)  # two-sided
    return Hotspots(
        cells, y, z, np.minimum(p, 1.0), classify(z, p if permutations else None), permutations
    )


def hotspots_of_counts(
    counted: Mapping[int, int], rings: int = RINGS, permutations: int = 0
) -> Hotspots:
    """Gi* over the study region of ``counted`` (cell → incidents; other cells count 0)."""
    cells = study_region(counted, rings)
    counts = np.array([counted.get(int(c), 0) for c in cells], dtype=float)
    return gi_star(cells, counts, permutations)


# --- the store: counting in SQL ------------------------------------------------------------------


def counts_sql(layer: Layer, where: str, resolution: int) -> str:
    """Incidents per H3 cell over the whole study area (no bbox: the region is city-wide)."""
    return f"""SELECT {cell_sql(resolution)} AS cell, count(*) AS n
FROM "{layer.source}" AS t WHERE {where} GROUP BY 1"""


def cell_counts(
    run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer, resolution: int
) -> dict[int, int]:
    """Incidents per cell in the query's window, filters, area and the viewer's scope."""
    where = conditions(layer, query, viewer, "TRUE")
    params = {k: v for k, v in where.params.items() if k not in query.bbox.params()}
    return {int(c): int(n) for c, n in run.all(counts_sql(layer, where.sql, resolution), params)}


def resolution_of(query: LayerQuery) -> int:
    """The H3 resolution asked for (``?res=8|9``; 8 by default)."""
    return int(query.option("res", str(DEFAULT_RESOLUTION)))


def _in_view(cells: np.ndarray, query: LayerQuery, resolution: int) -> np.ndarray:
    """Mask of cells whose centre lies in the bbox grown by one cell edge."""
    edge = h3.average_hexagon_edge_length(resolution, "km") / 111.0
    b = query.bbox
    centres = np.array([h3.api.basic_int.cell_to_latlng(int(c)) for c in cells]).reshape(-1, 2)
    lat, lng = centres[:, 0], centres[:, 1]
    return (
        (lng >= b.minx - edge)
        & (lng <= b.maxx + edge)
        & (lat >= b.miny - edge)
        & (lat <= b.maxy + edge)
    )


def properties(spots: Hotspots, i: int) -> dict[str, object]:
    """The feature properties of study cell ``i``."""
    code = spots.classes[i]
    cls = CLASSES[CLASS_INDEX[code]]
    confidence = int(code[-2:]) if code != NOT_SIGNIFICANT else None
    return {
        "count": int(spots.counts[i]),
        "z": round(float(spots.z[i]), 3),
        "p": round(float(spots.p[i]), 4),
        "class": code,
        "confidence": confidence,
        "level": CLASS_INDEX[code],
        "name": cls.zh,
        "name_en": cls.en,
    }


def provide(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """The ``hotspots`` provider: Gi* classes of the study cells in view, strongest first."""
    from geodata.aggregates import _finish, hexagon_feature

    resolution = resolution_of(query)
    spots = hotspots_of_counts(cell_counts(run, layer, query, viewer, resolution))
    shown = np.flatnonzero(_in_view(spots.cells, query, resolution)) if len(spots.cells) else []
    order = sorted(shown, key=lambda i: (-abs(float(spots.z[i])), int(spots.cells[i])))
    kept = order[: query.limit]
    features = [hexagon_feature(int(spots.cells[i]), properties(spots, i)) for i in kept]
    tally = {c.code: spots.classes.count(c.code) for c in CLASSES}
    _finish(
        run,
        features,
        len(order) > query.limit,
        by="h3",
        h3_resolution=resolution,
        property="class",
        method="Getis-Ord Gi*",
        inference="analytical z" if not spots.permutations else "permutations",
        rings=RINGS,
        study_cells=len(spots.cells),
        incidents=int(spots.counts.sum()),
        classes=tally,
    )
