"""Who is looking: the viewer every read takes as an argument (role + scope).

A request's viewer comes from its session or API token (:mod:`geodata.accounts.access` builds it);
:data:`PUBLIC` is the role of internal reads that act for nobody in particular: the governance
areas and buildings of the whole city and nothing personal.
"""

from __future__ import annotations

from dataclasses import dataclass

from geodata.vocab import Role


@dataclass(frozen=True)
class Viewer:
    """A role, the governance areas it may see (``None``: the whole city; ``()``: none) and,
    for a signed-in person, the account."""

    role: str
    area_ids: tuple[int, ...] | None = None
    account_id: int | None = None
    username: str | None = None

    @property
    def scoped(self) -> bool:
        """True when the viewer is limited to some areas."""
        return self.area_ids is not None


PUBLIC = Viewer(role=Role.public, area_ids=None)


def default_viewer() -> Viewer:
    """The viewer of a read that acts for no account."""
    return PUBLIC
