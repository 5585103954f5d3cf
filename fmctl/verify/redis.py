"""Redis cluster: read every node through its own admin interface (CLUSTER
INFO / CLUSTER NODES / CONFIG GET) and compare with the spec.

Per node: cluster_state ok, all 16384 slots covered, the node's role and
(for a replica) its master as the spec pairs them, persistence, maxmemory,
policy and node timeout as the spec says, and a client that does not
authenticate is refused. Per cluster: one master per shard, each with its
replicas.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import redis

from fmctl import filters
from fmctl.verify.report import Check, Context

SLOTS = 16384
C = "redis"


def _client(ctx: Context, address: str, **auth: str) -> redis.Redis:
    port = ctx.data["redis"]["port"]
    # RESP2 with a plain AUTH: what every Redis 6+ server speaks, no HELLO negotiation
    return redis.Redis(address, port, protocol=2, socket_timeout=5, socket_connect_timeout=5,
                       decode_responses=True, **auth)


def admin(ctx: Context, address: str) -> redis.Redis:
    r = ctx.data["redis"]
    user = r["admin_user"]
    return _client(ctx, address, username=user, password=ctx.secret(r["users"][user]["password"]))


def parse_info(text: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def parse_nodes(text: str) -> list[dict]:
    """CLUSTER NODES -> [{id, endpoint, flags, master, slots}]."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 8:
            out.append({"id": f[0], "endpoint": f[1].split("@")[0], "flags": set(f[2].split(",")),
                        "master": None if f[3] == "-" else f[3], "slots": [s for s in f[8:] if not s.startswith("[")]})
    return out


def unauthenticated(ctx: Context, address: str) -> str:
    """What the node answers a client that sends no credentials: 'refused' or 'accepted'.

    A bare socket, not a client library: its handshake and retries would hide
    the server's own answer (and take seconds).
    """
    with socket.create_connection((address, ctx.data["redis"]["port"]), timeout=5) as s:
        s.sendall(b"PING\r\n")
        reply = s.recv(1024)
    return "refused" if reply.startswith((b"-NOAUTH", b"-WRONGPASS")) else "accepted"


def checks(ctx: Context) -> Iterator[Check]:
    r = ctx.data["redis"]
    nodes = filters.redis_nodes(ctx.data)
    port = r["port"]
    host_of = {f"{n['address']}:{port}": n["host"] for n in nodes}
    tables: dict[str, list[dict]] = {}
    for n in nodes:
        host = n["host"]
        try:
            client = admin(ctx, n["address"])
            info = parse_info(client.execute_command("CLUSTER", "INFO"))
            table = parse_nodes(client.execute_command("CLUSTER", "NODES"))
            config = {k: v for key in ("appendonly", "appendfsync", "maxmemory", "maxmemory-policy",
                                       "cluster-node-timeout", "save") for k, v in client.config_get(key).items()}
        except redis.RedisError as exc:
            yield Check(C, f"{host} reachable with {r['admin_user']}'s credentials", "yes",
                        f"{type(exc).__name__}: {exc}", ok=False)
            continue
        tables[host] = table
        me = next(x for x in table if "myself" in x["flags"])
        by_id = {x["id"]: host_of.get(x["endpoint"], x["endpoint"]) for x in table}
        yield Check(C, f"{host} cluster_state", "ok", info.get("cluster_state"))
        yield Check(C, f"{host} slots covered", SLOTS, int(info.get("cluster_slots_ok", 0)))
        yield Check(C, f"{host} known nodes", len(nodes), int(info.get("cluster_known_nodes", 0)))
        live_role = "replica" if "slave" in me["flags"] else "master"
        yield Check(C, f"{host} role", n["role"], live_role)
        if n["role"] == "replica":
            yield Check(C, f"{host} replicates", n["master"], by_id.get(me["master"]) if me["master"] else None)
        persistence = r["persistence"]
        yield Check(C, f"{host} appendonly", "yes" if persistence["aof"] else "no", config.get("appendonly"))
        yield Check(C, f"{host} appendfsync", persistence["aof_fsync"], config.get("appendfsync"))
        yield Check(C, f"{host} save", " ".join(f"{s} {c}" for s, c in persistence["rdb_save"]), config.get("save"))
        yield Check(C, f"{host} maxmemory", r["maxmemory"], int(config.get("maxmemory", -1)))
        yield Check(C, f"{host} maxmemory-policy", r["maxmemory_policy"], config.get("maxmemory-policy"))
        yield Check(C, f"{host} cluster-node-timeout", r["node_timeout"], int(config.get("cluster-node-timeout", -1)))
        yield Check(C, f"{host} unauthenticated client", "refused", unauthenticated(ctx, n["address"]))

    if not tables:
        return
    # The cluster as one node sees it (every node was checked to agree on its state above).
    table = next(iter(tables.values()))
    by_id = {x["id"]: host_of.get(x["endpoint"], x["endpoint"]) for x in table}
    masters = [x for x in table if "master" in x["flags"] and x["slots"]]
    yield Check(C, "masters holding slots", len(r["shards"]), len(masters))
    live_shards = {by_id[m["id"]]: sorted(by_id[x["id"]] for x in table if x["master"] == m["id"]) for m in masters}
    for shard in r["shards"]:
        yield Check(C, f"shard of {shard['master']}: replicas", sorted(shard["replicas"]),
                    live_shards.get(shard["master"], "not a master"))
