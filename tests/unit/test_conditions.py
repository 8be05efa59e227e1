"""geodata.conditions: the one WHERE-clause builder, and the providers' one-each registry."""

from __future__ import annotations

import pytest

from geodata.conditions import Conditions, escape_like
from layers.base import ProviderName
from layers.providers import features, hexagons
from layers.providers.registry import PROVIDERS, _one_each


def test_empty_conditions_are_true():
    assert Conditions().sql == "TRUE"
    assert Conditions().params == {}


def test_named_and_pyformat_placeholders():
    named, pyformat = Conditions(), Conditions("pyformat")
    named.add(f"t.kind = {named.bind('camera')}")
    pyformat.add(f"t.kind = {pyformat.bind('camera')}")
    named.add("t.id > :after", after=7)
    assert named.sql == "t.kind = :p0 AND t.id > :after"
    assert pyformat.sql == "t.kind = %(p0)s"
    assert named.params == {"p0": "camera", "after": 7}
    assert pyformat.params == {"p0": "camera"}


def test_fresh_names_never_collide_with_named_ones():
    where = Conditions()
    where.add("t.a = :p1", p1=1)
    assert where.bind("x") == ":p2"  # p1 (the count) is taken
    assert where.params == {"p1": 1, "p2": "x"}


@pytest.mark.parametrize("how", ["bind", "add"])
def test_a_parameter_bound_twice_is_refused(how):
    where = Conditions()
    where.add("t.a = :area", area=1)
    with pytest.raises(ValueError, match="'area' is bound twice"):
        if how == "bind":
            where.bind(2, name="area")
        else:
            where.add("t.b = :area", area=2)
    assert where.params == {"area": 1}


def test_like_wildcards_are_escaped():
    assert escape_like(r"fire_safety%\x") == r"fire\_safety\%\\x"


def test_every_provider_name_has_exactly_one_provider():
    assert set(PROVIDERS) == set(ProviderName)
    with pytest.raises(ValueError, match=r"none for \['coverage_gaps'"):
        _one_each(((ProviderName.FEATURES, features.provide),))
    with pytest.raises(ValueError, match=r"more than one for \['hexagons'\]"):
        _one_each((*PROVIDERS.items(), (ProviderName.HEXAGONS, hexagons.provide)))
