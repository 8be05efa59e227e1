"""Dash pages of OneMap. Each page module holds its layout and its own callbacks."""
