"""Jinja2 filters shared by `fmctl render` and Ansible (as a filter plugin).

They take the spec as JSON data (what templates see), never the Pydantic
model, so the same call works in both engines. Derived values belong here,
not in templates: a template loops and prints.
"""

from __future__ import annotations

from collections.abc import Callable

from fmctl.app_settings import app_processes, app_secret_refs, bare_app_settings


def address(spec: dict, host: str) -> str:
    """The address a host's services bind."""
    return spec["hosts"][host]["address"]


def _node(spec: dict, host: str, **fields: object) -> dict:
    h = spec["hosts"][host]
    return {"host": host, "address": h["address"], "zone": h.get("zone"), **fields}


def kafka_brokers(spec: dict) -> list[dict]:
    return [_node(spec, b["host"], id=b["id"]) for b in spec["kafka"]["brokers"]]


def zookeeper_nodes(spec: dict) -> list[dict]:
    zk = spec["kafka"].get("zookeeper")
    if spec["kafka"]["mode"] != "zookeeper" or not zk:
        return []
    return [_node(spec, n["host"], id=n["id"]) for n in zk["nodes"]]


def kraft_controllers(spec: dict) -> list[dict]:
    kr = spec["kafka"].get("kraft")
    if spec["kafka"]["mode"] != "kraft" or not kr:
        return []
    return [_node(spec, c["host"], id=c["id"]) for c in kr["controllers"]]


def kafka_nodes(spec: dict) -> list[dict]:
    """Every Kafka server process: brokers, plus KRaft controllers (a controller
    on a broker's host is the same process: roles [broker, controller])."""
    nodes = {b["host"]: _node(spec, b["host"], id=b["id"], roles=["broker"]) for b in spec["kafka"]["brokers"]}
    for c in kraft_controllers(spec):
        if c["host"] in nodes:
            nodes[c["host"]]["roles"].append("controller")
        else:
            nodes[c["host"]] = {**c, "roles": ["controller"]}
    return list(nodes.values())


def connect_workers(spec: dict) -> list[dict]:
    return [_node(spec, h) for h in spec["kafka"]["connect"]["workers"]]


def connect_topics(spec: dict) -> dict[str, str]:
    """Kafka Connect's internal topics (configs, offsets, status), named after its group."""
    group = spec["kafka"]["connect"]["group_id"]
    return {kind: f"{group}-{kind}" for kind in ("configs", "offsets", "status")}


def kafka_bootstrap(spec: dict) -> str:
    """Brokers' client listeners, as Kafka clients take them."""
    return ",".join(f"{b['address']}:{spec['kafka']['port']}" for b in kafka_brokers(spec))


def zookeeper_connect(spec: dict) -> str:
    """The ensemble's client addresses, as zookeeper.connect takes them."""
    zk = spec["kafka"].get("zookeeper") or {}
    return ",".join(f"{n['address']}:{zk['client_port']}" for n in zookeeper_nodes(spec))


def kraft_voters(spec: dict) -> str:
    """controller.quorum.voters: id@address:port of every KRaft controller."""
    kr = spec["kafka"].get("kraft") or {}
    return ",".join(f"{c['id']}@{c['address']}:{kr['port']}" for c in kraft_controllers(spec))


def kafka_superusers(spec: dict) -> str:
    """super.users: the kafka.users marked superuser, as principals."""
    return ";".join(f"User:{name}" for name, u in sorted(spec["kafka"]["users"].items()) if u["superuser"])


def kafka_admin_user(spec: dict) -> str:
    """The superuser that brokers, tools and the verifier log in as (the first by name)."""
    return sorted(name for name, u in spec["kafka"]["users"].items() if u["superuser"])[0]


def kafka_cluster_id(spec: dict) -> str:
    """A KRaft cluster id derived from the environment's name: every node
    formats with the same id and no host has to hand it to the others."""
    import base64
    import uuid

    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"flowmaster:{spec['name']}:kafka").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def redis_nodes(spec: dict) -> list[dict]:
    """Masters first, then replicas, each knowing its shard and master."""
    shards = spec["redis"]["shards"]
    nodes = [_node(spec, s["master"], role="master", shard=i, master=s["master"]) for i, s in enumerate(shards)]
    for i, s in enumerate(shards):
        nodes += [_node(spec, r, role="replica", shard=i, master=s["master"]) for r in s["replicas"]]
    return nodes


def postgresql_nodes(spec: dict) -> list[dict]:
    pg = spec["postgresql"]
    nodes = [_node(spec, pg["primary"], role="primary", slot=None)]
    nodes += [_node(spec, s["host"], role="standby", slot=s["slot"]) for s in pg["standbys"]]
    return nodes


