"""The disclosure-control rule's pure parts (docs/privacy.md): cell margins that hold every leaf
of a listed cell, the fixed categories of analyst questions, and tagged-count suppression."""

from __future__ import annotations

import h3
import pytest

from analytics.question_spec import QuestionError, parse_question
from analytics.question_sql import check_fixed_categories
from layers.providers.residents import care_properties, cell_margin

HEFEI = (31.86, 117.28)


@pytest.mark.parametrize("resolution", [5, 6, 7, 8, 9])
def test_the_margin_holds_a_whole_cell_and_its_derived_children(resolution):
    """Any two points of one cell (and of its children, which stick out of it) lie within the
    margin of each other: a cell meeting the view has all its leaves inside the wider box."""
    cell = h3.latlng_to_cell(*HEFEI, resolution)
    ring = [
        p
        for c in h3.cell_to_children(cell, min(resolution + 2, 15))
        for p in h3.cell_to_boundary(c)
    ]
    lats, lngs = [p[0] for p in ring], [p[1] for p in ring]
    assert max(max(lats) - min(lats), max(lngs) - min(lngs)) < cell_margin(resolution)


def _residents(*where: dict) -> dict:
    return {
        "layer": "residents",
        "where": list(where),
        "within": {"bbox": [117.2, 31.8, 117.3, 31.9]},
    }


def test_one_care_tag_or_none_is_a_fixed_category():
    check_fixed_categories(parse_question(_residents()))
    check_fixed_categories(
        parse_question(_residents({"field": "care_tags", "op": "has", "value": "elderly_alone"}))
    )


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ([{"field": "birth_year", "op": "<", "value": 1950}], "where[0]"),
        ([{"field": "sex", "value": "F"}], "where[0]"),
        (
            [
                {"field": "care_tags", "op": "has", "value": "elderly"},
                {"field": "care_tags", "op": "has", "value": "disabled"},
            ],
            "where[1]",
        ),
    ],
)
def test_narrower_or_combined_conditions_are_refused(where, path):
    with pytest.raises(QuestionError) as refused:
        check_fixed_categories(parse_question(_residents(*where)))
    assert (refused.value.code, refused.value.path) == ("disclosure", path)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0, {"tagged": 0, "share": 0.0}),
        (1, {"tagged": None, "share": None, "suppressed": True}),
        (4, {"tagged": None, "share": None, "suppressed": True}),
        (5, {"tagged": 5, "share": 0.125}),
    ],
)
def test_tagged_counts_of_one_to_four_are_withheld(k, expected):
    assert care_properties(40, k, 5) == expected
