"""prometheus.yml, rules.yml, alertmanager.yml and nginx.conf, rendered from the spec.

Each rendering is checked by the service's own tool (promtool, amtool, nginx -t;
skipped with the reason when the binary is missing), then parsed to check that
the spec's values arrived: scrape targets, intervals, alert rules, receiver,
routes, rate limits and cache lifetimes. `promtool test rules` proves that
rules fire after the spec's `for` with the spec's labels and annotations.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from fmctl import filters
from fmctl.paths import ENVIRONMENTS_DIR
from fmctl.render import environment, render_one, spec_data
from fmctl.spec.loader import load_spec, read_raw, validate_mapping
from fmctl.spec.model import PlatformSpec

ENVS = ("local", "prod")


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package: {TOOL_PACKAGES[name]})")
    return path


TOOL_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager", "nginx": "nginx"}


def run(*cmd: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def render_with(spec: PlatformSpec, template: str, **paths: str) -> str:
    """Render as the role does, with its path variables pointed at a test folder."""
    return environment().get_template(template).render(spec=spec_data(spec), node={}, env=spec.name, **paths)


def variant(env: str, mutate) -> PlatformSpec:
    data = copy.deepcopy(read_raw(ENVIRONMENTS_DIR / f"{env}.yaml")[0])
    mutate(data)
    return validate_mapping(data, env_name=env).spec


@pytest.fixture(params=ENVS)
def spec(request) -> PlatformSpec:
    return load_spec(request.param).spec


def test_paths_default_to_the_role_defaults(spec: PlatformSpec):
    """`fmctl render` (no role variables) writes the paths the roles use."""
    mon, edge = spec.monitoring.host, spec.gateway.edge_host
    assert f"/etc/flowmaster/prometheus/{mon}/rules.yml" in render_one(spec, "prometheus/prometheus.yml.j2")
    assert f"/var/lib/flowmaster/nginx/{edge}/cache" in render_one(spec, "nginx/nginx.conf.j2")
    for role, default in (("prometheus", "prometheus_config_dir: \"/etc/flowmaster/prometheus/{{ prometheus_host }}\""),
                          ("nginx", "nginx_data_dir: \"/var/lib/flowmaster/nginx/{{ nginx_host }}\"")):
        assert default in (Path(__file__).resolve().parents[2] / "roles" / role / "defaults" / "main.yml").read_text()


# ================================================================= Prometheus


def prometheus_files(spec: PlatformSpec, tmp_path: Path) -> tuple[Path, Path]:
    conf_dir = tmp_path / "prometheus"
    conf_dir.mkdir()
    rules = conf_dir / "rules.yml"
    rules.write_text(render_with(spec, "prometheus/rules.yml.j2"))
    (conf_dir / "admin.password").write_text("not-a-secret")
    config = conf_dir / "prometheus.yml"
    config.write_text(render_with(spec, "prometheus/prometheus.yml.j2", prometheus_config_dir=str(conf_dir)))
    return config, rules


def test_prometheus_config_and_rules_pass_promtool(spec: PlatformSpec, tmp_path: Path):
    promtool = tool("promtool")
    config, rules = prometheus_files(spec, tmp_path)
    out = run(promtool, "check", "rules", str(rules)).stdout
    assert f"{len(spec.monitoring.alert_rules)} rules found" in out
    run(promtool, "check", "config", str(config))  # also checks the rule file it names


def test_prometheus_scrapes_every_service_of_the_spec(spec: PlatformSpec):
    doc = yaml.safe_load(render_one(spec, "prometheus/prometheus.yml.j2"))
    mon, data = spec.monitoring, spec_data(spec)
    mon_addr = str(spec.hosts[mon.host].address)
    assert doc["global"]["scrape_interval"] == filters.duration(mon.scrape_interval)
    assert doc["global"]["evaluation_interval"] == filters.duration(mon.evaluation_interval)

    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    assert set(jobs) == {"prometheus", "alertmanager", "node", "postgres", "redis", "kafka", "flowmaster"}

    def targets(job: str) -> list[str]:
        return [t for sc in jobs[job]["static_configs"] for t in sc["targets"]]

    assert targets("prometheus") == [f"{mon_addr}:{mon.prometheus_port}"]
    assert targets("alertmanager") == [f"{mon_addr}:{mon.alertmanager_port}"]
    assert targets("node") == [f"{mon_addr}:{mon.node_exporter_port}"]
    assert targets("postgres") == [f"{n['address']}:{mon.postgres_exporter_port}" for n in filters.postgresql_nodes(data)]
    assert targets("kafka") == [f"{spec.hosts[b.host].address}:{spec.kafka.metrics_port}" for b in spec.kafka.brokers]
    redis_nodes = [spec.redis.shards[i].master for i in range(len(spec.redis.shards))]
    redis_nodes += [r for s in spec.redis.shards for r in s.replicas]
    assert targets("redis") == [f"redis://{spec.hosts[h].address}:{spec.redis.port}" for h in redis_nodes]
    # Redis nodes are probed through the exporter: the target becomes a parameter.
    relabel = jobs["redis"]["relabel_configs"]
    assert jobs["redis"]["metrics_path"] == "/scrape"
    assert {"target_label": "__address__", "replacement": f"{mon_addr}:{mon.redis_exporter_port}"} in relabel

    # The app's HTTP service (api) on the app host; the worker has no port to scrape.
    app_addr = spec.hosts[spec.app.host].address
    assert targets("flowmaster") == [f"{app_addr}:{spec.app.services['api'].port}"]

    # Credentials: a file, never a value.
    for name in ("prometheus", "alertmanager", "node", "postgres", "flowmaster"):
        auth = jobs[name]["basic_auth"]
        assert auth["username"] == mon.admin_user and auth["password_file"].endswith("/admin.password")
        assert "password" not in auth
    am = doc["alerting"]["alertmanagers"][0]
    assert am["static_configs"][0]["targets"] == [f"{mon_addr}:{mon.alertmanager_port}"]
    assert "password_file" in am["basic_auth"]


def test_rules_are_the_spec_alert_rules_grouped(spec: PlatformSpec):
    doc = yaml.safe_load(render_one(spec, "prometheus/rules.yml.j2"))
    rendered = {r["alert"]: (g["name"], r) for g in doc["groups"] for r in g["rules"]}
    assert set(rendered) == set(spec.monitoring.alert_rules)
    assert [g["name"] for g in doc["groups"]] == sorted({r.group for r in spec.monitoring.alert_rules.values()})
    for name, rule in spec.monitoring.alert_rules.items():
        group, r = rendered[name]
        assert group == rule.group
        assert r["expr"] == rule.expr
        assert r["for"] == filters.duration(rule.for_)
        assert r["labels"] == {"severity": rule.severity}
        assert r["annotations"] == {"summary": rule.summary, "runbook_url": rule.runbook}


def test_every_runbook_link_has_its_section():
    """Rules link docs/runbooks.md#<lowercased name>: each anchor must exist."""
    runbooks = (Path(__file__).resolve().parents[2] / "docs" / "runbooks.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", runbooks, re.M)}
    for name, rule in load_spec("local").spec.monitoring.alert_rules.items():
        path, _, anchor = rule.runbook.partition("#")
        assert path == "docs/runbooks.md" and anchor in anchors, f"{name}: no section for {rule.runbook}"


