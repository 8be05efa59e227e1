"""The pieces of the embedded store's supervision that need no PostgreSQL: the cheap check
that a pid is a live server process of a folder (real processes: this one, a zombie, a dead
pid), and the banner the page layout carries while the store is down."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from geodata.embedded import _serves
from pages import ids, shell


def test_a_live_process_working_in_the_folder_as_its_owner_serves_it(tmp_path):
    here = Path.cwd().resolve()
    assert _serves(os.getpid(), here, os.getuid())
    assert not _serves(os.getpid(), tmp_path, os.getuid())  # another folder
    assert not _serves(os.getpid(), here, os.getuid() + 1)  # another user


def test_a_dead_pid_and_a_zombie_serve_nothing(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"], cwd=tmp_path)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/cwd").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # exited, not reaped yet: a zombie (its cwd link is gone)
    assert not _serves(child.pid, tmp_path.resolve(), os.getuid())
    child.wait()
    assert not _serves(child.pid, tmp_path.resolve(), os.getuid())


def test_the_store_banner_is_shown_only_while_the_store_is_down():
    down = shell.store_banner("zh", down=True)
    assert down.id == ids.STORE_BANNER and down.hidden is False and down.role == "alert"
    assert "数据库暂时不可用" in down.children.children
    up = shell.store_banner("en", down=False)
    assert up.hidden is True and "unavailable" in up.children.children
