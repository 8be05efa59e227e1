"""Map layers as data: one module per layer, listed in :mod:`layers.registry`."""
