"""Jinja2 filters shared by `fmctl render` and Ansible (as a filter plugin).

They take the spec as JSON data (what templates see), never the Pydantic
model, so the same call works in both engines. Derived values belong here,
not in templates: a template loops and prints.
"""

from __future__ import annotations

from collections.abc import Callable


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


FILTERS: dict[str, Callable] = {
    "fm_address": address,
    "fm_kafka_brokers": kafka_brokers,
    "fm_zookeeper_nodes": zookeeper_nodes,
    "fm_kraft_controllers": kraft_controllers,
    "fm_redis_nodes": redis_nodes,
    "fm_postgresql_nodes": postgresql_nodes,
    "fm_vault_nodes": vault_nodes,
    "fm_vault_policies": vault_policies,
    "fm_service_host": service_host,
    "fm_mib": mib,
    "fm_seconds": seconds,
    "fm_properties": properties,
}
