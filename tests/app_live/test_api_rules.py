"""The API's rules, live: authentication, legal-entity scoping, idempotency keys, cursor
pagination with saved preferences, rate limits, health, metrics, and the schema migrations."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flowmaster.service.db import make_engine
from flowmaster.service.models import Base
from flowmaster.service.settings import Settings

from .conftest import Api, Org, Published, Service, example_files, flowmaster, login, start_service

pytestmark = pytest.mark.live


def field_of(r: httpx.Response) -> str:
    return r.json()["errors"][0]["field"]


# authentication ------------------------------------------------------------------------------


def test_unauthenticated_requests_get_401(service: Service, published: Published) -> None:
    anonymous = httpx.Client(base_url=service.url, timeout=30)
    pid = published.process_id
    for method, path in [
        ("GET", "/api/v1/processes"), ("GET", f"/api/v1/processes/{pid}"), ("GET", f"/api/v1/processes/{pid}/versions"),
        ("POST", "/api/v1/instances"), ("GET", "/api/v1/instances"), ("GET", "/api/v1/templates"),
        ("GET", "/api/v1/decisions"), ("GET", "/api/v1/preferences"), ("GET", "/api/v1/sessions/current"),
    ]:
        r = anonymous.request(method, path)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert field_of(r) == "header.Authorization" and r.headers["www-authenticate"] == "Bearer"
    r = anonymous.get("/api/v1/processes", headers={"Authorization": "Bearer not-a-session"})
    assert r.status_code == 401 and "unknown or expired" in r.json()["message"]
    r = anonymous.post("/api/v1/sessions", json={"username": "nobody-" + uuid.uuid4().hex, "password": "x"})
    assert r.status_code == 401 and field_of(r) == "body.password"
    # health is open; metrics need the scraper's login
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/metrics").status_code == 401
    env = service.env
    r = anonymous.get("/metrics", auth=(env["FM_METRICS_USERNAME"], env["FM_METRICS_PASSWORD"]))
    assert r.status_code == 200 and "flowmaster_http_requests_total" in r.text
    assert anonymous.get("/metrics", auth=(env["FM_METRICS_USERNAME"], "wrong")).status_code == 401


def test_logout_ends_the_session(service: Service, org: Org) -> None:
    user = org.users["author"]
    token = login(service, user)
    me = httpx.get(f"{service.url}/api/v1/sessions/current", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["user"]["legal_entities"] == [org.le_a]
    assert 0 < me.json()["expires_in"] <= Settings.load(service.env).session_ttl
    assert httpx.delete(f"{service.url}/api/v1/sessions/current", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert httpx.get(f"{service.url}/api/v1/sessions/current", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# legal entities ------------------------------------------------------------------------------


def test_another_legal_entity_is_refused_on_every_read_and_write(outsider: Api, author: Api, published: Published,
                                                                 org: Org) -> None:
    pid = published.process_id
    inst = author.post("/api/v1/instances", json={"process_id": pid, "data": {"amount": 10, "customerId": "x"}}).json()
    for method, path, kw, field in [
        ("GET", f"/api/v1/processes/{pid}", {}, "path.process_id"),
        ("GET", f"/api/v1/processes/{pid}/versions", {}, "path.process_id"),
        ("GET", f"/api/v1/processes/{pid}/versions/1.0.0", {}, "path.process_id"),
        ("GET", f"/api/v1/processes/{pid}/diff", {"params": {"from": "1.0.0", "to": "1.0.0"}}, "path.process_id"),
        ("POST", f"/api/v1/processes/{pid}/approvals", {"json": {"role": "process-owner", "version": "1.0.0"}},
         "path.process_id"),
        ("POST", f"/api/v1/processes/{pid}/draft", {"json": {}}, "path.process_id"),
        ("POST", "/api/v1/instances", {"json": {"process_id": pid}}, "body.process_id"),
        ("GET", f"/api/v1/instances/{inst['id']}", {}, "path.instance_id"),
        ("GET", f"/api/v1/instances/{inst['id']}/log", {}, "path.instance_id"),
        ("POST", f"/api/v1/instances/{inst['id']}/user-tasks/review_order/complete", {"json": {"data": {}}}, "path.instance_id"),
        ("GET", "/api/v1/decisions", {"params": {"process_id": pid}}, "query.process_id"),
        ("POST", "/api/v1/decisions/approvalLevel/evaluate", {"json": {"process_id": pid}}, "body.process_id"),
        ("GET", "/api/v1/processes", {"params": {"legal_entity": org.le_a}}, "query.legal_entity"),
        ("POST", "/api/v1/processes", {"data": {"legal_entity": org.le_a, "risk_class": "low"}, "files": example_files("x")},
         "form.legal_entity"),
    ]:
        r = outsider.request(method, path, **kw)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert field_of(r) == field and org.le_a in r.json()["message"], (path, r.text)
    # lists show only the caller's legal entities
    assert pid not in [p["id"] for p in outsider.get("/api/v1/processes").json()["items"]]
    assert inst["id"] not in [i["id"] for i in outsider.get("/api/v1/instances").json()["items"]]
    # the user task is still waiting: nothing was changed by the refused calls
    assert author.get(f"/api/v1/instances/{inst['id']}").json()["status"] == "waiting"


# idempotency ---------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(author: Api, published: Published) -> None:
    key = f"start-{uuid.uuid4()}"
    body = {"process_id": published.process_id, "data": {"amount": 500, "customerId": "c-1"}}
    first = author.post("/api/v1/instances", json=body, headers={"Idempotency-Key": key})
    again = author.post("/api/v1/instances", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    listed = author.get("/api/v1/instances", params={"process_id": published.process_id, "limit": 500}).json()["items"]
    assert sum(1 for i in listed if i["id"] == first.json()["id"]) == 1
    other = author.post("/api/v1/instances", json={**body, "data": {"amount": 501}}, headers={"Idempotency-Key": key})
    assert other.status_code == 409 and field_of(other) == "header.Idempotency-Key"
    # the same key on another create (path) is another request too
    r = author.post(f"/api/v1/processes/{published.process_id}/draft", json={}, headers={"Idempotency-Key": key})
    assert r.status_code == 409 and field_of(r) == "header.Idempotency-Key"
    assert author.post("/api/v1/instances", json=body, headers={"Idempotency-Key": "has space"}).status_code == 422


def test_idempotent_process_upload(author: Api, org: Org) -> None:
    key = str(uuid.uuid4())
    data = {"legal_entity": org.le_a, "risk_class": "low"}
    files = example_files(f"idem_{org.run}")
    first = author.post("/api/v1/processes", data=data, files=files, headers={"Idempotency-Key": key})
    again = author.post("/api/v1/processes", data=data, files=files, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    changed = author.post("/api/v1/processes", data={**data, "risk_class": "high"}, files=files, headers={"Idempotency-Key": key})
    assert changed.status_code == 409 and field_of(changed) == "header.Idempotency-Key"
    # without a key, the same upload is a second create, refused as a duplicate process id
    dup = author.post("/api/v1/processes", data=data, files=files)
    assert dup.status_code == 409 and field_of(dup) == "bpmn"


# pagination ----------------------------------------------------------------------------------


def test_cursor_pagination_limits_and_saved_preferences(author: Api, approver: Api, published: Published,
                                                        service: Service) -> None:
    pid = published.process_id
    started = {author.post("/api/v1/instances", json={"process_id": pid, "data": {"amount": i}}).json()["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"process_id": pid, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = author.get("/api/v1/instances", params=params).json()
        assert len(page["items"]) <= 3 and page["limit"] == 3
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and started <= set(seen) and pages >= 3
    # newest first
    first_page = author.get("/api/v1/instances", params={"process_id": pid, "limit": 3}).json()
    cursor = first_page["next_cursor"]
    # a cursor belongs to its list and filters; a forged one is refused
    r = author.get("/api/v1/instances", params={"cursor": cursor, "status": "completed"})
    assert r.status_code == 422 and field_of(r) == "query.cursor"
    r = author.get(f"/api/v1/processes/{pid}/versions", params={"cursor": cursor})
    assert r.status_code == 422 and field_of(r) == "query.cursor"
    r = author.get("/api/v1/instances", params={"process_id": pid, "cursor": cursor[:-2] + "xx"})
    assert r.status_code == 422 and field_of(r) == "query.cursor"
    maximum = int(service.env["FM_MAX_PAGE_SIZE"])
    r = author.get("/api/v1/instances", params={"limit": maximum + 1})
    assert r.status_code == 422 and field_of(r) == "query.limit"
    r = author.get("/api/v1/instances", params={"columns": "status,colour"})
    assert r.status_code == 422 and field_of(r) == "query.columns" and "colour" in r.json()["message"]
    # a saved preference applies when the request names no limit or columns, per user
    r = author.put("/api/v1/preferences/instances", json={"page_size": 2, "columns": ["status", "version"]})
    assert r.status_code == 200, r.text
    page = author.get("/api/v1/instances", params={"process_id": pid}).json()
    assert page["limit"] == 2 and page["columns"] == ["id", "status", "version"]
    assert set(page["items"][0]) == {"id", "status", "version"}
    assert author.get("/api/v1/instances", params={"process_id": pid, "limit": 4}).json()["limit"] == 4
    assert approver.get("/api/v1/instances", params={"process_id": pid}).json()["limit"] == int(service.env["FM_PAGE_SIZE"])
    assert author.get("/api/v1/preferences/instances").json()["page_size"] == 2
    prefs = author.get("/api/v1/preferences", params={"limit": 2}).json()
    assert len(prefs["items"]) == 2 and prefs["next_cursor"]
    r = author.put("/api/v1/preferences/instances", json={"columns": ["nope"]})
    assert r.status_code == 422 and field_of(r) == "body.columns"
    r = author.put("/api/v1/preferences/instances", json={"page_size": maximum + 1})
    assert r.status_code == 422 and field_of(r) == "body.page_size"
    assert author.put("/api/v1/preferences/instances", json={}).status_code == 200  # back to defaults


def test_validation_errors_name_field_and_reason(author: Api, published: Published) -> None:
    r = author.post("/api/v1/instances", json={"data": {}})
    assert r.status_code == 422 and field_of(r) == "body.process_id" and r.json()["errors"][0]["reason"]
    r = author.post("/api/v1/instances", json={"process_id": published.process_id, "version": "one"})
    assert r.status_code == 422 and field_of(r) == "body.version" and "semantic version" in r.json()["message"]
    r = author.get("/api/v1/instances", params={"status": "sleeping"})
    assert r.status_code == 422 and field_of(r) == "query.status"
    r = author.post("/api/v1/processes", data={"legal_entity": "x", "risk_class": "low"},
                    files=[("bpmn", ("p.bpmn", b"<not-bpmn/>", "application/xml"))])
    assert r.status_code in (403, 422)
    r = author.post("/api/v1/processes", data={"legal_entity": published_entity(author), "risk_class": "low"},
                    files=[("bpmn", ("p.bpmn", b"<definitions>", "application/xml"))])
    assert r.status_code == 422 and field_of(r) == "form.bpmn"
    r = author.post("/api/v1/instances", json={"process_id": published.process_id, "data": {"note": "a\u0000b"}})
    assert r.status_code == 422 and field_of(r) == "body.data.note"
    r = author.get(f"/api/v1/processes/{uuid.uuid4()}")
    assert r.status_code == 404 and field_of(r) == "path.process_id"


def published_entity(api: Api) -> str:
    return api.get("/api/v1/sessions/current").json()["user"]["legal_entities"][0]


# rate limits, health, metrics, migrations ----------------------------------------------------


def test_rate_limits_per_client(base_env: dict[str, str], org: Org, tmp_path: Path) -> None:
    """A service with small limits: the 6th request of a user in a window is refused with 429."""
    # Counters of its own (a prefix under fm:), so the main service's traffic does not count here.
    limits = {"FM_RATE_LIMIT": "5", "FM_LOGIN_RATE_LIMIT": "3", "FM_RATE_LIMIT_PREFIX": f"fm:ratelimit:test-{org.run}:"}
    svc = start_service({**base_env, **limits}, tmp_path, "limited")
    try:
        token = login(svc, org.users["approver"])
        client = httpx.Client(base_url=svc.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        # 11 requests cross at most one window boundary, so some window sees more than 5
        statuses = [client.get("/api/v1/legal-entities").status_code for _ in range(11)]
        assert 429 in statuses and statuses[0] == 200, statuses
        r = next(r for r in (client.get("/api/v1/legal-entities") for _ in range(6)) if r.status_code == 429)
        assert field_of(r) == "client" and int(r.headers["retry-after"]) >= 1
        logins = [httpx.post(f"{svc.url}/api/v1/sessions", json={"username": "x", "password": "y"}).status_code
                  for _ in range(7)]
        assert 429 in logins and set(logins) <= {401, 429}, logins
    finally:
        svc.stop()


def test_readiness_checks_postgres_redis_and_kafka(service: Service) -> None:
    body = httpx.get(f"{service.url}/readyz", timeout=30).json()
    assert body["status"] == "ready"
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"postgresql": True, "redis": True, "kafka": True}


def test_migrations_create_exactly_the_models(service: Service) -> None:
    flowmaster(service.env, "migrate")  # a second run is a no-op
    engine = make_engine(Settings.load(service.env), pool_size=1)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert ctx.get_current_heads() == ("0001",)
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def test_openapi_is_versioned_and_documents_errors(service: Service) -> None:
    spec = httpx.get(f"{service.url}/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert all(p.startswith("/api/v1/") or p in {"/healthz", "/readyz", "/metrics"} for p in paths)
    assert "422" in paths["/api/v1/instances"]["post"]["responses"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
