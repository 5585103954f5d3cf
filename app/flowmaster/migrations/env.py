"""Alembic environment: one transaction for the whole upgrade, serialized by an advisory lock so
that API replicas starting together migrate once. Works through pgbouncer (transaction pooling):
nothing here needs a session-level state."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from flowmaster.service.models import Base

# Any fixed 64-bit number shared by every migrator of this schema.
MIGRATION_LOCK = 0x666D5F6D6967  # "fm_mig"

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from flowmaster.service.db import make_engine
        from flowmaster.service.settings import Settings

        engine = make_engine(Settings.load(), pool_size=1)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `flowmaster migrate` against the database")
run_migrations_online()
