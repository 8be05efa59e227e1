"""Colour ramps of aggregated layers (low → high), legible on the dark map."""

from layers.base import LegendItem

BLUE = ("#1e3a5f", "#1d4ed8", "#3b82f6", "#60a5fa", "#93c5fd", "#e0f2fe")
VIOLET = ("#2e1065", "#4c1d95", "#6d28d9", "#8b5cf6", "#a78bfa", "#ddd6fe")
HEAT = ("#422006", "#92400e", "#d97706", "#f59e0b", "#fcd34d", "#fef3c7")
FIRE = ("#450a0a", "#991b1b", "#dc2626", "#f97316", "#fbbf24", "#fef08a")


def ramp_legend(ramp: tuple[str, ...], low: dict[str, str], high: dict[str, str]):
    """Two legend rows: the low and the high end of ``ramp``."""
    return (LegendItem(low, ramp[1]), LegendItem(high, ramp[-2]))
