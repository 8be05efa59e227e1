"""The fault suite's app: ``python app.py`` on a data folder of its own (see :mod:`harness`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import AppProcess


@pytest.fixture(scope="package")
def app(tmp_path_factory) -> Iterator[AppProcess]:
    """A running app with a small demo city, shared by the suite; stopped (and what a crash
    left of it) at the end."""
    proc = AppProcess(tmp_path_factory.mktemp("faults"))
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()
