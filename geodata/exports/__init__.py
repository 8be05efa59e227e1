"""Data out: file exports (GeoJSON, GeoPackage, CSV, Shapefile) and the table provider behind
the OGC API. Fields leave the store only through the allow-list in :mod:`.fields`."""

from geodata.exports.query import Filters
from geodata.exports.service import ExportResult, export_format, export_layer_to, file_name

__all__ = ["ExportResult", "Filters", "export_format", "export_layer_to", "file_name"]
