"""One demo account per role, with generated passwords (printed in demo mode only).

The grid worker works the grid with the most residents; the leader sees the whole city.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from geodata import accounts
from geodata.engine import get_engine
from geodata.vocab import AreaLevel, Role

DEMO_CREDENTIALS = "demo-accounts.txt"
"""File in the embedded store's data folder keeping the demo accounts' passwords (readable by
its owner only), printed again on later starts."""

DEMO_ACCOUNTS: dict[str, tuple[Role, str]] = {
    "leader": (Role.leader, "演示领导"),
    "grid": (Role.grid_worker, "演示网格员"),
    "planner": (Role.planner, "演示规划员"),
    "analyst": (Role.analyst, "演示分析员"),
    "admin": (Role.admin, "演示管理员"),
}
"""username → (role, display name)."""

_BUSIEST_GRID = f"""
    SELECT a.code FROM area a JOIN resident r ON r.area_id = a.id
    WHERE a.level = '{AreaLevel.grid}'
    GROUP BY a.id, a.code ORDER BY count(*) DESC, a.code LIMIT 1"""


def create_demo_accounts(url: str) -> dict[str, str]:
    """Create (or reset the passwords of) the demo accounts; returns username → password."""
    created: dict[str, str] = {}
    with get_engine(url).begin() as conn:
        grid = conn.execute(text(_BUSIEST_GRID)).scalar_one_or_none()
        for username, (role, display_name) in DEMO_ACCOUNTS.items():
            password = accounts.new_password()
            exists = conn.execute(
                text("SELECT 1 FROM account WHERE username = :u"), {"u": username}
            ).first()
            if exists:
                accounts.set_password(conn, username, password)
            else:
                areas = [grid] if role == Role.grid_worker and grid else []
                accounts.add_account(conn, username, role, password, areas, display_name)
            created[username] = password
    return created


def format_credentials(credentials: dict[str, str]) -> list[str]:
    """Console lines: one per demo account (user name, role, password)."""
    return [
        f"  {username:<8} {DEMO_ACCOUNTS[username][0]:<12} {password}"
        for username, password in credentials.items()
    ]


def save_credentials(path: Path, credentials: dict[str, str]) -> None:
    """Write the demo credentials to ``path`` readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(format_credentials(credentials)) + "\n")


def has_accounts(url: str) -> bool:
    """True when the store has at least one account."""
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT EXISTS (SELECT 1 FROM account)")).scalar_one()


def announce_demo_accounts(url: str, path: Path | None, say: Callable[[str], None]) -> None:
    """Create the demo accounts, keep their credentials in ``path`` (if given), print them."""
    credentials = create_demo_accounts(url)
    if path is not None:
        save_credentials(path, credentials)
    say("demo accounts (user, role, password) — sign in at /login:")
    for line in format_credentials(credentials):
        say(line)
