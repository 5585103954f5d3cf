"""What every request needs: the service's shared clients, the database session, the caller."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from confluent_kafka import Producer
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.cluster import RedisCluster
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from ..processes import ApprovalMatrix
from . import metrics
from .errors import ApiError, forbidden_entity, unauthenticated
from .pagination import Cursors, Fetch, Limits, Page, PageParams, paginate
from .redis_store import RateLimiter, ResponseCache, SessionData, SessionStore
from .relay import Relay
from .runtime import Runtime
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions_factory: sessionmaker[Session]
    redis: RedisCluster
    sessions: SessionStore
    cache: ResponseCache
    limiter: RateLimiter
    cursors: Cursors
    limits: Limits
    runtime: Runtime
    matrix: ApprovalMatrix
    relay: Relay | None = None
    relay_thread: threading.Thread | None = None
    _producer: Producer | None = field(default=None, repr=False)

    def kafka_probe(self) -> Producer:
        """A producer of its own for readiness metadata checks (the relay thread owns the relay's)."""
        if self._producer is None:
            from .kafka import make_producer

            self._producer = make_producer(self.settings, client_id="flowmaster-readiness")
        return self._producer

    def wake_relay_on_commit(self) -> None:
        @event.listens_for(self.sessions_factory, "after_commit")
        def _after_commit(session: Session) -> None:
            if session.info.pop("outbox_written", False) and self.relay is not None:
                self.relay.wake.set()


def services(request: Request) -> Services:
    return request.app.state.services


def db_session(
    svc: Annotated[Services, Depends(services)],
) -> Iterator[Session]:
    session = svc.sessions_factory()
    try:
        yield session
    finally:
        session.close()


@dataclass(frozen=True)
class Caller:
    id: uuid.UUID
    username: str
    legal_entities: frozenset[str]
    roles: frozenset[str]
    expires_in: int
    token: str = field(repr=False)

    def require_entity(self, entity: str, field: str = "legal_entity") -> None:
        if entity not in self.legal_entities:
            raise forbidden_entity(entity, field)


bearer = HTTPBearer(auto_error=False, description="session token from POST /api/v1/sessions")


def enforce_rate_limit(svc: Services, client: str, limit: int) -> None:
    decision = svc.limiter.hit(client, limit)
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        reason = (
            f"more than {decision.limit} requests per {svc.settings.rate_limit_window:g} s; retry after {decision.retry_after} s"
        )
        raise ApiError(429, "rate_limited", reason, [("client", reason)], headers={"Retry-After": str(decision.retry_after)})


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    svc: Annotated[Services, Depends(services)],
) -> Caller:
    if credentials is None:
        raise unauthenticated("a bearer session token is required (POST /api/v1/sessions)")
    found = svc.sessions.get(credentials.credentials) if credentials.credentials.isascii() else None
    if found is None:
        raise unauthenticated("unknown or expired session token; log in again")
    data, ttl = found
    enforce_rate_limit(svc, f"u:{data.user_id}", svc.settings.rate_limit)
    request.state.user = data.username
    return Caller(
        uuid.UUID(data.user_id),
        data.username,
        frozenset(data.legal_entities),
        frozenset(data.roles),
        ttl,
        credentials.credentials,
    )


def session_data(user_id: uuid.UUID, username: str, entities: list[str], roles: list[str]) -> SessionData:
    return SessionData(str(user_id), username, tuple(sorted(entities)), tuple(sorted(roles)), time.time())


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def dump(value: Any) -> Any:
    """Datetimes and UUIDs as JSON text."""
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def list_page(db: Session, svc: Services, caller: Caller, params: PageParams, *, list_name: str, fetch: Fetch,
              **options: Any) -> Page:
    """paginate() for the caller: their saved preferences, the service's limits and cursor keys.
    Options: to_item, filters (see paginate)."""
    return paginate(db, list_name=list_name, fetch=fetch, params=params, user_id=caller.id, limits=svc.limits,
                    cursors=svc.cursors, **options)


CallerDep = Annotated[Caller, Depends(current_user)]
SvcDep = Annotated[Services, Depends(services)]
DbDep = Annotated[Session, Depends(db_session)]
