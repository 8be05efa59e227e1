"""What the grid worker's page draws from the desk's rows (no data access here): task cards,
the panel of the chosen task, the care list and the device list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
from dash import dcc, html

from geodata import city_time, vocab
from pages import grid_ids as gid
from pages.shell import data
from twin.grid_desk import UI_ACTIONS
from web import context, i18n


def when(value: datetime | None, lang: str) -> str:
    """A short time in the city's zone (month-day hour:minute), or "never"."""
    if value is None:
        return i18n.text("grid.never", lang)
    return city_time.fmt(value, context.timezone())


def _name(row: dict, lang: str) -> str:
    """A category's name in ``lang`` (its code when it has none)."""
    return (row.get("name_en") if lang == "en" else row.get("name_zh")) or row["category"]


def task_card(
    task: dict, lang: str, now: datetime, selected: bool, new: bool = False
) -> html.Button:
    """One tappable task: severity, title, then id · category · status · due (few components:
    a busy grid lists up to 200)."""
    overdue = task["due_at"] is not None and task["due_at"] < now
    classes = ["grid-task", f"sev-{task['severity']}"]
    classes += ["selected"] if selected else []
    classes += ["overdue"] if overdue else []
    classes += ["grid-task-new"] if new else []
    due_key = "grid.overdue" if overdue else "grid.due"
    due = f"{i18n.text(due_key, lang)} {when(task['due_at'], lang)}"
    status = i18n.text(f"grid.event.{task['status']}", lang)
    return html.Button(
        id=gid.task(task["id"]),
        className=" ".join(classes),
        **{"data-event": str(task["id"]), "data-status": task["status"]},
        children=[
            html.Span(str(task["severity"]), className="grid-task-sev"),
            html.Span(task["title"], className="grid-task-title"),
            html.Span(
                f"#{task['id']} · {_name(task, lang)} · {status} · {due}",
                className="grid-task-meta",
            ),
        ],
    )


def task_list(
    tasks: list[dict],
    total: int,
    lang: str,
    now: datetime,
    selected: int | None,
    new: int | None = None,
) -> tuple[str, list]:
    """The count line and the cards of the open incidents (``new``: the one that just arrived
    live, marked)."""
    count = i18n.text("grid.tasks_count", lang).format(n=total)
    if not tasks:
        return count, [html.Div(i18n.text("grid.tasks_empty", lang), className="grid-empty")]
    return count, [task_card(t, lang, now, t["id"] == selected, t["id"] == new) for t in tasks]


def cue(tasks: list[dict], event_id: int | None, lang: str) -> list:
    """The visible cue of a task that arrived live (nothing when it is not among the tasks)."""
    task = next((t for t in tasks if t["id"] == event_id), None)
    if task is None:
        return []
    words = i18n.text("grid.cue_new", lang).format(id=task["id"], title=task["title"])
    return [html.Div(words, className="grid-cue-new", role="alert", **data("event", task["id"]))]


def photo_url(photo_id: int, thumb: bool = False) -> str:
    """Where the page fetches a photo (the scoped API; never a public file)."""
    url = dash.get_relative_path(f"/api/photos/{int(photo_id)}")
    return url + "?size=thumb" if thumb else url


def _photo(photo: dict, lang: str) -> html.A:
    kind = i18n.text(f"grid.photo_kind.{photo['kind']}", lang)
    return html.A(
        href=photo_url(photo["id"]),
        target="_blank",
        rel="noopener",
        className=f"grid-thumb grid-thumb-{photo['kind']}",
        **data("photo", photo["id"]),
        children=[
            html.Img(
                src=photo_url(photo["id"], thumb=True),
                alt=i18n.text("grid.photo_alt", lang).format(kind=kind),
                className="grid-thumb-img",
            ),
            html.Span(kind, className="grid-thumb-kind"),
        ],
    )


def _step_name(action: str, lang: str) -> str:
    key = f"grid.step.{action}"
    return i18n.text(key if key in i18n.STRINGS else "grid.step.other", lang)


def _actor(name: str, lang: str) -> str:
    """Who wrote a step, as shown: the workflow itself and Open311 clients in words."""
    if name == "system":
        return i18n.text("grid.actor_system", lang)
    if name.startswith("open311:"):
        return i18n.text("grid.actor_open311", lang)
    return name


def history(steps: list[dict], photos: list[dict], lang: str) -> html.Div:
    """The task's steps (time · who · what → status, the note) with each step's photos."""
    by_step: dict[int | None, list[dict]] = {}
    for p in photos:
        by_step.setdefault(p["log_id"], []).append(p)
    known = {s["id"] for s in steps}
    loose = [p for p in photos if p["log_id"] not in known]
    rows = []
    for step in steps:
        status = vocab.EVENT_STATUS_LABELS.get(step["to_status"] or "", {}).get(lang, "")
        who = _actor(step["actor"], lang)
        line = f"{when(step['at'], lang)} · {who} · {_step_name(step['action'], lang)}"
        rows.append(
            html.Li(
                className="grid-step",
                **data("step", step["id"]),
                children=[
                    html.Span(f"{line} → {status}" if status else line, className="grid-step-what"),
                    html.Span(step["note"] or "", className="grid-step-note"),
                    *(_photo(p, lang) for p in by_step.get(step["id"], [])),
                ],
            )
        )
    if loose:
        rows.append(html.Li(className="grid-step", children=[_photo(p, lang) for p in loose]))
    return html.Div(
        id=gid.TASK_HISTORY,
        className="grid-task-history",
        children=[
            html.Div(i18n.text("grid.task_history", lang), className="grid-label"),
            html.Ol(rows, className="grid-steps")
            if rows
            else html.Div(i18n.text("grid.history_empty", lang), className="grid-empty"),
        ],
    )


