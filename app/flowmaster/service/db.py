"""The SQLAlchemy engine: PostgreSQL through pgbouncer in transaction pooling mode."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from .settings import Settings


def make_engine(settings: Settings, *, pool_size: int | None = None) -> Engine:
    return create_engine(
        settings.database_url,
        connect_args={
            "password": settings.pg_password.get_secret_value(),
            "connect_timeout": max(1, int(settings.pg_connect_timeout)),
            # pgbouncer hands each transaction any server connection: a statement prepared on
            # one is unknown on the next, so psycopg must never prepare server-side.
            "prepare_threshold": None,
            "application_name": "flowmaster-api",
        },
        pool_size=pool_size or settings.pg_pool_size,
        max_overflow=0,
        # No pre-ping: it costs a round trip per request. A connection that pgbouncer closed fails
        # its request (503, retry) and SQLAlchemy then replaces every pooled connection.
        pool_pre_ping=False,
        pool_recycle=600,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
