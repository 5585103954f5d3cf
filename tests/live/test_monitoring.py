"""Prometheus, Alertmanager, the exporters and the nginx edge, live on this machine.

While developing: `fmctl up --tags monitoring,edge`, then
`FM_SKIP_UP=1 .venv/bin/pytest tests/live/test_monitoring.py`.

The edge's cache and request headers need an answer from upstream. While the
app's port is free (the app not built or not running), a test-owned HTTP
server stands in for it on the app's address and reports what nginx sent;
when the app runs, those tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from fmctl import filters
from fmctl.render import render_one
from fmctl.verify import run
from fmctl.verify.monitoring import expected_targets
from fmctl.verify.report import Context

pytestmark = pytest.mark.live
TIMEOUT = 10


def prometheus(ctx: Context) -> str:
    m = ctx.spec.monitoring
    return f"http://{ctx.address(m.host)}:{m.prometheus_port}"


def alertmanager(ctx: Context) -> str:
    m = ctx.spec.monitoring
    return f"http://{ctx.address(m.host)}:{m.alertmanager_port}"


def edge(ctx: Context) -> str:
    g = ctx.spec.gateway
    return f"http://{ctx.address(g.edge_host)}:{g.http_port}"


def admin(ctx: Context) -> tuple[str, str]:
    m = ctx.spec.monitoring
    return m.admin_user, ctx.secret(m.admin_password)


# ================================================================= spec vs live


@pytest.mark.parametrize("component", ["monitoring", "edge"])
def test_verifier_reports_no_drift(platform, component):
    """Every spec target up, rules loaded, Alertmanager ready; every route proxied."""
    drift = [c.as_dict() for c in run(platform, [component]) if not c.ok]
    assert drift == [], drift


def test_prometheus_scrapes_exactly_the_spec_targets(platform):
    resp = requests.get(f"{prometheus(platform)}/api/v1/targets", auth=admin(platform), timeout=TIMEOUT)
    live = {(t["labels"]["job"], t["labels"]["instance"]) for t in resp.json()["data"]["activeTargets"]}
    assert live == set(expected_targets(platform.data))


def test_loaded_rule_names_equal_the_spec(platform):
    resp = requests.get(f"{prometheus(platform)}/api/v1/rules", auth=admin(platform), timeout=TIMEOUT)
    names = [r["name"] for g in resp.json()["data"]["groups"] for r in g["rules"]]
    assert sorted(names) == sorted(platform.spec.monitoring.alert_rules)


@pytest.mark.parametrize(("host_field", "file", "template"), [
    ("monitoring.host", "/etc/flowmaster/prometheus/{host}/prometheus.yml", "prometheus/prometheus.yml.j2"),
    ("monitoring.host", "/etc/flowmaster/prometheus/{host}/rules.yml", "prometheus/rules.yml.j2"),
    ("monitoring.host", "/etc/flowmaster/alertmanager/{host}/alertmanager.yml", "alertmanager/alertmanager.yml.j2"),
    ("gateway.edge_host", "/etc/flowmaster/nginx/{host}/nginx.conf", "nginx/nginx.conf.j2"),
])
def test_live_config_is_what_fmctl_render_writes(platform, host_field, file, template):
    """The roles and `fmctl render` use the same templates: byte for byte the same file."""
    section, field = host_field.split(".")
    host = getattr(getattr(platform.spec, section), field)
    assert Path(file.format(host=host)).read_text() == render_one(platform.spec, template)


# ================================================================= credentials


def test_monitoring_endpoints_refuse_clients_without_credentials(platform):
    m, ctx = platform.spec.monitoring, platform
    urls = [
        f"{prometheus(ctx)}/api/v1/query?query=up",
        f"{prometheus(ctx)}/metrics",
        f"{alertmanager(ctx)}/api/v2/alerts",
        f"http://{ctx.address(m.host)}:{m.node_exporter_port}/metrics",
    ] + [f"http://{n['address']}:{m.postgres_exporter_port}/metrics" for n in filters.postgresql_nodes(ctx.data)]
    for url in urls:
        assert requests.get(url, timeout=TIMEOUT).status_code == 401, url
        assert requests.get(url, auth=(m.admin_user, "wrong-password"), timeout=TIMEOUT).status_code == 401, url
        assert requests.get(url, auth=admin(ctx), timeout=TIMEOUT).status_code == 200, url
    # The lifecycle endpoint (reload) is behind the same gate.
    assert requests.post(f"{prometheus(ctx)}/-/reload", timeout=TIMEOUT).status_code == 401


def test_exporters_bind_their_host_address_only(platform):
    """Nothing listens on the wildcard or the usual loopback address for them."""
    m = platform.spec.monitoring
    for port in (m.prometheus_port, m.alertmanager_port, m.node_exporter_port, m.redis_exporter_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


# ================================================================= alerting path


def test_prometheus_sends_alerts_to_the_alertmanager(platform):
    resp = requests.get(f"{prometheus(platform)}/api/v1/alertmanagers", auth=admin(platform), timeout=TIMEOUT)
    active = [a["url"] for a in resp.json()["data"]["activeAlertmanagers"]]
    assert active == [f"{alertmanager(platform)}/api/v2/alerts"]


def test_an_alert_reaches_the_spec_receiver(platform):
    marker = f"fm-live-{uuid.uuid4().hex[:8]}"
    alert = [{"labels": {"alertname": "FlowMasterLiveTest", "severity": "info", "marker": marker},
              "annotations": {"summary": "posted by tests/live/test_monitoring.py"}}]
    post = requests.post(f"{alertmanager(platform)}/api/v2/alerts", json=alert, auth=admin(platform), timeout=TIMEOUT)
    assert post.status_code == 200, post.text
    resp = requests.get(f"{alertmanager(platform)}/api/v2/alerts", params={"filter": f'marker="{marker}"'},
                        auth=admin(platform), timeout=TIMEOUT)
    [found] = resp.json()
    assert [r["name"] for r in found["receivers"]] == [platform.spec.monitoring.alert_receiver]


# ================================================================= the edge


def route(ctx: Context, name: str) -> dict:
    return next(r for r in filters.edge_routes(ctx.data) if r["name"] == name)


def test_edge_refuses_requests_without_credentials(platform):
    for r in filters.edge_routes(platform.data):
        resp = requests.get(f"{edge(platform)}{r['path']}", timeout=TIMEOUT)
        if r["auth_required"]:
            assert resp.status_code == 401, r["name"]
            assert resp.headers.get("WWW-Authenticate") == "Bearer"
        else:
            assert resp.headers.get("X-Edge-Route") == r["name"]  # no gate: straight to the upstream


def test_edge_health_route_reaches_the_proxy(platform):
    resp = requests.get(f"{edge(platform)}{route(platform, 'health')['path']}", timeout=TIMEOUT)
    assert resp.headers.get("X-Edge-Route") == "health"
    assert resp.status_code != 404


def _limited_route(ctx: Context) -> tuple[dict, int]:
    """The rate-limited route with the smallest window count."""
    limited = [(r, z["burst"]) for r in filters.edge_routes(ctx.data) for z in r["zones"]]
    return min(limited, key=lambda rz: rz[1])


def test_edge_rate_limit_refuses_beyond_the_spec_count(platform):
    """A fresh client (its own loopback source address, so its own counters) gets
    the window's count through and 429 beyond it."""
    r, count = _limited_route(platform)
    source = f"127.77.{random.randint(0, 255)}.{random.randint(1, 254)}"
    g = platform.spec.gateway
    conn = http.client.HTTPConnection(platform.address(g.edge_host), g.http_port, timeout=TIMEOUT, source_address=(source, 0))
    statuses = []
    try:
        for _ in range(2 * count):
            conn.request(r["methods"][0], r["path"], headers={"Authorization": "Bearer live-test"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
    finally:
        conn.close()
    assert 429 not in statuses[:count], f"{r['name']}: refused within the first {count}"
    assert 429 in statuses[count:], f"{r['name']}: {2 * count} requests and none refused"


class _Upstream(BaseHTTPRequestHandler):
    """Answers 200 with the request headers it received, as JSON; counts requests."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).hits.append(self.path)
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stand_in_app(platform) -> Iterator[type[_Upstream]]:
    """An echoing upstream in the API's place, so a test sees what nginx sends. The deployed API
    is stopped for the test's duration and started again after it (ready before the next test)."""
    app = platform.spec.app
    address, port = platform.address(app.host), app.services["api"].port
    program = f"fm-flowmaster-api-{app.host}"
    if platform.spec.service_manager != "supervisor":
        pytest.skip("stops the API through supervisor")
    subprocess.run(["supervisorctl", "stop", program], check=True, capture_output=True)
    try:
        server = ThreadingHTTPServer((address, port), _Upstream)
        _Upstream.hits = []
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield _Upstream
        finally:
            server.shutdown()
            server.server_close()
    finally:
        subprocess.run(["supervisorctl", "start", program], check=True, capture_output=True)
        _wait_ready(f"http://{address}:{port}/readyz")


def _wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=TIMEOUT).status_code == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"{url} not ready {timeout:.0f} s after the API was started again")


