"""Every session of the store runs without JIT compilation and plans prepared statements for
their values (geodata.engine.SESSION_OPTIONS), unless the URL names its own options."""

from __future__ import annotations

from sqlalchemy import text

from geodata.engine import connect_args, get_engine, heavy_engine


def test_pooled_and_heavy_sessions_run_without_jit_and_with_custom_plans(store_url):
    for engine in (get_engine(store_url), heavy_engine(store_url, 1)):
        with engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar_one() == "off"
            assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_a_url_keeps_its_own_options_and_timeout():
    own = "postgresql://u:p@db/onemap?options=-c%20work_mem%3D64MB&connect_timeout=9"
    assert connect_args(own) == {}
    assert connect_args("postgresql://u:p@db/onemap") == {
        "connect_timeout": 5,
        "options": "-c jit=off -c plan_cache_mode=force_custom_plan",
    }
    assert connect_args("sqlite://") == {}
