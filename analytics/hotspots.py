"""Hot and cold spots (热点/冷点分析): Getis-Ord Gi* over incident counts per H3 cell.

Counting happens in SQL (the ``hotspots`` layer's provider, :mod:`layers.providers.hotspots`:
``GROUP BY`` the stored ``h3_r9`` or the r8 derived from it, over ``event.reported_at`` in the
window and the layer's category/status/severity filters, the selected area and the viewer's
scope); this module takes those counts and returns the classes. The statistic runs in Python
over H3 adjacency (``grid_disk(cell, 1)``, binary weights with the cell itself): the analytical
z-score with numpy (the moments of esda's ``G_Local(star=True, transform='B')``, which the unit
tests hold it equal to), and esda's ``G_Local`` on a libpysal ``W`` for permutations.

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

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import h3
import numpy as np

from geodata.query import BBox

if TYPE_CHECKING:
    from libpysal.weights import W

RESOLUTIONS = (8, 9)
DEFAULT_RESOLUTION = 8
RINGS = 1
"""Zero-count cells within this many rings of an incident cell join the study region."""
SEED = 20260701
CONFIDENCE = ((99, 2.576, 0.01), (95, 1.960, 0.05), (90, 1.645, 0.10))
"""(confidence %, two-sided |z| threshold, p threshold), strictest first."""
NOT_SIGNIFICANT = "ns"
_h3 = h3.api.basic_int
_mv = h3.api.memview_int
"""h3's memoryview API: a cell's disk as a buffer, so many disks join into one array."""


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
CODES = tuple(c.code for c in CLASSES)


@dataclass(frozen=True)
class Hotspots:
    """Gi* of every study cell (arrays aligned with ``cells``, sorted by cell id)."""

    cells: np.ndarray
    counts: np.ndarray
    z: np.ndarray
    p: np.ndarray
    classes: tuple[str, ...]
    permutations: int
    levels: np.ndarray
    """Class index of each cell (into :data:`CLASSES`; ``classes`` as numbers)."""

    def of(self, code: str) -> list[int]:
        """The cells of class ``code``."""
        return self.cells[self.levels == CLASS_INDEX[code]].tolist()


def disks(cells: np.ndarray, k: int = 1) -> np.ndarray:
    """Row ``i``: the cells within ``k`` rings of ``cells[i]`` (itself included), as int64;
    ``-1`` pads the shorter disks near the twelve pentagons."""
    size = 1 + 3 * k * (k + 1)
    ids = np.asarray(cells, dtype=np.int64).tolist()
    flat = np.frombuffer(b"".join([_mv.grid_disk(c, k) for c in ids]), dtype=np.int64)
    if flat.size == size * len(ids):
        return flat.reshape(len(ids), size)
    out = np.full((len(ids), size), -1, dtype=np.int64)  # a pentagon among them
    for row, cell in enumerate(ids):
        disk = _h3.grid_disk(cell, k)
        out[row, : len(disk)] = disk
    return out


def _region_and_rows(counted: np.ndarray, rings: int) -> tuple[np.ndarray, np.ndarray]:
    """The study region of the (unique) ``counted`` cells and its one-ring disks."""
    around = disks(counted, rings)
    region = np.unique(around[around >= 0])
    if rings != 1:
        return region, disks(region, 1)
    rows = np.empty((len(region), 7), dtype=np.int64)
    mine = np.searchsorted(region, counted)
    rows[mine] = around  # a counted cell's disk is already known
    zero = np.ones(len(region), dtype=bool)
    zero[mine] = False
    rows[zero] = disks(region[zero], 1)
    return region, rows


def study_region(counted: Iterable[int], rings: int = RINGS) -> np.ndarray:
    """Sorted cells with incidents plus those within ``rings`` rings of one."""
    cells = np.unique(np.fromiter((int(c) for c in counted), dtype=np.int64))
    around = disks(cells, rings)
    return np.unique(around[around >= 0])


def neighbour_index(cells: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Positions in ``cells`` (sorted) of each cell's one-ring disk, itself included; ``-1``
    where the neighbour is not in ``cells``. ``rows``: the disks, if already known."""
    rows = disks(cells, 1) if rows is None else rows
    if not len(cells):
        return np.empty(rows.shape, dtype=np.int64)
    at = np.minimum(np.searchsorted(cells, rows), len(cells) - 1)
    return np.where(cells[at] == rows, at, -1)


