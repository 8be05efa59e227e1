"""The deterministic demo city of Hefei: generated governance areas, buildings, homes,
residents, organisations, devices, facilities and a year of incidents.

``build_demo(url, scale, seed)`` loads it into an empty store; ``generate`` yields it in memory.
"""

from geodata.demo.city import generate
from geodata.demo.incidents import reference_time
from geodata.demo.load import build_demo, reset_store

__all__ = ["build_demo", "generate", "reference_time", "reset_store"]
