"""Who is looking: the viewer every read takes as an argument (role + scope).

Authentication arrives later; until then every request is served as :data:`PUBLIC`, which sees
the governance areas and buildings of the whole city and nothing personal.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC_ROLE = "public"


@dataclass(frozen=True)
class Viewer:
    """A role and the governance areas it may see (``None``: the whole city)."""

    role: str
    area_ids: tuple[int, ...] | None = None

    @property
    def scoped(self) -> bool:
        """True when the viewer is limited to some areas."""
        return self.area_ids is not None


PUBLIC = Viewer(role=PUBLIC_ROLE, area_ids=None)


def default_viewer() -> Viewer:
    """The viewer of a request that carries no identity."""
    return PUBLIC
