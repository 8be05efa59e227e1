"""The table catalogue and what is derived from it (no database)."""

from __future__ import annotations

import dataclasses

import pytest

from analytics.question_catalog import LAYERS as QUESTION_LAYERS
from geodata import catalogue
from geodata.catalogue import AREA_SUBTREE, OWN_SUBTREE, UnknownTableError
from geodata.exports.fields import POLICY
from geodata.exports.sources import EXPORT_LAYERS
from layers import registry
from layers.collections import COLLECTIONS
from layers.registry import LAYERS


def test_every_export_layer_is_a_catalogue_table_in_catalogue_order():
    assert [(s.id, s.table) for s in EXPORT_LAYERS.values()] == [
        (t.key, t.name) for t in catalogue.TABLES.values()
    ]
    assert POLICY[catalogue.EVERY_OTHER_ROLE]["building"] == catalogue.table("building").export["*"]


def test_areas_scope_by_their_own_id_everything_else_by_area_id():
    assert catalogue.table("area").scope == OWN_SUBTREE
    assert {t.scope for name, t in catalogue.TABLES.items() if name != "area"} == {AREA_SUBTREE}


def test_a_column_the_model_lacks_is_refused():
    bad = dataclasses.replace(catalogue.table("building"), export={"*": ("id", "colour")})
    with pytest.raises(ValueError, match=r"'building' has no columns \['colour'\]"):
        catalogue._check((bad,))


def test_unknown_tables_name_the_known_ones():
    with pytest.raises(UnknownTableError, match="known: area, road"):
        catalogue.table("resident_identity")


def test_layers_collections_and_questions_name_catalogue_tables():
    tables = set(catalogue.TABLES)
    assert {layer.source for layer in LAYERS} <= tables
    assert {s.table for s in COLLECTIONS.values()} <= tables - {"resident"}
    assert {q.table for q in QUESTION_LAYERS.values()} <= tables
    cameras = QUESTION_LAYERS["cameras"].fields
    assert cameras["heading"] is catalogue.table("device").analyst["heading"]


def test_a_layer_time_column_is_its_tables():
    assert {layer.time_column for layer in LAYERS if layer.time_column} == {"reported_at"}
    incidents = registry.get_layer("incidents")
    with pytest.raises(ValueError, match="'incidents': time column 'due_at'"):
        registry._check_sources((dataclasses.replace(incidents, time_column="due_at"),))
