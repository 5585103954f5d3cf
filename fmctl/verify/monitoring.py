"""Prometheus, Alertmanager and the exporters against the spec.

Read through Prometheus' own HTTP API (with the monitoring admin's basic
auth): readiness, every scrape target the spec implies (fm_scrape_jobs, the
same list prometheus.yml is rendered from) and its health, the loaded alert
rules, retention and intervals. A target whose service is not running is a
difference, never hidden. Alertmanager is read through its v2 API. Each
endpoint must refuse a client without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
import yaml

from fmctl import filters
from fmctl.verify.report import Check, Context

C = "monitoring"
TIMEOUT = 10


class Api:
    def __init__(self, base: str, auth: tuple[str, str]) -> None:
        self.base, self.session = base, requests.Session()
        self.session.auth = auth

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.base}{path}", params=params, timeout=TIMEOUT)

    def data(self, path: str, **params: str) -> object:
        resp = self.get(path, **params)
        resp.raise_for_status()
        return resp.json()["data"]


def status_without_credentials(url: str) -> int:
    return requests.get(url, timeout=TIMEOUT).status_code


def _ready(api: Api) -> int | str:
    try:
        return api.get("/-/ready").status_code
    except requests.RequestException as exc:
        return f"unreachable ({type(exc).__name__})"


def expected_targets(data: dict) -> dict[tuple[str, str], str]:
    """(job, instance) -> host, for every target the spec implies."""
    return {(job["name"], t["address"]): t["host"] for job in filters.scrape_jobs(data) for t in job["targets"]}


def _prometheus(ctx: Context, api: Api, base: str) -> Iterator[Check]:
    mon = ctx.spec.monitoring
    ready = _ready(api)
    yield Check(C, "prometheus ready (/-/ready)", 200, ready)
    if ready != 200:
        return
    yield Check(C, "prometheus refuses a client without credentials", 401, status_without_credentials(f"{base}/api/v1/targets"))

    # Targets: each one the spec implies must be there and up; anything else is drift too.
    active = api.data("/api/v1/targets", state="active")["activeTargets"]
    live = {(t["labels"]["job"], t["labels"]["instance"]): t for t in active}
    for (job, instance), host in sorted(expected_targets(ctx.data).items()):
        t = live.get((job, instance))
        state = "absent" if t is None else t["health"] if t["health"] == "up" else f"{t['health']}: {t['lastError'][:120]}"
        yield Check(C, f"target {job} {instance} ({host})", "up", state)
    for job, instance in sorted(set(live) - set(expected_targets(ctx.data))):
        yield Check(C, f"target {job} {instance}", "absent (not in the spec)", live[(job, instance)]["health"])

    # What the exporters see behind them: each database answers its exporter.
    for metric, job in (("pg_up", "postgres"), ("redis_up", "redis")):
        values = {r["metric"].get("instance"): r["value"][1] for r in api.data("/api/v1/query", query=metric)["result"]}
        for (j, instance), host in sorted(expected_targets(ctx.data).items()):
            if j == job:
                yield Check(C, f"{metric} {instance} ({host})", "1", values.get(instance, "no sample"))

    # Rules: the loaded alerting rules are the spec's, with its for/severity/group.
    loaded = {r["name"]: (g["name"], r) for g in api.data("/api/v1/rules", type="alert")["groups"] for r in g["rules"]}
    yield Check(C, "alert rules loaded", sorted(mon.alert_rules), sorted(loaded))
    for name, rule in sorted(mon.alert_rules.items()):
        if name not in loaded:
            continue
        group, live_rule = loaded[name]
        # Prometheus prints the parsed expression back: compare without white space.
        want = (rule.group, "".join(rule.expr.split()), rule.for_ // 1000, rule.severity)
        got = (group, "".join(live_rule["query"].split()), int(live_rule["duration"]), live_rule["labels"].get("severity"))
        yield Check(C, f"rule {name} (group, expr, for s, severity)", want, got)

    flags = api.data("/api/v1/status/flags")
    yield Check(C, "prometheus retention", filters.duration(mon.retention), flags.get("storage.tsdb.retention.time"))
    config = yaml.safe_load(api.data("/api/v1/status/config")["yaml"])
    glob = config.get("global", {})
    yield Check(C, "prometheus scrape_interval", filters.duration(mon.scrape_interval), glob.get("scrape_interval"))
    yield Check(C, "prometheus evaluation_interval", filters.duration(mon.evaluation_interval), glob.get("evaluation_interval"))


def _alertmanager(ctx: Context, auth: tuple[str, str]) -> Iterator[Check]:
    mon = ctx.spec.monitoring
    base = f"http://{ctx.address(mon.host)}:{mon.alertmanager_port}"
    api = Api(base, auth)
    ready = _ready(api)
    yield Check(C, "alertmanager ready (/-/ready)", 200, ready)
    if ready != 200:
        return
    yield Check(C, "alertmanager refuses a client without credentials", 401, status_without_credentials(f"{base}/api/v2/status"))
    resp = api.get("/api/v2/status")
    resp.raise_for_status()
    status = resp.json()
    config = yaml.safe_load(status["config"]["original"])
    yield Check(C, "alertmanager route receiver", mon.alert_receiver, config["route"]["receiver"])
    hooks = [w.get("url") for r in config.get("receivers", []) if r["name"] == mon.alert_receiver
             for w in r.get("webhook_configs", [])]
    yield Check(C, "alertmanager webhook", [mon.alert_webhook] if mon.alert_webhook else [], hooks)
    yield Check(C, "alertmanager gossip cluster", "disabled", status["cluster"]["status"])


def checks(ctx: Context) -> Iterator[Check]:
    mon = ctx.spec.monitoring
    auth = (mon.admin_user, ctx.secret(mon.admin_password))
    base = f"http://{ctx.address(mon.host)}:{mon.prometheus_port}"
    yield from _prometheus(ctx, Api(base, auth), base)
    yield from _alertmanager(ctx, auth)
