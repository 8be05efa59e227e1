"""Alembic environment: the store's URL comes from OneMap's settings unless passed in."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from geodata.migration_rules import include_object
from geodata.models import Base
from geodata.settings import get_settings
from geodata.store import open_store

config = context.config


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return url
    return open_store(get_settings()).url


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
