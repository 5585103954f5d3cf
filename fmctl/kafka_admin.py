"""Kafka administration through Kafka's AdminClient (confluent-kafka): read the
live topics, and make them match the spec.

Used by the kafka_topics role (`python -m fmctl.kafka_admin apply-topics`) and
by the verifier. Read before write: every change is planned from what the
cluster reports, only real differences are written, and `changed` says so.
A plan that would lower a partition count or change a replication factor is
refused whole, before anything is written; no topic is ever deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from fmctl import filters
from fmctl.spec.invariants import Finding, check_against_live
from fmctl.spec.model import KafkaTopic, PlatformSpec

# Topic configs the spec owns, and how a spec topic spells them.
MANAGED_CONFIGS = ("retention.ms", "min.insync.replicas", "cleanup.policy")


def topic_configs(topic: KafkaTopic) -> dict[str, str]:
    return {
        "retention.ms": str(topic.retention),
        "min.insync.replicas": str(topic.min_insync_replicas),
        "cleanup.policy": topic.cleanup_policy,
    }


def client_config(spec_data: dict, username: str, password: str, **extra: object) -> dict:
    """librdkafka settings for a SASL/SCRAM client of the spec's cluster."""
    return {
        "bootstrap.servers": filters.kafka_bootstrap(spec_data),
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": spec_data["kafka"]["sasl_mechanism"],
        "sasl.username": username,
        "sasl.password": password,
        "log_level": 0,  # failures surface as exceptions, not as stderr noise
        **extra,
    }


def admin_client(spec_data: dict, secrets: dict[str, str], username: str | None = None) -> AdminClient:
    """An AdminClient logged in as `username` (default: the spec's admin superuser)."""
    user = username or filters.kafka_admin_user(spec_data)
    password = secrets[spec_data["kafka"]["users"][user]["password"]]
    return AdminClient(client_config(spec_data, user, password))


@dataclass
class LiveTopic:
    partitions: int
    replication_factor: int
    configs: dict[str, str]
    under_replicated: int  # partitions whose ISR is smaller than their replica set
    offline: int  # partitions without a leader


def live_topics(admin: AdminClient, names: list[str] | None = None, timeout: float = 15) -> dict[str, LiveTopic]:
    """The cluster's view of its topics (all non-internal ones, or `names`)."""
    md = admin.list_topics(timeout=timeout)
    wanted = [n for n in md.topics if not n.startswith("__")] if names is None else [n for n in names if n in md.topics]
    configs: dict[str, dict[str, str]] = {}
    if wanted:
        futures = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, n) for n in wanted])
        for res, fut in futures.items():
            configs[res.name] = {k: v.value for k, v in fut.result(timeout=timeout).items()}
    out = {}
    for name in wanted:
        t = md.topics[name]
        if t.error is not None:
            raise KafkaException(t.error)
        parts = t.partitions.values()
        out[name] = LiveTopic(
            partitions=len(t.partitions),
            replication_factor=max((len(p.replicas) for p in parts), default=0),
            configs=configs.get(name, {}),
            under_replicated=sum(1 for p in parts if len(p.isrs) < len(p.replicas)),
            offline=sum(1 for p in parts if p.leader < 0),
        )
    return out


@dataclass
class Plan:
    create: dict[str, KafkaTopic] = field(default_factory=dict)
    partitions: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (live, spec)
    configs: dict[str, dict[str, tuple[str | None, str]]] = field(default_factory=dict)  # name -> key -> (live, spec)
    errors: list[Finding] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.partitions or self.configs)

    def describe(self) -> list[str]:
        lines = [f"create topic {n}: {t.partitions} partitions x {t.replication_factor} replicas"
                 for n, t in self.create.items()]
        lines += [f"topic {n}: partitions {live} -> {want}" for n, (live, want) in self.partitions.items()]
        lines += [f"topic {n}: {k} {live} -> {want}" for n, ch in self.configs.items() for k, (live, want) in ch.items()]
        return lines


def plan_topics(spec: PlatformSpec, live: dict[str, LiveTopic]) -> Plan:
    """What must change for the cluster's topics to match the spec (read before write)."""
    plan = Plan()
    plan.errors += check_against_live(spec, {n: t.partitions for n, t in live.items()})
    for name, topic in spec.kafka.topics.items():
        current = live.get(name)
        if current is None:
            plan.create[name] = topic
            continue
        if current.replication_factor != topic.replication_factor:
            plan.errors.append(Finding("error", f"kafka.topics.{name}.replication_factor",
                                       f"{topic.replication_factor} != {current.replication_factor} live: changing a "
                                       "replication factor needs a partition reassignment, which is not automated; "
                                       "keep the live value or reassign by hand"))
        if topic.partitions > current.partitions:
            plan.partitions[name] = (current.partitions, topic.partitions)
        changes = {k: (current.configs.get(k), v) for k, v in topic_configs(topic).items() if current.configs.get(k) != v}
        if changes:
            plan.configs[name] = changes
    return plan


