"""Colour classes: a value's ``level`` 0..5 on a map ramp, relative to the largest in view.

The layers engine classes every aggregate with :func:`levels`; the stored risk forecast
classes its cells the same way when a run is written (:mod:`analytics.forecast_cells`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

LEVELS = 6


def levels(values: Sequence[float], sqrt: bool) -> list[int]:
    """Class each value into 0..LEVELS-1 relative to the largest (square-root or linear
    scale: counts have long tails, shares do not)."""
    top = max(values, default=0)
    if top <= 0:
        return [0 for _ in values]
    last, root = LEVELS - 1, math.sqrt
    if sqrt:
        return [min(last, int(root(v / top) * LEVELS)) if v > 0 else 0 for v in values]
    return [min(last, int(v / top * LEVELS)) if v > 0 else 0 for v in values]
