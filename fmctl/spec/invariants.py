"""Rules that relate several fields of a spec. Every rule runs; all findings return.

A finding names the field path and the reason, e.g.
`kafka.topics.execution_events.replication_factor: 3 > 2 brokers`.
Errors stop everything; warnings are legal but risky choices, said plainly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from fmctl.spec.model import PlatformSpec
from fmctl.units import format_size


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.path}: {self.message}"


def _err(path: str, message: str) -> Finding:
    return Finding("error", path, message)


def _warn(path: str, message: str) -> Finding:
    return Finding("warning", path, message)


# ------------------------------------------------------------ placements


def host_refs(spec: PlatformSpec) -> Iterator[tuple[str, str]]:
    """Every (field path, host name) the spec places something on."""
    k = spec.kafka
    for i, b in enumerate(k.brokers):
        yield f"kafka.brokers[{i}].host", b.host
    if k.zookeeper:
        for i, n in enumerate(k.zookeeper.nodes):
            yield f"kafka.zookeeper.nodes[{i}].host", n.host
    if k.kraft:
        for i, c in enumerate(k.kraft.controllers):
            yield f"kafka.kraft.controllers[{i}].host", c.host
    for i, h in enumerate(k.connect.workers):
        yield f"kafka.connect.workers[{i}]", h
    for i, h in enumerate(k.schema_registry.hosts):
        yield f"kafka.schema_registry.hosts[{i}]", h
    for i, shard in enumerate(spec.redis.shards):
        yield f"redis.shards[{i}].master", shard.master
        for j, r in enumerate(shard.replicas):
            yield f"redis.shards[{i}].replicas[{j}]", r
    pg = spec.postgresql
    yield "postgresql.primary", pg.primary
    for i, s in enumerate(pg.standbys):
        yield f"postgresql.standbys[{i}].host", s.host
    yield "postgresql.pgbouncer.host", pg.pgbouncer.host
    yield "gateway.edge_host", spec.gateway.edge_host
    yield "monitoring.host", spec.monitoring.host
    yield "app.host", spec.app.host


def port_bindings(spec: PlatformSpec) -> Iterator[tuple[str, int, str]]:
    """(host, port, field path) for every listening socket the spec places."""
    k, r, pg, mon = spec.kafka, spec.redis, spec.postgresql, spec.monitoring
    for i, b in enumerate(k.brokers):
        yield b.host, k.port, f"kafka.port (brokers[{i}])"
        yield b.host, k.jmx_port, f"kafka.jmx_port (brokers[{i}])"
        yield b.host, k.metrics_port, f"kafka.metrics_port (brokers[{i}])"
    if k.mode == "zookeeper" and k.zookeeper:
        z = k.zookeeper
        for i, n in enumerate(z.nodes):
            for name in ("client_port", "peer_port", "election_port"):
                yield n.host, getattr(z, name), f"kafka.zookeeper.{name} (nodes[{i}])"
    if k.mode == "kraft" and k.kraft:
        for i, c in enumerate(k.kraft.controllers):
            yield c.host, k.kraft.port, f"kafka.kraft.port (controllers[{i}])"
    for i, h in enumerate(k.connect.workers):
        yield h, k.connect.port, f"kafka.connect.port (workers[{i}])"
    for i, h in enumerate(k.schema_registry.hosts):
        yield h, k.schema_registry.port, f"kafka.schema_registry.port (hosts[{i}])"
    for i, shard in enumerate(r.shards):
        for h in (shard.master, *shard.replicas):
            yield h, r.port, f"redis.port (shards[{i}])"
            yield h, r.bus_port, f"redis.bus_port (shards[{i}])"
    for h in (pg.primary, *(s.host for s in pg.standbys)):
        yield h, pg.port, "postgresql.port"
    yield pg.pgbouncer.host, pg.pgbouncer.port, "postgresql.pgbouncer.port"
    for name in ("prometheus_port", "alertmanager_port", "node_exporter_port", "redis_exporter_port"):
        yield mon.host, getattr(mon, name), f"monitoring.{name}"
    for h in (pg.primary, *(s.host for s in pg.standbys)):  # one exporter beside each server
        yield h, mon.postgres_exporter_port, "monitoring.postgres_exporter_port"
    yield spec.gateway.edge_host, spec.gateway.http_port, "gateway.http_port"
    for name, svc in spec.app.services.items():
        yield spec.app.host, svc.port, f"app.services.{name}.port"


def memory_placements(spec: PlatformSpec) -> Iterator[tuple[str, int, str]]:
    """(host, bytes, what) for every sized process the spec places on a host."""
    k, r, pg = spec.kafka, spec.redis, spec.postgresql
    for b in k.brokers:
        yield b.host, k.heap, f"kafka broker {b.id} heap"
    if k.mode == "zookeeper" and k.zookeeper:
        for n in k.zookeeper.nodes:
            yield n.host, k.zookeeper.heap, f"zookeeper {n.id} heap"
    if k.mode == "kraft" and k.kraft:
        for c in k.kraft.controllers:
            yield c.host, k.kraft.heap, f"kraft controller {c.id} heap"
    for h in k.connect.workers:
        yield h, k.connect.heap, "kafka connect heap"
    for shard in r.shards:
        for h in (shard.master, *shard.replicas):
            yield h, r.maxmemory, f"redis {h} maxmemory"
    for h in (pg.primary, *(s.host for s in pg.standbys)):
        yield h, pg.shared_buffers + pg.max_connections * pg.work_mem, f"postgresql {h} buffers + connections x work_mem"
    yield spec.monitoring.host, spec.monitoring.prometheus_memory, "prometheus"
    for name, svc in spec.app.services.items():
        yield spec.app.host, svc.limits.memory * svc.replicas, f"app {name} limits x replicas"


def machine_of(spec: PlatformSpec, host: str) -> str:
    return spec.hosts[host].machine or host


# ------------------------------------------------------------ rules


def _hosts(spec: PlatformSpec) -> list[Finding]:
    out = []
    for name, host in spec.hosts.items():
        if host.machine is None and host.memory is None:
            out.append(_err(f"hosts.{name}", "give either `machine` (shared machine) or `memory` (its own)"))
        if host.machine is not None and host.memory is not None:
            out.append(_err(f"hosts.{name}.memory", "a host on a shared machine takes its memory from machines.<name>"))
        if host.machine is not None and host.machine not in spec.machines:
            out.append(_err(f"hosts.{name}.machine", f"'{host.machine}' is not in machines"))
    for addr, n in Counter(str(h.address) for h in spec.hosts.values()).items():
        if n > 1:
            names = [k for k, h in spec.hosts.items() if str(h.address) == addr]
            out.append(_err(f"hosts.{names[1]}.address", f"{addr} is also the address of {names[0]}"))
    for path, host in host_refs(spec):
        if host not in spec.hosts:
            out.append(_err(path, f"'{host}' is not in hosts"))
    return out


def _ports(spec: PlatformSpec) -> list[Finding]:
    # The finding's path is the field alone ("kafka.jmx_port"); the nodes it
    # clashes on go into the message, once per pair of fields.
    seen: dict[tuple[str, int], str] = {}
    clashes: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for host, port, path in port_bindings(spec):
        key = (host, port)
        if key in seen and seen[key] != path:
            field, other = path.split(" (")[0], seen[key].split(" (")[0]
            clashes[(field, other, port)].append(host)
        seen.setdefault(key, path)
    return [_err(field, f"port {port} is already taken by {other} on host(s) {', '.join(hosts)}")
            for (field, other, port), hosts in clashes.items()]


def _memory(spec: PlatformSpec) -> list[Finding]:
    if any(h not in spec.hosts for _, h in host_refs(spec)):
        return []  # reported by _hosts
    used: dict[str, int] = defaultdict(int)
    for host, size, _ in memory_placements(spec):
        used[machine_of(spec, host)] += size
    out = []
    for machine, total in sorted(used.items()):
        if machine not in spec.machines and machine not in spec.hosts:
            continue  # an unknown machine: reported by _hosts
        if machine in spec.machines:
            budget, path = spec.machines[machine].memory, f"machines.{machine}.memory"
        else:
            budget, path = spec.hosts[machine].memory, f"hosts.{machine}.memory"
        if budget is not None and total > budget:
            out.append(_err(path, f"{format_size(total)} placed on it > {format_size(budget)} budget"))
    return out


def _kafka(spec: PlatformSpec) -> list[Finding]:
    k, out = spec.kafka, []
    brokers = len(k.brokers)
    for field, n in Counter(b.id for b in k.brokers).items():
        if n > 1:
            out.append(_err("kafka.brokers", f"broker id {field} is used {n} times"))
    for field, n in Counter(b.host for b in k.brokers).items():
        if n > 1:
            out.append(_err("kafka.brokers", f"host {field} carries {n} brokers; one broker per host"))
    if k.mode == "zookeeper":
        if k.zookeeper is None:
            out.append(_err("kafka.zookeeper", "required when kafka.mode is zookeeper"))
        else:
            nodes = k.zookeeper.nodes
            if len(nodes) % 2 == 0:
                out.append(_err("kafka.zookeeper.nodes", f"{len(nodes)} nodes: an ensemble needs an odd count"))
            if len({n.id for n in nodes}) != len(nodes):
                out.append(_err("kafka.zookeeper.nodes", "node ids must be unique"))
    if k.mode == "kraft":
        if k.kraft is None:
            out.append(_err("kafka.kraft", "required when kafka.mode is kraft"))
        elif len(k.kraft.controllers) % 2 == 0:
            out.append(_err("kafka.kraft.controllers", f"{len(k.kraft.controllers)} controllers: a quorum needs an odd count"))
        if k.kraft is not None:
            broker_ids = {b.host: b.id for b in k.brokers}
            for i, c in enumerate(k.kraft.controllers):
                if c.host in broker_ids and broker_ids[c.host] != c.id:
                    out.append(_err(f"kafka.kraft.controllers[{i}].id", f"{c.id}: the controller shares host {c.host} "
                                    f"with broker {broker_ids[c.host]}, one process with one node id; use {broker_ids[c.host]}"))
    if not any(u.superuser for u in k.users.values()):
        out.append(_err("kafka.users", "at least one superuser is needed to administer the cluster"))
    for path, user in (("kafka.connect.user", k.connect.user), ("kafka.schema_registry.user", k.schema_registry.user)):
        if user not in k.users:
            out.append(_err(path, f"'{user}' is not in kafka.users"))

    def rf_le_brokers(path: str, rf: int) -> None:
        if rf > brokers:
            out.append(_err(path, f"{rf} > {brokers} brokers"))

    rf_le_brokers("kafka.default_replication_factor", k.default_replication_factor)
    rf_le_brokers("kafka.internal_topics.offsets_replication_factor", k.internal_topics.offsets_replication_factor)
    rf_le_brokers("kafka.internal_topics.transaction_state_replication_factor",
                  k.internal_topics.transaction_state_replication_factor)
    rf_le_brokers("kafka.connect.storage_replication_factor", k.connect.storage_replication_factor)
    rf_le_brokers("kafka.schema_registry.topic_replication_factor", k.schema_registry.topic_replication_factor)
    if k.internal_topics.transaction_state_min_isr > k.internal_topics.transaction_state_replication_factor:
        out.append(_err("kafka.internal_topics.transaction_state_min_isr",
                        "greater than transaction_state_replication_factor: transactions could never commit"))
    if k.min_insync_replicas > k.default_replication_factor:
        out.append(_err("kafka.min_insync_replicas", f"{k.min_insync_replicas} > default_replication_factor "
                        f"{k.default_replication_factor}: acks=all writes would always fail"))
    for name, t in k.topics.items():
        base = f"kafka.topics.{name}"
        rf_le_brokers(f"{base}.replication_factor", t.replication_factor)
        if t.min_insync_replicas > t.replication_factor:
            out.append(_err(f"{base}.min_insync_replicas",
                            f"{t.min_insync_replicas} > replication_factor {t.replication_factor}: "
                            "acks=all writes would always fail"))
        elif (t.min_insync_replicas == t.replication_factor > 1  # RF 1: nothing lower exists; warned below
              and not t.accept_min_insync_equals_replicas):
            out.append(_err(f"{base}.min_insync_replicas",
                            f"equals replication_factor {t.replication_factor}: losing one replica stops acks=all writes; "
                            "lower it, raise the replication factor, or set accept_min_insync_equals_replicas"))
        elif t.replication_factor >= 2 and t.min_insync_replicas == 1:
            out.append(_warn(f"{base}.min_insync_replicas",
                             f"1 with replication_factor {t.replication_factor}: an acknowledged write can be lost "
                             "when the only in-sync replica fails; replication factor 3 with 2 in sync avoids it"))
        if t.replication_factor == 1:
            out.append(_warn(f"{base}.replication_factor", "1: the topic is lost with its broker"))
    return out


def _redis(spec: PlatformSpec) -> list[Finding]:
    r, out = spec.redis, []
    for field in ("admin_user", "replication_user"):
        if getattr(r, field) not in r.users:
            out.append(_err(f"redis.{field}", f"'{getattr(r, field)}' has no entry in redis.users"))
    if len(r.shards) < 3:
        out.append(_err("redis.shards", f"{len(r.shards)} masters: a Redis cluster needs at least 3"))
    placed = Counter(h for s in r.shards for h in (s.master, *s.replicas))
    for host, n in placed.items():
        if n > 1:
            out.append(_err("redis.shards", f"host {host} carries {n} Redis nodes; one node per host"))
    for i, shard in enumerate(r.shards):
        if not shard.replicas:
            out.append(_err(f"redis.shards[{i}].replicas", "every master needs at least 1 replica"))
        for j, rep in enumerate(shard.replicas):
            path = f"redis.shards[{i}].replicas[{j}]"
            if rep == shard.master:
                out.append(_err(path, f"replica on its master's host {rep}"))
            elif (rep in spec.hosts and shard.master in spec.hosts
                  and machine_of(spec, rep) == machine_of(spec, shard.master)
                  and not spec.accept.replicas_share_machine):
                out.append(_warn(path, f"shares machine {machine_of(spec, rep)} with its master: "
                                       "one machine failure loses both (accept.replicas_share_machine silences this)"))
    return out


def _postgresql(spec: PlatformSpec) -> list[Finding]:
    pg, out = spec.postgresql, []
    if not pg.standbys:
        out.append(_err("postgresql.standbys", "the production shape needs at least 1 streaming standby"))
    for i, s in enumerate(pg.standbys):
        if s.host == pg.primary:
            out.append(_err(f"postgresql.standbys[{i}].host", "a standby cannot share its primary's host"))
    if len({s.slot for s in pg.standbys}) != len(pg.standbys):
        out.append(_err("postgresql.standbys", "replication slot names must be unique"))
    if len(pg.standbys) > pg.max_wal_senders:
        out.append(_err("postgresql.max_wal_senders", f"fewer than the {len(pg.standbys)} standbys"))
    for name, db in pg.databases.items():
        if db.owner not in pg.role_passwords:
            out.append(_err(f"postgresql.databases.{name}.owner", f"role '{db.owner}' has no entry in role_passwords"))
    b = pg.pgbouncer
    pools = (b.default_pool_size + b.reserve_pool_size) * len(pg.databases)
    available = pg.max_connections - pg.superuser_reserved_connections
    if pools > available:
        out.append(_err("postgresql.pgbouncer.default_pool_size",
                        f"pools need {pools} server connections ({len(pg.databases)} databases x "
                        f"({b.default_pool_size} + {b.reserve_pool_size} reserve)) > {available} "
                        f"(max_connections {pg.max_connections} - {pg.superuser_reserved_connections} reserved)"))
    if b.host != pg.primary:
        out.append(_warn("postgresql.pgbouncer.host", "not on the primary's host: every query pays an extra network hop"))
    return out


def _arangodb(spec: PlatformSpec) -> list[Finding]:
    a, out = spec.arangodb, []
    if a.mode == "cluster":
        if a.agents % 2 == 0:
            out.append(_err("arangodb.agents", f"{a.agents} agents: the agency needs an odd count"))
        if a.replication_factor > a.dbservers:
            out.append(_err("arangodb.replication_factor", f"{a.replication_factor} > {a.dbservers} dbservers"))
    for db_name, db in a.databases.items():
        for g_name, graph in db.graphs.items():
            for i, edge in enumerate(graph.edges):
                for side, names in (("from", edge.from_), ("to", edge.to)):
                    for name in names:
                        if name not in db.collections:
                            out.append(_err(f"arangodb.databases.{db_name}.graphs.{g_name}.edges[{i}].{side}",
                                            f"'{name}' is not in the database's collections"))
    return out


def _gateway(spec: PlatformSpec) -> list[Finding]:
    g, out = spec.gateway, []
    services = set(spec.app.services)
    for name, route in g.routes.items():
        base = f"gateway.routes.{name}"
        if route.service not in services:
            out.append(_err(f"{base}.service", f"'{route.service}' is not in app.services"))
        if "none" in route.auth and len(route.auth) > 1:
            out.append(_err(f"{base}.auth", "'none' cannot be combined with other methods"))
        if route.rate_limit is not None and route.rate_limit.per_second is None and route.rate_limit.per_minute is None:
            out.append(_err(f"{base}.rate_limit", "give per_second, per_minute or both"))
    for path, n in Counter(r.path for r in g.routes.values()).items():
        if n > 1:
            out.append(_err("gateway.routes", f"path {path} is routed {n} times"))
    for target, callers in g.mesh.allow.items():
        if target not in services:
            out.append(_err(f"gateway.mesh.allow.{target}", f"'{target}' is not in app.services"))
        for c in callers:
            if c not in services and c != "gateway":
                out.append(_err(f"gateway.mesh.allow.{target}", f"caller '{c}' is neither 'gateway' nor in app.services"))
    if g.mesh.mtls != "STRICT":
        out.append(_warn("gateway.mesh.mtls", f"{g.mesh.mtls}: plaintext traffic between services is accepted"))
    return out


def _vault(spec: PlatformSpec) -> list[Finding]:
    v, out = spec.vault, []
    if v.replicas % 2 == 0:
        out.append(_err("vault.replicas", f"{v.replicas}: a raft cluster needs an odd count"))
    elif v.replicas < 3:
        out.append(_warn("vault.replicas", f"{v.replicas}: no high availability"))
    if v.auto_unseal == "transit" and v.transit_seal is None:
        out.append(_err("vault.transit_seal", "required when vault.auto_unseal is transit"))
    mounts = tuple(p.rstrip("/") + "/" for p in v.engines.values())
    for pol, policy in v.policies.items():
        for path in policy.paths:
            if not path.startswith(mounts) and not path.startswith(("sys/", "auth/")):
                out.append(_err(f"vault.policies.{pol}.paths", f"'{path}' is under no mounted engine ({', '.join(mounts)})"))
    return out


def _app(spec: PlatformSpec) -> list[Finding]:
    out = []
    for field in ("database", "process_database"):
        if getattr(spec.app, field) not in spec.postgresql.databases:
            out.append(_err(f"app.{field}", f"'{getattr(spec.app, field)}' is not in postgresql.databases"))
    if spec.app.api.page_size > spec.app.api.max_page_size:
        out.append(_err("app.api.page_size", f"{spec.app.api.page_size} > max_page_size {spec.app.api.max_page_size}"))
    for name, svc in spec.app.services.items():
        if svc.requests.memory > svc.limits.memory:
            out.append(_err(f"app.services.{name}.requests.memory", "greater than limits.memory"))
    return out


RULES = (_hosts, _ports, _memory, _kafka, _redis, _postgresql, _arangodb, _gateway, _vault, _app)


def check_invariants(spec: PlatformSpec) -> list[Finding]:
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(spec))
    return findings


def check_against_live(spec: PlatformSpec, live_partitions: dict[str, int]) -> list[Finding]:
    """Apply-time rule: a topic's partition count may never decrease."""
    out = []
    for name, topic in spec.kafka.topics.items():
        live = live_partitions.get(name)
        if live is not None and topic.partitions < live:
            out.append(_err(f"kafka.topics.{name}.partitions",
                            f"{topic.partitions} < {live} live: Kafka cannot remove partitions "
                            "(and keys would move between them); keep it at >= the live count"))
    return out
