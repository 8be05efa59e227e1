"""The tiered incident workflow: creation with SLAs, a checked state machine, overdue escalation.

States and actions (every accepted transition is written to ``event_log``)::

    reported --dispatch--> dispatched --accept--> accepted --start--> in_progress
    in_progress --resolve--> resolved --close--> closed
    escalate  (reported|dispatched|accepted|in_progress, level grid→street→district)
              → reported at the next tier, due time recomputed from the SLA
    return    (dispatched|accepted|in_progress) → reported, same tier; reason required
    reject    (reported|dispatched) → rejected (closed_at set); reason required
    reopen    (resolved|closed|rejected) → reported, same tier, resolved_at/closed_at cleared,
              due time recomputed; reason required

Who may act: ``admin`` anything anywhere; ``grid_worker`` (level grid) and ``leader`` (level
street or district, i.e. street office or district staff) act only on incidents at their own
level inside their areas (an actor's area covers the incident's area or one of its ancestors);
``system`` may only escalate; ``planner`` and ``analyst`` may not move incidents. Refusals raise
:class:`~geodata.errors.WorkflowError` and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geodata import vocab
from geodata.errors import WorkflowError
from geodata.models import Account, AccountScope, Area, Event, EventCategory, EventLog
from geodata.vocab import (
    CLOSED_STATUSES,
    HANDLING_LEVELS,
    OPEN_STATUSES,
    SCOPED_ROLES,
    AreaLevel,
    EventStatus,
    HandlingLevel,
    Role,
)
from twin.clock import as_utc

SYSTEM_ROLE = "system"
"""The role of the workflow's own actor (overdue escalation); no account has it."""
ROLES = (*vocab.ACCOUNT_ROLES, SYSTEM_ROLE)
OPEN_RULE_SUBJECT_INDEX = "ux_event_open_rule_subject"

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "dispatch": (frozenset({EventStatus.reported}), EventStatus.dispatched),
    "accept": (frozenset({EventStatus.dispatched}), EventStatus.accepted),
    "start": (frozenset({EventStatus.accepted}), EventStatus.in_progress),
    "resolve": (frozenset({EventStatus.in_progress}), EventStatus.resolved),
    "close": (frozenset({EventStatus.resolved}), EventStatus.closed),
    "escalate": (frozenset(OPEN_STATUSES), EventStatus.reported),
    "return": (
        frozenset({EventStatus.dispatched, EventStatus.accepted, EventStatus.in_progress}),
        EventStatus.reported,
    ),
    "reject": (frozenset({EventStatus.reported, EventStatus.dispatched}), EventStatus.rejected),
    "reopen": (frozenset(CLOSED_STATUSES), EventStatus.reported),
}
ACTIONS = tuple(TRANSITIONS)
REASON_REQUIRED = frozenset({"return", "reject", "reopen"})


@dataclass(frozen=True)
class Actor:
    """Who acts: a name for the log, a role, the tier they work at and their areas
    (``area_ids=None``: the whole city). ``account_id`` links log rows to an account."""

    name: str
    role: str
    level: str | None = None
    area_ids: tuple[int, ...] | None = None
    account_id: int | None = None
    kind: str | None = None
    """What kind of actor (:data:`geodata.vocab.ACTOR_KINDS`); None: derived from the rest."""

    @property
    def log_kind(self) -> str:
        """The ``event_log.actor_kind`` of this actor's steps."""
        if self.kind is not None:
            return self.kind
        return "account" if self.account_id is not None else "system"

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in vocab.ACTOR_KINDS:
            raise WorkflowError(f"actor {self.name!r}: unknown kind {self.kind!r}")
        if self.role not in ROLES:
            raise WorkflowError(f"actor {self.name!r}: unknown role {self.role!r}; one of {ROLES}")
        if self.level is not None and self.level not in HANDLING_LEVELS:
            raise WorkflowError(
                f"actor {self.name!r}: unknown level {self.level!r}; one of {HANDLING_LEVELS}"
            )
        if self.role in SCOPED_ROLES and self.level is None:
            raise WorkflowError(
                f"actor {self.name!r}: a {self.role} needs a level {HANDLING_LEVELS}"
            )
        if self.role == Role.grid_worker and self.level != HandlingLevel.grid:
            raise WorkflowError(f"actor {self.name!r}: a grid_worker works at level 'grid'")


