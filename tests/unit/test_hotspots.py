"""Getis-Ord Gi* on hand-made H3 counts (no database)."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from analytics.hotspots import (
    CLASSES,
    CONFIDENCE,
    NOT_SIGNIFICANT,
    adjacency,
    classify,
    disks,
    hotspots_of_counts,
    neighbour_index,
    study_region,
)
from layers.geojson import ASCII_JSON
from layers.providers.hotspots import members, properties
from layers.registry import get_layer

_h3 = h3.api.basic_int
CENTRE = _h3.latlng_to_cell(31.86, 117.28, 8)


def _field(background: int, cluster: int | None = None) -> dict[int, int]:
    """Counts on the 6-ring disk around CENTRE; the centre and its ring hold ``cluster``."""
    counts = dict.fromkeys(_h3.grid_disk(CENTRE, 6), background)
    if cluster is not None:
        counts |= dict.fromkeys(_h3.grid_disk(CENTRE, 1), cluster)
    return counts


def test_the_study_region_adds_the_zero_cells_around_incidents():
    region = study_region({CENTRE: 5}, rings=2)
    assert len(region) == 19 and list(region) == sorted(region)
    weights = adjacency(region)
    assert weights.cardinalities[CENTRE] == 6
    assert min(weights.cardinalities.values()) == 3  # corner cells of the outer ring


def test_a_clear_cluster_is_hot_at_99_percent():
    spots = hotspots_of_counts(_field(1, cluster=20))
    assert set(spots.of("hot99")) >= {CENTRE}
    assert set(spots.of("hot99")) <= set(_h3.grid_disk(CENTRE, 2))
    assert not spots.of("hot90") or set(spots.of("hot90")) <= set(_h3.grid_disk(CENTRE, 3))
    i = list(spots.cells).index(CENTRE)
    assert spots.z[i] > 2.576 and spots.p[i] < 0.01


def test_a_single_busy_cell_among_zero_cells_is_hot():
    spots = hotspots_of_counts({CENTRE: 30, _h3.grid_disk(CENTRE, 5)[-1]: 1}, rings=3)
    assert CENTRE in spots.of("hot99") or CENTRE in spots.of("hot95")


def test_a_uniform_field_has_no_hot_or_cold_spots():
    spots = hotspots_of_counts(_field(4), rings=0)  # the field is the whole study region
    assert set(spots.classes) == {NOT_SIGNIFICANT}
    assert np.all(spots.z == 0)
    edged = hotspots_of_counts(_field(4), rings=1)  # quiet surroundings: the field's edge
    assert not edged.of("hot99") and not edged.of("hot95")


def test_results_are_deterministic_with_permutations_too():
    counts = _field(1, cluster=12)
    counts |= {c: 3 for c in _h3.grid_disk(CENTRE, 6)[::5]}
    a, b = hotspots_of_counts(counts), hotspots_of_counts(counts)
    assert a.classes == b.classes and np.array_equal(a.z, b.z)
    pa = hotspots_of_counts(counts, permutations=199)
    pb = hotspots_of_counts(counts, permutations=199)
    assert pa.classes == pb.classes and np.array_equal(pa.p, pb.p)
    assert CENTRE in pa.of("hot99")


def test_classes_follow_the_two_sided_thresholds():
    z = np.array([3.0, 2.0, 1.7, 0.5, -1.7, -2.0, -3.0])
    assert classify(z) == ("hot99", "hot95", "hot90", "ns", "cold90", "cold95", "cold99")
    p = np.array([0.004, 0.2, 0.2, 0.2, 0.2, 0.04, 0.09])
    assert classify(z, p) == ("hot99", "ns", "ns", "ns", "ns", "cold95", "cold90")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_layer_legend_names_every_class(lang):
    layer = get_layer("hotspots")
    assert [i.value for i in layer.legend] == [c.code for c in reversed(CLASSES)]
    assert all(i.label[lang] for i in layer.legend)
    assert layer.ramp == tuple(c.color for c in CLASSES) and layer.group == "analysis"


# --- the numpy Gi* against esda's G_Local (the oracle) -------------------------------------------


def _esda(cells: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """esda's analytical Gi* (binary weights with self): z (NaN → 0) and two-sided p."""
    import warnings

    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = G_Local(y, adjacency(cells), transform="B", star=True, permutations=0)
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    p = np.where(np.isnan(g.p_norm), 1.0, np.minimum(2 * g.p_norm, 1.0))  # undefined z: p 1
    return z, p


