"""The grid worker's page over HTTP (Flask test client, API tokens) against the demo city.

Facts checked: the task callback lists exactly the SQL list of open incidents of the worker's grid;
accept / handle / close run the workflow (status changes, one ``event_log`` row per transition with
the worker's account and note) and a photo is stored under the data directory as a ``photo`` row
(kind after when closing); a forged incident id of another grid, a forged grid id, a report outside
the grid and a non-image photo change nothing and answer with an error; a report inside the grid
creates a reported incident logged as the worker's; the care list's names are the SQL names and
every showing writes one audit row; the devices are the SQL devices; an analyst's callbacks answer
nothing; an admin without a chosen grid sees no tasks.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import create_app
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.vocab import OPEN_STATUSES
from tests.conftest import api_token, signed_in, sql_rows, sql_scalar
from twin import grid_desk, workflow
from twin.grid_desk import PHOTO_DIR
from twin.taxonomy import ensure_taxonomy

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grid_data")


@pytest.fixture(scope="module")
def app(url, data_dir):
    return create_app(Settings(database_url=url, data_dir=data_dir), url)


@pytest.fixture(scope="module")
def grids(url) -> dict[str, tuple[int, str]]:
    """Two grids with residents: ``mine`` (the test worker's) and ``other``."""
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.id, a.code FROM area a JOIN resident r ON r.area_id = a.id "
                "WHERE a.level = 'grid' GROUP BY a.id ORDER BY count(*) DESC, a.id LIMIT 2"
            )
        ).all()
    return {"mine": (rows[0].id, rows[0].code), "other": (rows[1].id, rows[1].code)}


@pytest.fixture(scope="module")
def worker(app, url, grids):
    """A test client signed in (API token) as a grid worker of grid ``mine``."""
    token = api_token(url, "grid_worker", areas=(grids["mine"][1],))
    return signed_in(app.server.test_client(), token)


def _point_in(url: str, area_id: int) -> tuple[float, float]:
    with get_engine(url).connect() as conn:
        row = conn.execute(
            text("SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointOnSurface(geom) p "
                 "FROM area WHERE id = :a) s"),
            {"a": area_id},
        ).one()  # fmt: skip
    return row.x, row.y


@pytest.fixture(scope="module")
def incidents(url, grids) -> Iterator[dict[str, int]]:
    """Incidents of our own: four in my grid (reported), one in the other grid; deleted
    afterwards, so tests counting the city's incidents see it as built."""
    made: dict[str, int] = {}
    now = datetime.now(UTC)
    with get_engine(url).begin() as conn:
        ensure_taxonomy(conn)  # idempotent: the app seeds it at start
        with Session(bind=conn) as session:
            for key in ("a", "b", "c", "d", "x"):
                grid = "other" if key == "x" else "mine"
                lon, lat = _point_in(url, grids[grid][0])
                made[key] = workflow.create_incident(
                    session, category="environment.litter", lon=lon, lat=lat, now=now,
                    title=f"grid test {key}", source="test_grid",
                ).event.id  # fmt: skip
            session.flush()
    yield made
    _delete(url, list(made.values()))


def _delete(url: str, event_ids: list[int]) -> None:
    """Remove incidents this module made (their log rows go with them)."""
    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": event_ids})