SYSTEM = Actor(name="system", role=SYSTEM_ROLE)


@dataclass(frozen=True)
class CreateResult:
    """The incident and whether it was created now (False: an open one for the rule existed)."""

    event: Event
    created: bool


# --- SLA ---------------------------------------------------------------------------------------


def get_category(session: Session, code: str) -> EventCategory:
    """The active category ``code``, or a WorkflowError naming what to do."""
    cat = session.get(EventCategory, code)
    if cat is None:
        raise WorkflowError(
            f"unknown incident category {code!r}: add it to event_category "
            "(twin.taxonomy.ensure_taxonomy seeds the defaults)"
        )
    if not cat.active:
        raise WorkflowError(f"incident category {code!r} is inactive; activate it or pick another")
    return cat


def sla_hours(category: EventCategory, severity: int) -> float:
    """Hours allowed to close an incident of ``category`` at ``severity``."""
    try:
        return float(category.sla_hours[str(severity)])
    except (KeyError, TypeError, ValueError):
        raise WorkflowError(
            f"category {category.code!r} has no SLA for severity {severity} "
            f'(sla_hours must map "1"…"4" to hours, got {category.sla_hours!r})'
        ) from None


def due_time(category: EventCategory, severity: int, start: datetime) -> datetime:
    """When an incident started at ``start`` is due."""
    return start + timedelta(hours=sla_hours(category, severity))


# --- creation ----------------------------------------------------------------------------------


def create_incident(
    session: Session,
    *,
    category: str,
    lon: float,
    lat: float,
    now: datetime,
    title: str | None = None,
    severity: int | None = None,
    description: str | None = None,
    rule: str | None = None,
    subject: str | None = None,
    trigger: dict | None = None,
    device_id: int | None = None,
    building_id: int | None = None,
    source: str = "onemap",
    source_id: str | None = None,
    actor: str = "system",
    actor_id: int | None = None,
    actor_kind: str | None = None,
) -> CreateResult:
    """Create a reported, grid-level incident due by its category's SLA, logged as ``create``.

    With ``rule`` and ``subject``, at most one incident is open per pair: if one is open already
    (decided by the unique partial index, so concurrent callers agree) it is returned with
    ``created=False`` and nothing is written. Unknown or inactive categories raise WorkflowError.
    ``actor_id``/``actor_kind`` go into the ``create`` step (kind by default: ``account`` with
    an account, else ``system``).
    """
    now = as_utc(now)
    cat = get_category(session, category)
    sev = cat.default_severity if severity is None else severity
    if sev not in (1, 2, 3, 4):
        raise WorkflowError(f"severity must be 1–4, got {severity!r}")
    if (rule is None) != (subject is None):
        raise WorkflowError(f"rule and subject go together (rule={rule!r}, subject={subject!r})")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise WorkflowError(f"location ({lon}, {lat}) is not a WGS84 longitude/latitude")
    fields = dict(
        category=cat.code,
        severity=sev,
        status=EventStatus.reported,
        level=HandlingLevel.grid,
        title=title or cat.name_zh,
        description=description,
        reported_at=now,
        due_at=due_time(cat, sev, now),
        rule=rule,
        subject=subject,
        trigger=trigger,
        device_id=device_id,
        building_id=building_id,
        source=source,
        department=cat.department,
    )
    if source_id is not None:
        fields["source_id"] = source_id
    for _ in range(3):  # the open one may close between our insert and our read: retry
        event = Event(geom=from_shape(Point(lon, lat), srid=4326), **fields)
        try:
            with session.begin_nested():
                session.add(event)
                session.flush()
                note = f"rule {rule}: {subject}" if rule else None
                kind = actor_kind or ("account" if actor_id is not None else "system")
                step = _log(event, "create", actor, None, None, now, note, actor_id, kind)
                session.add(step)
                session.flush()
        except IntegrityError as exc:
            if rule is None or subject is None or not _is_constraint(exc, OPEN_RULE_SUBJECT_INDEX):
                raise
            existing = open_incident_for(session, rule, subject)
            if existing is not None:
                return CreateResult(existing, created=False)
            continue
        return CreateResult(event, created=True)
    raise WorkflowError(f"could not create an incident for rule {rule!r} and subject {subject!r}")


