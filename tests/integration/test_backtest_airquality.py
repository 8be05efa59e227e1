"""The third event series: Beijing air-quality readings at 12 fixed stations, each station-hour
with PM2.5 above 115 µg/m³ (China's "moderately polluted" boundary) one event at its station
(``--sites`` / ``--exceed``), read from ../shared/data and backtested on a few origins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.__main__ import main as cli_main
from analytics.backtest import BASELINES, run_backtest
from analytics.events_file import read_site_events
from analytics.forecast import ModelConfig
from geodata.errors import MappingError
from tests.conftest import shared_data

FOLDER = "beijing-airquality"
READINGS = (FOLDER, "beijing_multisite_aq_hourly_2013_2017.parquet")
STATIONS = (FOLDER, "beijing_aq_stations.csv")
GLM = ModelConfig(kind="glm", alpha=1e-3)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return read_site_events(shared_data(*READINGS), shared_data(*STATIONS), "PM2.5>115")


def test_every_station_hour_above_115_is_one_event_at_its_station(events):
    readings = pd.read_parquet(shared_data(*READINGS), columns=["PM2.5", "station", "timestamp"])
    stations = pd.read_csv(shared_data(*STATIONS))
    above = readings[readings["PM2.5"] > 115]
    assert len(events) == len(above) == 97_220  # of 420,768 station-hours (PM2.5 NaN: not)
    where = events.groupby(["lon", "lat"]).size()
    assert len(where) == 12
    expected = above.merge(stations, on="station").groupby(["longitude", "latitude"]).size()
    assert where.to_numpy().tolist() == expected.to_numpy().tolist()
    assert events["time"].min() == pd.Timestamp("2013-03-02 15:00", tz="UTC")  # 23:00 +08:00
    assert events["time"].max() == pd.Timestamp("2017-02-27 06:00", tz="UTC")
    assert events["category"].isna().all()


def test_the_series_backtests(events):
    result = run_backtest(events, n_origins=4, n_validation=4, candidates=(GLM,))
    assert result.n_cells == 84  # 12 stations, each with its 6 ring-1 neighbours
    assert result.n_periods == 208
    assert result.refit_every == 4  # more than 156 periods
    assert list(result.table.index) == ["model", *BASELINES]
    assert np.isfinite(result.table.to_numpy()).all()
    published = result.chosen.label() if result.published == "model" else result.published
    validation = result.validation
    assert validation.loc[published, "pai@5%"] >= validation.loc[list(BASELINES), "pai@5%"].max()
    # 12 of 84 cells hold every event: any method flagging 8 cells among them catches most
    assert (result.table["hit@10%"] > 0.5).all()


@pytest.mark.parametrize(
    ("exceed", "match"),
    [("PM2.5=115", "COLUMN>VALUE"), ("PM25>115", "'PM25'"), ("PM2.5>high", "COLUMN>VALUE")],
)
def test_bad_thresholds_name_the_problem(exceed, match):
    with pytest.raises(MappingError, match=match):
        read_site_events(shared_data(*READINGS), shared_data(*STATIONS), exceed)


def test_a_site_missing_from_the_sites_file_is_named(tmp_path):
    stations = pd.read_csv(shared_data(*STATIONS))
    path = tmp_path / "eleven.csv"
    stations[stations["station"] != "Dongsi"].to_csv(path, index=False)
    with pytest.raises(MappingError, match="Dongsi"):
        read_site_events(shared_data(*READINGS), path, "PM2.5>115")
    with pytest.raises(MappingError, match="'where'"):
        read_site_events(shared_data(*READINGS), path, "PM2.5>115", {"site": "where"})


def test_cli_backtest_of_the_station_readings(capsys):
    argv = ["backtest", "--events", str(shared_data(*READINGS)), "--sites",
            str(shared_data(*STATIONS)), "--exceed", "PM2.5>115", "--origins", "2",
            "--validation", "2"]  # fmt: skip
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "events: 97,220  cells: 84 at res 8  periods: 208 of 7 d" in out
    assert "| space-time kde |" in out and "| seasonal naive |" in out and "| ewm |" in out
    with pytest.raises(SystemExit, match="--sites and --exceed go together"):
        cli_main(["backtest", "--events", str(shared_data(*READINGS)), "--exceed", "PM2.5>115"])
