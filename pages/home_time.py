"""The home map's time slider: a day range over the incidents' dates, with play.

The slider's values are day numbers counted from the first day (``TIME_META.first``); the
clientside glue turns them into ``time=start/end`` for layers with a time dimension and moves
the window one day per tick while playing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dash import dcc, html

from geodata import city_time
from pages import ids
from pages.shell import t
from web import context

DEFAULT_WINDOW_DAYS = 30
TICK_MS = 900


def day_marks(first: date, last: date) -> dict[int, str]:
    """Slider marks on the first of each month (``YYYY-MM``)."""
    marks, day = {}, first.replace(day=1)
    while day <= last:
        if day >= first:
            marks[(day - first).days] = day.strftime("%Y-%m")
        day = (day + timedelta(days=32)).replace(day=1)
    return marks


def time_bar(extent: tuple[str, str] | None, lang: str) -> html.Div:
    """Play button, range slider and the window's dates and incident count.

    Without any incident the slider is there but disabled (its callbacks need it)."""
    if extent is None:
        today = datetime.now(city_time.zone(context.timezone())).date().isoformat()  # city's
        extent = (today, today)
    first, last = date.fromisoformat(extent[0]), date.fromisoformat(extent[1])
    span = (last - first).days
    window = [max(0, span - DEFAULT_WINDOW_DAYS + 1), span]
    return html.Div(
        className="time-bar",
        children=[
            dcc.Store(id=ids.TIME_META, data={"first": extent[0], "days": span}),
            dcc.Interval(id=ids.TIME_TICK, interval=TICK_MS, disabled=True),
            html.Button(
                [
                    html.Span(className="play-icon"),
                    t("time.play", lang, className="when-paused"),
                    t("time.pause", lang, className="when-playing"),
                ],
                id=ids.TIME_PLAY,
                className="time-play",
                n_clicks=0,
            ),
            html.Div(
                className="time-main",
                children=[
                    html.Div(
                        [
                            t("time.title", lang, className="time-caption"),
                            html.Span(id=ids.TIME_LABEL, className="time-label"),
                            html.Span(
                                [
                                    t("time.incidents", lang, className="time-caption"),
                                    html.B(id=ids.INCIDENT_COUNT, className="incident-count"),
                                ],
                                className="time-count",
                            ),
                        ],
                        className="time-head",
                    ),
                    dcc.RangeSlider(
                        id=ids.TIME_SLIDER,
                        min=0,
                        max=span,
                        step=1,
                        value=window,
                        marks=day_marks(first, last),
                        allowCross=False,
                        updatemode="mouseup",
                        allow_direct_input=False,
                        disabled=span == 0,
                        className="time-slider",
                    ),
                ],
            ),
        ],
    )
