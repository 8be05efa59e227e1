"""Component ids of the account page (``/account``), in one place for page and tests."""

from __future__ import annotations

NAME = "account-token-name"
DAYS = "account-token-days"
CREATE = "account-token-create"
NEW = "account-token-new"
VALUE = "account-token-value"
COPY = "account-token-copy"
STATUS = "account-token-status"
TABLE = "account-token-table"
ZONE = "account-token-zone"
"""The note naming the time zone the table's times are in."""
VERSION = "account-token-version"
"""Store: bumped by every creation and revocation, so the table is drawn again."""
REVOKE = "account-token-revoke"
"""Type of the revoke buttons: ``{"type": REVOKE, "token": <token id>}``."""
MAX_ID = 2**63
"""Token ids are bigint: a larger id in a payload names no token."""
TIME_FORMAT = "%Y-%m-%d %H:%M"
