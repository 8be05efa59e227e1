"""The one settings object: grouped by concern, configured by the flat names users already set."""

import os
from pathlib import Path

import pytest
from pydantic_settings.exceptions import SettingsError

from geodata.engine import normalize_url
from geodata.settings import FLAT_NAMES, GROUPS, Settings

# Per field type: a value for the environment and what the field then holds (none a default).
SAMPLES = {
    int: ("4321", 4321),
    float: ("12.5", 12.5),
    bool: ("true", True),
    bool | None: ("true", True),
    str: ("sample-text", "sample-text"),
    str | None: ("sample-text", "sample-text"),
    Path: ("/tmp/onemap-sample", Path("/tmp/onemap-sample")),
    Path | None: ("/tmp/onemap-sample", Path("/tmp/onemap-sample")),
    dict[str, float]: ('{"gas": 1.5, "door": 2}', {"gas": 1.5, "door": 2.0}),
    dict[str, str]: ('{"miniapp": "k-1"}', {"miniapp": "k-1"}),
    tuple[float, float]: ("[1.5, 2.5]", (1.5, 2.5)),
    tuple[float, float, float, float]: ("[1, 2, 3.5, 4]", (1.0, 2.0, 3.5, 4.0)),
    tuple[str, ...]: ('["disabled", "x"]', ("disabled", "x")),
}


def field_of(settings: Settings, target: str):
    group, field = target.split(".")
    return getattr(getattr(settings, group), field)


FIELD_SAMPLES = {"city.timezone": ("Europe/Helsinki", "Europe/Helsinki")}
"""Fields whose values are checked beyond their type (a real IANA zone)."""


def sample(target: str) -> tuple[str, object]:
    if target in FIELD_SAMPLES:
        return FIELD_SAMPLES[target]
    group, field = target.split(".")
    return SAMPLES[GROUPS[group].model_fields[field].annotation]


@pytest.fixture
def clean_env(monkeypatch):
    """No OneMap variable from the test session's environment (ONEMAP_EMBEDDED_PORT …)."""
    for name in list(os.environ):
        if name.upper().startswith("ONEMAP_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def test_database_url_is_honoured_without_prefix(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h:5432/d")
    assert Settings().store.database_url == "postgresql://u:p@h:5432/d"


def test_onemap_prefix_configures_the_app(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONEMAP_PORT", "9123")
    monkeypatch.setenv("ONEMAP_EMBEDDED_PORT", "55432")
    s = Settings()
    assert (s.web.port, s.store.embedded_port, s.store.database_url) == (9123, 55432, None)


def test_plain_postgres_urls_use_psycopg3():
    assert normalize_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalize_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalize_url("postgresql+psycopg://a@b/c") == "postgresql+psycopg://a@b/c"


def test_every_group_field_has_one_flat_name():
    fields = sorted(f"{g}.{f}" for g, model in GROUPS.items() for f in model.model_fields)
    assert sorted(FLAT_NAMES.values()) == fields
    assert len(FLAT_NAMES) == 93


@pytest.mark.parametrize("name", FLAT_NAMES)
def test_every_old_environment_variable_lands_in_its_group_field(clean_env, name):
    text, value = sample(FLAT_NAMES[name])
    assert field_of(Settings(), FLAT_NAMES[name]) != value
    clean_env.setenv(f"ONEMAP_{name.upper()}", text)
    assert field_of(Settings(), FLAT_NAMES[name]) == value


@pytest.mark.parametrize("name", FLAT_NAMES)
def test_every_old_keyword_lands_in_its_group_field(clean_env, name):
    _, value = sample(FLAT_NAMES[name])
    assert field_of(Settings(**{name: value}), FLAT_NAMES[name]) == value


def test_plain_database_url_wins_over_the_prefixed_one(clean_env):
    clean_env.setenv("ONEMAP_DATABASE_URL", "postgresql://prefixed/d")
    assert Settings().store.database_url == "postgresql://prefixed/d"
    clean_env.setenv("DATABASE_URL", "postgresql://plain/d")
    assert Settings().store.database_url == "postgresql://plain/d"


def test_names_are_read_in_any_case(clean_env):
    clean_env.setenv("onemap_port", "9124")
    assert Settings().web.port == 9124


def test_unknown_onemap_variables_are_ignored(clean_env):
    before = Settings().model_dump()
    clean_env.setenv("ONEMAP_NO_SUCH_SETTING", "1")
    clean_env.setenv("ONEMAP_WEB", "not json")  # a group's name is no variable
    clean_env.setenv("ONEMAP_STORE", '{"embedded_port": 1}')
    assert Settings().model_dump() == before
    assert Settings(no_such_setting=1).model_dump() == before


def test_a_malformed_json_value_is_refused_as_before(clean_env):
    clean_env.setenv("ONEMAP_CITY_EXTENT", "1,2,3,4")
    with pytest.raises(SettingsError, match="city_extent"):
        Settings()


def test_keywords_win_over_the_environment_and_groups_merge(clean_env):
    clean_env.setenv("ONEMAP_EMBEDDED_PORT", "55432")
    clean_env.setenv("ONEMAP_DATA_DIR", "/tmp/from-env")
    s = Settings(embedded_port=55433, store={"embedded_db": "other"})
    assert (s.store.embedded_port, s.store.data_dir, s.store.embedded_db) == (
        55433,
        Path("/tmp/from-env"),
        "other",
    )


def test_a_setting_given_twice_is_refused():
    with pytest.raises(ValueError, match="port"):
        Settings(port=1, web={"port": 2})
