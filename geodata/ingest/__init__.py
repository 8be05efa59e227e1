"""Data in: files of any common GIS format into the store's layers (see :func:`import_file`)."""

from geodata.ingest.importer import import_file
from geodata.ingest.report import ImportReport, RejectedRow
from geodata.ingest.schema import LAYERS

__all__ = ["LAYERS", "ImportReport", "RejectedRow", "import_file"]
