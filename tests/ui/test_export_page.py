"""The planner's export page in headless Chromium: the layers and fields of the role, an area
from the tree, a polygon drawn on the map, every format — the downloaded files hold exactly
the SQL count of features and no personal identifier; other roles are refused."""

from __future__ import annotations

import json
import re
import urllib.parse
import zipfile
from pathlib import Path

import pyogrio
import pytest
from playwright.sync_api import Page, expect

from geodata.accounts.viewer import Viewer
from geodata.exports import Filters
from geodata.exports.fields import allowed_fields
from geodata.query import FeatureQueryError
from pages import export_files
from pages import export_ids as ids
from pages.export_files import layers_for
from tests.conftest import sql_rows
from tests.ui.conftest import DEFAULT_VIEWPORT, watched

PLANNER = Viewer(role="planner")
ID_NUMBER = re.compile(
    rb"(?<![0-9A-Z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    rb"(?![0-9A-Z])"
)
"""A resident ID number (region, birth date, sequence, check digit); an organisation's 18-char
credit code (e.g. ``52340102000000006X``) is not one."""
PHONE = re.compile(rb"(?<!\d)1[3-9]\d{9}(?!\d)")
CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _subtree_count(url: str, table: str, code: str) -> int:
    return sql_rows(
        url,
        f"""WITH RECURSIVE s AS (SELECT id FROM area WHERE code = :c
            UNION SELECT a.id FROM area a JOIN s ON a.parent_id = s.id)
        SELECT count(*) FROM {table} WHERE area_id IN (SELECT id FROM s)""",
        c=code,
    )[0][0]


@pytest.fixture
def planner(browser, sign_in, app_server) -> Page:
    """The export page as the planner; afterwards no script error and no other origin."""
    with watched(sign_in(browser, "planner", DEFAULT_VIEWPORT), app_server) as page:
        page.goto(app_server + "export", wait_until="networkidle")
        expect(page.locator(f"#{ids.LAYERS}")).to_be_visible()
        yield page


def _tick_layer(page: Page, title: str) -> None:
    page.locator(f"#{ids.LAYERS}").get_by_text(title, exact=True).click()


def _mode(page: Page, label: str) -> None:
    page.locator(f"#{ids.AREA_MODE}").get_by_text(label, exact=True).click()


def _format(page: Page, label: str) -> None:
    page.locator(f"#{ids.FORMAT}").get_by_text(label, exact=True).click()


def _pick_area(page: Page, dropdown_id: str, code: str) -> None:
    """Choose area ``code`` in a dropdown by typing it (the list filters as one types). The
    typing and the pick are checked and repeated when a re-render took the focus or moved the
    option under the click; the dropdown must show the area in the end."""
    dropdown = page.locator(f"#{dropdown_id}")
    exact = re.compile(re.escape(f"({code})") + r"\s*$")
    for _ in range(3):
        dropdown.click()
        page.keyboard.type(code)
        option = page.get_by_role("option", name=exact)
        try:
            expect(option).to_have_count(1)
        except AssertionError:  # the typing went nowhere (focus moved by a re-render): again
            page.keyboard.press("Escape")
            continue
        option.click()
        if exact.search(dropdown.inner_text().strip()):
            return
    expect(dropdown).to_contain_text(f"({code})")


def _count_shown(page: Page, layer: str) -> int:
    cell = page.locator(f"#{ids.SUMMARY} [data-layer={layer}]")
    expect(cell).to_be_visible()
    return int(cell.get_attribute("data-count"))


def _wait_count(page: Page, layer: str, expected: int) -> None:
    expect(page.locator(f"#{ids.SUMMARY} [data-layer={layer}]")).to_have_attribute(
        "data-count", str(expected)
    )


def _download(page: Page, folder: Path) -> Path:
    with page.expect_download() as info:
        page.locator(f"#{ids.DOWNLOAD_BUTTON}").click()
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


def _click_map(page: Page, x: float, y: float) -> None:
    """A click leaflet-draw takes as a vertex: it reads the position from mouse moves."""
    page.mouse.move(x - 5, y - 5)
    page.mouse.move(x, y, steps=5)
    page.mouse.down()
    page.mouse.up()


