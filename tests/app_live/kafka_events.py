"""Read the service's events back from Kafka as the `flowmaster` SCRAM user.

Partitions are assigned directly from offsets found by timestamp: no consumer group, nothing
committed, so reading never disturbs other consumers.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from fmctl.verify.report import Context


@dataclass(frozen=True)
class Event:
    topic: str
    partition: int
    offset: int
    key: str
    headers: dict[str, str]
    payload: dict[str, Any]

    @property
    def id(self) -> str:
        return self.payload["event_id"]

    @property
    def type(self) -> str:
        return self.payload["event_type"]


def consumer(ctx: Context) -> Consumer:
    k = ctx.spec.kafka
    return Consumer({
        "bootstrap.servers": ",".join(f"{ctx.address(b.host)}:{k.port}" for b in k.brokers),
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": k.sasl_mechanism,
        "sasl.username": "flowmaster",
        "sasl.password": ctx.secret(k.users["flowmaster"].password),
        "group.id": f"fm-test-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",  # a partition without a usable offset is read from its start
        "logger": logging.getLogger("tests.kafka"),  # librdkafka's reconnect chatter into pytest's log capture
    })


def collect(
    ctx: Context,
    topics: list[str],
    since_ms: int,
    done: Callable[[list[Event]], bool],
    timeout: float = 90.0,
    keys: set[str] | None = None,
) -> list[Event]:
    """Events on `topics` written since `since_ms` (optionally only these record keys), read until
    done(events) holds or the timeout passes (the caller asserts on what arrived)."""
    c = consumer(ctx)
    try:
        deadline = time.monotonic() + timeout
        c.assign(_offsets_since(c, topics, since_ms, deadline))
        events: list[Event] = []
        while time.monotonic() < deadline and not done(events):
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                # Brokers restarting (the outage drill) report transport errors: keep reading.
                if msg.error().fatal():
                    raise RuntimeError(f"consume failed: {msg.error()}")
                continue
            key = msg.key().decode() if msg.key() else ""
            if keys is not None and key not in keys:
                continue
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            events.append(Event(msg.topic(), msg.partition(), msg.offset(), key, headers, json.loads(msg.value())))
        return events
    finally:
        c.close()


def _offsets_since(c: Consumer, topics: list[str], since_ms: int, deadline: float) -> list[TopicPartition]:
    """The first offset at or after since_ms of every partition. Right after brokers restart some
    partitions answer with an error (no leader yet): ask again until all answer, within the deadline."""
    while True:
        try:
            md = c.list_topics(timeout=30)
            wanted = [TopicPartition(t, p, since_ms) for t in topics for p in md.topics[t].partitions]
            found = c.offsets_for_times(wanted, timeout=30)
            if all(tp.error is None for tp in found) or time.monotonic() > deadline:
                return found
        except KafkaException:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def now_ms() -> int:
    return int(time.time() * 1000)