def _expanded(summary: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m.group(1)], summary)


def _minutes(ms: int) -> int:
    assert ms % 60_000 == 0, "these tests step in whole minutes"
    return ms // 60_000


def test_promtool_rule_tests_fire_after_the_spec_for(tmp_path: Path):
    """TargetDown, PostgresDown and RedisClusterNotOk: silent before `for`, firing after, with the spec's labels."""
    promtool = tool("promtool")
    spec = load_spec("local").spec
    rules = spec.monitoring.alert_rules
    (tmp_path / "rules.yml").write_text(render_one(spec, "prometheus/rules.yml.j2"))
    cases = [
        ("TargetDown", 'up{job="node", instance="127.0.5.1:9100"}', {"job": "node", "instance": "127.0.5.1:9100"}),
        ("PostgresDown", 'pg_up{job="postgres", instance="127.0.4.2:9187"}', {"job": "postgres", "instance": "127.0.4.2:9187"}),
        ("RedisClusterNotOk", 'redis_cluster_state{job="redis", instance="redis://127.0.3.1:6379"}', {}),
    ]
    tests = []
    for name, series, labels in cases:
        rule = rules[name]
        for_min = _minutes(rule.for_)
        firing_labels = {**labels, "severity": rule.severity}
        tests.append({
            "interval": "1m",
            "input_series": [{"series": series, "values": f"0x{for_min + 5}"}],
            "alert_rule_test": [
                # Down for less than `for`: pending, not firing.
                {"eval_time": f"{for_min - 1}m" if for_min > 1 else "0m", "alertname": name, "exp_alerts": []},
                {"eval_time": f"{for_min + 1}m", "alertname": name, "exp_alerts": [{
                    "exp_labels": firing_labels,
                    "exp_annotations": {"summary": _expanded(rule.summary, firing_labels), "runbook_url": rule.runbook},
                }]},
            ],
        })
    # Events stuck in the app's outbox: silent before `for`, firing after.
    stalled = rules["FlowMasterOutboxStalled"]
    for_min = _minutes(stalled.for_)
    tests.append({
        "interval": "1m",
        "input_series": [{"series": 'flowmaster_outbox_oldest_unsent_seconds{job="flowmaster", instance="a"}',
                          "values": f"600x{for_min + 5}"},
                         {"series": 'flowmaster_outbox_oldest_unsent_seconds{job="flowmaster", instance="b"}',
                          "values": f"0x{for_min + 5}"}],
        "alert_rule_test": [
            {"eval_time": f"{for_min - 1}m", "alertname": "FlowMasterOutboxStalled", "exp_alerts": []},
            {"eval_time": f"{for_min + 1}m", "alertname": "FlowMasterOutboxStalled", "exp_alerts": [{
                "exp_labels": {"severity": stalled.severity},
                "exp_annotations": {"summary": stalled.summary, "runbook_url": stalled.runbook},
            }]},
        ],
    })
    # A healthy value never fires.
    tests.append({"interval": "1m", "input_series": [{"series": 'up{job="node", instance="a"}', "values": "1x30"}],
                  "alert_rule_test": [{"eval_time": "30m", "alertname": "TargetDown", "exp_alerts": []}]})
    test_file = tmp_path / "rules_test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": ["rules.yml"],
                                         "evaluation_interval": filters.duration(spec.monitoring.evaluation_interval),
                                         "tests": tests}))
    out = run(promtool, "test", "rules", str(test_file)).stdout
    assert "SUCCESS" in out


