"""Kafka against the spec, through Kafka's AdminClient logged in as the admin:
registered brokers, each topic's partitions / replication factor / configs,
under-replicated and offline partitions, that a client without credentials is
refused, and that the Connect worker and the schema registry answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
from confluent_kafka.admin import AdminClient

from fmctl import filters
from fmctl.kafka_admin import admin_client, client_config, live_topics, topic_configs
from fmctl.verify.report import Check, Context

C = "kafka"


def unauthenticated_refused(spec_data: dict) -> str:
    """A client that offers no SASL login must get nothing out of the cluster."""
    cfg = client_config(spec_data, "", "")
    for key in ("sasl.mechanism", "sasl.username", "sasl.password"):
        cfg.pop(key)
    cfg["security.protocol"] = "PLAINTEXT"
    try:
        md = AdminClient(cfg).list_topics(timeout=5)
    except Exception as exc:  # KafkaException: transport failure / timeout
        return f"refused ({exc.args[0].name() if exc.args and hasattr(exc.args[0], 'name') else type(exc).__name__})"
    return f"accepted ({len(md.brokers)} brokers)"


def _http_user(ctx: Context, user: str) -> tuple[str, str]:
    return user, ctx.secret(ctx.data["kafka"]["users"][user]["password"])


def connect_checks(ctx: Context) -> Iterator[Check]:
    k = ctx.data["kafka"]
    auth = _http_user(ctx, filters.kafka_admin_user(ctx.data))
    for node in filters.connect_workers(ctx.data):
        url = f"http://{node['address']}:{k['connect']['port']}/"
        try:
            r = requests.get(url, auth=auth, timeout=10)
            live = f"{r.status_code} version {r.json().get('version')}" if r.ok else str(r.status_code)
            ok = r.ok and r.json().get("version") == k["version"]
        except (requests.RequestException, ValueError) as exc:
            live, ok = f"unreachable ({type(exc).__name__})", False
        yield Check(C, f"connect worker {node['host']} answers", f"200 version {k['version']}", live, ok=ok)
        try:
            anon = str(requests.get(url + "connectors", timeout=10).status_code)
        except requests.RequestException as exc:
            anon = f"unreachable ({type(exc).__name__})"
        yield Check(C, f"connect worker {node['host']} without login", "401", anon)


def schema_registry_checks(ctx: Context) -> Iterator[Check]:
    sr = ctx.data["kafka"]["schema_registry"]
    auth = _http_user(ctx, filters.kafka_admin_user(ctx.data))
    for host in sr["hosts"]:
        url = f"http://{ctx.address(host)}:{sr['port']}/subjects"
        try:
            r = requests.get(url, auth=auth, timeout=10)
            live = f"{r.status_code} {type(r.json()).__name__}" if r.ok else str(r.status_code)
        except (requests.RequestException, ValueError) as exc:
            live = f"unreachable ({type(exc).__name__})"
        yield Check(C, f"schema registry {host} GET /subjects", "200 list", live)


def checks(ctx: Context) -> Iterator[Check]:
    spec_topics = ctx.spec.kafka.topics
    admin = admin_client(ctx.data, ctx.secrets)
    md = admin.list_topics(timeout=15)
    yield Check(C, "brokers registered", sorted(b["id"] for b in filters.kafka_brokers(ctx.data)), sorted(md.brokers))

    live = live_topics(admin, list(spec_topics))
    for name, topic in spec_topics.items():
        t = live.get(name)
        if t is None:
            yield Check(C, f"topic {name}", "present", "missing")
            continue
        yield Check(C, f"topic {name} partitions", topic.partitions, t.partitions)
        yield Check(C, f"topic {name} replication factor", topic.replication_factor, t.replication_factor)
        for key, want in topic_configs(topic).items():
            yield Check(C, f"topic {name} {key}", want, t.configs.get(key))

    everything = live_topics(admin, [n for n in md.topics])  # internal topics too
    yield Check(C, "under-replicated partitions", 0, sum(t.under_replicated for t in everything.values()))
    yield Check(C, "offline partitions", 0, sum(t.offline for t in everything.values()))
    for kind, name in filters.connect_topics(ctx.data).items():
        t = everything.get(name)
        yield Check(C, f"connect {kind} topic replication factor", ctx.spec.kafka.connect.storage_replication_factor,
                    t.replication_factor if t else "missing")
    refused = unauthenticated_refused(ctx.data)
    yield Check(C, "client without SASL login", "refused", refused, ok=refused.startswith("refused"))
    yield from connect_checks(ctx)
    yield from schema_registry_checks(ctx)