def adjacency(cells: np.ndarray, index: np.ndarray | None = None) -> W:
    """Binary H3-adjacency weights (the six touching cells present in ``cells``)."""
    from libpysal.weights import W  # esda/libpysal take seconds to import: only when used

    index = neighbour_index(cells) if index is None else index
    ids = cells.tolist()
    neighbours = {
        c: [ids[j] for j in row if j >= 0 and j != i]
        for i, (c, row) in enumerate(zip(ids, index.tolist(), strict=True))
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands are legal: Gi* keeps the cell itself
        return W(neighbours, id_order=ids, silence_warnings=True)


def class_levels(z: np.ndarray, p_sim: np.ndarray | None = None) -> np.ndarray:
    """Class index (into :data:`CLASSES`) of each cell: hot/cold at the strictest confidence
    met (by ``|z|``, or by ``p_sim`` with the sign of z), else not significant."""
    z = np.asarray(z, dtype=float)
    out = np.full(len(z), CLASS_INDEX[NOT_SIGNIFICANT], dtype=np.int64)
    signed = np.isfinite(z) & (z != 0)
    hot = z > 0
    for level, z_min, p_max in reversed(CONFIDENCE):  # weakest first: stricter ones overwrite
        met = signed & (np.asarray(p_sim) <= p_max if p_sim is not None else np.abs(z) >= z_min)
        out[met & hot] = CLASS_INDEX[f"hot{level}"]
        out[met & ~hot] = CLASS_INDEX[f"cold{level}"]
    return out


def classify(z: np.ndarray, p_sim: np.ndarray | None = None) -> tuple[str, ...]:
    """Class codes: hot/cold at the strictest confidence met, else not significant."""
    return tuple(CODES[i] for i in class_levels(z, p_sim).tolist())


def gi_star_z(y: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Analytical Gi* z-scores, binary weights with the cell itself (esda's ``G_Local``
    ``star=True, transform='B'`` moments), ``index`` from :func:`neighbour_index`.
    Undefined scores (a cell whose disk is the whole region) are 0."""
    present = index >= 0
    local = np.where(present, y[index], 0.0).sum(axis=1)
    cardinality = present.sum(axis=1).astype(float)
    n, total = len(y), y.sum()
    mean = total / n
    variance = (y**2).sum() / n - mean**2
    expected = cardinality / n
    spread = cardinality * (n - cardinality) / (n - 1) * (1 / n**2) * (variance / mean**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (local / total - expected) / np.sqrt(spread)
    return np.nan_to_num(z)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-value of ``z`` (at most 1)."""
    from scipy.special import ndtr

    return np.minimum(2 * ndtr(-np.abs(z)), 1.0)


def _permuted(
    y: np.ndarray, cells: np.ndarray, index: np.ndarray, permutations: int
) -> tuple[np.ndarray, np.ndarray]:
    """esda's ``G_Local`` with conditional permutations (seeded): (z, two-sided p_sim)."""
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # esda's note on `alternative`
        g = G_Local(
            y,
            adjacency(cells, index),
            transform="B",
            star=True,
            permutations=permutations,
            keep_simulations=False,
            n_jobs=1,
            seed=SEED,
        )
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    return z, np.minimum(2 * np.asarray(g.p_sim, dtype=float), 1.0)


def gi_star(
    cells: np.ndarray, counts: np.ndarray, permutations: int = 0, index: np.ndarray | None = None
) -> Hotspots:
    """Getis-Ord Gi* of ``counts`` on ``cells`` (analytical, or permutations seeded);
    ``index``: :func:`neighbour_index` of ``cells``, if already known."""
    y = np.asarray(counts, dtype=float)
    n = len(y)
    if n < 3 or y.sum() == 0 or np.all(y == y[0]):  # no variation: nothing stands out
        levels = np.full(n, CLASS_INDEX[NOT_SIGNIFICANT], dtype=np.int64)
        ns = (NOT_SIGNIFICANT,) * n
        return Hotspots(cells, y, np.zeros(n), np.ones(n), ns, permutations, levels)
    index = neighbour_index(cells) if index is None else index
    if permutations:
        z, p = _permuted(y, cells, index, permutations)
        levels = class_levels(z, p)
    else:
        z = gi_star_z(y, index)
        p = two_sided_p(z)
        levels = class_levels(z)
    classes = tuple(CODES[i] for i in levels.tolist())
    return Hotspots(cells, y, z, p, classes, permutations, levels)


def hotspots_of_arrays(
    counted: np.ndarray, counts: np.ndarray, rings: int = RINGS, permutations: int = 0
) -> Hotspots:
    """Gi* over the study region of ``counted`` (unique cells) holding ``counts`` incidents."""
    counted = np.asarray(counted, dtype=np.int64)
    region, rows = _region_and_rows(counted, rings)
    y = np.zeros(len(region))
    y[np.searchsorted(region, counted)] = counts
    return gi_star(region, y, permutations, neighbour_index(region, rows))


def hotspots_of_counts(
    counted: Mapping[int, int], rings: int = RINGS, permutations: int = 0
) -> Hotspots:
    """Gi* over the study region of ``counted`` (cell → incidents; other cells count 0)."""
    cells = np.fromiter((int(c) for c in counted), dtype=np.int64, count=len(counted))
    counts = np.fromiter(counted.values(), dtype=float, count=len(counted))
    return hotspots_of_arrays(cells, counts, rings, permutations)


# --- which cells are in view -------------------------------------------------------------------


def _in_view(cells: np.ndarray, bbox: BBox, resolution: int) -> np.ndarray:
    """Mask of cells whose centre lies in ``bbox`` grown by one cell edge."""
    edge = h3.average_hexagon_edge_length(resolution, "km") / 111.0
    b = bbox
    flat = chain.from_iterable(map(_h3.cell_to_latlng, cells.tolist()))
    centres = np.fromiter(flat, dtype=float, count=2 * len(cells)).reshape(-1, 2)
    lat, lng = centres[:, 0], centres[:, 1]
    return (
        (lng >= b.minx - edge)
        & (lng <= b.maxx + edge)
        & (lat >= b.miny - edge)
        & (lat <= b.maxy + edge)
    )


def strongest_in_view(spots: Hotspots, bbox: BBox, resolution: int) -> np.ndarray:
    """Positions of the study cells in view, strongest |z| first (ties: by cell id)."""
    shown = np.flatnonzero(_in_view(spots.cells, bbox, resolution))
    return shown[np.lexsort((spots.cells[shown], -np.abs(spots.z[shown])))]
