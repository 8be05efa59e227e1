"""The coordinate systems data leaves OneMap in: exports (any EPSG code pyproj knows, plus
GCJ-02) and the OGC API (a fixed list, OGC API – Features Part 2).

Data is stored in EPSG:4326 (lon/lat). An :class:`OutputCrs` says how to write it elsewhere:
its EPSG code (None for GCJ-02, which is an offset algorithm, not an EPSG CRS), its name, its
OGC URI, whether its authority axis order puts north (latitude, northing) first — EPSG:4326,
4490 and the CGCS2000 Gauss–Krüger zones do — and how many decimals keep coordinates to about
0.1 mm.

Hefei lies in the CGCS2000 3-degree Gauss–Krüger zone with central meridian 117°E: EPSG:4548
(eastings without zone prefix, "CM 117E") and EPSG:4527 (eastings prefixed with the zone
number 39, "zone 39").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geodata.crs import GCJ02
from geodata.query import FeatureQueryError

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
MAX_CRS_TEXT = 100
"""Longest CRS a request may name (a URI with a code is far shorter)."""

GCJ02_WKT = (
    'GEOGCRS["GCJ-02 (AMap/Tencent offset of WGS 84, not a survey CRS)",'
    'DATUM["GCJ-02 offset of WGS 84",ELLIPSOID["WGS 84",6378137,298.257223563]],'
    'CS[ellipsoidal,2],AXIS["longitude",east,ANGLEUNIT["degree",0.0174532925199433]],'
    'AXIS["latitude",north,ANGLEUNIT["degree",0.0174532925199433]]]'
)
"""The label GCJ-02 files carry where a format can hold a custom CRS (GeoPackage, Shapefile)."""
GCJ02_NOTE = (
    "Coordinates in GCJ-02 (火星坐标), the offset of WGS 84 used by AMap/Tencent maps: "
    "not WGS 84, not a survey CRS; about 300-600 m from the true position."
)

OGC_EPSG = (4326, 4490, 4548, 4527, 3857, 32650)
"""EPSG codes the OGC API answers in, after CRS84 (Hefei's CGCS2000 GK zone 39 both ways,
Web Mercator, UTM 50N)."""


@dataclass(frozen=True)
class OutputCrs:
    """A coordinate system to write features in."""

    key: str
    """``"CRS84"``, ``"EPSG:<code>"`` or ``"gcj02"``."""
    epsg: int | None
    name: str
    geographic: bool
    north_first: bool
    """The authority's first axis points north (lat,lon or northing,easting)."""

    @property
    def is_wgs84(self) -> bool:
        """Coordinates as stored (CRS84 or EPSG:4326 written lon/lat)."""
        return self.epsg == 4326

    @property
    def uri(self) -> str:
        """The OGC URI (GCJ-02 has none: a made-up one under OneMap's name would mislead)."""
        if self.key == "CRS84":
            return CRS84_URI
        if self.epsg is None:
            raise ValueError("GCJ-02 has no OGC URI")
        return f"{EPSG_URI}{self.epsg}"

    @property
    def digits(self) -> int:
        """Decimals that keep coordinates to ~0.1 mm (7 for stored WGS 84: it is snapped
        to 1e-7° already)."""
        if self.is_wgs84:
            return 7
        return 9 if self.geographic else 4

    @property
    def label(self) -> str:
        """A short token for file and column names: ``epsg4548``, ``gcj02``."""
        return "gcj02" if self.epsg is None else f"epsg{self.epsg}"

    @property
    def gdal(self) -> str:
        """What GDAL (pyogrio's ``crs=``) is given for files."""
        return GCJ02_WKT if self.epsg is None else f"EPSG:{self.epsg}"

    @property
    def pyproj(self) -> str:
        """The name :mod:`geodata.crs` transforms to."""
        return GCJ02 if self.epsg is None else f"EPSG:{self.epsg}"


WGS84_OUT = OutputCrs("EPSG:4326", 4326, "WGS 84", True, True)
CRS84_OUT = OutputCrs("CRS84", 4326, "WGS 84 (CRS84, lon/lat)", True, False)
GCJ02_OUT = OutputCrs("gcj02", None, "GCJ-02 (火星坐标, AMap/Tencent)", True, False)


@lru_cache(maxsize=256)
def epsg_crs(code: int) -> OutputCrs:
    """EPSG:``code`` as pyproj knows it; ValueError when it is unknown or not 2D horizontal."""
    try:
        crs = CRS.from_epsg(code)
    except (ProjCRSError, OverflowError) as exc:
        raise ValueError(f"EPSG:{code} is not a coordinate system PROJ knows") from exc
    if not (crs.is_geographic or crs.is_projected) or len(crs.axis_info) != 2:
        raise ValueError(f"EPSG:{code} ({crs.name}) is not a 2D horizontal coordinate system")
    first = crs.axis_info[0].direction.lower()
    return OutputCrs(f"EPSG:{code}", code, crs.name, crs.is_geographic, first == "north")


