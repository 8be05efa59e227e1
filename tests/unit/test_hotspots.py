"""Getis-Ord Gi* on hand-made H3 counts (no database)."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from analytics.hotspots import (
    CLASSES,
    NOT_SIGNIFICANT,
    adjacency,
    classify,
    hotspots_of_counts,
    study_region,
)
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
