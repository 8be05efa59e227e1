"""MQTT test helpers: clients of a real broker logged in as a gateway (or as anyone at all).

The embedded Mosquitto refuses anonymous clients: a test publishes as a gateway with
:func:`publish_as` (user = gateway name, password = its key) after the broker's accounts were
written from the store (``EmbeddedBroker(..., store_url=url)`` started after the gateway was
added, or ``broker.sync()``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import paho.mqtt.client as mqtt

from twin.broker_accounts import gateway_topic
from twin.mqtt import client

READINGS = "onemap/+/readings"


class Address(Protocol):
    host: str
    port: int


def login(
    broker: Address,
    username: str | None,
    password: str | None,
    *,
    client_id: str | None = None,
    wait: float = 5.0,
) -> tuple[mqtt.Client, str | None]:
    """A client connecting as ``username`` (loop running) and the broker's refusal reason, or
    None when the connection was accepted within ``wait`` seconds. Stop it with :func:`close`."""
    c = client(client_id or f"test-{uuid.uuid4().hex[:12]}")
    if username is not None:
        c.username_pw_set(username, password)
    answered, refusal = threading.Event(), []

    def on_connect(_c, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            refusal.append(str(reason_code))
        answered.set()

    c.on_connect = on_connect
    c.connect(broker.host, broker.port)
    c.loop_start()
    if not answered.wait(wait):
        refusal.append("no answer")
    return c, (refusal[0] if refusal else None)


def close(c: mqtt.Client) -> None:
    """Disconnect and stop the client's loop."""
    c.disconnect()
    c.loop_stop()


def refused(broker: Address, username: str | None, password: str | None) -> str | None:
    """The broker's reason for refusing a login (None: it was accepted)."""
    c, reason = login(broker, username, password)
    close(c)
    return reason


@contextmanager
def gateway_client(broker: Address, name: str, key: str) -> Iterator[mqtt.Client]:
    """A client logged in as gateway ``name`` (fails the test if the broker refuses it)."""
    c, reason = login(broker, name, key)
    try:
        assert reason is None, f"broker refused gateway {name!r}: {reason}"
        yield c
    finally:
        close(c)


def publish_as(
    broker: Address,
    name: str,
    key: str,
    payloads: list[bytes | str],
    topic: str | None = None,
) -> None:
    """Publish ``payloads`` (QoS 1, each acknowledged) as gateway ``name``, to its own readings
    topic unless ``topic`` is given."""
    with gateway_client(broker, name, key) as c:
        infos = [c.publish(topic or gateway_topic(READINGS, name), p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(10)
