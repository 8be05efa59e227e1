"""The one settings object."""

from geodata.engine import normalize_url
from geodata.settings import Settings


def test_database_url_is_honoured_without_prefix(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h:5432/d")
    assert Settings().database_url == "postgresql://u:p@h:5432/d"


def test_onemap_prefix_configures_the_app(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONEMAP_PORT", "9123")
    monkeypatch.setenv("ONEMAP_EMBEDDED_PORT", "55432")
    s = Settings()
    assert (s.port, s.embedded_port, s.database_url) == (9123, 55432, None)


def test_plain_postgres_urls_use_psycopg3():
    assert normalize_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalize_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalize_url("postgresql+psycopg://a@b/c") == "postgresql+psycopg://a@b/c"
