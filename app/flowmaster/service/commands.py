"""What `flowmaster serve|migrate|relay|create-user` do (the Typer wiring is in flowmaster/cli.py)."""

from __future__ import annotations

import logging
import signal
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from . import logs
from .settings import Settings

log = logging.getLogger("flowmaster.commands")


def alembic_config() -> Any:
    from alembic.config import Config

    from .. import migrations

    return Config(str(Path(migrations.__file__).parent / "alembic.ini"))


def migrate(settings: Settings, revision: str = "head") -> tuple[str, str]:
    """Upgrade the schema; returns the revisions before and after ("" for an empty database)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from .db import make_engine

    engine = make_engine(settings, pool_size=1)
    try:
        with engine.connect() as conn:
            before = ",".join(MigrationContext.configure(conn).get_current_heads())
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        with engine.connect() as conn:
            return before, ",".join(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def serve(settings: Settings) -> None:
    import uvicorn

    from .app import create_app

    logs.configure(settings.log_level, service="flowmaster-api", environment=settings.environment)
    uvicorn.run(
        create_app(settings),
        host=settings.listen_host,
        port=settings.listen_port,
        log_config=logs.uvicorn_log_config(),
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
    )


def relay(settings: Settings, once: bool = False) -> int:
    """Run the outbox relay in the foreground (SIGTERM/SIGINT stop it after the current round)."""
    from .db import make_engine
    from .relay import Relay

    logs.configure(settings.log_level, service="flowmaster-relay", environment=settings.environment)
    engine = make_engine(settings, pool_size=2)
    r = Relay(settings, engine)
    if once:
        total = 0
        while (sent := r.run_once()) > 0:
            total += sent
        return total
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: (r.stop.set(), r.wake.set()))
    r.run_forever()
    engine.dispose()
    return 0


def create_user(
    settings: Settings, username: str, password: str, legal_entities: Sequence[str], roles: Sequence[str]
) -> tuple[str, bool]:
    """Create or update a user (password, legal entities, roles); (user id, created?)."""
    from sqlalchemy.dialects.postgresql import insert

    from .db import make_engine, make_sessionmaker
    from .events import emit_one
    from .models import LegalEntity, User, UserLegalEntity
    from .security import hash_password

    engine = make_engine(settings, pool_size=1)
    try:
        with make_sessionmaker(engine)() as db:
            for entity in legal_entities:
                created = db.execute(
                    insert(LegalEntity).values(id=entity, name=entity).on_conflict_do_nothing().returning(LegalEntity.id)
                ).first()
                if created:
                    emit_one(db, "system_events", "legal_entity.created", entity, {"legal_entity": entity})
            user = db.execute(select(User).where(User.username == username).with_for_update()).scalar_one_or_none()
            created_user = user is None
            if user is None:
                user = User(id=uuid.uuid4(), username=username)
                db.add(user)
            user.password_hash = hash_password(password)
            user.roles = sorted(set(roles))
            db.flush()
            db.query(UserLegalEntity).filter(UserLegalEntity.user_id == user.id).delete()
            db.add_all(UserLegalEntity(user_id=user.id, legal_entity_id=e) for e in sorted(set(legal_entities)))
            emit_one(
                db,
                "system_events",
                "user.created" if created_user else "user.updated",
                str(user.id),
                {
                    "user_id": str(user.id),
                    "username": username,
                    "legal_entities": sorted(set(legal_entities)),
                    "roles": user.roles,
                },
            )
            db.commit()
            return str(user.id), created_user
    finally:
        engine.dispose()
