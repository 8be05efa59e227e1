"""What every page and every API blueprint shares, wired onto the server by ``app.py``.

- :mod:`web.context`: the settings, store URL and viewer of the request being served;
- :mod:`web.gate`: who is asking (session or API token) and which page a role may open;
  :mod:`web.identity_cache` remembers the answers per process;
- :mod:`web.errors`: one error handler, each :class:`~geodata.errors.OneMapError` answered
  with its own status in the shape of the API it was raised in;
- :mod:`web.compress`: gzip of what the app serves;
- :mod:`web.i18n`: every UI string in zh-CN and English; :mod:`web.card_page` the small HTML
  pages outside Dash (sign-in, forbidden); :mod:`web.responses` JSON answers.
"""