class Dash:
    """Calls the page's server callbacks as the Dash renderer does, with values we choose."""

    def __init__(self, client) -> None:
        self.client = client
        self.deps = client.get("/_dash-dependencies").get_json()

    def _spec(self, output_id: str, input_id: str) -> dict:
        """The server callback writing ``output_id`` with input ``input_id`` (an id or a
        pattern type)."""
        for dep in self.deps:
            if (
                dep.get("clientside_function") is None
                and output_id in [o.split(".")[0] for o in dep["output"].strip(".").split("...")]
                and any(_key(i["id"]) == input_id for i in dep["inputs"])
            ):
                return dep
        raise KeyError((output_id, input_id))

    def call(self, output_id: str, input_id: str, values: dict, changed: str) -> object:
        """Run the server callback with input ``input_id``: ``values`` by component id (for a
        pattern type, a list of ``(id, value)``); ``changed`` is the changed ``id.prop``. The
        answer's ``response`` (None when the callback sent no update)."""
        spec = self._spec(output_id, input_id)

        def entries(items: list[dict]) -> list:
            out: list = []
            for item in items:
                value = values.get(_key(item["id"]))
                if item["id"].startswith("{"):
                    out.append([{"id": i, "property": item["property"], "value": v}
                                for i, v in value or []])  # fmt: skip
                else:
                    out.append({"id": item["id"], "property": item["property"], "value": value})
            return out

        outputs = [
            {"id": o.split(".", 1)[0], "property": o.split(".", 1)[1]}
            for o in spec["output"].strip(".").split("...")
        ]
        body = {
            "output": spec["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": entries(spec["inputs"]),
            "state": entries(spec.get("state", [])),
            "changedPropIds": [changed],
        }
        response = self.client.post("/_dash-update-component", json=body)
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["response"]


def _key(raw: str) -> str:
    """A dependency's component id, or its pattern type."""
    return json.loads(raw)["type"] if raw.startswith("{") else raw


def _pressed(action: str) -> str:
    return json.dumps({"action": action, "type": "grid-act"}, separators=(",", ":")) + ".n_clicks"


def _texts(node: object) -> str:
    """All text in a rendered Dash component tree."""
    if isinstance(node, dict):
        props = node.get("props", {})
        return _texts(props.get("children"))
    if isinstance(node, list):
        return " ".join(_texts(n) for n in node)
    return "" if node is None else str(node)


def _events_in_cards(children: list) -> list[int]:
    return [c["props"]["id"]["event"] for c in children if "data-event" in c["props"]]


def _status(url: str, event_id: int) -> str:
    with get_engine(url).connect() as conn:
        return conn.execute(
            text("SELECT status FROM event WHERE id = :i"), {"i": event_id}
        ).scalar()


def _logs(url: str, event_id: int) -> list:
    sql = "SELECT action, actor_id, note FROM event_log WHERE event_id = :i ORDER BY id"
    return sql_rows(url, sql, i=event_id)


def _account(url: str, username: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(
            text("SELECT id FROM account WHERE username = :u"), {"u": username}
        ).scalar_one()


WORKER = "test_grid_worker_"


def _act(dash: Dash, event_id: object, action: str, note: str = "", photo: str | None = None):
    return dash.call(
        "grid-message",
        "grid-act",
        {
            "grid-act": [({"type": "grid-act", "action": action}, 1)],
            "grid-selected": event_id,
            "grid-note": note,
            "grid-photo": photo,
            "grid-choose": None,
            "lang-switch": "en",
            "grid-refresh": 0,
        },
        _pressed(action),
    )


def test_task_list_is_the_sql_list_of_open_incidents_of_my_grid(worker, url, grids, incidents):
    dash = Dash(worker)
    out = dash.call(
        "grid-task-list",
        "grid-refresh",
        {"grid-refresh": 0, "grid-choose": None, "lang-switch": "en", "grid-selected": None},
        "grid-refresh.data",
    )
    with get_engine(url).connect() as conn:
        expected = conn.execute(
            text(
                "SELECT id FROM event WHERE area_id = :g AND status = ANY(:s) "
                "ORDER BY severity DESC, due_at NULLS LAST, id"
            ),
            {"g": grids["mine"][0], "s": list(OPEN_STATUSES)},
        ).scalars().all()  # fmt: skip
    cards = out["grid-task-list"]["children"]
    assert _events_in_cards(cards) == expected[:200]
    assert incidents["a"] in expected and incidents["x"] not in _events_in_cards(cards)
    assert out["grid-task-count"]["children"] == f"{len(expected)} open incidents"


def test_accept_handle_close_run_the_workflow_and_log_with_a_photo(
    worker, url, incidents, data_dir
):
    dash = Dash(worker)
    event_id = incidents["a"]
    account = _account(url, WORKER + _code(url, incidents["a"]))
    out = _act(dash, event_id, "accept", "on my way")
    assert "now Accepted" in _texts(out["grid-message"]["children"])
    assert _status(url, event_id) == "accepted"
    _act(dash, event_id, "handle")
    assert _status(url, event_id) == "in_progress"
    photo = "data:image/png;base64," + base64.b64encode(PNG).decode()
    out = _act(dash, event_id, "close", "litter removed", photo)
    assert _status(url, event_id) == "closed"
    logs = _logs(url, event_id)
    assert [r.action for r in logs] == ["create", "dispatch", "accept", "start", "resolve", "close"]
    assert {r.actor_id for r in logs[1:]} == {account}
    assert logs[2].note == "on my way"
    assert logs[-1].note == "litter removed"
    (photo_row,) = sql_rows(url, "SELECT * FROM photo WHERE event_id = :e", e=event_id)
    stored = data_dir / photo_row.path
    assert photo_row.kind == "after" and photo_row.size == len(stored.read_bytes())
    assert (photo_row.width, photo_row.height) == (1, 1)  # the PNG, re-encoded as a JPEG
    assert stored.read_bytes().startswith(b"\xff\xd8\xff")
    assert stored.parent == data_dir / PHOTO_DIR / str(event_id)


def _code(url: str, event_id: int) -> str:
    sql = "SELECT a.code FROM event e JOIN area a ON a.id = e.area_id WHERE e.id = :i"
    return sql_scalar(url, sql, i=event_id)


def test_escalate_moves_the_incident_to_the_street(worker, url, incidents):
    out = _act(Dash(worker), incidents["b"], "escalate", "needs the street office")
    assert "now Reported" in _texts(out["grid-message"]["children"])
    with get_engine(url).connect() as conn:
        level = conn.execute(
            text("SELECT level FROM event WHERE id = :i"), {"i": incidents["b"]}
        ).scalar()
    assert level == "street"
    assert _logs(url, incidents["b"])[-1].action == "escalate"


def test_forged_incident_of_another_grid_changes_nothing(worker, url, incidents):
    before = _logs(url, incidents["x"])
    out = _act(Dash(worker), incidents["x"], "accept", "not mine")
    assert "not in your grids" in _texts(out["grid-message"]["children"])
    assert _status(url, incidents["x"]) == "reported"
    assert _logs(url, incidents["x"]) == before


def test_forged_grid_id_reads_and_changes_nothing(worker, url, grids, incidents):
    dash = Dash(worker)
    other = grids["other"][0]
    out = dash.call(
        "grid-task-list",
        "grid-refresh",
        {"grid-refresh": 0, "grid-choose": other, "lang-switch": "en", "grid-selected": None},
        "grid-refresh.data",
    )
    assert _events_in_cards(out["grid-task-list"]["children"]) == []
    assert "not one of your grids" in _texts(out["grid-task-list"]["children"])
    body = {
        "grid-act": [({"type": "grid-act", "action": "accept"}, 1)],
        "grid-selected": incidents["x"], "grid-note": "", "grid-photo": None,
        "grid-choose": other, "lang-switch": "en", "grid-refresh": 0,
    }  # fmt: skip
    out = dash.call("grid-message", "grid-act", body, _pressed("accept"))
    assert "not one of your grids" in _texts(out["grid-message"]["children"])
    assert _status(url, incidents["x"]) == "reported"


def test_a_non_image_photo_is_refused_and_nothing_changes(worker, url, incidents, data_dir):
    fake = "data:image/png;base64," + base64.b64encode(b"<script>alert(1)</script>").decode()
    out = _act(Dash(worker), incidents["c"], "accept", "", fake)
    assert "JPEG or PNG" in _texts(out["grid-message"]["children"])
    assert _status(url, incidents["c"]) == "reported"
    assert not (data_dir / PHOTO_DIR / str(incidents["c"])).exists()


def _report(
    dash: Dash,
    lon: float,
    lat: float,
    grid: object = None,
    key: str | None = None,
    words: str = "lamp out",
):
    return dash.call(
        "grid-message",
        "grid-submit",
        {
            "grid-submit": 1, "grid-category": "facility.streetlight",
            "grid-description": words, "grid-picked": {"lon": lon, "lat": lat},
            "grid-choose": grid, "lang-switch": "en", "grid-refresh": 0, "grid-report-key": key,
        },
        "grid-submit.n_clicks",
    )  # fmt: skip


def test_a_replayed_report_makes_one_incident_and_clears_the_form(worker, url, grids):
    dash = Dash(worker)
    lon, lat = _point_in(url, grids["mine"][0])
    key, words = uuid.uuid4().hex, f"replayed {uuid.uuid4().hex[:8]}"
    answers = [_report(dash, lon, lat, key=key, words=words) for _ in range(3)]
    made = [r.id for r in sql_rows(url, "SELECT id FROM event WHERE description = :d", d=words)]
    assert len(made) == 1
    for out in answers:
        assert f"incident {made[0]}." in _texts(out["grid-message"]["children"])
        assert out["grid-category"]["value"] is None and out["grid-description"]["value"] == ""
        assert out["grid-picked"]["data"] is None
        fresh = out["grid-report-key"]["data"]
        assert isinstance(fresh, str) and len(fresh) == 32 and fresh != key
    bound = sql_scalar(url, "SELECT event_id FROM report_key WHERE key = :k", k=key)
    assert bound == made[0]
    _delete(url, made)


def test_concurrent_reports_with_one_key_make_one_incident(url, grids):
    account = _account(url, WORKER + grids["mine"][1])
    viewer = Viewer(role="grid_worker", area_ids=(grids["mine"][0],), account_id=account)
    lon, lat = _point_in(url, grids["mine"][0])
    key, words = uuid.uuid4().hex, f"concurrent {uuid.uuid4().hex[:8]}"

    def report(_: int) -> int:
        now = datetime.now(UTC)
        return grid_desk.report(url, viewer, None, "facility.streetlight", lon, lat, words, now,
                                key=key)  # fmt: skip

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(report, range(12)))
    made = [r.id for r in sql_rows(url, "SELECT id FROM event WHERE description = :d", d=words)]
    assert len(made) == 1 and ids == set(made)
    _delete(url, made)


def test_report_inside_my_grid_creates_an_incident_outside_is_refused(worker, url, grids):
    dash = Dash(worker)
    with get_engine(url).connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM event")).scalar()
    lon, lat = _point_in(url, grids["other"][0])
    out = _report(dash, lon, lat)
    assert "outside your grids" in _texts(out["grid-message"]["children"])
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event")).scalar() == before
    lon, lat = _point_in(url, grids["mine"][0])
    out = _report(dash, lon, lat)
    message = _texts(out["grid-message"]["children"])
    event_id = int(message.split("incident ")[1].split(".")[0])
    with get_engine(url).connect() as conn:
        row = conn.execute(
            text("SELECT status, area_id, category, description, source FROM event WHERE id = :i"),
            {"i": event_id},
        ).one()
        actor = conn.execute(
            text("SELECT actor FROM event_log WHERE event_id = :i AND action = 'create'"),
            {"i": event_id},
        ).scalar_one()
    assert tuple(row) == ("reported", grids["mine"][0], "facility.streetlight", "lamp out", "grid")
    assert actor == WORKER + grids["mine"][1]
    _delete(url, [event_id])


def test_care_list_is_the_sql_list_and_each_showing_is_audited(worker, url, grids):
    dash = Dash(worker)
    values = {"grid-tabs": "residents", "grid-choose": None, "lang-switch": "en", "grid-refresh": 0}
    account = _account(url, WORKER + grids["mine"][1])
    with get_engine(url).connect() as conn:
        audits = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE account_id = :a"), {"a": account}
        ).scalar()
        expected = dict(
            conn.execute(
                text(
                    "SELECT r.id, i.name FROM resident r JOIN resident_identity i "
                    "ON i.resident_id = r.id WHERE r.area_id = :g AND r.status = 'active' AND "
                    "r.care_tags && ARRAY['elderly_alone','disabled','needs_care',"
                    "'left_behind_child','low_income']::varchar[]"
                ),
                {"g": grids["mine"][0]},
            ).all()
        )
    out = dash.call("grid-residents", "grid-tabs", values, "grid-tabs.value")
    rows = out["grid-residents"]["children"]
    shown = {int(r["props"]["data-resident"]): r for r in rows if "data-resident" in r["props"]}
    assert len(shown) == min(len(expected), 200) and len(shown) > 0
    assert set(shown) <= set(expected)
    for rid, row in shown.items():
        assert row["props"]["children"][0]["props"]["children"] == expected[rid]
    dash.call("grid-residents", "grid-tabs", values, "grid-tabs.value")
    rows = sql_rows(
        url,
        "SELECT action, object_type, detail FROM audit_log WHERE account_id = :a ORDER BY id",
        a=account,
    )
    assert len(rows) == audits + 2
    assert {(r.action, r.object_type) for r in rows[-2:]} == {("view", "resident_identity")}
    assert sorted(rows[-1].detail["resident_ids"]) == sorted(shown)


