"""IoT devices: cameras at compound gates and road junctions, access gates, smoke/gas/electric
detectors and water meters in buildings, door sensors in homes of elderly people living alone,
manhole sensors along roads. Status is mostly online, with some offline and alarming."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import shapely

from geodata.demo.context import GridData, Placed, bearing, in_building, local_point
from geodata.vocab import DeviceStatus

_SERIAL = {
    "camera": "CAM",
    "smoke": "SMK",
    "gas": "GAS",
    "door": "DOR",
    "water": "WTR",
    "access_gate": "ACG",
    "electric": "ELC",
    "manhole": "MHL",
}
_MODEL = {
    "camera": "OM-IPC-4MP",
    "smoke": "OM-SD-NB",
    "gas": "OM-GD-LEL",
    "door": "OM-DS-Z",
    "water": "OM-WM-NB",
    "access_gate": "OM-AG-FACE",
    "electric": "OM-EF-4G",
    "manhole": "OM-MH-TILT",
}


def make_devices(gd: GridData, rng: np.random.Generator) -> None:
    """Add the grid's devices to its chunk (and remember them in ``gd.devices``)."""
    lay = gd.layout
    out = gd.chunk.features["device"]
    ref = gd.ref

    def add(kind, pt, building_id=None, house_id=None, heading=None, fov=None, range_m=None):
        did = gd.ids.take("device")
        r = rng.random()
        status = (
            DeviceStatus.online
            if r < 0.93
            else (DeviceStatus.offline if r < 0.98 else DeviceStatus.alarm)
        )
        if status == DeviceStatus.offline:
            last_seen = ref - dt.timedelta(hours=float(rng.uniform(1, 480)))
        else:
            last_seen = ref - dt.timedelta(seconds=float(rng.uniform(5, 900)))
        installed = ref - dt.timedelta(days=float(rng.uniform(30, 2200)))
        value = None
        if kind == "water":
            value = round(float(rng.uniform(100, 9000)), 1)
        elif kind == "gas":
            lel = rng.uniform(0, 3) if status != DeviceStatus.alarm else rng.uniform(20, 60)
            value = round(float(lel), 1)
        serial = f"{_SERIAL[kind]}{did:09d}"
        out.add(
            did,
            pt,
            gd.area_id,
            kind,
            serial,
            _MODEL[kind],
            status,
            last_seen,
            value,
            heading,
            fov,
            range_m,
            building_id,
            house_id,
            installed,
        )
        gd.devices.append(Placed(did, kind, pt.x, pt.y, building_id))

    for comp in lay.compounds:
        gx, gy = comp.gate
        add(
            "camera",
            shapely.Point(gx, gy),
            heading=comp.heading,
            fov=90.0,
            range_m=float(rng.integers(30, 61)),
        )
        rad = math.radians(comp.heading)
        add("access_gate", shapely.Point(gx - 3 * math.sin(rad), gy - 3 * math.cos(rad)))
    # Road cameras at the kerb corners near the junctions, looking at the junction.
    kerb = np.asarray(lay.safe.exterior.coords)[:-1]
    centre = np.asarray(lay.safe.centroid.coords[0])
    corners = np.asarray(lay.grid.poly.exterior.coords)[:-1]
    for kx, ky in kerb:
        if rng.random() < 0.45:
            continue
        d = centre - (kx, ky)
        p = shapely.Point(*((kx, ky) + 1.5 * d / np.hypot(*d)))
        vx, vy = corners[np.argmin(np.hypot(*(corners - (kx, ky)).T))]
        if lay.safe.contains(p):
            add(
                "camera",
                p,
                heading=bearing(vx - p.x, vy - p.y),
                fov=float(rng.integers(60, 111)),
                range_m=float(rng.integers(80, 151)),
            )
    for b in lay.buildings:
        if b.homes:
            for unit in range(1, b.units + 1):
                u = -b.length / 2 + (unit - 0.5) * b.length / b.units
                add("smoke", local_point(b, u, 0.0), b.id)
                if rng.random() < 0.6:
                    add("access_gate", local_point(b, u, -b.depth / 2 + 1.0), b.id)
            add("gas", in_building(b, rng), b.id)
            add("water", local_point(b, -b.length / 2 + 1.0, 0.0), b.id)
        else:
            for _ in range(int(rng.integers(1, 4))):
                add("smoke", in_building(b, rng), b.id)
            if b.use in ("commercial", "office", "industrial"):
                add("electric", in_building(b, rng), b.id)
            if b.kind in ("shop", "mall") and rng.random() < 0.5:
                add("gas", in_building(b, rng), b.id)
    # Door sensors in the homes of elderly people living alone.
    alone = sorted(
        {gd.people.home[i] for i, t in enumerate(gd.people.care_tags) if "elderly_alone" in t}
    )
    for h in alone:
        p = shapely.Point(gd.homes.x[h], gd.homes.y[h])
        add("door", p, int(gd.homes.building_id[h]), int(gd.homes.id[h]))
    road = lay.grid.poly.buffer(-6.0).exterior
    for d in rng.uniform(0, road.length, size=int(rng.integers(2, 5))):
        add("manhole", road.interpolate(float(d)))
