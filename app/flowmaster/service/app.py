"""The FastAPI application: `create_app(settings)`.

Clients (SQLAlchemy engine, Redis cluster, Kafka) are made when the app starts (lifespan), so
create_app itself touches nothing; the outbox relay runs as a thread when settings say so.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from .. import __version__ as core_version
from ..processes import ApprovalMatrix
from . import errors, metrics
from .api import decisions, health, instances, processes, sessions, templates
from .context import Services
from .db import make_engine, make_sessionmaker
from .pagination import Cursors, Limits
from .redis_store import RateLimiter, ResponseCache, SessionStore, make_redis
from .relay import Relay
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger("flowmaster.api")
access = logging.getLogger("flowmaster.access")

DESCRIPTION = """Process management of FlowMaster: BPMN processes with DMN decision tables, versions with
approvals, templates, instances and their execution logs.

Authenticate with `POST /api/v1/sessions` and send `Authorization: Bearer <token>`. Lists are
cursor-paginated (`limit`, `cursor`, `columns`); creates accept an `Idempotency-Key` header; every
4xx answer names the field and the reason."""


def build_services(settings: Settings) -> Services:
    engine = make_engine(settings)
    redis = make_redis(settings)
    svc = Services(
        settings=settings,
        engine=engine,
        sessions_factory=make_sessionmaker(engine),
        redis=redis,
        sessions=SessionStore(redis, settings),
        cache=ResponseCache(redis, settings),
        limiter=RateLimiter(redis, settings),
        cursors=Cursors(settings.secret_key.get_secret_value()),
        limits=Limits(settings.page_size, settings.max_page_size),
        runtime=Runtime(settings.service_handlers),
        matrix=ApprovalMatrix.from_dict(settings.approval_matrix),
    )
    if settings.relay_in_service:
        svc.relay = Relay(settings, engine)
    svc.wake_relay_on_commit()
    return svc


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = build_services(settings)
        app.state.services = svc
        if svc.relay is not None:
            svc.relay_thread = svc.relay.start_thread()
        log.info("service started", extra={"environment": settings.environment, "relay": svc.relay is not None})
        try:
            yield
        finally:
            if svc.relay is not None and svc.relay_thread is not None:
                svc.relay.stop.set()
                svc.relay.wake.set()
                svc.relay_thread.join(timeout=settings.relay_delivery_timeout + 10)
            svc.redis.close()
            svc.engine.dispose()
            log.info("service stopped")

    app = FastAPI(
        title="FlowMaster process management",
        version=core_version,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    errors.install(app)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-ID"] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - start
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.REQUESTS.labels(request.method, path, str(status)).inc()
            metrics.LATENCY.labels(request.method, path).observe(elapsed)
            if path not in {"/healthz", "/metrics"}:
                access.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.url.path,
                        "route": path,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "request_id": request_id,
                        "user": getattr(request.state, "user", None),
                        "client": request.client.host if request.client else None,
                    },
                )

    app.include_router(health.router)
    app.include_router(sessions.router)
    app.include_router(processes.router)
    app.include_router(templates.router)
    app.include_router(instances.router)
    app.include_router(decisions.router)
    return app
