"""Risk forecast: expected incidents per H3 cell over the next period, from incident history.

Pure functions over a DataFrame of incidents with columns ``lon``, ``lat``, ``time`` (tz-aware or
UTC) and optionally ``category``. The history becomes a count matrix (periods x cells); features
for period ``t`` are computed from periods ``< t`` only, so a model trained on periods before an
origin and evaluated at it never sees the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h3
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

OWN_WINDOWS = (1, 2, 4, 8, 13, 26, 52)
RING_WINDOWS = (1, 2, 4, 13, 52)  # 1 and 2: near-repeat (the last one or two periods)
CITY_WINDOWS = (1, 4, 13)
PARENT_WINDOWS = (1, 4, 13, 52)
PARENT_LEVELS = (1, 2)  # H3 parents at resolution - 1 and - 2 (about 7 and 49 cells)
SEASON_SPREAD = (-1, 0, 1)  # "a year earlier": periods t - lag + d (weekly: t-53 … t-51)
WARMUP_PERIODS = 4  # training rows start once this many periods of history exist
STALE_CAP = 52  # periods since the last incident are capped here


@dataclass(frozen=True)
class ModelConfig:
    """One candidate model: ``kind`` is ``"hgb"`` (gradient boosting) or ``"glm"`` (Poisson GLM)."""

    kind: str = "hgb"
    learning_rate: float = 0.05
    max_iter: int = 100
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 200
    l2: float = 1.0
    alpha: float = 1e-3  # GLM penalty

    def label(self) -> str:
        """A short name for tables."""
        if self.kind == "glm":
            return f"glm(alpha={self.alpha:g})"
        return (
            f"hgb(lr={self.learning_rate:g},it={self.max_iter},"
            f"leaves={self.max_leaf_nodes},min_leaf={self.min_samples_leaf})"
        )


@dataclass
class Grid:
    """Incident counts per period and H3 cell of the study region."""

    cells: np.ndarray  # H3 cell ids (str), sorted
    edges: pd.DatetimeIndex  # period boundaries, len = n_periods + 1
    counts: np.ndarray  # (n_periods, n_cells) int
    resolution: int
    events: pd.DataFrame = field(repr=False)  # the events kept (inside the periods), with cell

    @property
    def n_periods(self) -> int:
        return self.counts.shape[0]


def clean_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events with finite coordinates and a time, time as UTC, sorted by time."""
    out = events.loc[:, [c for c in ("lon", "lat", "time", "category") if c in events]].copy()
    out["time"] = pd.to_datetime(out["time"], utc=True, errors="coerce")
    ok = out["lon"].between(-180, 180) & out["lat"].between(-90, 90) & out["time"].notna()
    ok &= ~((out["lon"] == 0) & (out["lat"] == 0))
    return out[ok].sort_values("time", kind="stable").reset_index(drop=True)


def assign_cells(events: pd.DataFrame, resolution: int) -> np.ndarray:
    """The H3 cell of each event."""
    return np.array(
        [
            h3.latlng_to_cell(la, lo, resolution)
            for la, lo in zip(events.lat, events.lon, strict=True)
        ],
        dtype=object,
    )


def study_cells(event_cells: np.ndarray, ring: int = 1) -> np.ndarray:
    """The study region: every cell that ever had an incident plus its ``ring`` neighbours."""
    region: set[str] = set()
    for cell in set(event_cells):
        region.update(h3.grid_disk(cell, ring))
    return np.array(sorted(region), dtype=object)


