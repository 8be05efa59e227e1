"""The QGIS project on ``/export`` (``.qgs``) for the demo city, got through the page's
callback as each role that may export.

Facts checked (ElementTree): one OAPIF layer per collection the viewer's ``/ogc/collections``
lists, in that order and in the layer tree; each data source points at the app's ``/ogc``
with the collection as ``typename`` and the placeholder authentication configuration; no
token anywhere in the file; colours, categories and label fields equal the layer
declarations; names follow the page's language. Then QGIS itself (``python3-qgis``, headless)
opens the project against the app on a free port: every layer valid, drawn as declared.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from geodata.settings import Settings
from layers.base import Layer
from layers.qgis_project import AUTHCFG, STYLED_LAYERS, base_color, layer_id, rgba
from tests.conftest import api_token, signed_in

SYSTEM_PYTHON = "/usr/bin/python3"
OPENER = Path(__file__).with_name("qgis_open.py")
OUTPUT = "..export-qgis-download.data...export-qgis-status.children.."


@pytest.fixture(scope="module")
def app(demo_url):
    return create_app(Settings(database_url=demo_url), demo_url)


def _body(lang: str) -> dict:
    outputs = [
        {"id": "export-qgis-download", "property": "data"},
        {"id": "export-qgis-status", "property": "children"},
    ]
    return {
        "output": OUTPUT,
        "outputs": outputs,
        "inputs": [{"id": "export-qgis-button", "property": "n_clicks", "value": 1}],
        "state": [{"id": "lang-switch", "property": "value", "value": lang}],
        "changedPropIds": ["export-qgis-button.n_clicks"],
    }


def _project(answer: dict) -> tuple[str, ET.Element]:
    download = answer["response"]["export-qgis-download"]["data"]
    assert download["filename"] == "onemap.qgs" and download["base64"]
    text = base64.b64decode(download["content"]).decode()
    return text, ET.fromstring(text.split("\n", 1)[1])


def _qgs(app, token: str, lang: str) -> tuple[str, ET.Element, list[str]]:
    client = signed_in(app.server.test_client(), token)
    answer = client.post("/_dash-update-component", json=_body(lang))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    text, root = _project(answer.get_json())
    listed = [c["id"] for c in client.get("/ogc/collections").get_json()["collections"]]
    return text, root, listed


def _datasource(text: str) -> dict[str, str]:
    return {k: v1 or v2 for k, v1, v2 in re.findall(r"(\S+?)=(?:'((?:[^'\\]|\\.)*)'|(\S+))", text)}


def _colour(symbol: ET.Element) -> str:
    props = {o.get("name"): o.get("value") for o in symbol.iter("Option") if o.get("name")}
    return props.get("color") or props["line_color"]


def _rgb(colour: str) -> str:
    return ",".join(colour.split(",")[:3])


@pytest.mark.parametrize("role", ["planner", "analyst", "admin"])
def test_one_styled_layer_per_readable_collection_and_no_token(app, demo_url, role):
    token = api_token(demo_url, role)
    text, root, listed = _qgs(app, token, "zh")
    assert token not in text and "Bearer" not in text
    assert re.search(r"om_[A-Za-z0-9_-]{20,}", text) is None
    assert root.tag == "qgis" and root.find("projectCrs/spatialrefsys/authid").text == "EPSG:4326"
    layers = root.findall("projectlayers/maplayer")
    sources = [_datasource(m.find("datasource").text) for m in layers]
    assert [s["typename"] for s in sources] == listed and listed
    assert {s["url"] for s in sources} == {"http://localhost/ogc"}
    assert {s["authcfg"] for s in sources} == {AUTHCFG}
    assert {m.find("provider").text for m in layers} == {"OAPIF"}
    tree = [n.get("id") for n in root.findall("layer-tree-group/layer-tree-layer")]
    assert tree == [m.find("id").text for m in layers] == [layer_id(c) for c in listed]
    for element, collection in zip(layers, listed, strict=True):
        _check_style(element, STYLED_LAYERS.get(collection), "zh")


def _check_style(element: ET.Element, layer: Layer | None, lang: str) -> None:
    renderer = element.find("renderer-v2")
    if layer is not None:
        assert element.find("layername").text == layer.title[lang]
    if renderer.get("type") == "categorizedSymbol":
        assert layer is not None and renderer.get("attr") == layer.style_by
        symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
        found = {
            c.get("value"): (_rgb(_colour(symbols[c.get("symbol")])), c.get("label"))
            for c in renderer.findall("categories/category")
        }
        declared = {i.value: (_rgb(rgba(i.color)), i.label[lang]) for i in layer.legend if i.value}
        assert found == declared and found
    else:
        assert renderer.get("type") == "singleSymbol"
        colour = _colour(renderer.find("symbols/symbol"))
        assert _rgb(colour) == _rgb(rgba(base_color(layer)))
    labeling = element.find("labeling/settings/text-style")
    if labeling is not None:
        assert layer is not None
        assert labeling.get("fieldName") in {layer.label, layer.label_en}
        assert element.get("labelsEnabled") == "1"


def test_names_follow_the_page_language_and_styles_the_map(app, demo_url):
    _, root, listed = _qgs(app, api_token(demo_url, "planner"), "en")
    for element, collection in zip(root.findall("projectlayers/maplayer"), listed, strict=True):
        _check_style(element, STYLED_LAYERS.get(collection), "en")
    by_id = {m.find("id").text: m for m in root.findall("projectlayers/maplayer")}
    facilities = by_id[layer_id("facilities")].find("renderer-v2")
    assert facilities.get("type") == "categorizedSymbol" and facilities.get("attr") == "kind"
    districts = by_id[layer_id("districts")]
    assert districts.find("labeling/settings/text-style").get("fieldName") == "name_en"


def test_roles_without_export_get_nothing(app, demo_url):
    client = signed_in(app.server.test_client(), api_token(demo_url, "leader"))
    assert client.post("/_dash-update-component", json=_body("zh")).status_code == 204


@pytest.fixture(scope="module")
def served(app) -> Iterator[str]:
    """The real app on a free port, served by a thread for QGIS to talk to."""
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()


def _has_qgis() -> bool:
    if not shutil.which(SYSTEM_PYTHON):
        return False
    found = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True)
    return found.returncode == 0


@pytest.mark.skipif(
    not _has_qgis() and not os.environ.get("CI"),
    reason="python3-qgis not installed (apt-get install python3-qgis; `make test` installs it)",
)
def test_qgis_opens_the_project_headless(served, demo_url, tmp_path):
    token = api_token(demo_url, "planner")
    request = urllib.request.Request(
        served + "/_dash-update-component",
        data=json.dumps(_body("zh")).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        text, root = _project(json.load(response))
    listed = [_datasource(m.find("datasource").text)["typename"] for m in root.iter("maplayer")]
    # stands in for the authentication configuration the planner adds once: QGIS 3.22 (Debian
    # 12) has no "API Header" method, so the opener adds the header to every request instead
    path = tmp_path / "onemap.qgs"
    path.write_text(text.replace(f"authcfg={AUTHCFG} ", ""))
    done = subprocess.run(
        [SYSTEM_PYTHON, str(OPENER), str(path), token],
        capture_output=True,
        text=True,
        timeout=300,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    opened = json.loads(done.stdout.strip().splitlines()[-1])
    assert opened["read"] and opened["crs"] == "EPSG:4326"
    assert opened["tree"] == [layer_id(c) for c in listed]
    layers = {entry["id"]: entry for entry in opened["layers"]}
    assert sorted(layers) == sorted(layer_id(c) for c in listed)
    assert all(e["valid"] and e["provider"] == "OAPIF" for e in layers.values()), layers
    facilities = layers[layer_id("facilities")]
    declared = STYLED_LAYERS["facilities"]
    assert facilities["renderer"] == "categorizedSymbol" and facilities["attr"] == "kind"
    assert facilities["colors"] == {i.value: i.color.lower() for i in declared.legend if i.value}
    assert layers[layer_id("districts")]["labels"]
    assert layers[layer_id("districts")]["features"] > 0