def test_devices_are_the_sql_devices_of_my_grid(worker, url, grids):
    values = {"grid-tabs": "devices", "grid-choose": None, "lang-switch": "en", "grid-refresh": 0}
    out = Dash(worker).call("grid-devices", "grid-tabs", values, "grid-tabs.value")
    rows = out["grid-devices"]["children"]
    shown = {int(r["props"]["data-device"]) for r in rows if "data-device" in r["props"]}
    with get_engine(url).connect() as conn:
        expected = set(
            conn.execute(
                text("SELECT id FROM device WHERE area_id = :g"), {"g": grids["mine"][0]}
            ).scalars()
        )
    assert shown == expected or (len(shown) == 200 and shown <= expected)
    assert f"{len(expected)} devices" in _texts(rows[0])


def test_analyst_callbacks_answer_nothing_and_admin_must_choose(app, url):
    analyst = signed_in(app.server.test_client(), api_token(url, "analyst"))
    values = {"grid-refresh": 0, "grid-choose": None, "lang-switch": "en", "grid-selected": None}
    assert Dash(analyst).call("grid-task-list", "grid-refresh", values, "grid-refresh.data") is None
    admin = signed_in(app.server.test_client(), api_token(url, "admin"))
    out = Dash(admin).call("grid-task-list", "grid-refresh", values, "grid-refresh.data")
    assert out["grid-task-list"]["children"][0]["props"]["children"] == (
        "No open incidents in the grid."
    )