def period_edges(times: pd.Series, horizon_days: int) -> pd.DatetimeIndex:
    """Period boundaries ending at midnight after the last event; an incomplete first period
    is dropped."""
    end = times.max().normalize() + pd.Timedelta(days=1)
    step = pd.Timedelta(days=horizon_days)
    n = int((end - times.min()) // step)
    return pd.DatetimeIndex([end - step * k for k in range(n, -1, -1)])


def count_matrix(
    period: np.ndarray, cell_index: np.ndarray, n_periods: int, n_cells: int
) -> np.ndarray:
    """Counts per (period, cell) from each event's period and cell index."""
    out = np.zeros((n_periods, n_cells), dtype=np.int64)
    np.add.at(out, (period, cell_index), 1)
    return out


def build_grid(
    events: pd.DataFrame,
    resolution: int = 8,
    horizon_days: int = 7,
    ring: int = 1,
    region: np.ndarray | None = None,
) -> Grid:
    """Count the events per period and cell; ``region`` (cell ids) defaults to
    :func:`study_cells` of all events."""
    ev = clean_events(events)
    ev["cell"] = assign_cells(ev, resolution)
    cells = study_cells(ev["cell"].to_numpy(), ring) if region is None else np.sort(region)
    edges = period_edges(ev["time"], horizon_days)
    ev = ev[(ev["time"] >= edges[0]) & (ev["time"] < edges[-1])]
    ev = ev[np.isin(ev["cell"].to_numpy(), cells)].reset_index(drop=True)
    period = edges.searchsorted(pd.DatetimeIndex(ev["time"]), side="right") - 1
    cell_index = np.searchsorted(cells, ev["cell"].to_numpy())
    ev["period"] = period
    counts = count_matrix(period, cell_index, len(edges) - 1, len(cells))
    return Grid(cells=cells, edges=edges, counts=counts, resolution=resolution, events=ev)


def ring_matrix(cells: np.ndarray, k: int) -> sparse.csr_matrix:
    """Adjacency of the region's cells to their neighbours at exactly grid distance ``k``."""
    index = {c: i for i, c in enumerate(cells)}
    rows, cols = [], []
    for i, cell in enumerate(cells):
        for nb in h3.grid_ring(cell, k):
            j = index.get(nb)
            if j is not None:
                rows.append(i)
                cols.append(j)
    data = np.ones(len(rows))
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(cells), len(cells)))


def _window_rates(cum: np.ndarray, windows: tuple[int, ...]) -> list[np.ndarray]:
    """Mean count per period over the last ``w`` periods before each period, from the
    cumulative sums ``cum`` (cum[t] = total of periods < t); partial windows use what exists."""
    t = np.arange(cum.shape[0] - 1)
    out = []
    for w in windows:
        start = np.maximum(t - w, 0)
        span = np.maximum(t - start, 1)
        out.append((cum[t] - cum[start]) / span[:, None])
    return out


def _cumulative(counts: np.ndarray) -> np.ndarray:
    """cum[t] = sum of counts over periods < t (length n_periods + 1)."""
    return np.vstack([np.zeros((1, counts.shape[1])), np.cumsum(counts, axis=0)])


def _periods_since_last(counts: np.ndarray) -> np.ndarray:
    """Periods since the cell's last incident before each period (capped at STALE_CAP)."""
    n_periods, n_cells = counts.shape
    out = np.empty((n_periods, n_cells))
    since = np.full(n_cells, float(STALE_CAP))
    for t in range(n_periods):
        out[t] = since
        since = np.where(counts[t] > 0, 1.0, np.minimum(since + 1, STALE_CAP))
    return out


def _season(edges: pd.DatetimeIndex, n_cells: int) -> list[np.ndarray]:
    """Week of year and month of each period's start, as sine/cosine pairs."""
    starts = edges[:-1]
    week = starts.isocalendar().week.to_numpy(dtype=float)
    month = starts.month.to_numpy(dtype=float)
    cols = []
    for value, cycle in ((week, 52.18), (month, 12.0)):
        angle = 2 * np.pi * value / cycle
        cols += [np.sin(angle), np.cos(angle)]
    return [np.repeat(c[:, None], n_cells, axis=1) for c in cols]


def season_lag(edges: pd.DatetimeIndex) -> int:
    """Periods in a year for these period boundaries (7 days: 52; 30 days: 12; 1 day: 365)."""
    step_days = (edges[1] - edges[0]) / pd.Timedelta(days=1) if len(edges) > 1 else 7.0
    return max(round(365.25 / step_days), 1)


def year_before(counts: np.ndarray, lag: int, fallback: np.ndarray) -> np.ndarray:
    """Mean count of each column in periods ``t - lag + d`` (d in :data:`SEASON_SPREAD`) for
    every period ``t`` — the same weeks one year earlier; offsets below 1 are raised to 1, so
    only periods before ``t`` are read. Where none of them exists yet (the first year),
    ``fallback`` (same shape, from periods before ``t`` too)."""
    n_periods = counts.shape[0]
    offsets = sorted({max(lag + d, 1) for d in SEASON_SPREAD})
    total = np.zeros(counts.shape, dtype=float)
    seen = np.zeros((n_periods, 1))
    for off in offsets:
        if off < n_periods:
            total[off:] += counts[:-off]
            seen[off:] += 1
    return np.where(seen > 0, total / np.maximum(seen, 1), fallback)