def _street(url: str) -> str:
    """The street with the most buildings (some, not all of them)."""
    return sql_rows(
        url,
        """SELECT s.code FROM area s JOIN area g ON g.parent_id IN (
               SELECT c.id FROM area c WHERE c.parent_id = s.id) OR g.parent_id = s.id
           JOIN building b ON b.area_id = g.id
           WHERE s.level = 'street' GROUP BY s.code ORDER BY count(*) DESC LIMIT 1""",
    )[0][0]


def test_layers_are_those_the_role_may_take(planner: Page):
    labels = planner.locator(f"#{ids.LAYERS} label").all_inner_texts()
    expected = [s.title["zh"] for s in layers_for(PLANNER)]
    assert [label.strip() for label in labels] == expected
    assert "居民" not in labels or "residents" in {s.id for s in layers_for(PLANNER)}


def test_area_export_holds_exactly_the_sql_count(planner: Page, demo_url, tmp_path, artifacts):
    code = _street(demo_url)
    expected = _subtree_count(demo_url, "building", code)
    total = sql_rows(demo_url, "SELECT count(*) FROM building")[0][0]
    assert 0 < expected < total
    _tick_layer(planner, "建筑")
    _wait_count(planner, "buildings", total)
    _mode(planner, "行政区划")
    _pick_area(planner, ids.AREA, code)
    _wait_count(planner, "buildings", expected)
    # fields: the role's allow-list, all ticked; untick the address
    fields = planner.locator(f"#{ids.FIELDS_BOX} label").all_inner_texts()
    allowed = [f.name for f in allowed_fields("building", PLANNER)]
    assert [f.strip() for f in fields] == allowed
    planner.locator(f"#{ids.FIELDS_BOX}").get_by_text("address", exact=True).click()
    planner.screenshot(path=str(artifacts / "export-planner-area.png"))
    path = _download(planner, tmp_path)
    assert path.name == f"buildings_{code}.gpkg"
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == expected
    assert frame.crs.to_epsg() == 4326
    assert set(frame.columns) == (set(allowed) - {"address", "id"}) | {"geometry"}
    ids_in_file = set(pyogrio.read_dataframe(path, fid_as_index=True).index)
    assert ids_in_file == {
        r[0]
        for r in sql_rows(
            demo_url,
            """WITH RECURSIVE s AS (SELECT id FROM area WHERE code = :c
               UNION SELECT a.id FROM area a JOIN s ON a.parent_id = s.id)
               SELECT id FROM building WHERE area_id IN (SELECT id FROM s)""",
            c=code,
        )
    }
    expect(planner.locator(f"#{ids.STATUS}")).to_contain_text(f"{expected:,}")


def test_export_in_the_gauss_kruger_zone_of_hefei(planner: Page, demo_url, tmp_path):
    code = _street(demo_url)
    expected = _subtree_count(demo_url, "building", code)
    _tick_layer(planner, "建筑")
    _mode(planner, "行政区划")
    _pick_area(planner, ids.AREA, code)
    _wait_count(planner, "buildings", expected)
    crs = planner.locator(f"#{ids.CRS}")
    expect(crs).to_contain_text("GCJ-02（火星坐标，仅供高德/腾讯地图开发使用）")
    gk117 = "CGCS2000 高斯-克吕格 3 度带 中央经线东经 117°（EPSG:4548）"
    crs.get_by_text(gk117, exact=True).click()
    link = planner.locator(f"#{ids.API_LINKS} a").first
    expect(link).to_have_attribute("href", re.compile(r"crs=EPSG%3A4548"))
    path = _download(planner, tmp_path)
    assert path.name == f"buildings_{code}_epsg4548.gpkg"
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == expected and frame.crs.to_epsg() == 4548
    minx, miny, maxx, maxy = frame.total_bounds  # metres: easting, northing
    assert 3.4e5 < minx < maxx < 6.6e5 and 3.4e6 < miny < maxy < 3.6e6


