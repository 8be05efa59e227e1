"""Seeded random generators: one independent stream per (seed, purpose, chunk)."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """A generator for ``purpose`` (and integer ``keys``) derived from ``seed`` only.

    Streams are independent of each other and of the order they are created in, so a chunk of
    the city can be generated without generating the chunks before it.
    """
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(purpose.encode()), *(int(k) for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
