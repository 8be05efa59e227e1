"""A year of incidents (事件) and the log of every transition, ending at the reference time.

Incidents cluster in space (a few hotspots per grid, more in some grids than others) and time
(seasonal peaks per category, a weekday pattern, short bursts). Each incident follows the
tiered workflow reported → dispatched → accepted → in_progress → [escalated to street/district]
→ resolved → closed (or rejected); the timeline is cut at the reference time, so old incidents
are closed and recent ones still open.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

import numpy as np
import shapely

from geodata.demo.categories import CATEGORIES, CATEGORY_CODES
from geodata.demo.context import GridData
from geodata.demo.names import person_names
from geodata.vocab import EventStatus, HandlingLevel

INCIDENTS_PER_RESIDENT_YEAR = 0.1
SLA_HOURS = {1: 72, 2: 48, 3: 24, 4: 4}
_ESCALATE = {1: (0.01, 0.0), 2: (0.06, 0.0), 3: (0.30, 0.05), 4: (0.40, 0.35)}  # street, district
_PATH: dict[HandlingLevel, list[HandlingLevel]] = {
    HandlingLevel.grid: [],
    HandlingLevel.street: [HandlingLevel.street],
    HandlingLevel.district: [HandlingLevel.street, HandlingLevel.district],
}
"""The escalations that take an incident from the grid to its final tier."""
_WORK_FACTOR: dict[HandlingLevel, float] = {
    HandlingLevel.grid: 1,
    HandlingLevel.street: 2.5,
    HandlingLevel.district: 5,
}
"""How much longer an incident takes to resolve at its final tier."""
_WEEKDAY = np.array([1.15, 1.05, 1.05, 1.05, 1.05, 0.8, 0.75])
_BURSTY = (
    "environment.litter",
    "environment.noise",
    "public_safety.dispute",
    "fire_safety.blocked_lane",
    "city.illegal_parking",
)
_WEIGHTS = np.array([c.weight for c in CATEGORIES.values()])


CITY_TZ = dt.timezone(dt.timedelta(hours=8))
"""The demo city's days begin at midnight China Standard Time."""


def reference_time(seed: int) -> dt.datetime:
    """A fixed anchor, 2026-11-01 00:00 China Standard Time, for builds that must be the same
    on every run (tests). The app builds its demo anchored at the moment of the build."""
    del seed
    return dt.datetime(2026, 11, 1, tzinfo=CITY_TZ)


def history_start(ref: dt.datetime) -> dt.datetime:
    """The first midnight (CST) of the 365 days of history ending at ``ref``: the last of them
    is the day ``ref`` falls on (history is cut at ``ref``, so today is partly filled)."""
    local = ref.astimezone(CITY_TZ)
    end = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if end < local:
        end += dt.timedelta(days=1)
    return end - dt.timedelta(days=365)


@lru_cache(maxsize=64)
def _day_weights(ref: dt.datetime, code: str) -> np.ndarray:
    """Probability of each of the 365 days of history before ``ref`` for incidents of ``code``."""
    cat = CATEGORIES[code]
    start = history_start(ref)
    days = [start + dt.timedelta(days=i) for i in range(365)]
    month = np.array([d.month - 1 + (d.day - 1) / 30.0 for d in days])
    season = 1 + cat.amplitude * np.cos(2 * math.pi * (month - (cat.peak_month - 1)) / 12)
    w = season * _WEEKDAY[[d.weekday() for d in days]]
    return w / w.sum()


Step = tuple[float, str, EventStatus, HandlingLevel | None, HandlingLevel | None]
"""(hours after report, action, to_status, from_level, to_level) of one transition."""
LogEntry = tuple[
    dt.datetime,
    str,
    str,
    EventStatus | None,
    EventStatus,
    HandlingLevel | None,
    HandlingLevel | None,
]
"""(at, actor, action, from status, to status, from level, to level) of one event_log row."""


def _timeline(
    rng: np.random.Generator, severity: int, level: HandlingLevel, alarm: bool
) -> list[Step]:
    """The transitions of one incident handled at ``level`` in the end."""
    steps: list[Step] = []
    t = float(rng.exponential(0.05 if alarm else 0.5))
    if not alarm and rng.random() < 0.04:
        return [(t + float(rng.exponential(3)), "reject", EventStatus.rejected, None, None)]
    steps.append((t, "dispatch", EventStatus.dispatched, None, None))
    t += float(rng.exponential(0.2 if alarm else 0.75))
    steps.append((t, "accept", EventStatus.accepted, None, None))
    t += float(rng.exponential(0.3 if alarm else 1.5))
    steps.append((t, "start", EventStatus.in_progress, None, None))
    current = HandlingLevel.grid
    for nxt in _PATH[level]:
        t += float(rng.exponential(4))
        steps.append((t, "escalate", EventStatus.in_progress, current, nxt))
        current = nxt
    work = float(rng.lognormal(math.log(4 + 3 * severity), 0.8))
    work *= _WORK_FACTOR[level]
    if rng.random() < 0.04:  # the slow tail: stuck for weeks
        work *= float(rng.uniform(20, 100))
    t += work
    steps.append((t, "resolve", EventStatus.resolved, None, None))
    t += float(rng.exponential(18))
    steps.append((t, "close", EventStatus.closed, None, None))
    return steps