_EPSG_FORMS = (
    re.compile(r"(?:https?://www\.opengis\.net/def/crs/EPSG/0/)(\d{1,6})"),
    re.compile(r"\[?EPSG:(?:0:|:)?(\d{1,6})\]?", re.I),
    re.compile(r"urn:ogc:def:crs:EPSG:[\d.]*:(\d{1,6})", re.I),
    re.compile(r"(\d{4,6})"),
)
_CRS84_FORMS = frozenset(
    (
        CRS84_URI.lower(),
        "https" + CRS84_URI[4:].lower(),
        "crs84",
        "ogc:crs84",
        "[ogc:crs84]",
        "urn:ogc:def:crs:ogc:1.3:crs84",
    )
)


def _epsg_code(text: str) -> int | None:
    for form in _EPSG_FORMS:
        match = form.fullmatch(text)
        if match:
            return int(match.group(1))
    return None


def export_crs(value: str | None, field: str = "crs") -> OutputCrs:
    """The CRS an export is written in: empty → WGS 84; ``gcj02`` (and its aliases); an EPSG
    code as ``EPSG:4548``, ``4548``, an OGC URI or URN; CRS84. :class:`FeatureQueryError`
    (400) for anything else, naming the choices."""
    if value is None or not value.strip():
        return WGS84_OUT
    text = value.strip()
    if len(text) > MAX_CRS_TEXT:
        raise FeatureQueryError(field, f"too long (at most {MAX_CRS_TEXT} characters)")
    lower = text.lower()
    if lower in _CRS84_FORMS or lower in ("wgs84", "wgs 84"):
        return WGS84_OUT
    if re.sub(r"[\s_-]+", "", lower) in ("gcj02", "gcj", "mars", "amap", "gaode", "tencent"):
        return GCJ02_OUT
    if re.sub(r"[\s_-]+", "", lower) in ("bd09", "baidu"):
        raise FeatureQueryError(field, "Baidu BD-09 is not offered for export; use gcj02")
    code = _epsg_code(text)
    if code is None:
        raise FeatureQueryError(
            field,
            f"{text!r} is not a CRS we export in: expected an EPSG code (e.g. EPSG:4490, "
            "EPSG:4548) or gcj02",
        )
    try:
        return epsg_crs(code)
    except ValueError as exc:
        raise FeatureQueryError(field, str(exc)) from None


def check_area_of_use(crs: OutputCrs, extent: list[float] | None, field: str = "crs") -> None:
    """Refuse (400) writing features whose lon/lat ``extent`` lies wholly outside the area of
    use of ``crs``: coordinates there are meaningless (a partial overlap is allowed)."""
    if extent is None or crs.epsg is None:
        return
    area = CRS.from_epsg(crs.epsg).area_of_use
    if area is None:
        return
    west, south, east, north = area.bounds
    if west > east:  # crosses the antimeridian
        return
    if extent[2] < west or extent[0] > east or extent[3] < south or extent[1] > north:
        raise FeatureQueryError(
            field,
            f"the features lie outside the area of use of {crs.key} ({crs.name}: lon "
            f"{west:g}..{east:g}, lat {south:g}..{north:g}); choose a CRS made for this area",
        )


OGC_CRS: tuple[OutputCrs, ...] = (CRS84_OUT, *(epsg_crs(c) for c in OGC_EPSG))
"""What the OGC API offers, CRS84 first (its default)."""
OGC_URIS: tuple[str, ...] = tuple(c.uri for c in OGC_CRS)


def ogc_crs(value: str | None, field: str = "crs") -> OutputCrs:
    """A CRS of :data:`OGC_CRS` named by URI (or safe CURIE ``[EPSG:4490]``); empty → CRS84.
    :class:`FeatureQueryError` (400) lists the supported URIs otherwise."""
    if value is None or value == "":
        return CRS84_OUT
    text = value.strip()
    if len(text) <= MAX_CRS_TEXT:
        if text.lower() in _CRS84_FORMS:
            return CRS84_OUT
        code = _epsg_code(text) if not text.isdigit() else None
        for crs in OGC_CRS[1:]:
            if crs.epsg == code:
                return crs
    raise FeatureQueryError(
        field, f"{text[:MAX_CRS_TEXT]!r} is not supported; supported: {', '.join(OGC_URIS)}"
    )
