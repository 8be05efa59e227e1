"""What the forecast run, its layer and its tests agree on (light: no model libraries)."""

from __future__ import annotations

HORIZONS = (7, 30)
"""Forecast horizons in days; the first is the layer's default."""
RESOLUTIONS = (8, 9)
"""H3 resolutions a run may use."""
DEFAULT_RESOLUTION = 8
ALL = "all"
"""The category group of forecasts over every category."""
INTERVAL = 0.8
"""Coverage of the stored interval (central, Poisson)."""
UNITS = ("h3", "grid")
"""What a forecast row is about: an H3 cell or a governance grid."""