def test_edge_sets_the_route_request_headers(platform, stand_in_app):
    r = next(r for r in filters.edge_routes(platform.data) if r["headers"] and r["upstream"] == "api")
    resp = requests.get(f"{edge(platform)}{r['path']}", headers={"Authorization": "Bearer live-test"}, timeout=TIMEOUT)
    assert resp.status_code == 200
    seen = resp.json()
    for name, value in r["headers"]:
        assert seen[name.lower()] == value
    assert seen["x-forwarded-for"]


def test_edge_caches_for_the_route_cache_ttl(platform, stand_in_app):
    r = next(r for r in filters.edge_routes(platform.data) if r["cache_ttl"] and r["upstream"] == "api")
    url = f"{edge(platform)}{r['path']}?probe={uuid.uuid4().hex}"  # a key no earlier run cached

    def status(token: str) -> str:
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT).headers["X-Cache-Status"]

    assert status("a") == "MISS"
    # nginx may answer the client before it has renamed the cache file into
    # place (seen under load): ask again until the entry is there, bounded.
    repeats = [status("a")]
    while repeats[-1] == "MISS" and len(repeats) < 50:
        repeats.append(status("a"))
    assert repeats[-1] == "HIT", repeats
    upstream_calls = len(stand_in_app.hits)
    assert upstream_calls == 1 + repeats.count("MISS")  # every HIT was served without the upstream
    assert status("b") == "MISS"  # the key holds the caller's credentials: no cross-user answers
    assert len(stand_in_app.hits) == upstream_calls + 1


