"""The controlled vocabularies: members are their codes, the sets partition them, SQL lists
are rendered from them."""

from __future__ import annotations

import json

import pytest

from geodata import vocab
from geodata.vocab import Code, EventStatus, Role

CODE_SETS = (vocab.Role, vocab.AreaLevel, vocab.EventStatus, vocab.HandlingLevel,
             vocab.DeviceStatus, vocab.ResidentStatus, vocab.FacilityStatus)  # fmt: skip


@pytest.mark.parametrize("code_set", CODE_SETS)
def test_members_are_named_as_their_values(code_set: type[Code]):
    # a driver that writes an Enum by its name (psycopg's Enum dumper does) writes the code
    assert [m.name for m in code_set] == [m.value for m in code_set]


def test_a_member_reads_as_its_code_everywhere():
    assert Role.grid_worker == "grid_worker" and hash(Role.grid_worker) == hash("grid_worker")
    assert (str(Role.admin), f"{Role.admin}", f"{Role.admin:<7}|") == ("admin", "admin", "admin  |")
    assert repr(Role.admin) == "'admin'"  # messages listing codes read as before
    assert json.dumps({Role.admin: [EventStatus.reported]}) == '{"admin": ["reported"]}'
    assert ",".join(vocab.OPEN_STATUSES) == "reported,dispatched,accepted,in_progress"


def test_the_sets_partition_their_codes():
    assert set(vocab.OPEN_STATUSES) | set(vocab.CLOSED_STATUSES) == set(EventStatus)
    assert not set(vocab.OPEN_STATUSES) & set(vocab.CLOSED_STATUSES)
    assert {*vocab.ACCOUNT_ROLES, Role.public} == vocab.ALL_ROLES
    assert vocab.IDENTIFIER_ROLES <= vocab.ALL_ROLES and vocab.SCOPED_ROLES <= vocab.ALL_ROLES
    assert list(vocab.AREA_LEVELS) == list(vocab.AreaLevel)
    assert vocab.HANDLING_LEVELS == ("grid", "street", "district")
    assert vocab.RESIDENT_STATUS == ("active", "moved_out", "deceased")
    assert vocab.FACILITY_STATUS == ("ok", "damaged", "maintenance")


def test_labels_cover_their_codes_in_order():
    assert list(vocab.EVENT_STATUS_LABELS) == list(EventStatus)
    assert list(vocab.HANDLING_LEVEL_LABELS) == list(vocab.HandlingLevel)
    assert vocab.EVENT_STATUS_LABELS["in_progress"] == {"zh": "处置中", "en": "In progress"}
    with pytest.raises(ValueError):
        vocab.labelled(vocab.HandlingLevel, {"grid": {"zh": "网格", "en": "Grid"}})


def test_sql_lists_are_rendered_from_the_codes():
    assert vocab.OPEN_SQL == "('reported', 'dispatched', 'accepted', 'in_progress')"
    assert vocab.CLOSED_SQL == "('resolved', 'closed', 'rejected')"
    assert vocab.sql_list([Role.admin]) == "('admin')"
    with pytest.raises(ValueError):
        vocab.sql_list(["it's"])
    with pytest.raises(ValueError):
        vocab.sql_list([])