def parent_matrix(cells: np.ndarray, resolution: int) -> sparse.csr_matrix:
    """(cells x cells) 1 where two region cells share their H3 parent at ``resolution``."""
    parents = np.array([h3.cell_to_parent(c, resolution) for c in cells], dtype=object)
    _, group = np.unique(parents, return_inverse=True)
    member = sparse.csr_matrix(
        (np.ones(len(cells)), (np.arange(len(cells)), group)), shape=(len(cells), group.max() + 1)
    )
    return (member @ member.T).tocsr()


def _parent_levels(resolution: int) -> list[int]:
    """The parent resolutions used (resolution - 1, - 2, never below 0)."""
    return [resolution - k for k in PARENT_LEVELS if resolution - k >= 0]


def feature_names(exposure: pd.DataFrame | None = None, resolution: int = 8) -> list[str]:
    """Names of the feature columns, in the order of :func:`build_features`."""
    names = [f"own_{w}" for w in OWN_WINDOWS] + ["own_all", "since_last"]
    for k in (1, 2):
        names += [f"ring{k}_{w}" for w in RING_WINDOWS] + [f"ring{k}_all"]
    names += [f"city_{w}" for w in CITY_WINDOWS]
    names += ["week_sin", "week_cos", "month_sin", "month_cos"]
    names += ["own_year_before", "ring1_year_before", "city_year_before"]
    for r in _parent_levels(resolution):
        names += [f"parent_r{r}_{w}" for w in PARENT_WINDOWS]
    if exposure is not None:
        names += [f"exp_{c}" for c in exposure.columns]
    return names


def build_features(grid: Grid, exposure: pd.DataFrame | None = None) -> np.ndarray:
    """Features (n_periods, n_cells, n_features); row ``t`` uses counts of periods ``< t`` only.

    Own, ring-1 and ring-2 mean counts over recent windows (the shortest: near repeats), the
    city's, seasonality, the same weeks a year earlier (own, ring-1, city; before a year of
    history: the mean so far) and the H3 parents' counts (:data:`PARENT_LEVELS`).
    ``exposure`` (optional) is indexed by cell id with numeric columns (missing cells: NaN).
    """
    counts = grid.counts.astype(float)
    n_periods, n_cells = counts.shape
    cum = _cumulative(counts)
    history = np.maximum(np.arange(n_periods), 1)[:, None]
    cols = _window_rates(cum, OWN_WINDOWS)
    own_all = cum[:-1] / history
    cols += [own_all, _periods_since_last(grid.counts)]
    ring1 = ring_matrix(grid.cells, 1)
    for k in (1, 2):
        ring = ring1 if k == 1 else ring_matrix(grid.cells, k)
        ring_cum = np.asarray(ring @ cum.T).T
        cols += [*_window_rates(ring_cum, RING_WINDOWS), ring_cum[:-1] / history]
    city_cum = np.repeat(cum.sum(axis=1, keepdims=True), n_cells, axis=1) / n_cells
    cols += _window_rates(city_cum, CITY_WINDOWS)
    cols += _season(grid.edges, n_cells)
    lag = season_lag(grid.edges)
    ring1_counts = np.asarray(ring1 @ counts.T).T
    city = np.repeat(counts.mean(axis=1, keepdims=True), n_cells, axis=1)
    cols += [
        year_before(counts, lag, own_all),
        year_before(ring1_counts, lag, np.asarray(ring1 @ own_all.T).T),
        year_before(city, lag, city_cum[:-1] / history),
    ]
    for r in _parent_levels(grid.resolution):
        parent_cum = np.asarray(parent_matrix(grid.cells, r) @ cum.T).T
        cols += _window_rates(parent_cum, PARENT_WINDOWS)
    if exposure is not None:
        values = exposure.reindex(grid.cells).to_numpy(dtype=float)
        cols += [np.repeat(values[None, :, j], n_periods, axis=0) for j in range(values.shape[1])]
    return np.stack(cols, axis=2)


