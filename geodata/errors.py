"""Typed errors with messages a user can act on."""


class OneMapError(Exception):
    """Base class of OneMap's own errors."""


class StoreError(OneMapError):
    """The store (PostgreSQL/PostGIS) cannot be created, started or reached."""


class DemoError(OneMapError):
    """The demo city cannot be built as asked."""


class CRSError(OneMapError):
    """A coordinate reference system is unknown, unsupported or does not fit the data."""


class ImportRejected(OneMapError):
    """A file cannot be imported as asked; nothing was written (the message says why and how
    to fix it). ``rejects`` holds the first bad rows (row number, field, reason)."""

    def __init__(self, message: str, rejects: list | None = None, rejected: int = 0) -> None:
        super().__init__(message)
        self.rejects = rejects or []
        self.rejected = rejected or len(self.rejects)


class UnreadableInput(ImportRejected):
    """The file cannot be read: unknown format, truncated or malformed, wrong text encoding."""


class MappingError(ImportRejected):
    """A ``--map``/``--set`` names an unknown target field or a column the file lacks."""


class OutsideCityExtent(ImportRejected):
    """Rows lie outside the city's extent (usually swapped axes, metres, or a wrong CRS)."""


class SuspectedOffsetCRS(ImportRejected):
    """Data given as WGS84 fits the stored areas much better read as GCJ-02 or BD-09."""


class WorkflowError(OneMapError):
    """An incident cannot be created or moved as asked (unknown category, a transition that is
    illegal from its status, not allowed for the actor, or missing a required reason); nothing
    was changed. ``event_id`` and ``action`` say which."""

    def __init__(self, message: str, *, event_id: int | None = None, action: str | None = None):
        super().__init__(message)
        self.event_id = event_id
        self.action = action


class LayerForbiddenError(OneMapError, PermissionError):
    """The viewer's role may not see the layer (or export source) asked for."""