def action_buttons(shown: list[str], lang: str) -> list[html.Button]:
    """The four task buttons, those not allowed now disabled (kept in place for the thumb)."""
    return [
        html.Button(
            i18n.text(f"grid.act.{action}", lang),
            id=gid.act(action),
            className=f"grid-act grid-act-{action}",
            disabled=action not in shown,
            n_clicks=0,
        )
        for action in UI_ACTIONS
    ]


def task_panel(
    task: dict | None, shown: list[str], lang: str, past: html.Div | None = None
) -> list:
    """The chosen task: its details, the note, the photo, the buttons and its history."""
    if task is None:
        return [html.Div(i18n.text("grid.pick_task", lang), className="grid-empty")]
    return [
        html.Div(
            f"#{task['id']} {task['title']}",
            className="grid-panel-title",
            **data("event", task["id"]),
        ),
        html.Div(
            f"{_name(task, lang)} · {i18n.text('grid.severity', lang)} {task['severity']} · "
            f"{i18n.text('grid.level.' + task['level'], lang)} · "
            f"{i18n.text('grid.event.' + task['status'], lang)}",
            className="grid-panel-meta",
        ),
        html.Div(task.get("description") or "", className="grid-panel-desc"),
        dcc.Textarea(
            id=gid.NOTE,
            placeholder=i18n.text("grid.note_hint", lang),
            className="grid-note",
            value="",
        ),
        dcc.Upload(
            id=gid.PHOTO,
            accept="image/jpeg,image/png",
            max_size=-1,
            className="grid-photo",
            children=html.Div(i18n.text("grid.photo", lang)),
        ),
        html.Div(id=gid.PHOTO_NAME, className="grid-photo-name"),
        html.Div(className="grid-actions", children=action_buttons(shown, lang))
        if shown
        else html.Div(i18n.text("grid.no_actions", lang), className="grid-empty"),
        past,
    ]


def _tags(tags: list[str], lang: str) -> str:
    """Care tags as one line of names."""
    return "、".join(vocab.CARE_TAGS[t][lang] for t in tags if t in vocab.CARE_TAGS)


def _door(row: dict, lang: str) -> str:
    """The door-sensor line of a care-list row."""
    if row["device_id"] is None:
        return i18n.text("grid.door_none", lang)
    opened = row["open_ts"]
    state = i18n.text(f"grid.status.{row['door_status']}", lang)
    if opened is None:
        return f"{i18n.text('grid.door_never', lang)} · {state}"
    arrow = {"out": " ↗", "in": " ↙"}.get(row["direction"] or "", "")
    return f"{i18n.text('grid.door_last', lang)} {when(opened, lang)}{arrow} · {state}"


def resident_rows(rows: list[dict], lang: str, year: int) -> list[html.Div]:
    """The care list: name; age, tags, phone; door activity (few components per row: the list
    is long and each component costs render time on a tablet)."""
    age = i18n.text("grid.age", lang)
    return [
        html.Div(
            className="grid-resident" + (" alone" if "elderly_alone" in r["care_tags"] else ""),
            **data("resident", r["id"]),
            children=[
                html.Span(r["name"] or "—", className="grid-resident-name"),
                html.Span(
                    f"{age.format(n=year - r['birth_year'])} · {_tags(r['care_tags'], lang)}"
                    f" · {r['phone'] or ''}",
                    className="grid-resident-info",
                ),
                html.Span(_door(r, lang), className="grid-resident-door"),
            ],
        )
        for r in rows
    ]


def device_rows(rows: list[dict], lang: str) -> list[html.Div]:
    """The device list: state; kind, serial and last seen (two components per row)."""
    seen = i18n.text("grid.last_seen", lang)
    return [
        html.Div(
            className=f"grid-device dev-{d['status']}",
            **data("device", d["id"]),
            children=[
                html.Span(
                    i18n.text(f"grid.status.{d['status']}", lang), className="grid-device-status"
                ),
                html.Span(
                    f"{vocab.DEVICE_KINDS.get(d['kind'], {}).get(lang, d['kind'])} "
                    f"{d['serial'] or '#' + str(d['id'])} · {seen} {when(d['last_seen'], lang)}",
                    className="grid-device-info",
                ),
            ],
        )
        for d in rows
    ]


def device_summary(counts: dict[str, int], lang: str) -> str:
    """ "n devices: a online, b offline, c alarm"."""
    return i18n.text("grid.devices_count", lang).format(
        n=sum(counts.values()), **{s: counts.get(s, 0) for s in vocab.DEVICE_STATUS}
    )


OFFLINE_WORDS = (
    "banner", "waiting", "sending", "queued", "sent", "refused",
    "report_queued", "report_sent", "report_refused",
)  # fmt: skip
"""The offline queue's words (``grid.offline.<name>``) the page hands to its script."""


def offline_words(lang: str) -> html.Div:
    """A hidden element carrying the offline queue's words, the task buttons' names and the
    language as data attributes: ``assets/grid_offline.js`` draws the banner from them (so its
    words come from :mod:`web.i18n`, also when the page was opened offline)."""
    words: dict[str, Any] = {
        f"data-{name}": i18n.text(f"grid.offline.{name}", lang) for name in OFFLINE_WORDS
    }
    words |= {f"data-act-{a}": i18n.text(f"grid.act.{a}", lang) for a in UI_ACTIONS}
    return html.Div(id=gid.OFFLINE, hidden=True, **words, **data("lang", lang))