# ================================================================= Alertmanager


def alertmanager_doc(spec: PlatformSpec, tmp_path: Path) -> dict:
    text = render_one(spec, "alertmanager/alertmanager.yml.j2")
    if shutil.which("amtool"):
        path = tmp_path / "alertmanager.yml"
        path.write_text(text)
        run(tool("amtool"), "check-config", str(path))
    return yaml.safe_load(text)


def test_alertmanager_config_passes_amtool(spec: PlatformSpec, tmp_path: Path):
    tool("amtool")
    doc = alertmanager_doc(spec, tmp_path)
    assert doc["route"]["receiver"] == spec.monitoring.alert_receiver
    assert [r["name"] for r in doc["receivers"]] == [spec.monitoring.alert_receiver]
    assert "webhook_configs" not in doc["receivers"][0]  # no alert_webhook in these specs


def test_alertmanager_webhook_from_the_spec(tmp_path: Path):
    tool("amtool")
    url = "http://127.0.0.1:9999/hooks/flowmaster?channel=ops"

    def with_webhook(d: dict) -> None:
        d["monitoring"]["alert_webhook"] = url

    doc = alertmanager_doc(variant("local", with_webhook), tmp_path)
    assert doc["receivers"][0]["webhook_configs"] == [{"url": url, "send_resolved": True}]


# ================================================================= nginx


def blocks(text: str, opener: str) -> dict[str, str]:
    """`<opener> ARG {` blocks (no nesting inside them but `if`) -> their bodies, by ARG."""
    out = {}
    for m in re.finditer(rf"^\s*{opener} (\S+) \{{\n", text, re.M):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out[m.group(1)] = text[m.end():i - 1]
    return out


