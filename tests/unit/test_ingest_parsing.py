"""Ingest building blocks without a database: values, geometry checks, mapping, OSM tags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.errors import MappingError, UnreadableInput
from geodata.ingest import osm
from geodata.ingest.csvgeom import csv_geometry
from geodata.ingest.geometry import check_geometries
from geodata.ingest.mapping import parse_pairs, resolve
from geodata.ingest.schema import LAYERS
from geodata.ingest.values import parse


def test_vocab_synonyms_and_unknown_values():
    status = LAYERS["events"].field("status")
    parsed = parse(status, pd.Series(["Closed", "Open", "已办结", "weird", None]), "UTC")
    assert parsed.values == ["closed", "reported", "closed", None, None]
    assert list(parsed.errors) == [3]
    assert parsed.errors[3].startswith("unknown value 'weird'; expected one of reported")


def test_road_kind_falls_back_to_other():
    kind = LAYERS["roads"].field("kind")
    assert parse(kind, pd.Series(["primary_link", "busway"]), "UTC").values == ["primary", "other"]


def test_numbers_ranges_and_whole_numbers():
    floors = LAYERS["buildings"].field("floors")
    parsed = parse(floors, pd.Series(["4", "2.5", "abc", "0", "NA", 7.0]), "UTC")
    assert parsed.values[0] == 4 and parsed.values[4] is None and parsed.values[5] == 7
    assert parsed.errors == {
        1: "not a whole number: '2.5'",
        2: "not a number: 'abc'",
        3: "0 is below the minimum 1",
    }


def test_naive_times_are_read_in_the_given_zone():
    field = LAYERS["events"].field("reported_at")
    parsed = parse(field, pd.Series(["2012-12-04 15:21:00", "soon"]), "America/Los_Angeles")
    assert parsed.values[0] == "2012-12-04T15:21:00-08:00"
    assert parsed.errors == {1: "not a date/time: 'soon'"}


def test_geometry_checks_refuse_and_repair():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    geoms = np.array(
        [shapely.box(117.2, 31.8, 117.3, 31.9), shapely.Point(117.2, 31.8), None,
         shapely.Polygon(), shapely.Point(np.nan, 1.0), bowtie],
        dtype=object,
    )  # fmt: skip
    result = check_geometries(geoms, LAYERS["buildings"], "EPSG:4326")
    assert result.repaired == 1
    assert result.errors == {
        1: "wrong geometry type Point; layer buildings takes polygons",
        2: "geometry missing or unreadable",
        3: "empty geometry",
        4: "coordinates are NaN or infinite",
    }
    assert result.geoms[0].geom_type == result.geoms[5].geom_type == "MultiPolygon"
    assert result.geoms[5].is_valid and result.geoms[5].area == pytest.approx(0.5)


def test_geometry_transformed_from_bd09():
    pts = np.array([shapely.Point(117.311402917135, 31.8523348456054)], dtype=object)
    out = check_geometries(pts, LAYERS["events"], "bd09").geoms[0]
    # the source's own BD-09 → WGS84 conversion of this accident location
    assert (out.x, out.y) == (
        pytest.approx(117.299246, abs=1e-4),
        pytest.approx(31.848642, abs=1e-4),
    )


def test_mapping_by_name_and_explicit():
    m = resolve(LAYERS["events"], ["CaseID", "Category", "Opened", "Closed", "Status"],
                {"id": "CaseID"})  # fmt: skip
    assert m.id_column == "CaseID"
    assert m.columns == {"category": "Category", "status": "Status", "reported_at": "Opened",
                         "closed_at": "Closed"}  # fmt: skip
    with pytest.raises(MappingError, match="has no field 'colour'"):
        resolve(LAYERS["events"], ["a"], {"colour": "a"})
    with pytest.raises(MappingError, match="has no column 'nope'"):
        resolve(LAYERS["events"], ["a"], {"category": "nope"})
    with pytest.raises(MappingError, match="expected TARGET=VALUE"):
        parse_pairs(["category"], "--map")


def test_csv_geometry_columns_found_by_common_names():
    assert csv_geometry(["名称", "经度", "纬度"], {}, "f.csv").lon == "经度"
    assert csv_geometry(["Lat", "Long"], {}, "f.csv").lat == "Lat"
    assert csv_geometry(["WKT", "a"], {}, "f.csv").wkt == "WKT"
    with pytest.raises(UnreadableInput, match="no geometry columns"):
        csv_geometry(["a", "b"], {}, "f.csv")


def test_osm_tags():
    tags = osm.parse_tags('"amenity"=>"fire_hydrant","building:levels"=>"3.5"')
    assert tags == {"amenity": "fire_hydrant", "building:levels": "3.5"}
    assert osm._kind("facilities", {"emergency": "defibrillator"}) == "aed"
    assert osm._kind("organizations", {"shop": "bakery"}) == "shop"
    assert osm._levels("3.5") == "4"


def test_vocab_lookup_per_distinct_value_keeps_row_positions():
    kind = LAYERS["devices"].field("kind")
    series = pd.Series(["camera", "烟感", np.nan, "", "Camera", "toaster", "烟感", "toaster"])
    parsed = parse(kind, series, "UTC")
    assert parsed.values == ["camera", "smoke", None, None, "camera", None, "smoke", None]
    assert sorted(parsed.errors) == [5, 7]
    assert parsed.errors[7].startswith("unknown value 'toaster'")


def test_text_is_stripped_and_numbers_read_as_text():
    model = LAYERS["devices"].field("model")
    assert parse(model, pd.Series([" M-1 ", "NA", None]), "UTC").values == ["M-1", None, None]
    mixed = parse(model, pd.Series([" M-2 ", 3.0, 2.5, None], dtype=object), "UTC")
    assert mixed.values == ["M-2", "3", "2.5", None]
    long = parse(model, pd.Series(["x" * 65]), "UTC")
    assert long.errors == {0: "longer than 64 characters (65)"}
