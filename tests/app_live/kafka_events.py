"""Read the service's events back from Kafka as the `flowmaster` SCRAM user.

A test notes every partition's end offset before it acts (`end_offsets`), then reads from there
(`collect`): whatever it caused has a higher offset, whatever happens to the brokers meanwhile.
Partitions are assigned directly: no consumer group, nothing committed, so reading never
disturbs other consumers.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from fmctl.kafka_admin import client_config
from fmctl.verify.report import Context

Offsets = dict[tuple[str, int], int]


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
    return Consumer(client_config(ctx.data, "flowmaster", ctx.secret(ctx.spec.kafka.users["flowmaster"].password), **{
        "group.id": f"fm-test-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        # librdkafka's reconnect chatter (default level) into pytest's log capture
        "log_level": 6,
        "logger": logging.getLogger("tests.kafka"),
    }))


def end_offsets(ctx: Context, topics: list[str]) -> Offsets:
    """Every partition's end offset now: where the events a test is about to cause will start."""
    c = consumer(ctx)
    try:
        md = c.list_topics(timeout=30)
        return {
            (t, p): c.get_watermark_offsets(TopicPartition(t, p), timeout=30)[1]
            for t in topics
            for p in md.topics[t].partitions
        }
    finally:
        c.close()


def collect(
    ctx: Context,
    start: Offsets,
    done: Callable[[list[Event]], bool],
    timeout: float = 90.0,
    keys: set[str] | None = None,
) -> list[Event]:
    """Events after the `start` offsets (optionally only these record keys), read until
    done(events) holds or the timeout passes (the caller asserts on what arrived)."""
    c = consumer(ctx)
    try:
        deadline = time.monotonic() + timeout
        c.assign([TopicPartition(t, p, offset) for (t, p), offset in sorted(start.items())])
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