# ================================================================= drills


def _pid(service: str) -> str:
    return subprocess.run(["supervisorctl", "pid", service], capture_output=True, text=True).stdout.strip()


@pytest.mark.slow
def test_drifted_config_is_restored_and_hot_reloaded(platform):
    """A hand edit of the live rules is put back by `up`, and Prometheus and
    Alertmanager load the result without a restart (same process)."""
    from tests.live.conftest import fmctl

    if platform.spec.service_manager != "supervisor":
        pytest.skip("reads process ids from supervisor")
    host = platform.spec.monitoring.host
    rules = Path(f"/etc/flowmaster/prometheus/{host}/rules.yml")
    am = Path(f"/etc/flowmaster/alertmanager/{host}/alertmanager.yml")
    pids = {s: _pid(f"fm-{s}-{host}") for s in ("prometheus", "alertmanager")}
    for path in (rules, am):
        path.write_text(path.read_text() + "# hand edit\n")
    proc = fmctl("up", "--env", "local", "--tags", "monitoring", "--json")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert json.loads(proc.stdout)["changed"] >= 2
    assert rules.read_text() == render_one(platform.spec, "prometheus/rules.yml.j2")
    assert am.read_text() == render_one(platform.spec, "alertmanager/alertmanager.yml.j2")
    assert {s: _pid(f"fm-{s}-{host}") for s in pids} == pids
    runtime = requests.get(f"{prometheus(platform)}/api/v1/status/runtimeinfo", auth=admin(platform), timeout=TIMEOUT)
    assert runtime.json()["data"]["reloadConfigSuccess"] is True