def open_incident_for(session: Session, rule: str, subject: str) -> Event | None:
    """The open incident of ``rule`` about ``subject``, if any."""
    return session.scalars(
        select(Event).where(
            Event.rule == rule, Event.subject == subject, Event.status.in_(OPEN_STATUSES)
        )
    ).first()


# --- transitions -------------------------------------------------------------------------------


def transition(
    session: Session,
    event_id: int,
    action: str,
    actor: Actor,
    note: str | None = None,
    *,
    now: datetime,
) -> Event:
    """Apply ``action`` to incident ``event_id`` as ``actor`` and log it; WorkflowError if the
    transition is illegal, not allowed for the actor or lacks a reason (nothing is changed)."""
    now = as_utc(now)
    if action not in TRANSITIONS:
        raise WorkflowError(f"unknown action {action!r}; one of {ACTIONS}", action=action)
    event = session.get(Event, event_id, with_for_update=True, populate_existing=True)
    if event is None:
        raise WorkflowError(f"incident {event_id} does not exist", event_id=event_id, action=action)
    refusal = refusal_reason(session, event, action, actor, note)
    if refusal:
        raise WorkflowError(
            f"incident {event_id}: cannot {action}: {refusal}", event_id=event_id, action=action
        )
    from_status, from_level = event.status, event.level
    try:
        with session.begin_nested():
            _apply(session, event, action, now)
            session.add(
                _log(
                    event,
                    action,
                    actor.name,
                    from_status,
                    from_level,
                    now,
                    note,
                    actor.account_id,
                    actor.log_kind,
                )
            )
            session.flush()
    except IntegrityError as exc:
        if not _is_constraint(exc, OPEN_RULE_SUBJECT_INDEX):
            raise
        # that index holds only incidents with a rule and a subject
        assert event.rule is not None and event.subject is not None
        other = open_incident_for(session, event.rule, event.subject)
        raise WorkflowError(
            f"incident {event_id}: cannot {action}: incident {other.id if other else '?'} is "
            f"already open for rule {event.rule!r} and subject {event.subject!r}",
            event_id=event_id,
            action=action,
        ) from None
    return event


def refusal_reason(
    session: Session, event: Event, action: str, actor: Actor, note: str | None
) -> str | None:
    """Why ``actor`` may not apply ``action`` to ``event`` now (None: allowed)."""
    if action not in TRANSITIONS:
        return f"unknown action; one of {ACTIONS}"
    sources, _ = TRANSITIONS[action]
    if event.status not in sources:
        return f"not allowed from status {event.status!r} (only from {sorted(sources)})"
    if action == "escalate" and event.level == HANDLING_LEVELS[-1]:
        return f"already at the top tier ({event.level!r})"
    if action in REASON_REQUIRED and not (note and note.strip()):
        return "a reason is required (give it as the note)"
    return _permission_refusal(session, event, action, actor)


def _permission_refusal(session: Session, event: Event, action: str, actor: Actor) -> str | None:
    if actor.role == Role.admin:
        return None
    if actor.role == SYSTEM_ROLE:
        return None if action == "escalate" else "the system may only escalate"
    if actor.role not in SCOPED_ROLES:
        return f"role {actor.role!r} may not handle incidents"
    if actor.level != event.level:
        return f"{actor.name!r} works at level {actor.level!r}; the incident is at {event.level!r}"
    if actor.area_ids is not None:
        chain = area_chain(session, event.area_id)
        if not set(actor.area_ids) & set(chain):
            areas = list(actor.area_ids)
            return f"incident area {event.area_id} is outside {actor.name!r}'s areas {areas}"
    return None


def available_actions(session: Session, event: Event, actor: Actor) -> list[str]:
    """The actions ``actor`` may apply to ``event`` now (reasons assumed given)."""
    return [a for a in ACTIONS if refusal_reason(session, event, a, actor, "reason") is None]


def _apply(session: Session, event: Event, action: str, now: datetime) -> None:
    event.status = TRANSITIONS[action][1]
    if action == "resolve":
        event.resolved_at = now
    elif action in ("close", "reject"):
        event.closed_at = now
    elif action == "escalate":
        event.level = HANDLING_LEVELS[HANDLING_LEVELS.index(event.level) + 1]
        event.due_at = due_time(get_category(session, event.category), event.severity, now)
    elif action == "reopen":
        event.resolved_at = None
        event.closed_at = None
        event.due_at = due_time(get_category(session, event.category), event.severity, now)


