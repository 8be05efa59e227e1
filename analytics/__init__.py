"""Spatial analytics over the store: H3 aggregation, hotspots, risk forecasts, coverage, KPIs.

Built in a later issue; the store it reads is in ``geodata``.
"""
