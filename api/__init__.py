"""Flask blueprints of the OneMap HTTP API (mounted on the Dash app's server by ``app.py``)."""