def test_admin_who_chose_a_grid_sees_and_handles_its_tasks(app, url, grids, incidents):
    admin = Dash(signed_in(app.server.test_client(), api_token(url, "admin")))
    mine = grids["mine"][0]
    values = {"grid-refresh": 0, "grid-choose": mine, "lang-switch": "en", "grid-selected": None}
    out = admin.call("grid-task-list", "grid-refresh", values, "grid-refresh.data")
    with get_engine(url).connect() as conn:
        expected = conn.execute(
            text("SELECT id FROM event WHERE area_id = :g AND status = ANY(:s) "
                 "ORDER BY severity DESC, due_at NULLS LAST, id"),
            {"g": mine, "s": list(OPEN_STATUSES)},
        ).scalars().all()  # fmt: skip
    assert _events_in_cards(out["grid-task-list"]["children"]) == expected[:200]
    assert incidents["c"] in expected
    body = {
        "grid-act": [({"type": "grid-act", "action": "accept"}, 1)],
        "grid-selected": incidents["c"], "grid-note": "admin", "grid-photo": None,
        "grid-choose": None, "lang-switch": "en", "grid-refresh": 0,
    }  # fmt: skip
    out = admin.call("grid-message", "grid-act", body, _pressed("accept"))
    assert "not in your grids" in _texts(out["grid-message"]["children"])  # no grid chosen
    assert _status(url, incidents["c"]) == "reported"
    out = admin.call("grid-message", "grid-act", body | {"grid-choose": mine}, _pressed("accept"))
    assert "now Accepted" in _texts(out["grid-message"]["children"])
    assert _status(url, incidents["c"]) == "accepted"


def test_an_oversized_photo_is_refused(worker, url, incidents, data_dir):
    big = PNG + b"\0" * (5 * 1024 * 1024)
    photo = "data:image/png;base64," + base64.b64encode(big).decode()
    before = _logs(url, incidents["d"])
    out = _act(Dash(worker), incidents["d"], "escalate", "", photo)
    assert "at most 5242880" in _texts(out["grid-message"]["children"])
    assert _status(url, incidents["d"]) == "reported" and _logs(url, incidents["d"]) == before
    assert not (data_dir / PHOTO_DIR / str(incidents["d"])).exists()
