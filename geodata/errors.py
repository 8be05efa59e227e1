"""Typed errors with messages a user can act on."""


class OneMapError(Exception):
    """Base class of OneMap's own errors."""


class StoreError(OneMapError):
    """The store (PostgreSQL/PostGIS) cannot be created, started or reached."""


class DemoError(OneMapError):
    """The demo city cannot be built as asked."""


class CRSError(OneMapError):
    """A coordinate reference system is unknown, unsupported or does not fit the data."""