def _wait_for_topics(admin: AdminClient, names: list[str], timeout: float) -> None:
    """Created topics are visible with a leader for every partition (bounded poll)."""
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(timeout=timeout)
        ready = all(n in md.topics and md.topics[n].error is None and md.topics[n].partitions
                    and all(p.leader >= 0 for p in md.topics[n].partitions.values()) for n in names)
        if ready:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not ready after {timeout:.0f}s: {', '.join(names)}")
        time.sleep(0.5)


def apply_plan(admin: AdminClient, plan: Plan, timeout: float = 60) -> None:
    """Write the plan. Refuses (raises) when the plan carries an error: nothing is written then."""
    if plan.errors:
        raise ValueError("\n".join(str(e) for e in plan.errors))
    if plan.create:
        new = [NewTopic(n, num_partitions=t.partitions, replication_factor=t.replication_factor, config=topic_configs(t))
               for n, t in plan.create.items()]
        for fut in admin.create_topics(new, operation_timeout=timeout).values():
            fut.result(timeout=timeout)
        _wait_for_topics(admin, list(plan.create), timeout)
    if plan.partitions:
        futures = admin.create_partitions([NewPartitions(n, want) for n, (_, want) in plan.partitions.items()],
                                          operation_timeout=timeout)
        for fut in futures.values():
            fut.result(timeout=timeout)
    if plan.configs:
        resources = [
            ConfigResource(ConfigResource.Type.TOPIC, n, incremental_configs=[
                ConfigEntry(k, want, incremental_operation=AlterConfigOpType.SET) for k, (_, want) in ch.items()])
            for n, ch in plan.configs.items()
        ]
        for fut in admin.incremental_alter_configs(resources).values():
            fut.result(timeout=timeout)


def apply_topics(spec: PlatformSpec, admin: AdminClient, check_only: bool = False) -> dict:
    """Bring the cluster's topics to the spec; a JSON-able report with `changed`."""
    live = live_topics(admin, list(spec.kafka.topics))
    plan = plan_topics(spec, live)
    report = {"changed": False, "changes": plan.describe(), "errors": [str(e) for e in plan.errors]}
    if plan.errors or plan.empty or check_only:
        return report
    apply_plan(admin, plan)
    report["changed"] = True
    return report


def read_topic(spec_data: dict, secrets: dict[str, str], topic: str, key: str | None = None, limit: int = 1000,
               timeout: float = 30) -> Iterator[dict]:
    """The records of `topic` from its first offset to the end it had when called (optionally only
    one key), as dicts; values that are JSON come back parsed. Assigns partitions itself and commits
    nothing, so it never disturbs a consumer group. TimeoutError when the cluster does not answer."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    user = filters.kafka_admin_user(spec_data)
    consumer = Consumer(client_config(spec_data, user, secrets[spec_data["kafka"]["users"][user]["password"]],
                                      **{"group.id": f"fmctl-events-{os.getpid()}", "enable.auto.commit": False}))
    try:
        try:
            md = consumer.list_topics(topic, timeout=timeout)
        except KafkaException as exc:
            raise TimeoutError(f"Kafka did not answer within {timeout:g} s: {exc}") from None
        ends = {}
        for p in md.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        shown, deadline = 0, time.monotonic() + timeout
        while ends and shown < limit:
            msg = consumer.poll(1.0)
            if msg is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic}: no record within {timeout:g} s before the end offsets")
                continue
            if msg.error():
                raise KafkaException(msg.error())
            deadline = time.monotonic() + timeout
            if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                ends.pop(msg.partition(), None)
            record_key = msg.key().decode() if msg.key() is not None else None
            if key is not None and record_key != key:
                continue
            raw = msg.value()
            try:
                value = json.loads(raw) if raw is not None else None
            except ValueError:
                value = raw.decode(errors="replace")
            shown += 1
            yield {"topic": topic, "partition": msg.partition(), "offset": msg.offset(), "key": record_key, "value": value}
    finally:
        consumer.close()


def _main(argv: list[str] | None = None) -> int:
    from fmctl import secrets
    from fmctl.render import spec_data
    from fmctl.spec.loader import SpecError, load_spec

    parser = argparse.ArgumentParser(prog="python -m fmctl.kafka_admin", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("apply-topics", help="make the cluster's topics match the spec")
    p.add_argument("--env", default="local", help="environment name or spec file")
    p.add_argument("--check", action="store_true", help="only report what would change")
    args = parser.parse_args(argv)

    try:
        spec = load_spec(args.env).spec
    except SpecError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    data = spec_data(spec)
    user = filters.kafka_admin_user(data)
    # The role passes the admin's password in the environment; by hand it is resolved here.
    password = os.environ.get("FM_KAFKA_PASSWORD") or secrets.resolve(spec)[spec.kafka.users[user].password]
    admin = AdminClient(client_config(data, user, password))
    report = apply_topics(spec, admin, check_only=args.check)
    print(json.dumps(report, indent=2))
    if report["errors"]:
        print("refused, nothing was changed:\n" + "\n".join(report["errors"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
