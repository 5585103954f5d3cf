"""The FlowMaster app on its host, as a client and as the operator see it.

Per HTTP service of the spec (fmctl.app_settings): /healthz answers with the spec's
app.version (the deployed build is the one the spec names), /readyz reports each dependency
ready, the API refuses a caller without a session (401) and /metrics refuses a scraper without
its login. In the process database: the schema is at the migrations' head of this source tree,
and no event has waited in the outbox longer than app.outbox.delivery_timeout (the worker
relays them to Kafka).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import requests

from fmctl.app_settings import app_processes
from fmctl.verify.report import Check, Context

C = "app"
TIMEOUT = 10


def _head_revision() -> str:
    from alembic.script import ScriptDirectory
    from flowmaster.service.commands import alembic_config

    return ",".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def checks(ctx: Context) -> Iterator[Check]:
    spec = ctx.spec
    mon = spec.monitoring
    for p in app_processes(ctx.data):
        if not p["http"]:
            continue
        base, name = f"http://{p['address']}:{p['port']}", p["service"]
        try:
            health = requests.get(f"{base}/healthz", timeout=TIMEOUT)
        except requests.RequestException as exc:
            yield Check(C, f"{name} answers on {base}", "answers", f"unreachable ({type(exc).__name__})", ok=False)
            continue
        yield Check(C, f"{name} /healthz", 200, health.status_code)
        yield Check(C, f"{name} version", spec.app.version, health.json().get("version") if health.ok else None)
        ready = requests.get(f"{base}/readyz", timeout=TIMEOUT)
        yield Check(C, f"{name} /readyz", 200, ready.status_code)
        for dep in ready.json().get("checks", []):
            yield Check(C, f"{name} ready: {dep['name']}", "ok", "ok" if dep["ok"] else dep.get("error"))
        yield Check(C, f"{name} GET /api/v1/processes without a session", 401,
                    requests.get(f"{base}/api/v1/processes", timeout=TIMEOUT).status_code)
        yield Check(C, f"{name} /metrics without a login", 401, requests.get(f"{base}/metrics", timeout=TIMEOUT).status_code)
        scraped = requests.get(f"{base}/metrics", auth=(mon.admin_user, ctx.secret(mon.admin_password)), timeout=TIMEOUT)
        yield Check(C, f"{name} /metrics with the monitoring login", 200, scraped.status_code)

    pg, app = spec.postgresql, spec.app
    owner = pg.databases[app.process_database].owner
    with psycopg.connect(host=ctx.address(pg.pgbouncer.host), port=pg.pgbouncer.port, dbname=app.process_database,
                         user=owner, password=ctx.secret(pg.role_passwords[owner]), connect_timeout=TIMEOUT,
                         autocommit=True) as conn:
        live = conn.execute("SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version").fetchone()[0]
        yield Check(C, f"{app.process_database} schema revision", _head_revision(), live)
        waiting = conn.execute(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND created_at < now() - make_interval(secs => %s)",
            (app.outbox.delivery_timeout / 1000,)).fetchone()[0]
        yield Check(C, f"outbox events unsent after {app.outbox.delivery_timeout / 1000:g} s", 0, waiting)
