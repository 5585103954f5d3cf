"""The outbox relay: publishes unsent outbox rows to Kafka and marks them sent.

One round: lock a batch of unsent rows (FOR UPDATE SKIP LOCKED, so several relays share the
work), produce each (key = process/instance id, header event_id), wait until every delivery is
decided (acked by all in-sync replicas, or failed after message.timeout.ms), mark the acked rows
sent, commit. A failed row stays unsent and goes out in a later round: a Kafka outage delays
events, never loses them. A relay that dies after Kafka acked but before the commit republishes
those rows: consumers drop them by event_id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from sqlalchemy import Engine, delete, func, select, update

from . import metrics
from .kafka import make_producer
from .models import IdempotencyKey, OutboxEvent
from .settings import Settings

log = logging.getLogger("flowmaster.relay")

HOUSEKEEPING_EVERY = 60.0  # seconds between deletes of old sent events and expired idempotency keys


class Relay:
    def __init__(self, settings: Settings, engine: Engine, producer_factory: Callable[[], Producer] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self._factory = producer_factory or (lambda: make_producer(settings))
        self._producer: Producer | None = None
        self._fatal = False
        self.wake = threading.Event()
        self.stop = threading.Event()
        self._last_housekeeping = 0.0

    @property
    def producer(self) -> Producer:
        if self._producer is None or self._fatal:
            if self._producer is not None:
                log.warning("replacing the Kafka producer")
                self._producer.flush(0)
            self._producer = self._factory()
            self._fatal = False
        return self._producer

    def run_once(self) -> int:
        """Publish one batch; the number of events marked sent."""
        topics = self.settings.kafka_topics
        with self.engine.connect() as conn, conn.begin():
            rows = conn.execute(
                select(
                    OutboxEvent.id,
                    OutboxEvent.event_id,
                    OutboxEvent.topic,
                    OutboxEvent.key,
                    OutboxEvent.event_type,
                    OutboxEvent.payload,
                )
                .where(OutboxEvent.sent_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self.settings.relay_batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            producer = self.producer
            results: dict[int, KafkaError | None] = {}

            def report(row_id: int) -> Callable[[KafkaError | None, Any], None]:
                def cb(err: KafkaError | None, _msg: Any) -> None:
                    results[row_id] = err
                    if err is not None and err.fatal():
                        self._fatal = True

                return cb

            refused: KafkaException | None = None
            for row in rows:
                value = json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode()
                headers = [("event_id", str(row.event_id).encode()), ("event_type", row.event_type.encode())]
                try:
                    self._produce(producer, topics[row.topic], value, row.key.encode(), headers, report(row.id))
                except KafkaException as exc:
                    # Refused before queueing (e.g. "unknown topic" from metadata taken while the
                    # brokers restarted): stop here so later events of the same key do not
                    # overtake this one; it and the rest go in a later round.
                    refused = exc
                    break
            # Wait until every delivery is decided, so a failed row is never still queued when
            # the next round produces it again.
            producer.flush(self.settings.relay_delivery_timeout + 5)
            sent = [row_id for row_id, err in results.items() if err is None]
            failed = [err for err in results.values() if err is not None]
            if sent:
                conn.execute(update(OutboxEvent).where(OutboxEvent.id.in_(sent)).values(sent_at=func.now()))
        metrics.OUTBOX_PUBLISHED.inc(len(sent))
        if failed:
            metrics.OUTBOX_FAILED.inc(len(failed))
            log.warning("outbox events not delivered; they stay queued", extra={"failed": len(failed), "error": str(failed[0])})
        if refused is not None:
            # librdkafka keeps a topic it was told is unknown until its next full metadata refresh
            # (minutes): a new producer asks the brokers again at once.
            self._fatal = True
            log.warning("Kafka refused an event; the relay starts a new producer", extra={"error": str(refused)})
        return len(sent)

    @staticmethod
    def _produce(
        producer: Producer,
        topic: str,
        value: bytes,
        key: bytes,
        headers: list[tuple[str, bytes]],
        on_delivery: Callable[[KafkaError | None, Any], None],
    ) -> None:
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
                return
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))).scalar_one()

    def housekeeping(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(OutboxEvent).where(
                    OutboxEvent.sent_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, self.settings.outbox_retention)
                )
            )
            conn.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.created_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, self.settings.idempotency_ttl)
                )
            )

    def run_forever(self) -> None:
        log.info("outbox relay started")
        while not self.stop.is_set():
            try:
                sent = self.run_once()
                if time.monotonic() - self._last_housekeeping > HOUSEKEEPING_EVERY:
                    self._last_housekeeping = time.monotonic()
                    self.housekeeping()
                    metrics.OUTBOX_PENDING.set(self.pending())
            except Exception:
                log.exception("outbox relay round failed; retrying")
                sent = 0
                self.stop.wait(self.settings.relay_poll_interval * 5)
            if sent < self.settings.relay_batch_size:
                # Nothing (more) to send: sleep until a commit wakes us or the poll interval ends.
                self.wake.wait(self.settings.relay_poll_interval)
                self.wake.clear()
        if self._producer is not None:
            self._producer.flush(5)
        log.info("outbox relay stopped")

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="outbox-relay", daemon=True)
        thread.start()
        return thread