def make_incidents(gd: GridData, rng: np.random.Generator) -> None:
    """Add the grid's incidents and their logs to its chunk."""
    lay = gd.layout
    out = gd.chunk.features["event"]
    logs = gd.chunk.plain["event_log"]
    ref = gd.ref
    start = history_start(ref)
    if not lay.buildings:
        return
    worker, street_officer, district_officer = person_names(rng, rng.random(3) < 0.5)
    hotness = float(rng.lognormal(0.0, 0.6)) / math.exp(0.18)
    n = int(rng.poisson(INCIDENTS_PER_RESIDENT_YEAR * len(gd.people) * hotness))
    codes = [
        CATEGORY_CODES[i]
        for i in rng.choice(len(CATEGORY_CODES), size=n, p=_WEIGHTS / _WEIGHTS.sum())
    ]
    days = [int(rng.choice(365, p=_day_weights(ref, c))) for c in codes]
    if rng.random() < 0.3:  # a burst: one kind of trouble for a few days
        code = str(rng.choice(_BURSTY))
        first = int(rng.integers(0, 355))
        for _ in range(int(rng.poisson(8)) + 3):
            codes.append(code)
            days.append(first + int(rng.integers(0, 10)))
    n = len(codes)
    hot = [
        lay.buildings[int(i)] for i in rng.choice(len(lay.buildings), size=int(rng.integers(1, 4)))
    ]
    by_kind: dict[str, list] = {}
    for d in gd.devices:
        by_kind.setdefault(d.kind, []).append(d)
    for i in range(n):
        code = codes[i]
        cat = CATEGORIES[code]
        device_id = building_id = None
        rule = None
        if cat.device_kind:
            pool = by_kind.get(cat.device_kind)
            if not pool:
                code, cat = "environment.litter", CATEGORIES["environment.litter"]
        if cat.device_kind:
            assert pool  # without devices of its kind, the category became litter above
            dev = pool[int(rng.integers(len(pool)))]
            pt = shapely.Point(dev.x, dev.y)
            device_id, building_id, rule = dev.id, dev.building_id, f"{cat.device_kind}_alarm"
            place = next((b.name for b in lay.buildings if b.id == dev.building_id), lay.road)
        else:
            if rng.random() < 0.5:
                b = hot[int(rng.integers(len(hot)))]
                sigma = 35.0
            else:
                b = lay.buildings[int(rng.integers(len(lay.buildings)))]
                sigma = 15.0
                building_id = b.id
            pt = shapely.Point(b.cx + rng.normal(0, sigma), b.cy + rng.normal(0, sigma))
            if not lay.safe.contains(pt):
                pt = shapely.Point(b.cx, b.cy)
            place = b.name if building_id else f"{lay.road}{b.name}附近"
        severity = int(rng.choice(4, p=np.asarray(cat.severity) / sum(cat.severity))) + 1
        p_street, p_district = _ESCALATE[severity]
        r = rng.random()
        level = (
            HandlingLevel.district
            if r < p_district
            else (HandlingLevel.street if r < p_district + p_street else HandlingLevel.grid)
        )
        if cat.device_kind:
            hour = float(rng.uniform(0, 24))
        else:
            peak = rng.normal(10.5, 2.5) if rng.random() < 0.7 else rng.normal(19, 2)
            hour = float(np.clip(peak, 0, 23.99))
        reported = start + dt.timedelta(days=min(days[i], 364), hours=hour)
        reported = reported.replace(microsecond=0)
        steps = _timeline(rng, severity, level, cat.device_kind is not None)
        if reported >= ref:  # later today: not yet happened
            continue
        eid = gd.ids.take("event")
        reporter = "system" if cat.device_kind else worker
        entries: list[LogEntry] = [
            (reported, reporter, "report", None, EventStatus.reported, None, HandlingLevel.grid)
        ]
        status, cur_level, resolved, closed = EventStatus.reported, HandlingLevel.grid, None, None
        for hours, action, to_status, from_level, to_level in steps:
            at = (reported + dt.timedelta(hours=hours)).replace(microsecond=0)
            if at >= ref:
                break
            actor = {"dispatch": "system", "close": "system"}.get(action, worker)
            if action == "escalate":
                actor = worker if to_level == HandlingLevel.street else street_officer
            elif action in ("resolve",) and cur_level != HandlingLevel.grid:
                actor = street_officer if cur_level == HandlingLevel.street else district_officer
            entries.append((at, actor, action, status, to_status, from_level, to_level))
            status = to_status
            cur_level = to_level or cur_level
            if to_status == EventStatus.resolved:
                resolved = at
            if to_status in (EventStatus.closed, EventStatus.rejected):
                closed = at
        for at, actor, action, fs, ts, fl, tl in entries:
            kind = "system" if actor == "system" else "simulated"
            row = (gd.ids.take("event_log"), eid, at, actor, action, fs, ts, fl, tl, None, kind)
            logs.append(row)
        title = f"{cat.zh}：{place}"
        due = reported + dt.timedelta(hours=SLA_HOURS[severity])
        out.add(
            eid,
            pt,
            gd.area_id,
            code,
            severity,
            status,
            cur_level,
            title,
            None,
            reported,
            due,
            resolved,
            closed,
            device_id,
            building_id,
            rule,
        )
