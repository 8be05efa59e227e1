"""The backtest on ordinary event files: unusual column names (``--map``), projected and
offset coordinates (``--crs``), clear errors for bad mappings, the hit-rate curve PNG, and the
baselines as candidates of the model selection."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from analytics.__main__ import main as cli_main
from analytics.backtest import BASELINES, rank, run_backtest
from analytics.backtest_plot import curves_figure, write_curves_png
from analytics.events_file import read_event_file
from analytics.forecast import ModelConfig, build_grid, extend_by_one_period
from analytics.forecast_file import forecast_events
from analytics.metrics import n_flagged
from geodata.crs import from_wgs84
from geodata.errors import MappingError
from tests.conftest import shared_data

BOSTON = ("boston-incidents", "boston_crime_incidents_2023_2025.csv")
HEFEI = ("hefei-traffic-accidents", "hefei_accident_locations.csv")
GLM = ModelConfig(kind="glm", alpha=1e-3)
SMALL = {"n_origins": 4, "n_validation": 0, "candidates": (GLM,)}


@pytest.fixture(scope="module")
def boston() -> pd.DataFrame:
    events = read_event_file(shared_data(*BOSTON), progress=False)
    assert len(events) == 15_135  # 16,050 rows, 915 without coordinates
    return events


@pytest.fixture(scope="module")
def files(boston: pd.DataFrame, tmp_path_factory) -> tuple[Path, Path]:
    """The same incidents twice: standard names in WGS84, and UTM 19N metres (EPSG:32619) in
    columns ``long``/``lat`` with the time in ``dispatch_ts`` and the category in ``offense``."""
    folder = tmp_path_factory.mktemp("events")
    plain = folder / "plain.csv"
    boston.to_csv(plain, index=False)
    x, y = from_wgs84(boston["lon"].to_numpy(), boston["lat"].to_numpy(), "EPSG:32619")
    odd = pd.DataFrame(
        {
            "dispatch_ts": boston["time"].dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "long": np.round(x, 4),
            "lat": np.round(y, 4),
            "offense": boston["category"],
        }
    )
    crashes = folder / "crashes.csv"
    odd.to_csv(crashes, index=False)
    return plain, crashes


ODD_MAP = {"time": "dispatch_ts", "lon": "long", "lat": "lat", "category": "offense"}


def test_projected_file_with_unusual_names_gives_the_same_backtest(files):
    plain, crashes = files
    a = read_event_file(plain, progress=False)
    b = read_event_file(crashes, ODD_MAP, crs="EPSG:32619", progress=False)
    assert len(a) == len(b) == 15_135
    assert (a["time"] == b["time"]).all()
    assert (a["category"] == b["category"]).all()
    assert np.abs(a["lon"] - b["lon"]).max() < 1e-6  # 0.1 mm rounding of the metres
    assert np.abs(a["lat"] - b["lat"]).max() < 1e-6
    ra, rb = run_backtest(a, **SMALL), run_backtest(b, **SMALL)
    pd.testing.assert_frame_equal(ra.table, rb.table)
    assert ra.n_cells == rb.n_cells == 278 and ra.n_periods == rb.n_periods == 124
    assert list(ra.table.index) == ["model", *BASELINES]


def test_bd09_file_matches_the_published_wgs84_conversion(tmp_path):
    raw = pd.read_csv(shared_data(*HEFEI))
    i = np.arange(len(raw))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    times = start + pd.to_timedelta(i * 37 % 364, unit="D") + pd.to_timedelta(i * 7 % 24, "h")
    path = tmp_path / "hefei.csv"
    pd.DataFrame(
        {"dispatch_ts": times.strftime("%Y-%m-%d %H:%M"), "long": raw["lng_bd09"],
         "lat": raw["lat_bd09"]}
    ).to_csv(path, index=False)  # fmt: skip
    events = read_event_file(path, {"time": "dispatch_ts"}, crs="bd09", progress=False)
    assert len(events) == 4_714
    metres = np.hypot(
        (events["lon"] - raw["lng_wgs84"]) * 111_320 * np.cos(np.radians(31.8)),
        (events["lat"] - raw["lat_wgs84"]) * 111_320,
    )
    assert metres.max() < 0.25  # measured 0.19 m against the provider's own conversion
    same = [
        h3.latlng_to_cell(la, lo, 8) == h3.latlng_to_cell(pla, plo, 8)
        for lo, la, plo, pla in zip(
            events["lon"], events["lat"], raw["lng_wgs84"], raw["lat_wgs84"], strict=True
        )
    ]
    assert sum(same) >= 4_710
    assert events["time"].min() == start


def test_plain_parquet_with_unusual_names(boston, files, tmp_path):
    odd = pd.read_csv(files[1])
    odd["dispatch_ts"] = pd.to_datetime(odd["dispatch_ts"], utc=True)
    path = tmp_path / "crashes.parquet"
    odd.to_parquet(path)
    events = read_event_file(path, ODD_MAP, crs="EPSG:32619", progress=False)
    assert len(events) == 15_135
    assert (events["time"] == boston["time"]).all()
    assert np.abs(events["lon"] - boston["lon"]).max() < 1e-6
    with pytest.raises(MappingError, match="'stamp'"):
        read_event_file(path, {"time": "stamp"}, crs="EPSG:32619", progress=False)


@pytest.mark.parametrize(
    ("mapping", "crs", "names"),
    [
        ({"time": "dispatch_tz"}, "EPSG:32619", "'dispatch_tz'"),
        ({"time": "lat"}, "EPSG:32619", "'lat'"),
        ({"when": "dispatch_ts"}, "EPSG:32619", "'when'"),
        ({"lon": "lng", "time": "dispatch_ts"}, "EPSG:32619", "'lng'"),
    ],
)
def test_bad_mapping_names_the_column(files, mapping, crs, names):
    with pytest.raises(MappingError, match=names):
        read_event_file(files[1], mapping, crs=crs, progress=False)


def test_unmapped_time_column_says_how_to_name_it(files):
    with pytest.raises(MappingError, match="--map time=COLUMN"):
        read_event_file(files[1], crs="EPSG:32619", progress=False)


def test_hit_rate_curves_png_has_one_curve_per_method(boston, tmp_path):
    result = run_backtest(boston, **SMALL)
    assert list(result.curves) == ["model", *BASELINES]
    k = n_flagged(result.n_cells, 0.05)
    for name, curve in result.curves.items():
        assert len(curve) == result.n_cells + 1
        assert curve[0] == 0 and curve[-1] == pytest.approx(1.0)
        assert (np.diff(curve) >= 0).all()
        assert curve[k] == pytest.approx(result.table.loc[name, "hit@5%"])
    fig = curves_figure(result.curves, "Boston", result.published)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == [
        "model (published)", "last period", "historical mean", "kde", "ewm", "space-time kde",
        "seasonal naive", "random",
    ]  # fmt: skip
    np.testing.assert_array_equal(lines[2].get_ydata(), result.curves["historical mean"])
    path = write_curves_png(result.curves, tmp_path / "curves.png", "Boston", result.published)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def steady_events() -> pd.DataFrame:
    """60 weeks, a steady 40 incidents a day around four fixed points (seed 3)."""
    rng = np.random.default_rng(3)
    n = 60 * 7 * 40
    hot = rng.choice(4, n, p=[0.55, 0.25, 0.15, 0.05])
    return pd.DataFrame(
        {
            "lon": -71.07 + 0.02 * hot + rng.normal(0, 0.002, n),
            "lat": 42.33 + 0.01 * hot + rng.normal(0, 0.002, n),
            "time": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.uniform(0, 60 * 7, n), unit="D"),
        }
    )


FLAT = ModelConfig(kind="glm", alpha=1e4)  # so penalised it predicts one rate everywhere


def test_a_baseline_that_validates_best_is_published():
    flat = FLAT
    result = run_backtest(steady_events(), n_origins=4, n_validation=6, candidates=(flat,))
    validation = result.validation
    best = rank(validation)[0]
    assert best in BASELINES  # steady rates: the seasonal naive (recent mean half) wins
    assert validation.loc[best, "pai@5%"] > validation.loc[flat.label(), "pai@5%"]
    assert result.published == best


def published_row(result) -> str:
    """The validation table's row of the published method."""
    return result.chosen.label() if result.published == "model" else result.published