def nginx_conf(spec: PlatformSpec, tmp_path: Path) -> str:
    return render_with(spec, "nginx/nginx.conf.j2", nginx_data_dir=str(tmp_path / "data"), nginx_log_dir=str(tmp_path / "log"))


def test_nginx_config_passes_nginx_t(spec: PlatformSpec, tmp_path: Path):
    nginx = tool("nginx")
    (tmp_path / "data").mkdir()
    (tmp_path / "log").mkdir()
    text = nginx_conf(spec, tmp_path)
    edge = str(spec.hosts[spec.gateway.edge_host].address)
    if not edge.startswith("127."):
        # nginx -t binds the listen address; this machine owns only loopback ones.
        text = text.replace(f"listen {edge}:", "listen 127.0.0.1:")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    run(nginx, "-t", "-q", "-c", str(conf))


def test_nginx_routes_are_the_gateway_route_table(spec: PlatformSpec, tmp_path: Path):
    text = nginx_conf(spec, tmp_path)
    g, app = spec.gateway, spec.app
    assert f"listen {spec.hosts[g.edge_host].address}:{g.http_port};" in text
    upstreams = blocks(text, "upstream")
    app_addr = spec.hosts[app.host].address
    used = {r.service for r in g.routes.values()}
    assert upstreams == {f"app_{s}": f"        server {app_addr}:{app.services[s].port};\n    " for s in used}

    locations = blocks(text, "location")
    assert set(locations) == {r.path for r in g.routes.values()} | {"/"}
    zones = dict(re.findall(r"limit_req_zone \$binary_remote_addr zone=(\w+):\S+ rate=(\S+);", text))
    for name, route in g.routes.items():
        body = locations[route.path]
        assert f"proxy_pass http://app_{route.service};" in body
        assert f"add_header X-Edge-Route {name} always;" in body
        assert f"^({'|'.join(route.methods)})$" in body
        assert ("return 401;" in body) == (route.auth != ["none"])
        # Rate limits: one zone per window, burst = the window's count.
        limits = dict(re.findall(r"limit_req zone=(\w+) burst=(\d+) nodelay;", body))
        want = {}
        if route.rate_limit and route.rate_limit.per_second:
            want[f"{name}_per_second"] = str(route.rate_limit.per_second)
            assert zones[f"{name}_per_second"] == f"{route.rate_limit.per_second}r/s"
        if route.rate_limit and route.rate_limit.per_minute:
            want[f"{name}_per_minute"] = str(route.rate_limit.per_minute)
            assert zones[f"{name}_per_minute"] == f"{route.rate_limit.per_minute}r/m"
        assert limits == want, name
        # Cache: the spec's lifetime for 200s, or no cache at all.
        if route.cache_ttl:
            assert f"proxy_cache_valid 200 {filters.duration(route.cache_ttl)};" in body
        else:
            assert "proxy_cache" not in body
        for header, value in route.add_request_headers.items():
            assert f'proxy_set_header {header} "{value}";' in body


def test_nginx_cache_ttl_follows_the_spec(tmp_path: Path):
    """Changing a route's cache_ttl in the spec changes exactly that lifetime."""

    def longer_cache(d: dict) -> None:
        d.setdefault("gateway", {}).setdefault("routes", {}).setdefault("templates_api", {})["cache_ttl"] = "2h"

    body = blocks(nginx_conf(variant("local", longer_cache), tmp_path), "location")["/api/v1/templates"]
    assert "proxy_cache_valid 200 2h;" in body


def test_nginx_strip_path_removes_the_route_prefix(tmp_path: Path):
    def strip(d: dict) -> None:
        d["gateway"]["routes"]["logging_console"].update({"strip_path": True, "path": "/logs.v1"})

    spec = variant("local", strip)
    text = nginx_conf(spec, tmp_path)
    body = blocks(text, "location")["/logs.v1"]
    assert r"rewrite ^/logs\.v1/?(.*)$ /$1 break;" in body
    assert "rewrite" not in blocks(text, "location")["/api/v1/processes"]
    if shutil.which("nginx"):
        (tmp_path / "data").mkdir()
        (tmp_path / "log").mkdir()
        (tmp_path / "nginx.conf").write_text(text)
        run(tool("nginx"), "-t", "-q", "-c", str(tmp_path / "nginx.conf"))