def postgresql_clients(spec: dict) -> list[str]:
    """Addresses whose database owners may log in (pg_hba): the app's host,
    pgbouncer's host and the Kafka Connect workers (JDBC connectors)."""
    hosts = [spec["app"]["host"], spec["postgresql"]["pgbouncer"]["host"], *spec["kafka"]["connect"]["workers"]]
    addresses = {address(spec, h) for h in hosts}
    return sorted(addresses, key=lambda a: tuple(int(x) for x in a.split(".")))


def scram_sha256(password: str, user: str, iterations: int = 4096) -> str:
    """A PostgreSQL SCRAM-SHA-256 verifier of password (RFC 5802/7677).

    The salt is derived from the user and the password, so the same secret
    always gives the same verifier: the server (pg_authid) and pgbouncer's
    auth file hold identical secrets, which pgbouncer needs to pass a SCRAM
    client through, and a role can compare the stored verifier with the
    wanted one instead of rewriting the password on every run.
    """
    import base64
    import hashlib
    import hmac

    pw = password.encode()
    salt = hmac.new(pw, f"flowmaster-scram-salt:{user}".encode(), hashlib.sha256).digest()[:16]
    salted = hashlib.pbkdf2_hmac("sha256", pw, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"


def vault_nodes(spec: dict) -> list[dict]:
    """Vault replicas as the pods of a StatefulSet `vault` behind the headless
    service `vault-internal` (the Vault Helm chart's naming): vault-0, vault-1, ..."""
    return [{"host": f"vault-{i}", "id": f"vault-{i}", "address": f"vault-{i}.vault-internal", "zone": None}
            for i in range(spec["vault"]["replicas"])]


def vault_policies(spec: dict) -> list[dict]:
    """One entry per Vault policy (Vault takes one policy per document), by name."""
    return [{"host": "cluster", "name": name, "paths": p["paths"]} for name, p in sorted(spec["vault"]["policies"].items())]


def service_host(spec: dict, service: str) -> str:
    """Where the gateway reaches an app service, by gateway.service_discovery."""
    dns = service.replace("_", "-")  # DNS labels take no underscore
    discovery = spec["gateway"]["service_discovery"]
    if discovery == "static":
        return address(spec, spec["app"]["host"])
    if discovery == "consul":
        return f"{dns}.service.consul"
    return dns  # kubernetes: the Service of that name in the gateway's namespace


def mib(n: int) -> int:
    """Bytes -> whole MiB (JVM -Xmx, PostgreSQL MB settings)."""
    return int(n) // (1024 * 1024)


def seconds(ms: int) -> int:
    """Milliseconds -> whole seconds."""
    return int(ms) // 1000


def hours(ms: int) -> int:
    """Milliseconds -> whole hours."""
    return int(ms) // 3_600_000


def properties(groups: list[dict], overrides: dict | None = None) -> list[tuple[str, str]]:
    """One merge point for Java-style properties (Confluent's pattern).

    Each group is {"enabled": bool, "properties": {...}}; enabled groups merge
    in order, then overrides; the result is sorted by key so a re-render never
    shows a diff. Booleans print as Kafka expects (true/false).
    """
    merged: dict[str, object] = {}
    for group in groups:
        if group.get("enabled", True):
            merged.update(group["properties"])
    merged.update(overrides or {})

    def fmt(v: object) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)

    return [(k, fmt(v)) for k, v in sorted(merged.items()) if v is not None]


# ------------------------------------------------- monitoring and the edge


def duration(ms: int) -> str:
    """Milliseconds -> the largest exact unit: 2m, 30s, 15d, 1500ms (Prometheus and nginx read them all)."""
    ms = int(ms)
    if ms == 0:
        return "0s"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def quote(value: object) -> str:
    """A double-quoted string for YAML, JSON and nginx: PromQL and summaries carry {{ }}, '>' and quotes."""
    import json

    return json.dumps(str(value), ensure_ascii=False)


def alert_groups(spec: dict) -> list[dict]:
    """monitoring.alert_rules grouped by rule.group, groups and rules sorted by name."""
    groups: dict[str, list[dict]] = {}
    for name, rule in sorted(spec["monitoring"]["alert_rules"].items()):
        groups.setdefault(rule["group"], []).append({"alert": name, **rule})
    return [{"name": g, "rules": rules} for g, rules in sorted(groups.items())]