def test_the_published_method_never_validated_below_a_baseline(boston):
    """Real data (Boston, 6 validation origins, two small models): whatever is published
    validated at least as well as every baseline at PAI@5%; the test table has every
    baseline."""
    hgb = ModelConfig(kind="hgb", max_iter=30, min_samples_leaf=50)
    result = run_backtest(boston, n_origins=2, n_validation=6, candidates=(GLM, hgb))
    validation = result.validation
    assert list(validation.index) == [*BASELINES, GLM.label(), hgb.label()]
    best_baseline = validation.loc[list(BASELINES), "pai@5%"].max()
    assert validation.loc[published_row(result), "pai@5%"] >= best_baseline
    assert list(result.table.index) == ["model", *BASELINES]
    if result.published == "model":  # a model is published only when it beat every baseline
        assert validation.loc[result.chosen.label(), "pai@5%"] > best_baseline


def test_ranking_never_puts_a_model_above_a_better_baseline():
    """Random validation tables (ties included): the first of the ranking never has a lower
    PAI@5% than a baseline, and is a baseline unless a model beat every baseline (higher
    PAI@5%, or equal PAI@5% and lower deviance)."""
    rng = np.random.default_rng(5)
    names = [*BASELINES, "glm(alpha=0.001)", "hgb(a)", "hgb(b)"]
    seen_model = seen_baseline = 0
    for _ in range(500):
        table = pd.DataFrame(
            {"pai@5%": rng.integers(5, 9, len(names)) / 2.0,
             "deviance": rng.integers(1, 4, len(names)) / 2.0},
            index=names,
        )  # fmt: skip
        top = rank(table)[0]
        assert table.loc[top, "pai@5%"] >= table.loc[list(BASELINES), "pai@5%"].max()
        key = {n: (-table.loc[n, "pai@5%"], table.loc[n, "deviance"]) for n in names}
        best_baseline = min(key[n] for n in BASELINES)
        model_wins = any(key[n] < best_baseline for n in names if n not in BASELINES)
        assert (top not in BASELINES) == model_wins
        seen_model += model_wins
        seen_baseline += not model_wins
    assert seen_model > 50 and seen_baseline > 50  # both cases occurred


