"""Browser-test fixtures: the real app (``python app.py``) on the session's demo city, and
headless Chromium (the Debian package) driven by Playwright. Screenshots go to
``.onemap/artifacts/`` (git-ignored)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import text

from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT
from tests.conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / ".onemap" / "artifacts"
DEFAULT_VIEWPORT = {"width": 1600, "height": 900}


def _wait_until_serving(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"app.py did not serve {base} within {timeout} s")


def _wait_for_first_sweep(log: Path, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Wait until the app's sweeper has made its start-up pass (it may escalate overdue
    incidents), so tests comparing pages with SQL do not race it — or until the app says it
    follows (another app on the same store leads and has swept; a follower does not sweep)."""
    from geodata.leader import FOLLOWS
    from twin.service import FIRST_SWEEP_DONE

    deadline = time.monotonic() + timeout
    while not any(line in log.read_text(errors="replace") for line in (FIRST_SWEEP_DONE, FOLLOWS)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"no {FIRST_SWEEP_DONE!r} from app.py:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (outside git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextmanager
def running_app(demo_url: str, log: Path, **env: str) -> Iterator[str]:
    """``python app.py`` on a free port against the test city (``env`` over the environment),
    serving and past its first sweep; stopped with SIGTERM, and it must exit cleanly."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": demo_url, "ONEMAP_PORT": str(port), **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(base, proc)
        _wait_for_first_sweep(log, proc)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert code == 0, log.read_text()


@pytest.fixture(scope="session")
def app_server(demo_url, tmp_path_factory) -> Iterator[str]:
    """``python app.py`` on a free port against the test city; stopped with SIGTERM."""
    with running_app(demo_url, tmp_path_factory.mktemp("app") / "app.log") as base:
        yield base


@pytest.fixture(scope="session")
def playwright():
    """The one Playwright driver of the session (a second sync driver cannot run beside it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise FileNotFoundError("chromium is required in CI")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def launch(playwright, extra_args: tuple[str, ...] = ()):
    """Headless Debian Chromium with our flags (never ``playwright install``)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
    )


@pytest.fixture(scope="session")
def browser(playwright):
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def demo_accounts(demo_url) -> dict[str, str]:
    """The demo accounts of the test city (user name → password; one per role)."""
    from geodata.demo.accounts import create_demo_accounts

    return create_demo_accounts(demo_url)


def as_browser(url: str, cookies: list[dict]) -> urllib.request.Request:
    """A request for ``url`` carrying a browser context's cookies (its session)."""
    header = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    return urllib.request.Request(url, headers={"Cookie": header})


def log_in(page: Page, base: str, username: str, password: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(base + "login", wait_until="domcontentloaded")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.fixture(scope="session")
def sign_in(app_server, demo_accounts, tmp_path_factory) -> Callable[..., Page]:
    """``sign_in(browser, username="analyst", viewport=…)``: a new page in a context signed in
    as that demo account (signed in through the form once per account, then reused)."""
    states: dict[str, Path] = {}
    folder = tmp_path_factory.mktemp("sessions")

    def open_page(browser, username: str = "analyst", viewport: dict | None = None) -> Page:
        if username not in states:
            context = browser.new_context()
            log_in(context.new_page(), app_server, username, demo_accounts[username])
            states[username] = folder / f"{username}.json"
            context.storage_state(path=str(states[username]))
            context.close()
        context = browser.new_context(
            storage_state=str(states[username]), viewport=viewport or DEFAULT_VIEWPORT
        )
        return csp_safe(context.new_page())

    return open_page


def _poll(page: Page, expression: str, *, timeout: float = 30_000, polling="raf", arg=None):
    """What ``page.wait_for_function`` does, without ``eval`` in the page: Playwright polls its
    predicate through ``new Function`` inside the page, which the app's Content-Security-Policy
    (rightly) forbids; ``page.evaluate`` runs through DevTools, which the policy does not
    govern. Polls from here every 10 ms (``raf``) or ``polling`` ms."""
    deadline = time.monotonic() + timeout / 1000
    interval = 0.01 if polling == "raf" else float(polling) / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise PlaywrightTimeout(f"{expression!r} did not hold within {timeout:g} ms")
        time.sleep(interval)


def csp_safe(page: Page) -> Page:
    """``page`` whose ``wait_for_function`` works under the app's CSP (see :func:`_poll`)."""
    page.wait_for_function = functools.partial(_poll, page)  # type: ignore[method-assign]
    return page


@contextmanager
def watched(page: Page, base: str) -> Iterator[Page]:
    """``page``, recording its requests and script errors; on leaving, no script error and no
    request to an origin other than ``base``, then its context is closed."""
    page.requests, page.errors = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert not page.errors, page.errors
    assert [r for r in page.requests if not r.startswith(base)] == []
    page.context.close()


@pytest.fixture
def page(browser, app_server, sign_in):
    """A 1600x900 page signed in as the analyst; afterwards, no script errors and no request to
    another origin."""
    with watched(sign_in(browser, "analyst", DEFAULT_VIEWPORT), app_server) as page:
        yield page


@pytest.fixture(scope="module")
def my_grid(demo_url, demo_accounts) -> dict[str, object]:
    """The demo grid worker's grid, account and a point inside the grid (from the account's
    scope, not from the page)."""
    with get_engine(demo_url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.id AS account, s.area_id AS grid, ST_X(ST_PointOnSurface(g.geom)) AS x, "
                "ST_Y(ST_PointOnSurface(g.geom)) AS y FROM account a "
                "JOIN account_scope s ON s.account_id = a.id JOIN area g ON g.id = s.area_id "
                "WHERE a.username = 'grid'"
            )
        ).one()
    return dict(row._mapping)
