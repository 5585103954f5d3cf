"""Liveness, readiness and metrics."""

from __future__ import annotations

import base64
import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ... import __version__
from .. import metrics
from ..context import Services, SvcDep
from ..errors import unauthenticated
from ..kafka import check_topics

router = APIRouter(tags=["health"])
log = logging.getLogger("flowmaster.health")


@router.get("/healthz", summary="Liveness: the process answers (no dependency is checked)")
def healthz(
    svc: SvcDep,
) -> dict[str, Any]:
    return {"status": "ok", "environment": svc.settings.environment, "version": __version__}


def _check(name: str, fn: Any) -> dict[str, Any]:
    try:
        detail = fn()
        return {"name": name, "ok": True, **({"detail": detail} if detail else {})}
    except Exception as exc:  # any failure of a dependency means not ready; say which and why
        return {"name": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}


@router.get(
    "/readyz",
    summary="Readiness: PostgreSQL (through pgbouncer), the Redis cluster and Kafka metadata answer",
    responses={503: {"description": "a dependency is not ready; checks name it"}},
)
def readyz(
    svc: SvcDep,
) -> JSONResponse:
    def pg() -> None:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def redis() -> None:
        svc.redis.ping(target_nodes=svc.redis.PRIMARIES)

    def kafka() -> str | None:
        missing = check_topics(svc.settings, svc.kafka_probe())
        if missing:
            raise RuntimeError(f"topics missing: {', '.join(missing)}")
        return None

    checks = [_check("postgresql", pg), _check("redis", redis), _check("kafka", kafka)]
    ready = all(c["ok"] for c in checks)
    if not ready:
        log.warning("not ready", extra={"checks": checks})
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)


def _metrics_allowed(request: Request, svc: Services) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    s = svc.settings
    if scheme.lower() == "basic" and s.metrics_username and s.metrics_password:
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), s.metrics_username.encode()) and hmac.compare_digest(
            password.encode(), s.metrics_password.get_secret_value().encode()
        )
    if scheme.lower() == "bearer" and value.isascii():
        return svc.sessions.get(value) is not None
    return False


@router.get("/metrics", summary="Prometheus metrics (HTTP basic login of the scraper, or a session token)")
def metrics_endpoint(
    request: Request,
    svc: SvcDep,
) -> Response:
    if not _metrics_allowed(request, svc):
        raise unauthenticated("metrics need the scraper's basic login or a session token")
    _outbox_gauges(svc)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _outbox_gauges(svc: Services) -> None:
    """The outbox backlog as the database says at scrape time: the relay runs as a process of
    its own (the worker service, which has no HTTP port), so the API reports for it."""
    try:
        with svc.engine.connect() as conn:
            count, age = conn.execute(text(
                "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox WHERE sent_at IS NULL"
            )).one()
    except SQLAlchemyError as exc:  # the database is down: /readyz and PostgresDown say so; metrics still answer
        log.warning("outbox gauges not read: %s", type(exc).__name__)
        return
    metrics.OUTBOX_PENDING.set(count)
    metrics.OUTBOX_OLDEST.set(float(age))
