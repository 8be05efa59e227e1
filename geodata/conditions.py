"""The one builder of WHERE clauses: SQL pieces and their bound parameters, kept together.

Map layers, exports, the OGC API and analyst questions all compose their conditions with a
:class:`Conditions`. Identifiers in a clause come from the catalogue or a layer spec, never from
a request; every value is a bound parameter. ``style`` picks the placeholder syntax of the
driver that runs the SQL: ``named`` (``:name``, SQLAlchemy ``text()``) or ``pyformat``
(``%(name)s``, psycopg).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Style = Literal["named", "pyformat"]


def escape_like(value: str) -> str:
    """``value`` with LIKE's wildcards and escape character escaped (default ``\\`` escape)."""
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


@dataclass(frozen=True)
class Clause:
    """One finished condition: SQL over alias ``t`` (``pyformat`` placeholders) and the values
    it binds, built elsewhere (e.g. from a CQL2 filter) and appended with :meth:`Conditions.add`."""

    sql: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass
class Conditions:
    """A WHERE clause under construction: clauses joined with AND, and their parameters."""

    style: Style = "named"
    clauses: list[str] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)

    def placeholder(self, name: str) -> str:
        """The placeholder of parameter ``name`` in this builder's style."""
        return f":{name}" if self.style == "named" else f"%({name})s"

    def bind(self, value: object, name: str | None = None) -> str:
        """Bind ``value`` (as ``name``, else a fresh ``p<n>``) and return its placeholder."""
        key = name or self._fresh_name()
        self._keep(key, value)
        return self.placeholder(key)

    def add(self, clause: str, **params: object) -> None:
        """Append ``clause`` (its placeholders already written) with the parameters it names."""
        self.clauses.append(clause)
        for key, value in params.items():
            self._keep(key, value)

    def _fresh_name(self) -> str:
        """``p<n>``: the first such name not bound yet (names given to :meth:`add` may be)."""
        n = len(self.params)
        while f"p{n}" in self.params:
            n += 1
        return f"p{n}"

    def _keep(self, key: str, value: object) -> None:
        if key in self.params:
            raise ValueError(f"parameter {key!r} is bound twice")
        self.params[key] = value

    def extend(self, clauses: Iterable[str]) -> None:
        """Append clauses whose parameters were bound with :meth:`bind`."""
        self.clauses.extend(clauses)

    @property
    def sql(self) -> str:
        """The clauses joined with AND (``TRUE`` when there are none)."""
        return " AND ".join(self.clauses) or "TRUE"

    @property
    def and_sql(self) -> str:
        """Each clause preceded by `` AND `` (empty when there are none), to append to a WHERE
        clause."""
        return "".join(f" AND {c}" for c in self.clauses)
