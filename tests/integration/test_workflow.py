"""The incident workflow against a real PostGIS: creation, transitions, escalation, logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from geodata import vocab
from geodata.errors import WorkflowError
from geodata.models import Account, AccountScope, Event, EventCategory, EventLog
from tests.integration.factories import two_grid_district
from twin.clock import FixedClock
from twin.taxonomy import ensure_taxonomy
from twin.workflow import (
    ACTIONS,
    TRANSITIONS,
    Actor,
    actor_for_account,
    available_actions,
    create_incident,
    escalate_overdue,
    transition,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEST = (117.22, 31.82)  # inside the west grid of two_grid_district
EAST = (117.28, 31.82)
ADMIN = Actor("admin", "admin")


@pytest.fixture
def areas(session):
    ensure_taxonomy(session)
    return two_grid_district(session)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def _new(session, clock, category="environment.litter", at=WEST, **kw) -> Event:
    return create_incident(
        session, category=category, lon=at[0], lat=at[1], now=clock.now(), **kw
    ).event


def _log_rows(session, event_id: int) -> list[tuple]:
    rows = session.execute(
        select(
            EventLog.action,
            EventLog.actor,
            EventLog.from_status,
            EventLog.to_status,
            EventLog.from_level,
            EventLog.to_level,
            EventLog.note,
            EventLog.at,
        )
        .where(EventLog.event_id == event_id)
        .order_by(EventLog.id)
    ).all()
    return [tuple(r) for r in rows]


def test_create_sets_due_time_from_sla_and_logs(session, areas, clock):
    event = _new(session, clock, severity=3, title="垃圾堆积")
    cat = session.get(EventCategory, "environment.litter")
    assert (event.status, event.level, event.severity) == ("reported", "grid", 3)
    assert event.reported_at == T0
    assert event.due_at == T0 + timedelta(hours=cat.sla_hours["3"]) == T0 + timedelta(hours=24)
    assert event.area_id == areas["west"].id
    assert event.department == "环卫所"
    assert _log_rows(session, event.id) == [
        ("create", "system", None, "reported", None, "grid", None, T0)
    ]


def test_default_severity_and_alarm_sla(session, areas, clock):
    event = _new(session, clock, category="alarm.gas")
    assert event.severity == 4
    assert event.due_at == T0 + timedelta(minutes=30)
    assert event.title == "燃气泄漏报警"


def test_unknown_category_is_refused(session, areas, clock):
    with pytest.raises(WorkflowError, match=r"unknown incident category 'no\.such'"):
        _new(session, clock, category="no.such")
    assert session.scalar(select(Event.id)) is None


def test_legal_path_end_to_end_logs_every_step(session, areas, clock):
    event = _new(session, clock)
    worker = Actor("王网格", "grid_worker", "grid", (areas["west"].id,))
    steps = [
        ("dispatch", "dispatched"),
        ("accept", "accepted"),
        ("start", "in_progress"),
        ("resolve", "resolved"),
        ("close", "closed"),
    ]
    for action, status in steps:
        clock.advance(timedelta(minutes=10))
        assert (
            transition(session, event.id, action, worker, f"{action} ok", now=clock.now()).status
            == status
        )
    assert event.resolved_at == T0 + timedelta(minutes=40)
    assert event.closed_at == T0 + timedelta(minutes=50)
    expected = [("create", "system", None, "reported", None, "grid", None, T0)]
    prev = "reported"
    for i, (action, status) in enumerate(steps, start=1):
        expected.append(
            (
                action,
                "王网格",
                prev,
                status,
                "grid",
                "grid",
                f"{action} ok",
                T0 + timedelta(minutes=10 * i),
            )
        )
        prev = status
    assert _log_rows(session, event.id) == expected


# --- the whole state × action matrix ------------------------------------------------------------


def _put(session, event: Event, status: str, level: str = "grid") -> None:
    """Test setup: place an incident in ``status`` at ``level`` directly."""
    event.status, event.level = status, level
    session.flush()


def _snapshot(session, event: Event) -> tuple:
    session.expire(event)
    logs = session.scalar(select(func.count()).where(EventLog.event_id == event.id))
    return (event.status, event.level, event.due_at, event.resolved_at, event.closed_at, logs)


CELLS = [(s, lv, a) for s in vocab.EVENT_STATUS for lv in vocab.HANDLING_LEVELS for a in ACTIONS]


def _legal(status: str, level: str, action: str) -> bool:
    sources, _ = TRANSITIONS[action]
    return status in sources and not (action == "escalate" and level == "district")


def test_matrix_is_complete_and_mixed():
    legal = [c for c in CELLS if _legal(*c)]
    assert len(CELLS) == 7 * 3 * 9 == 189
    assert len(legal) == 3 * (1 + 1 + 1 + 1 + 1 + 3 + 2 + 3) + 2 * 4 == 47  # escalate: 4 × 2


@pytest.mark.parametrize(("status", "level", "action"), [c for c in CELLS if not _legal(*c)])
def test_every_illegal_transition_is_refused_and_changes_nothing(
    session, areas, clock, status, level, action
):
    event = _new(session, clock)
    _put(session, event, status, level)
    before = _snapshot(session, event)
    clock.advance(timedelta(hours=1))
    with pytest.raises(WorkflowError, match=f"cannot {action}") as err:
        transition(session, event.id, action, ADMIN, "a reason", now=clock.now())
    assert (err.value.event_id, err.value.action) == (event.id, action)
    assert _snapshot(session, event) == before


@pytest.mark.parametrize(("status", "level", "action"), [c for c in CELLS if _legal(*c)])
def test_every_legal_transition_moves_and_logs(session, areas, clock, status, level, action):
    event = _new(session, clock)
    _put(session, event, status, level)
    clock.advance(timedelta(hours=1))
    transition(session, event.id, action, ADMIN, "a reason", now=clock.now())
    levels = vocab.HANDLING_LEVELS
    to_level = levels[levels.index(level) + 1] if action == "escalate" else level
    assert (event.status, event.level) == (TRANSITIONS[action][1], to_level)
    assert _log_rows(session, event.id)[-1] == (
        action,
        "admin",
        status,
        event.status,
        level,
        to_level,
        "a reason",
        clock.now(),
    )


def test_unknown_action_and_missing_incident(session, areas, clock):
    event = _new(session, clock)
    with pytest.raises(WorkflowError, match="unknown action 'explode'"):
        transition(session, event.id, "explode", ADMIN, now=clock.now())
    with pytest.raises(WorkflowError, match="incident 999999 does not exist"):
        transition(session, 999999, "dispatch", ADMIN, now=clock.now())


# --- reasons --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action"), [("dispatched", "return"), ("reported", "reject"), ("closed", "reopen")]
)
def test_reason_is_required(session, areas, clock, status, action):
    event = _new(session, clock)
    _put(session, event, status)
    before = _snapshot(session, event)
    for note in (None, "", "   "):
        with pytest.raises(WorkflowError, match="a reason is required"):
            transition(session, event.id, action, ADMIN, note, now=clock.now())
    assert _snapshot(session, event) == before
    transition(session, event.id, action, ADMIN, "wrong category", now=clock.now())
    assert _log_rows(session, event.id)[-1][6] == "wrong category"


# --- roles, levels and scopes ------------------------------------------------------------------


def test_grid_worker_acts_only_inside_own_grid(session, areas, clock):
    west = _new(session, clock, at=WEST)
    east = _new(session, clock, at=EAST)
    worker = Actor("王网格", "grid_worker", "grid", (areas["west"].id,))
    transition(session, west.id, "dispatch", worker, now=clock.now())
    before = _snapshot(session, east)
    with pytest.raises(WorkflowError, match="outside '王网格''s areas"):
        transition(session, east.id, "dispatch", worker, now=clock.now())
    assert _snapshot(session, east) == before


def test_levels_street_and_district_staff(session, areas, clock):
    event = _new(session, clock)
    street = Actor("街道", "leader", "street", (areas["street"].id,))
    district = Actor("区", "leader", "district", (areas["district"].id,))
    other_street = Actor("别的街道", "leader", "street", (areas["east"].id + 1000,))
    for actor in (street, district):
        with pytest.raises(WorkflowError, match="the incident is at 'grid'"):
            transition(session, event.id, "dispatch", actor, now=clock.now())
    grid = Actor("王网格", "grid_worker", "grid", (areas["west"].id,))
    transition(session, event.id, "escalate", grid, now=clock.now())
    assert event.level == "street"
    with pytest.raises(WorkflowError, match="the incident is at 'street'"):
        transition(session, event.id, "dispatch", grid, now=clock.now())
    with pytest.raises(WorkflowError, match="outside"):
        transition(session, event.id, "dispatch", other_street, now=clock.now())
    transition(session, event.id, "escalate", street, "beyond the street", now=clock.now())
    transition(session, event.id, "dispatch", district, now=clock.now())
    assert (event.status, event.level) == ("dispatched", "district")


@pytest.mark.parametrize("role", ["planner", "analyst"])
def test_planners_and_analysts_cannot_move_incidents(session, areas, clock, role):
    event = _new(session, clock)
    with pytest.raises(WorkflowError, match=f"role '{role}' may not handle incidents"):
        transition(session, event.id, "dispatch", Actor("p", role), now=clock.now())


def test_system_may_only_escalate(session, areas, clock):
    event = _new(session, clock)
    system = Actor("system", "system")
    for action in ("dispatch", "reject"):
        with pytest.raises(WorkflowError, match="the system may only escalate"):
            transition(session, event.id, action, system, "x", now=clock.now())
    transition(session, event.id, "escalate", system, now=clock.now())
    assert event.level == "street"


def test_available_actions(session, areas, clock):
    event = _new(session, clock)
    worker = Actor("王网格", "grid_worker", "grid", (areas["west"].id,))
    stranger = Actor("李网格", "grid_worker", "grid", (areas["east"].id,))
    assert available_actions(session, event, worker) == ["dispatch", "escalate", "reject"]
    assert available_actions(session, event, stranger) == []
    assert available_actions(session, event, Actor("system", "system")) == ["escalate"]


def test_actor_for_account(session, areas, clock):
    def account(name: str, role: str, *area_ids: int) -> int:
        acc = Account(username=name, password_hash="x", role=role)
        session.add(acc)
        session.flush()
        session.add_all(AccountScope(account_id=acc.id, area_id=a) for a in area_ids)
        session.flush()
        return acc.id

    worker = actor_for_account(session, account("w", "grid_worker", areas["west"].id))
    assert (worker.role, worker.level, worker.area_ids) == (
        "grid_worker",
        "grid",
        (areas["west"].id,),
    )
    street = actor_for_account(session, account("s", "leader", areas["street"].id))
    assert (street.level, street.area_ids) == ("street", (areas["street"].id,))
    assert (
        actor_for_account(session, account("d", "leader", areas["district"].id)).level == "district"
    )
    admin = actor_for_account(session, account("a", "admin"))
    assert (admin.role, admin.area_ids, admin.account_id is not None) == ("admin", None, True)
    event = _new(session, clock)
    transition(session, event.id, "dispatch", worker, now=clock.now())
    assert session.scalar(select(EventLog.actor_id).where(EventLog.action == "dispatch")) == (
        worker.account_id
    )


# --- escalation, due times, reopen ------------------------------------------------------------


def test_escalation_recomputes_due_time_and_restarts_at_reported(session, areas, clock):
    event = _new(session, clock, severity=2)  # litter: 48 h at severity 2
    transition(session, event.id, "dispatch", ADMIN, now=clock.now())
    clock.advance(timedelta(hours=5))
    transition(session, event.id, "escalate", ADMIN, "needs the street", now=clock.now())
    assert (event.status, event.level) == ("reported", "street")
    assert event.due_at == clock.now() + timedelta(hours=48)


def test_reopen_clears_times_and_sets_a_new_due_time(session, areas, clock):
    event = _new(session, clock, severity=1)
    for action in ("dispatch", "accept", "start", "resolve", "close"):
        transition(session, event.id, action, ADMIN, now=clock.now())
    assert event.closed_at == T0
    clock.advance(timedelta(days=2))
    transition(session, event.id, "reopen", ADMIN, "resident says it is back", now=clock.now())
    assert (event.status, event.level, event.resolved_at, event.closed_at) == (
        "reported",
        "grid",
        None,
        None,
    )
    assert event.due_at == clock.now() + timedelta(hours=72)


# --- one open incident per rule and subject ----------------------------------------------------


def test_duplicate_rule_subject_returns_the_open_one(session, areas, clock):
    kw = {"category": "alarm.gas", "rule": "gas_alarm", "subject": "device:42"}
    first = create_incident(session, lon=WEST[0], lat=WEST[1], now=clock.now(), **kw)
    clock.advance(timedelta(minutes=1))
    second = create_incident(session, lon=WEST[0], lat=WEST[1], now=clock.now(), **kw)
    assert (first.created, second.created, second.event.id) == (True, False, first.event.id)
    assert session.scalar(select(func.count()).select_from(Event)) == 1
    assert [r[0] for r in _log_rows(session, first.event.id)] == ["create"]
    for action in ("dispatch", "accept", "start", "resolve", "close"):
        transition(session, first.event.id, action, ADMIN, now=clock.now())
    third = create_incident(session, lon=WEST[0], lat=WEST[1], now=clock.now(), **kw)
    assert third.created and third.event.id != first.event.id
    before = _snapshot(session, first.event)
    with pytest.raises(WorkflowError, match=f"incident {third.event.id} is already open"):
        transition(session, first.event.id, "reopen", ADMIN, "again", now=clock.now())
    assert _snapshot(session, first.event) == before
    other = create_incident(session, lon=WEST[0], lat=WEST[1], now=clock.now(),
                            **{**kw, "subject": "device:43"})  # fmt: skip
    assert other.created


def test_rule_without_subject_is_refused(session, areas, clock):
    with pytest.raises(WorkflowError, match="rule and subject go together"):
        _new(session, clock, rule="gas_alarm")


# --- overdue escalation ---------------------------------------------------------------------


def test_overdue_incidents_escalate_one_tier_per_call(session, areas, clock):
    gas = _new(session, clock, category="alarm.gas")  # 30 min at severity 4
    litter = _new(session, clock, severity=1)  # 72 h
    done = _new(session, clock, category="alarm.smoke")  # 30 min, but resolved in time
    for action in ("dispatch", "accept", "start", "resolve"):
        transition(session, done.id, action, ADMIN, now=clock.now())
    assert escalate_overdue(session, clock.now()) == []
    clock.advance(timedelta(minutes=31))
    assert escalate_overdue(session, clock.now()) == [gas.id]
    assert (gas.level, gas.status, gas.due_at) == (
        "street",
        "reported",
        clock.now() + timedelta(minutes=30),
    )
    assert escalate_overdue(session, clock.now()) == []  # one tier per overdue period
    clock.advance(timedelta(minutes=31))
    assert escalate_overdue(session, clock.now()) == [gas.id]
    assert gas.level == "district"
    clock.advance(timedelta(minutes=31))
    assert escalate_overdue(session, clock.now()) == []
    assert escalate_overdue(session, clock.now() + timedelta(hours=1)) == []
    logs = _log_rows(session, gas.id)
    assert [(r[0], r[1], r[4], r[5]) for r in logs] == [
        ("create", "system", None, "grid"),
        ("escalate", "system", "grid", "street"),
        ("escalate", "system", "street", "district"),
        ("overdue", "system", "district", "district"),
    ]
    assert logs[1][6] == f"overdue: due {(T0 + timedelta(minutes=30)).isoformat()}"
    assert (litter.level, done.level) == ("grid", "grid")
