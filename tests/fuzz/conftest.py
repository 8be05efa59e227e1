"""Fuzzing fixtures: the app on the demo city, one client per role, the app's log watched for
tracebacks, and a detector of personal data (names, phones, ID numbers) in answers.

Every fuzz test sends its requests through :func:`FuzzClient.send`, which records each answer
(status, path, body head) and every 5xx; the tests assert on the records, so a run reports how
many inputs it tried and how many answered 5xx.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from app import create_app
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import DEMO_TEST_ANCHOR, DEMO_TEST_SEED, _fresh_database, api_token, signed_in

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(  # area, birth date (19xx/20xx), sequence, check digit
    r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![0-9A-Za-z])"
)
CJK_RUN = re.compile(r"[\u4e00-\u9fff]{3,}")
ROLES = ("anonymous", "analyst", "grid_worker", "leader")
FUZZ_SCALE = 0.15


class TracebackWatch(logging.Handler):
    """Keeps every log record that carries a traceback (or spells one out)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback (most recent call last)" in record.getMessage():
            self.found.append(f"{record.name}: {record.getMessage()[:300]}")


@dataclass
class Tally:
    """What one role's fuzzing sent and what came back wrong."""

    tried: int = 0
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)


class PersonalData:
    """Finds residents' names (three characters or more, from the store), mobile phone numbers
    and ID numbers in a text."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find(self, body: str, *, names: bool = True, phones: bool = True) -> str | None:
        for pattern in (PHONE, ID_NUMBER) if phones else (ID_NUMBER,):
            hit = pattern.search(body)
            if hit:
                return hit.group(0)
        if names:
            for run in CJK_RUN.findall(body):
                for size in (3, 4):
                    for i in range(len(run) - size + 1):
                        if run[i : i + size] in self.names:
                            return run[i : i + size]
        return None


@pytest.fixture(scope="session")
def fuzz_url(cluster) -> Iterator[str]:
    """A demo city of the fuzz tests' own: forged callbacks may report and move incidents."""
    with _fresh_database(cluster, "fuzz") as url:
        build_demo(url, scale=FUZZ_SCALE, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR)
        yield url


@pytest.fixture(scope="session")
def personal_data(fuzz_url) -> PersonalData:
    sql = "SELECT DISTINCT name FROM resident_identity WHERE char_length(name) >= 3"
    with get_engine(fuzz_url).connect() as conn:
        return PersonalData(frozenset(r[0] for r in conn.execute(text(sql))))


@pytest.fixture(scope="session")
def fuzz_app(fuzz_url, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("fuzz_data")
    return create_app(Settings(database_url=fuzz_url, data_dir=data_dir), fuzz_url)


@pytest.fixture(scope="session")
def worker_grid(fuzz_url) -> str:
    """The code of a grid with open incidents and care residents (the grid worker's)."""
    sql = (
        "SELECT a.code FROM area a WHERE a.level = 'grid' AND EXISTS "
        "(SELECT 1 FROM building b WHERE b.area_id = a.id) ORDER BY a.code LIMIT 1"
    )
    with get_engine(fuzz_url).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


@pytest.fixture(scope="session")
def clients(fuzz_app, fuzz_url, worker_grid) -> dict[str, object]:
    """A test client per role: anonymous, a signed-in analyst and a grid worker."""
    out: dict[str, object] = {"anonymous": fuzz_app.server.test_client()}
    for role in ROLES[1:]:
        areas = (worker_grid,) if role == "grid_worker" else ()
        out[role] = signed_in(fuzz_app.server.test_client(), api_token(fuzz_url, role, areas))
    return out


@pytest.fixture
def tracebacks() -> Iterator[TracebackWatch]:
    """Records of the test's run that hold a traceback (the test asserts there are none)."""
    watch = TracebackWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
