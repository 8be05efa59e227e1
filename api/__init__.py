"""Flask blueprints of the OneMap HTTP API (mounted on the Dash app's server)."""

from api.layers import blueprint as layers_blueprint

__all__ = ["layers_blueprint"]