def _islands() -> dict[int, int]:
    """Three separate groups: a lone cell, a pair, a busy disk (no zero ring with rings=0)."""
    far = _h3.grid_disk(CENTRE, 9)[-1]
    pair = _h3.grid_disk(CENTRE, 5)[-1]
    counts = {far: 7, pair: 2, _h3.grid_ring(pair, 1)[0]: 5}
    return counts | {c: 1 + i % 4 for i, c in enumerate(_h3.grid_disk(CENTRE, 2))}


def _random_field(seed: int) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    cells = _h3.grid_disk(CENTRE, 8)
    busy = rng.choice(len(cells), size=90, replace=False)
    return {cells[i]: int(rng.poisson(3) + 1) * (5 if i < 30 else 1) for i in busy}


ORACLE_CASES = {
    "cluster": (_field(1, cluster=20), 1),
    "random": (_random_field(7), 1),
    "quiet hole": (_field(6) | dict.fromkeys(_h3.grid_disk(CENTRE, 2), 0) | {CENTRE: 1}, 0),
    "random, two rings": (_random_field(11), 2),
    "islands, no zero ring": (_islands(), 0),
    "islands": (_islands(), 1),
    "one cell (its disk is the region)": ({CENTRE: 4}, 1),
    "two adjacent cells, no ring": ({CENTRE: 4, _h3.grid_ring(CENTRE, 1)[0]: 1}, 0),
    "three in a row": (
        dict(
            zip(_h3.grid_path_cells(CENTRE, _h3.grid_disk(CENTRE, 2)[-1]), (1, 5, 2), strict=True)
        ),
        0,
    ),
}


@pytest.mark.parametrize("case", ORACLE_CASES)
def test_numpy_gi_star_equals_esda(case):
    counted, rings = ORACLE_CASES[case]
    spots = hotspots_of_counts(counted, rings=rings)
    assert np.array_equal(spots.cells, study_region(counted, rings))
    z, p = _esda(spots.cells, spots.counts)
    np.testing.assert_allclose(spots.z, z, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(spots.p, p, rtol=1e-9, atol=1e-12)
    assert spots.classes == classify(z)


@pytest.mark.parametrize(
    "counted", [{CENTRE: 3}, {CENTRE: 3, _h3.grid_ring(CENTRE, 1)[0]: 3}, _field(2)]
)
def test_too_few_cells_or_no_variation_is_all_not_significant(counted):
    spots = hotspots_of_counts(counted, rings=0)
    assert set(spots.classes) == {NOT_SIGNIFICANT} and not spots.z.any() and (spots.p == 1).all()


def test_a_single_incident_cell_has_a_defined_p():
    spots = hotspots_of_counts({CENTRE: 9})  # the centre's disk is the whole region: z undefined
    i = list(spots.cells).index(CENTRE)
    assert spots.z[i] == 0 and spots.p[i] == 1 and np.isfinite(spots.p).all()


def test_the_study_region_and_adjacency_match_h3_cell_by_cell():
    counted = _islands()
    expected = sorted({n for c in counted for n in _h3.grid_disk(c, 1)})
    region = study_region(counted)
    assert region.tolist() == expected
    index = neighbour_index(region)
    for i, cell in enumerate(region.tolist()):
        near = {n for n in _h3.grid_disk(cell, 1) if n in set(expected)}
        assert {region[j] for j in index[i] if j >= 0} == near


def test_disks_pad_a_pentagons_shorter_disk():
    pentagon = _h3.get_pentagons(8)[0]
    rows = disks(np.array([CENTRE, pentagon], dtype=np.int64))
    assert set(rows[0]) == set(_h3.grid_disk(CENTRE, 1))
    assert set(rows[1]) == set(_h3.grid_disk(pentagon, 1)) | {-1}


def _classify_one_by_one(z: np.ndarray, p: np.ndarray | None) -> tuple[str, ...]:
    """The scalar rule: the strictest confidence met, with the sign of z."""
    out = []
    for i, zi in enumerate(z.tolist()):
        code = NOT_SIGNIFICANT
        for level, z_min, p_max in CONFIDENCE:
            met = p[i] <= p_max if p is not None else abs(zi) >= z_min
            if met and zi != 0 and np.isfinite(zi):
                code = f"{'hot' if zi > 0 else 'cold'}{level}"
                break
        out.append(code)
    return tuple(out)


def test_vectorised_classes_equal_the_scalar_rule():
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(0, 2, 500), [0.0, 1.645, -1.96, 2.576, np.inf, np.nan]])
    p = rng.uniform(0, 0.2, len(z))
    assert classify(z) == _classify_one_by_one(z, None)
    assert classify(z, p) == _classify_one_by_one(z, p)


def test_feature_members_are_the_json_of_the_properties():
    spots = hotspots_of_counts(_random_field(5))
    for i in range(len(spots.cells)):
        assert members(spots, i) == ASCII_JSON(properties(spots, i))[1:-1]
