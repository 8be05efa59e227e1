"""Typed errors with messages a user can act on, each with the HTTP status it answers with."""


class OneMapError(Exception):
    """Base class of OneMap's own errors.

    ``status`` and ``code`` say how the web answers one raised in an API (:mod:`web.errors`):
    its HTTP status and its error code (the ``code`` of the OGC API's error body). The default,
    500, marks a fault rather than an answer: such an error is left to Flask like any other.
    """

    status: int = 500
    code: str = "ServerError"

    def details(self) -> dict[str, object]:
        """What a JSON error body holds besides ``error`` (the message) and ``status``."""
        return {}


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

    status = 409
    code = "Conflict"

    def __init__(self, message: str, *, event_id: int | None = None, action: str | None = None):
        super().__init__(message)
        self.event_id = event_id
        self.action = action


class LayerForbiddenError(OneMapError, PermissionError):
    """The viewer's role may not see the layer (or export source) asked for."""

    status = 403
    code = "Forbidden"


class StoreUnavailable(StoreError):
    """The store cannot be reached now (refused, terminated, gone): try again in
    ``retry_after`` seconds. Raised for the driver's connection errors (see
    :func:`geodata.availability.unavailable`); answered 503 with ``Retry-After``."""

    status = 503
    code = "ServiceUnavailable"

    def __init__(self, message: str = "", retry_after: int = 5) -> None:
        super().__init__(message or f"the store is unavailable; retry in {retry_after} s")
        self.retry_after = retry_after

    def details(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}
