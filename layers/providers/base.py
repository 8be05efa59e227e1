"""What a provider is: a function of one :class:`Context` that fills in the context's answer.

The context holds everything a request brings (layer, parsed query, viewer), the settings, the
answer under construction and :attr:`Context.execute`, which runs a statement on the answer's
one pooled connection (timed and kept for benches, see :class:`layers.engine.Runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from geodata.accounts.viewer import Viewer
from geodata.engine import Execute
from geodata.settings import Settings
from layers.base import Layer
from layers.geojson import Answer
from layers.query import LayerQuery


@dataclass(frozen=True)
class Context:
    """One request to a provider."""

    layer: Layer
    query: LayerQuery
    viewer: Viewer
    settings: Settings
    answer: Answer
    execute: Execute


class Provider(Protocol):
    """Answers ``ctx.query`` of ``ctx.layer`` for ``ctx.viewer`` into ``ctx.answer``."""

    def __call__(self, ctx: Context) -> None: ...
