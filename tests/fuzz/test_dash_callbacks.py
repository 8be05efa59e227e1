"""Hypothesis against every server-side Dash callback: payloads shaped as the renderer sends
them, with each input and state replaced by values of any JSON type (type confusion such as
``grid-picked.data = {}``), posted to ``/_dash-update-component`` by an analyst, a grid worker
and a leader. No answer may be a 5xx, no traceback may reach the log, and no answer may hold an
ID number, nor a name or phone to a role that may not see residents (grid workers see their
care list: names and phones, never ID numbers).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import Tally

EXAMPLES = 12
"""Examples per callback and role (derandomized)."""
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["zh", "en", "residents", "devices", "", "0", "-1", "\u00b2"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
WILDCARDS = ('["ALL"]', '["MATCH"]', '["ALLSMALLER"]')


def _split_output(output: str) -> list[dict]:
    """The ``outputs`` of a payload from a callback's output key."""
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    outputs = []
    for part in parts:
        cid, prop = part.split("@")[0].rsplit(".", 1)
        if any(w in cid for w in WILDCARDS):
            outputs.append([])  # a pattern output that matched no component
        else:
            outputs.append(
                {"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop}
            )
    return outputs


def _prop(declared: dict) -> st.SearchStrategy:
    """A strategy for one input or state as the renderer sends it, with any value."""
    cid = declared["id"]
    if cid.startswith("{") and any(w in cid for w in WILDCARDS):
        pattern = json.loads(cid)
        one = st.fixed_dictionaries(
            {
                "id": st.fixed_dictionaries(
                    {k: (st.text(max_size=8) | st.integers()) if isinstance(v, list) else st.just(v)
                     for k, v in pattern.items()}
                ),
                "property": st.just(declared["property"]),
                "value": VALUES,
            }
        )  # fmt: skip
        return st.lists(one, max_size=3)
    real_id = json.loads(cid) if cid.startswith("{") else cid
    return st.fixed_dictionaries(
        {"id": st.just(real_id), "property": st.just(declared["property"]), "value": VALUES}
    )


def _payload(output: str, spec: dict) -> st.SearchStrategy:
    outputs = _split_output(output)
    inputs = st.tuples(*[_prop(i) for i in spec["inputs"]]).map(list)
    state = st.tuples(*[_prop(s) for s in spec.get("state", [])]).map(list)
    first = spec["inputs"][0]
    changed = f"{first['id']}.{first['property']}"
    return st.fixed_dictionaries(
        {
            "output": st.just(output),
            "outputs": st.just(outputs if output.startswith("..") else outputs[0]),
            "inputs": inputs,
            "state": state,
            "changedPropIds": st.just([changed]),
        }
    )


def _callbacks(fuzz_app, client) -> dict[str, dict]:
    client.get("/healthz")  # Dash registers its callbacks on the first request
    return dict(fuzz_app.callback_map)


def _fuzz_callback(client, output, spec, tally: Tally, pii, resident_reader: bool) -> None:
    """Post forged payloads of one callback; record 5xx answers and personal data."""

    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(body=_payload(output, spec))
    def run(body) -> None:
        tally.tried += 1
        response = client.post("/_dash-update-component", json=body)
        label = f"{output[:120]} {json.dumps(body['inputs'])[:200]}"
        if response.status_code >= 500:
            tally.errors.append(f"{label} -> {response.status_code}")
        text = response.get_data(as_text=True)
        found = pii.find(text, names=not resident_reader, phones=not resident_reader)
        if found is not None:
            tally.leaks.append(f"{label} -> {found}")

    run()


@pytest.mark.parametrize("role", ["analyst", "grid_worker", "leader"])
def test_every_callback_survives_forged_inputs(clients, fuzz_app, personal_data, tracebacks, role):
    client = clients[role]
    callbacks = _callbacks(fuzz_app, client)
    assert len(callbacks) >= 40
    tally = Tally()
    resident_reader = role == "grid_worker"
    for output, spec in callbacks.items():
        _fuzz_callback(client, output, spec, tally, personal_data, resident_reader)
    print(f"{role}: {len(callbacks)} callbacks, {tally.tried} inputs, {len(tally.errors)} 5xx")
    assert tally.errors == [], "\n".join(tally.errors[:20])
    assert tally.leaks == [], "\n".join(tally.leaks[:20])
    assert tracebacks.found == [], "\n".join(tracebacks.found[:10])