def scrape_jobs(spec: dict) -> list[dict]:
    """Every Prometheus scrape job the spec implies, in a stable order.

    Each job: name, targets [{address, host}], auth (basic auth with the
    monitoring admin), exporter (multi-target: the exporter that probes each
    target, which becomes the `instance` label), metrics_path. The verifier
    compares /api/v1/targets with this list.
    """
    mon = spec["monitoring"]
    mon_addr = address(spec, mon["host"])

    def job(name: str, targets: list[dict], auth: bool, exporter: str | None = None) -> dict:
        return {"name": name, "targets": targets, "auth": auth, "exporter": exporter,
                "metrics_path": "/scrape" if exporter else "/metrics"}

    def on_mon(port_field: str) -> list[dict]:
        return [{"address": f"{mon_addr}:{mon[port_field]}", "host": mon["host"]}]

    redis_port, kafka_port = spec["redis"]["port"], spec["kafka"]["metrics_port"]
    return [
        job("prometheus", on_mon("prometheus_port"), auth=True),
        job("alertmanager", on_mon("alertmanager_port"), auth=True),
        job("node", on_mon("node_exporter_port"), auth=True),
        # One exporter beside each PostgreSQL server: Debian's postgres_exporter (0.11) cannot scrape
        # several servers from one process (its collectors then emit duplicate series).
        job("postgres", [{"address": f"{n['address']}:{mon['postgres_exporter_port']}", "host": n["host"]}
                         for n in postgresql_nodes(spec)], auth=True),
        # Debian's redis_exporter (1.45) has no basic auth; it binds the monitoring address only.
        job("redis", [{"address": f"redis://{n['address']}:{redis_port}", "host": n["host"]} for n in redis_nodes(spec)],
            auth=False, exporter=f"{mon_addr}:{mon['redis_exporter_port']}"),
        job("kafka", [{"address": f"{b['address']}:{kafka_port}", "host": b["host"]} for b in kafka_brokers(spec)], auth=False),
        job("flowmaster", [{"address": f"{p['address']}:{p['port']}", "host": p["host"]}
                           for p in app_processes(spec) if p["http"]], auth=True),
    ]


def edge_routes(spec: dict) -> list[dict]:
    """gateway.routes joined with app.services for the nginx edge, sorted by route name.

    The upstream is the app host's address (the spec's placement): a bare edge
    has no service discovery. Each rate limit becomes one limit_req zone; the
    burst equals the window's count so that N requests inside one window pass,
    as with Kong's counters.
    """
    app = spec["app"]
    out = []
    for name, r in sorted(spec["gateway"]["routes"].items()):
        zones = []
        for field, unit in (("per_second", "s"), ("per_minute", "m")):
            count = (r.get("rate_limit") or {}).get(field)
            if count:
                zones.append({"name": f"{name}_{field}", "rate": f"{count}r/{unit}", "burst": count})
        out.append({
            "name": name, "path": r["path"], "methods": r["methods"], "strip_path": r["strip_path"],
            "auth_required": any(a != "none" for a in r["auth"]), "auth": r["auth"],
            "upstream": r["service"],
            "upstream_address": f"{address(spec, app['host'])}:{app['services'][r['service']]['port']}",
            "zones": zones, "cache_ttl": r.get("cache_ttl"), "headers": sorted(r["add_request_headers"].items()),
        })
    return out


FILTERS: dict[str, Callable] = {
    "fm_address": address,
    "fm_kafka_brokers": kafka_brokers,
    "fm_zookeeper_nodes": zookeeper_nodes,
    "fm_kraft_controllers": kraft_controllers,
    "fm_kafka_nodes": kafka_nodes,
    "fm_kafka_bootstrap": kafka_bootstrap,
    "fm_connect_workers": connect_workers,
    "fm_connect_topics": connect_topics,
    "fm_zookeeper_connect": zookeeper_connect,
    "fm_kraft_voters": kraft_voters,
    "fm_kafka_cluster_id": kafka_cluster_id,
    "fm_kafka_superusers": kafka_superusers,
    "fm_kafka_admin_user": kafka_admin_user,
    "fm_redis_nodes": redis_nodes,
    "fm_postgresql_nodes": postgresql_nodes,
    "fm_postgresql_clients": postgresql_clients,
    "fm_scram_sha256": scram_sha256,
    "fm_vault_nodes": vault_nodes,
    "fm_vault_policies": vault_policies,
    "fm_service_host": service_host,
    "fm_mib": mib,
    "fm_seconds": seconds,
    "fm_hours": hours,
    "fm_properties": properties,
    "fm_duration": duration,
    "fm_quote": quote,
    "fm_alert_groups": alert_groups,
    "fm_scrape_jobs": scrape_jobs,
    "fm_edge_routes": edge_routes,
    "fm_app_settings": bare_app_settings,
    "fm_app_secret_refs": app_secret_refs,
    "fm_app_processes": app_processes,
}