def test_drawn_polygon_export_matches_sql(planner: Page, demo_url, tmp_path, artifacts):
    _tick_layer(planner, "设备")
    _mode(planner, "在地图上绘制")
    planner.locator("a.leaflet-draw-draw-polygon").click()
    box = planner.locator(f"#{ids.MAP}").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    points = [(cx - 200, cy - 150), (cx + 220, cy - 120), (cx + 60, cy + 180)]
    for x, y in [*points, points[0]]:  # the first point again closes the ring
        _click_map(planner, x, y)
    link = planner.locator(f"#{ids.API_LINKS} a").first
    expect(link).to_contain_text("polygon=")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link.inner_text()).query)
    polygon = query["polygon"][0]
    assert json.loads(polygon)["type"] == "Polygon"
    expected = sql_rows(
        demo_url,
        "SELECT count(*) FROM device WHERE ST_Intersects(geom, "
        "ST_SetSRID(ST_GeomFromGeoJSON(:p), 4326))",
        p=polygon,
    )[0][0]
    assert 0 < expected < sql_rows(demo_url, "SELECT count(*) FROM device")[0][0]
    assert _count_shown(planner, "devices") == expected
    _format(planner, "GeoJSON")
    planner.screenshot(path=str(artifacts / "export-planner-polygon.png"))
    path = _download(planner, tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert len(doc["features"]) == expected
    assert "crs" not in doc  # RFC 7946


def _datasets(path: Path, folder: Path) -> list[str]:
    """GDAL names of every dataset in a download (a zip of files, shapefiles zipped inside)."""
    if path.suffix != ".zip" or path.name.endswith(".shp.zip"):
        return [f"/vsizip/{path}" if path.suffix == ".zip" else str(path)]
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
        names = archive.namelist()
    return [d for n in names for d in _datasets(folder / n, folder)]


def _values(dataset: str) -> list[str]:
    """Every attribute value of every layer of ``dataset``, as text."""
    values = []
    for layer in pyogrio.list_layers(dataset)[:, 0]:
        frame = pyogrio.read_dataframe(dataset, layer=layer, read_geometry=False)
        values += [str(v) for column in frame.columns for v in frame[column].dropna()]
    return values


@pytest.fixture(scope="module")
def resident_names(demo_url) -> set[str]:
    return {r[0] for r in sql_rows(demo_url, "SELECT DISTINCT name FROM resident_identity")}


@pytest.mark.parametrize("label", ["GeoJSON", "GeoPackage", "CSV", "Shapefile (zip)"])
def test_planner_exports_hold_no_personal_identifier(
    planner: Page, tmp_path, resident_names, label
):
    """Every layer the planner may take, in each format: no ID number, phone or resident
    name in any value (nor, for text formats, anywhere in the file)."""
    assert len(resident_names) > 100
    layers = layers_for(PLANNER)
    for source in layers:
        _tick_layer(planner, source.title["zh"])
    _format(planner, label)
    for source in layers:
        _count_shown(planner, source.id)
    path = _download(planner, tmp_path)
    datasets = _datasets(path, tmp_path / "unpacked")
    assert len(datasets) == len(layers)
    values = [v for d in datasets for v in _values(d)]
    assert len(values) > 1000
    texts = [p.read_bytes() for p in (tmp_path / "unpacked").glob("*.*")
             if p.suffix in (".csv", ".geojson")]  # fmt: skip
    for value in [v.encode() for v in values] + texts:
        assert not ID_NUMBER.search(value), value[:80]
        assert not PHONE.search(value), value[:80]
    leaked = {v for v in values if v in resident_names}
    leaked |= {
        run[i : i + n]
        for v in values
        for run in CJK_RUN.findall(v)
        for n in (3, 4)
        for i in range(len(run) - n + 1)
        if run[i : i + n] in resident_names
    }
    assert not leaked, sorted(leaked)[:5]


def test_grid_worker_is_refused(browser, sign_in, app_server, artifacts):
    """By URL the gate answers 403 with the message; switched to inside the app, the page's
    layout shows the same message and none of the form."""
    page = sign_in(browser, "grid", {"width": 1280, "height": 800})
    response = page.goto(app_server + "export", wait_until="networkidle")
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("您的角色无权访问此页面")
    page.goto(app_server, wait_until="networkidle")
    page.evaluate(
        "window.history.pushState({}, '', '/export');"
        "window.dispatchEvent(new PopStateEvent('popstate'))"
    )
    expect(page.locator(".page-forbidden")).to_contain_text("您的角色无权访问此页面")
    assert page.locator(f"#{ids.LAYERS}").count() == 0
    page.screenshot(path=str(artifacts / "export-grid-refused.png"))
    page.context.close()


def test_bbox_of_the_map_view_matches_sql(planner: Page, demo_url):
    _tick_layer(planner, "公共设施")
    _mode(planner, "矩形范围")
    planner.locator(f"#{ids.MAP} .leaflet-control-zoom-in").click()
    bbox = planner.locator(f"#{ids.BBOX}")
    for _ in range(20):  # the map reports its view once the zoom has ended
        planner.locator(f"#{ids.BBOX_FROM_MAP}").click()
        if bbox.input_value():
            break
        planner.wait_for_timeout(250)
    expect(bbox).to_have_value(re.compile(r"^[\d.]+,[\d.]+,[\d.]+,[\d.]+$"))
    minx, miny, maxx, maxy = (float(v) for v in bbox.input_value().split(","))
    expected = sql_rows(
        demo_url,
        "SELECT count(*) FROM facility WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(:a, :b, :c, :d, 4326))",
        a=minx,
        b=miny,
        c=maxx,
        d=maxy,
    )[0][0]
    assert 0 < expected < sql_rows(demo_url, "SELECT count(*) FROM facility")[0][0]
    _wait_count(planner, "facilities", expected)


def test_english_labels(planner: Page):
    planner.locator("#lang-switch").get_by_text("EN", exact=True).click()
    expect(planner.locator(f"#{ids.DOWNLOAD_BUTTON}")).to_have_text("Download")
    expect(planner.locator(f"#{ids.LAYERS}")).to_contain_text("Buildings")
    expect(planner.locator(f"#{ids.AREA_MODE}")).to_contain_text("Governance area")
    expect(planner.locator(f"#{ids.CRS}")).to_contain_text(
        "GCJ-02 (Mars coordinates, for AMap/Tencent map developers only)"
    )


def test_admin_resident_export_is_audited(browser, sign_in, app_server, demo_url, tmp_path):
    """Records of people (without identifiers) leave only for roles allowed the layer, and
    each such export writes an audit row naming the account, layer and row count."""
    admin = Viewer(role="admin")
    if "residents" not in {s.id for s in layers_for(admin)}:
        pytest.fail("admins may export the residents layer (without identifiers)")
    page = sign_in(browser, "admin", DEFAULT_VIEWPORT)
    page.goto(app_server + "export", wait_until="networkidle")
    before = sql_rows(demo_url, "SELECT coalesce(max(id), 0) FROM audit_log")[0][0]
    _tick_layer(page, "居民")
    _format(page, "CSV")
    expected = sql_rows(demo_url, "SELECT count(*) FROM resident")[0][0]
    _wait_count(page, "residents", expected)
    path = _download(page, tmp_path)
    assert len(pyogrio.read_dataframe(path)) == expected
    rows = sql_rows(
        demo_url,
        "SELECT username, action, object_type, detail FROM audit_log WHERE id > :b",
        b=before,
    )
    assert [(u, a, o, d["rows"]) for u, a, o, d in rows] == [
        ("admin", "export", "residents", expected)
    ]
    page.context.close()


# --- the page's export service (no browser) ---------------------------------------------------


def test_chosen_fields_never_exceed_the_allow_list(demo_url, tmp_path):
    result = export_files.export(
        demo_url,
        ["buildings"],
        "csv",
        Filters(),
        {"buildings": ["name", "phone", "password_hash", "floors"]},
        PLANNER,
    )
    path = tmp_path / result.name
    path.write_bytes(result.content)
    frame = pyogrio.read_dataframe(path)
    assert set(frame.columns) == {"WKT", "name", "floors", "geometry"}  # GDAL keeps the WKT text
    assert (
        len(frame)
        == result.counts["buildings"]
        == sql_rows(demo_url, "SELECT count(*) FROM building")[0][0]
    )
    with pytest.raises(FeatureQueryError, match="choose at least one field"):
        export_files.export(demo_url, ["buildings"], "csv", Filters(), {"buildings": []}, PLANNER)


def test_layers_the_role_may_not_take_are_refused(demo_url):
    refused = {s.id for s in export_files.EXPORT_LAYERS.values()} - {
        s.id for s in layers_for(PLANNER)
    }
    assert "residents" in refused
    with pytest.raises(FeatureQueryError, match="may not export 'residents'"):
        export_files.export(demo_url, ["residents"], "csv", Filters(), {}, PLANNER)


def test_page_downloads_are_capped(demo_url, monkeypatch):
    monkeypatch.setattr(export_files, "MAX_PAGE_FEATURES", 10)
    with pytest.raises(FeatureQueryError, match="more than a page download holds"):
        export_files.export(demo_url, ["buildings"], "gpkg", Filters(), {}, PLANNER)
