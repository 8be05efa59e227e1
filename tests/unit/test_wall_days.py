"""The wall's days are the city's (``ONEMAP_TIMEZONE``), not UTC's or a fixed zone's; its
30-day trend chart draws them as plain bars (:func:`pages.wall_view.trend_chart`)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analytics.wall_kpis import TrendDay, local_midnight
from pages.wall_view import grid_values, label_days, nice_max, trend_chart

NOW = datetime(
    2026, 11, 1, 18, 0, tzinfo=UTC
)  # 02:00 on 2 Nov in Hefei, 20:00 on 1 Nov in Helsinki


def test_today_starts_at_midnight_in_the_given_zone():
    assert local_midnight(NOW, ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert local_midnight(NOW, ZoneInfo("Europe/Helsinki")) == datetime(
        2026, 10, 31, 22, tzinfo=UTC
    )


def test_the_default_zone_is_the_citys_default():
    assert local_midnight(NOW) == local_midnight(NOW, ZoneInfo("Asia/Shanghai"))


# --- the trend chart (pages.wall_view.trend_chart): plain elements, no chart library ----------


def _days(received: list[int], closed: list[int]) -> list[TrendDay]:
    first = date(2026, 11, 2)
    return [
        TrendDay(first + timedelta(days=i), r, c)
        for i, (r, c) in enumerate(zip(received, closed, strict=True))
    ]


def _find(component: Any, css: str) -> list[Any]:
    """The components under ``component`` (itself included) whose classes include ``css``."""
    found = [component] if css in (getattr(component, "className", None) or "").split() else []
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for child in children:
            found += _find(child, css)
    elif children is not None and not isinstance(children, str | int | float):
        found += _find(children, css)
    return found


def _prop(component: Any, name: str) -> Any:
    return component.to_plotly_json()["props"].get(name)


@pytest.mark.parametrize(
    ("value", "top"),
    [
        *[(0, 1), (1, 1), (2, 2), (3, 5), (5, 5), (6, 10), (11, 20), (20, 20), (21, 25)],
        *[(26, 50), (51, 100), (100, 100), (101, 200), (2_400, 2_500), (2_501, 5_000)],
        (12_345, 20_000),
    ],
)
def test_the_y_maximum_is_a_round_number_at_least_the_largest_count(value, top):
    assert nice_max(value) == top


@pytest.mark.parametrize(
    ("top", "grid"),
    [
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (5, [0, 1, 2, 3, 4, 5]),
        (20, [0, 5, 10, 15, 20]),
        (25, [0, 5, 10, 15, 20, 25]),
        (2_500, [0, 500, 1_000, 1_500, 2_000, 2_500]),
        (10_000, [0, 2_000, 4_000, 6_000, 8_000, 10_000]),
    ],
)
def test_the_gridlines_are_whole_even_steps_up_to_the_maximum(top, grid):
    assert grid_values(top) == grid


def test_the_last_day_and_every_seventh_before_it_are_labelled():
    assert label_days(30) == {1, 8, 15, 22, 29}
    assert label_days(1) == {0}
    assert label_days(0) == set()


def test_the_chart_draws_each_day_as_two_bars_of_the_right_heights():
    received = [0] * 30
    closed = [0] * 30
    received[3], closed[3] = 2_400, 1_200
    received[29], closed[29] = 600, 1_234
    days = _days(received, closed)
    chart = trend_chart(days, "zh")
    assert chart.className == "wall-bars" and _prop(chart, "data-max") == "2500"
    groups = _find(chart, "wall-bar-day")
    assert len(groups) == 30  # days with nothing received or closed keep their slot
    for day, group in zip(days, groups, strict=True):
        (rec,), (clo,) = _find(group, "wall-bar-received"), _find(group, "wall-bar-closed")
        assert _prop(rec, "data-value") == str(day.received)
        assert _prop(clo, "data-value") == str(day.closed)
        assert rec.style["height"] == f"{day.received / 2_500 * 100:.2f}%"
        assert clo.style["height"] == f"{day.closed / 2_500 * 100:.2f}%"
    assert _find(groups[3], "wall-bar-received")[0].style["height"] == "96.00%"
    assert _find(groups[0], "wall-bar-closed")[0].style["height"] == "0.00%"
    assert groups[29].title == "12-01 受理 600 · 办结 1,234"
    assert groups[3].title == "11-05 受理 2,400 · 办结 1,200"
    ticks = [t.children for t in _find(chart, "wall-bars-tick")]
    assert ticks == ["0", "500", "1,000", "1,500", "2,000", "2,500"]
    assert len(_find(chart, "wall-bars-grid")) == len(ticks)
    labels = [s.children for s in _find(chart, "wall-bars-label")]
    assert labels == ["11-03", "11-10", "11-17", "11-24", "12-01"]
    assert len(_find(chart, "wall-bars-slot")) == 30
    legend = [k.children[1] for k in _find(chart, "wall-bars-key")]
    assert legend == ["受理", "办结"]


def test_the_chart_speaks_english():
    chart = trend_chart(_days([1_500] * 30, [7] * 30), "en")
    groups = _find(chart, "wall-bar-day")
    assert groups[0].title == "11-02 received 1,500 · closed 7"
    assert [k.children[1] for k in _find(chart, "wall-bars-key")] == ["Received", "Closed"]
    assert _prop(chart, "data-max") == "2000"


def test_a_chart_of_nothing_has_empty_bars_under_a_maximum_of_one():
    chart = trend_chart(_days([0] * 30, [0] * 30), "zh")
    heights = {b.style["height"] for b in _find(chart, "wall-bar")}
    assert heights == {"0.00%"}
    assert [t.children for t in _find(chart, "wall-bars-tick")] == ["0", "1"]