def make_model(config: ModelConfig):
    """A fresh, deterministic scikit-learn estimator for ``config``."""
    if config.kind == "glm":
        return make_pipeline(
            FunctionTransformer(_signed_log1p),
            StandardScaler(),
            PoissonRegressor(alpha=config.alpha, solver="newton-cholesky", max_iter=100),
        )
    if config.kind == "hgb":
        return HistGradientBoostingRegressor(
            loss="poisson",
            learning_rate=config.learning_rate,
            max_iter=config.max_iter,
            max_leaf_nodes=config.max_leaf_nodes,
            min_samples_leaf=config.min_samples_leaf,
            l2_regularization=config.l2,
            early_stopping=False,
            random_state=0,
        )
    raise ValueError(f"unknown model kind {config.kind!r}: expected 'hgb' or 'glm'")


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    """log1p that keeps the sign (the seasonal sine/cosine columns are negative at times)."""
    x = np.nan_to_num(np.asarray(x, dtype=float))
    return np.sign(x) * np.log1p(np.abs(x))


def fit_model(
    features: np.ndarray,
    counts: np.ndarray,
    until: int,
    config: ModelConfig,
    max_periods: int | None = None,
):
    """Fit on the periods ``WARMUP_PERIODS <= t < until`` (all cells), the last
    ``max_periods`` of them when given."""
    start = min(WARMUP_PERIODS, until - 1)
    if max_periods:
        start = max(start, until - max_periods)
    x = features[start:until].reshape(-1, features.shape[2])
    y = counts[start:until].reshape(-1)
    return make_model(config).fit(x, y)


def predict_period(model, features: np.ndarray, t: int) -> np.ndarray:
    """Expected counts per cell for period ``t`` (features of period ``t`` use data before it)."""
    return np.clip(model.predict(features[t]), 0.0, None)


def grid_from_daily(
    daily: pd.DataFrame,
    cells: np.ndarray,
    edges: pd.DatetimeIndex,
    resolution: int,
    names: np.ndarray | None = None,
) -> Grid:
    """A :class:`Grid` from daily counts (columns ``cell``, ``day`` (UTC), ``n``) over ``cells``
    (sorted, of the type of ``daily.cell``: text, or 64-bit integers with their text ``names``)
    and periods ``edges``; days outside the periods or cells are left out."""
    day = pd.DatetimeIndex(daily["day"])
    ids = daily["cell"].to_numpy()
    keep = (day >= edges[0]) & (day < edges[-1]) & np.isin(ids, cells)
    period = edges.searchsorted(day[keep], side="right") - 1
    cell_index = np.searchsorted(cells, ids[keep])
    counts = np.zeros((len(edges) - 1, len(cells)), dtype=np.int64)
    np.add.at(counts, (period, cell_index), daily["n"].to_numpy(dtype=np.int64)[keep])
    text_ids = cells if names is None else names
    return Grid(
        cells=text_ids, edges=edges, counts=counts, resolution=resolution, events=_NO_EVENTS
    )


_NO_EVENTS = pd.DataFrame({"lon": [], "lat": [], "time": [], "period": []})


def extend_by_one_period(grid: Grid) -> Grid:
    """``grid`` with one more (empty) period after the last: the period to forecast."""
    return Grid(
        cells=grid.cells,
        edges=grid.edges.append(
            pd.DatetimeIndex([grid.edges[-1] + (grid.edges[1] - grid.edges[0])])
        ),
        counts=np.vstack([grid.counts, np.zeros((1, len(grid.cells)), dtype=np.int64)]),
        resolution=grid.resolution,
        events=grid.events,
    )


def predict_next(
    grid: Grid, config: ModelConfig | None = None, exposure: pd.DataFrame | None = None
) -> np.ndarray:
    """Expected counts per cell of ``grid`` for the period right after its last one (zeros
    when the history has no incident at all: there is nothing to learn a rate from)."""
    if grid.counts.sum() == 0:
        return np.zeros(len(grid.cells))
    extended = extend_by_one_period(grid)
    features = build_features(extended, exposure)
    model = fit_model(features, extended.counts, grid.n_periods, config or ModelConfig())
    return predict_period(model, features, grid.n_periods)


def forecast_next(
    events: pd.DataFrame,
    resolution: int = 8,
    horizon_days: int = 7,
    config: ModelConfig | None = None,
    exposure: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Expected incidents per cell over the next ``horizon_days`` after the last period."""
    grid = build_grid(events, resolution, horizon_days)
    step = grid.edges[1] - grid.edges[0]
    return pd.DataFrame(
        {
            "cell": grid.cells,
            "start": grid.edges[-1],
            "end": grid.edges[-1] + step,
            "expected": predict_next(grid, config, exposure),
        }
    )
