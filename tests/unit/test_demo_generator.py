"""The demo generator in memory (no database): determinism and a few invariants."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pytest

from geodata.demo import generate
from geodata.demo.areas import build_city
from geodata.demo.orgs import credit_code
from geodata.demo.people import _id_number
from geodata.errors import DemoError
from geodata.privacy import valid_id_number

SCALE = 0.15


def fingerprint(scale: float, seed: int) -> tuple[str, dict[str, int]]:
    """SHA-256 over every row (geometries as EWKB) of the generated city, and row counts."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    for chunk in generate(scale, seed, "test-key"):
        for buf in chunk.features.values():
            for row in buf.rows():
                digest.update(repr(row).encode())
        for rows in chunk.plain.values():
            for row in rows:
                digest.update(repr(row).encode())
        for table, n in chunk.counts().items():
            counts[table] = counts.get(table, 0) + n
    return digest.hexdigest(), counts


def test_same_seed_same_city_other_seed_other_city():
    first, counts = fingerprint(SCALE, 11)
    again, counts_again = fingerprint(SCALE, 11)
    other, _ = fingerprint(SCALE, 12)
    assert counts["resident"] > 1000 and counts["event"] > 50
    assert (again, counts_again) == (first, counts)
    assert other != first


def test_grids_hold_300_to_500_households_in_memory():
    for chunk in generate(SCALE, 5, "k"):
        houses = chunk.features["house"]
        if not len(houses):
            continue
        occupancy = np.array([a[-1] for a in houses.attrs])
        grid = np.array(houses.area_ids)
        for g in np.unique(grid):
            assert 300 <= int(np.sum((grid == g) & (occupancy != "vacant"))) <= 500


def test_scale_grows_the_area_linearly():
    small, large = build_city(0.5, 3), build_city(2.0, 3)
    ratio = len(large.grids) / len(small.grids)
    assert 3.2 < ratio < 4.8
    codes = [a.code for a in large.areas]
    assert len(codes) == len(set(codes))


def test_too_small_a_scale_is_refused():
    with pytest.raises(DemoError, match="scale"):
        build_city(0.01, 1)


def test_generated_id_numbers_and_credit_codes_are_well_formed():
    n = _id_number("340104", dt.date(1987, 3, 9), 123, male=True)
    assert valid_id_number(n) and n.startswith("34010419870309") and int(n[16]) % 2 == 1
    f = _id_number("340111", dt.date(2001, 12, 31), 124, male=False)
    assert valid_id_number(f) and int(f[16]) % 2 == 0
    codes = {credit_code("shop", "340102", i) for i in range(1, 2000)}
    assert len(codes) == 1999 and all(len(c) == 18 for c in codes)


def test_roads_run_along_every_grid_side():
    from geodata import vocab
    from geodata.demo.roads import build_network

    city = build_city(1.0, 4)
    net = build_network(city)
    assert len(net.segments) > 50
    assert {s.kind for s in net.segments} <= set(vocab.ROAD_KINDS)
    assert {"trunk", "primary", "secondary", "tertiary", "residential"} <= {
        s.kind for s in net.segments
    }
    assert all(len(g.sides) == 4 and all(side.name for side in g.sides) for g in city.grids)
    names = {s.name for s in net.segments}
    assert "金寨路" in names and any(n.startswith("长江") for n in names)