def _log(
    event: Event,
    action: str,
    actor: str,
    from_status: str | None,
    from_level: str | None,
    now: datetime,
    note: str | None = None,
    actor_id: int | None = None,
    actor_kind: str = "system",
) -> EventLog:
    return EventLog(
        event_id=event.id,
        at=now,
        actor=actor,
        actor_id=actor_id,
        actor_kind=actor_kind,
        action=action,
        from_status=from_status,
        to_status=event.status,
        from_level=from_level,
        to_level=event.level,
        note=note,
    )


# --- overdue escalation ------------------------------------------------------------------------


def escalate_overdue(session: Session, now: datetime) -> list[int]:
    """Escalate every open incident past its due time one tier (as actor ``system``); return
    their ids. Overdue incidents already at the top tier stay there and get one ``overdue`` log
    row per due time (not one per call)."""
    now = as_utc(now)
    overdue = session.scalars(
        select(Event)
        .where(Event.status.in_(OPEN_STATUSES), Event.due_at < now)
        .order_by(Event.id)
        .with_for_update(skip_locked=True)
    ).all()
    escalated: list[int] = []
    for event in overdue:
        assert event.due_at is not None  # selected by due_at < now
        note = f"overdue: due {event.due_at.isoformat()}"
        if event.level != HANDLING_LEVELS[-1]:
            transition(session, event.id, "escalate", SYSTEM, note, now=now)
            escalated.append(event.id)
        elif not _flagged_since(session, event.id, event.due_at):
            session.add(
                _log(event, "overdue", SYSTEM.name, event.status, event.level, now, note, None)
            )
    session.flush()
    return escalated


def _flagged_since(session: Session, event_id: int, since: datetime) -> bool:
    return (
        session.scalar(
            select(EventLog.id).where(
                EventLog.event_id == event_id, EventLog.action == "overdue", EventLog.at >= since
            )
        )
        is not None
    )


# --- actors and areas --------------------------------------------------------------------------


def area_chain(session: Session, area_id: int | None) -> list[int]:
    """``area_id`` and all the areas above it (declared parent, else the covering area)."""
    if area_id is None:
        return []
    rows = session.execute(
        text(
            """
            WITH RECURSIVE up(id, parent, n) AS (
                SELECT id, COALESCE(parent_id, area_id), 0 FROM area WHERE id = :id
                UNION ALL
                SELECT a.id, COALESCE(a.parent_id, a.area_id), up.n + 1
                FROM area a JOIN up ON a.id = up.parent WHERE up.n < 10
            )
            SELECT id FROM up ORDER BY n
            """
        ),
        {"id": area_id},
    ).scalars()
    return list(rows)


_LEVEL_OF_AREA = {
    AreaLevel.grid: HandlingLevel.grid,
    AreaLevel.community: HandlingLevel.street,
    AreaLevel.street: HandlingLevel.street,
}


def actor_for_account(session: Session, account_id: int) -> Actor:
    """The workflow actor of an account: its role, its areas and the tier they imply
    (grid worker: grid; a leader scoped to streets or communities: street; otherwise district)."""
    account = session.get(Account, account_id)
    if account is None or not account.active:
        raise WorkflowError(f"account {account_id} does not exist or is inactive")
    rows = session.execute(
        select(Area.id, Area.level)
        .join(AccountScope, AccountScope.area_id == Area.id)
        .where(AccountScope.account_id == account_id)
    ).all()
    area_ids = tuple(r.id for r in rows) or None
    level: str | None = None
    if account.role == Role.grid_worker:
        level = HandlingLevel.grid
    elif account.role == Role.leader:
        top = min(
            (r.level for r in rows), key=vocab.LEVEL_DEPTH.__getitem__, default=AreaLevel.district
        )
        level = _LEVEL_OF_AREA.get(top, HandlingLevel.district)
    name = account.display_name or account.username
    return Actor(
        name=name, role=account.role, level=level, area_ids=area_ids, account_id=account.id
    )


def _is_constraint(exc: IntegrityError, name: str) -> bool:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == name or name in str(exc.orig)