def test_ties_go_to_the_baseline():
    table = pd.DataFrame(
        {"pai@5%": [8.0, 8.0, 7.0], "deviance": [0.5, 0.5, 0.4]},
        index=["historical mean", "glm(alpha=0.001)", "kde"],
    )
    assert rank(table) == ["historical mean", "glm(alpha=0.001)", "kde"]


def test_file_forecast_uses_the_baseline_that_validated_best():
    events = steady_events()
    result = forecast_events(events, n_validation=6, candidates=(FLAT,))
    assert result.published == rank(result.validation)[0]
    assert result.published in BASELINES
    grid = build_grid(events)
    assert list(result.cells["cell"]) == list(grid.cells)
    method = BASELINES[result.published]
    expected = method(extend_by_one_period(grid), grid.n_periods)
    np.testing.assert_array_equal(result.cells["expected"], expected)
    assert not np.allclose(expected, grid.counts[-1])  # not simply the last period
    assert result.cells["start"].iloc[0] == grid.edges[-1]


def test_cli_names_the_missing_column(files):
    with pytest.raises(SystemExit, match="has no column 'dispatch_tz'"):
        cli_main(["backtest", "--events", str(files[1]), "--map", "time=dispatch_tz"])


def test_cli_backtest_of_the_projected_file(files, tmp_path, capsys):
    png = tmp_path / "curves.png"
    argv = ["backtest", "--events", str(files[1]), "--map", "time=dispatch_ts", "--crs",
            "EPSG:32619", "--origins", "2", "--validation", "2", "--png", str(png)]  # fmt: skip
    assert cli_main(argv) == 0
    out = capsys.readouterr()
    assert "events: 15,135  cells: 278 at res 8  periods: 124 of 7 d" in out.out
    assert "published: " in out.out and png.exists()
    assert "validation origins" in out.err and "test origins" in out.err  # progress on stderr
    assert ", test " in out.out.splitlines()[-1]  # the time per phase
