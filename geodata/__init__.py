"""The OneMap store: settings, engine, models, embedded PostGIS, demo city and CLI."""
