"""POST /api/readings against a real store: auth, malformed input, duplicates, order, partitions.

The intake commits, so these tests use a database of their own (not the rolled-back one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.readings import blueprint
from geodata.engine import get_engine
from geodata.models import Device
from geodata.settings import Settings
from tests.conftest import _fresh_database
from tests.integration.factories import point
from twin.gateways import add_gateway
from twin.intake import ingest
from web.context import SETTINGS_KEY, STORE_URL_KEY

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def intake_url(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "intake_http") as url:
        yield url


@pytest.fixture(scope="module")
def world(intake_url) -> dict:
    """Two gateways, devices of each, one device without a gateway."""
    with Session(get_engine(intake_url)) as s, s.begin():
        gw_a, key_a, _ = add_gateway(s, "gw-a")
        gw_b, key_b, _ = add_gateway(s, "gw-b")
        devices = [
            Device(kind="gas", serial="GAS-1", geom=point(117.25, 31.82), gateway_id=gw_a),
            Device(kind="smoke", serial="SMK-1", geom=point(117.25, 31.83), gateway_id=gw_a),
            Device(kind="door", serial="DOR-1", geom=point(117.26, 31.83), gateway_id=gw_a),
            Device(kind="camera", serial="CAM-1", geom=point(117.26, 31.84), gateway_id=gw_a),
            Device(kind="gas", serial="GAS-B", geom=point(117.27, 31.82), gateway_id=gw_b),
            Device(kind="gas", serial="GAS-X", geom=point(117.27, 31.83)),
        ]
        s.add_all(devices)
        s.flush()
        ids = {d.serial: d.id for d in devices}
    return {"key_a": key_a, "key_b": key_b, "ids": ids}


@pytest.fixture(scope="module")
def client(intake_url, world):
    app = Flask(__name__)
    app.config[SETTINGS_KEY] = Settings(twin_max_batch=100, twin_max_body_bytes=200_000)
    app.config[STORE_URL_KEY] = intake_url
    app.register_blueprint(blueprint)
    return app.test_client()


def post(client, key: str | None, body, **kw):
    headers = {"X-Gateway-Key": key} if key else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        "/api/readings", data=data, headers=headers, content_type="application/json", **kw
    )


def ts(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


def scalar(url: str, sql: str, **params):
    with get_engine(url).connect() as c:
        return c.execute(text(sql), params).scalar()


def device_state(url: str, serial: str):
    with get_engine(url).connect() as c:
        return c.execute(
            text("SELECT status, last_seen, last_value FROM device WHERE serial = :s"),
            {"s": serial},
        ).one()


def test_missing_or_bad_key_is_401(client, world):
    body = {"readings": [{"device": "GAS-1", "ts": ts(1), "value": 1.0}]}
    assert post(client, None, body).status_code == 401
    r = post(client, "gk_wrong", body)
    assert r.status_code == 401
    assert "gateway" in r.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not JSON"),
        ([1, 2], "readings"),
        ({"readings": {"device": "GAS-1"}}, "readings"),
        ({"values": []}, "readings"),
    ],
)
def test_malformed_body_is_400_with_reason(client, world, body, fragment):
    r = post(client, world["key_a"], body)
    assert r.status_code == 400
    assert fragment in r.get_json()["error"]


def test_oversized_batch_and_body_are_413(client, world):
    many = {"readings": [{"device": "GAS-1", "ts": ts(i), "value": 1.0} for i in range(101)]}
    assert post(client, world["key_a"], many).status_code == 413
    huge = json.dumps({"readings": [], "pad": "x" * 300_000})
    assert post(client, world["key_a"], huge).status_code == 413


def test_malformed_readings_are_rejected_with_reasons_and_recorded(client, world, intake_url):
    before = scalar(intake_url, "SELECT count(*) FROM reading_reject")
    bad = [
        {"device": "NOPE", "ts": ts(1), "value": 1},  # unknown device
        {"device": "GAS-B", "ts": ts(1), "value": 1},  # another gateway's device
        {"device": "GAS-X", "ts": ts(1), "value": 1},  # device without a gateway
        {"device": "GAS-1", "ts": "2026-11-27T10:00:00", "value": 1},  # no zone
        {"device": "GAS-1", "ts": "yesterday", "value": 1},
        {"device": "GAS-1", "ts": (NOW + timedelta(hours=2)).isoformat(), "value": 1},
        {"device": "GAS-1", "ts": ts(1), "value": "high"},
        {"device": "GAS-1", "ts": ts(1), "value": True},
        {"device": "GAS-1", "ts": ts(1)},  # neither value nor payload
        {"device": "GAS-1", "ts": ts(1), "value": 140.0},  # beyond 100 %LEL
        {"device": "CAM-1", "ts": ts(1), "value": 0.9},  # camera without a detection
        {"device": "CAM-1", "ts": ts(1), "payload": {"detection": "ufo"}},
        {"device": "DOR-1", "ts": ts(1), "payload": {"event": "ajar"}},
        {"device": "GAS-1", "ts": ts(1), "value": 1, "payload": [1]},
        "a string",
        {"ts": ts(1), "value": 1},
    ]
    good = {"device": "GAS-1", "ts": ts(30), "value": 1.5}
    r = post(client, world["key_a"], {"readings": [*bad, good]})
    assert r.status_code == 200
    out = r.get_json()
    assert (out["stored"], out["duplicates"], out["rejected"]) == (1, 0, len(bad))
    reasons = {x["index"]: x["reason"] for x in out["reasons"]}
    assert "unknown device" in reasons[0]
    assert "does not belong to gateway" in reasons[1]
    assert "has no gateway" in reasons[2]
    assert "no time zone" in reasons[3]
    assert "future" in reasons[5]
    assert "above 100" in reasons[9]
    assert "detection" in reasons[11]
    after = scalar(intake_url, "SELECT count(*) FROM reading_reject")
    assert after - before == len(bad)
    assert scalar(
        intake_url,
        "SELECT count(*) FROM reading_reject WHERE channel = 'http' AND gateway = 'gw-a'",
    ) >= len(bad)


def test_duplicates_and_out_of_order_are_counted_once_and_state_moves_forward(
    client, world, intake_url
):
    gas_id = world["ids"]["GAS-1"]
    newest = {"device": "SMK-1", "ts": ts(2), "value": 3.0}
    r = post(client, world["key_a"], {"readings": [newest, newest]})
    assert r.get_json()["stored"] == 1 and r.get_json()["duplicates"] == 1
    # an older alarm arriving late must not overwrite the newer state
    late = {"device": "SMK-1", "ts": ts(10), "value": 55.0}
    r = post(client, world["key_a"], {"readings": [late, newest]})
    assert (r.get_json()["stored"], r.get_json()["duplicates"]) == (1, 1)
    status, last_seen, last_value = device_state(intake_url, "SMK-1")
    assert (status, last_value) == ("online", 3.0)
    assert last_seen == NOW - timedelta(minutes=2)
    # by id as well as serial; same instant written in another zone is the same reading
    other_zone = (
        (NOW - timedelta(minutes=2)).astimezone(datetime.now().astimezone().tzinfo).isoformat()
    )
    r = post(
        client,
        world["key_a"],
        {"readings": [{"device": world["ids"]["SMK-1"], "ts": other_zone, "value": 9.0}]},
    )
    assert r.get_json()["duplicates"] == 1
    # a newer alarm does move it
    r = post(
        client, world["key_a"], {"readings": [{"device": "GAS-1", "ts": ts(0.5), "value": 35}]}
    )
    assert r.get_json()["stored"] == 1
    assert device_state(intake_url, "GAS-1")[0] == "alarm"
    assert scalar(intake_url, "SELECT count(*) FROM reading WHERE device_id = :d", d=gas_id) >= 1
    assert (
        scalar(
            intake_url,
            "SELECT count(*) FROM reading WHERE device_id = :d",
            d=world["ids"]["SMK-1"],
        )
        == 2
    )


def test_readings_land_in_month_partitions(client, world, intake_url):
    months = [NOW - timedelta(days=d) for d in (0, 40, 75)]
    body = {
        "readings": [
            {"device": "DOR-1", "ts": m.isoformat(), "value": 1.0, "payload": {"event": "open"}}
            for m in months
        ]
    }
    r = post(client, world["key_a"], body)
    assert r.get_json()["stored"] == 3
    with get_engine(intake_url).connect() as c:
        parts = (
            c.execute(
                text("SELECT DISTINCT tableoid::regclass::text FROM reading WHERE device_id = :d"),
                {"d": world["ids"]["DOR-1"]},
            )
            .scalars()
            .all()
        )
    assert len(parts) >= 2
    assert all(p.startswith("reading_2") for p in parts), parts  # never the default partition


def test_ingest_trusted_path_and_unknown_gateway(intake_url, world):
    with get_engine(intake_url).connect() as conn:
        settings = Settings()
        res = ingest(
            conn, None, [{"device": "GAS-X", "ts": ts(3), "value": 2}], "test", NOW, settings
        )
        assert res.stored == 1  # no ownership check on the in-process path
        res = ingest(
            conn, "nobody", [{"device": "GAS-1", "ts": ts(3), "value": 2}], "test", NOW, settings
        )
        assert (res.stored, res.rejected) == (0, 1)
        assert "gateway" in res.reasons[0][1]
        conn.rollback()


def test_cli_gateway_add_prints_key_once_and_assigns_area_devices(intake_url):
    import os
    import subprocess
    import sys

    from tests.integration.factories import add_area

    with Session(get_engine(intake_url)) as s, s.begin():
        grid = add_area(s, "grid", (118.00, 32.00, 118.01, 32.01), code="TCLI-GRID")
        s.add(Device(kind="smoke", serial="SMK-CLI", geom=point(118.005, 32.005)))
        s.flush()
        assert grid.id
    env = {**os.environ, "DATABASE_URL": intake_url}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin",
            "gateway",
            "add",
            "gw-cli",
            "--devices-of-area",
            "TCLI-GRID",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    key = out.stdout.strip()
    assert key.startswith("gk_") and "devices assigned: 1" in out.stderr
    with get_engine(intake_url).connect() as c:
        stored = c.execute(text("SELECT key_hash FROM gateway WHERE name = 'gw-cli'")).scalar()
        owner = c.execute(
            text(
                "SELECT g.name FROM device d JOIN gateway g ON g.id = d.gateway_id "
                "WHERE d.serial = 'SMK-CLI'"
            )
        ).scalar()
    assert stored != key and len(stored) == 64 and owner == "gw-cli"
    from twin.gateways import hash_key

    assert stored == hash_key(key)
