"""Kafka clients of the service (SASL/SCRAM as the `flowmaster` user)."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Producer

from .settings import Settings


def client_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap.servers": ",".join(settings.kafka_bootstrap),
        "security.protocol": settings.kafka_security_protocol,
        "sasl.mechanism": settings.kafka_sasl_mechanism,
        "sasl.username": settings.kafka_username,
        "sasl.password": settings.kafka_password.get_secret_value(),
        # A TLS listener (Strimzi's on Kubernetes) is signed by the cluster's own CA.
        **({"ssl.ca.location": settings.kafka_ssl_ca_file} if settings.kafka_ssl_ca_file else {}),
        "logger": logging.getLogger("flowmaster.kafka"),  # librdkafka's own lines as JSON logs too
    }


def producer_config(settings: Settings, client_id: str = "flowmaster-outbox-relay") -> dict[str, Any]:
    return {
        **client_config(settings),
        "client.id": client_id,
        # Every in-sync replica has the event before it counts as sent; retries never duplicate
        # or reorder within a partition.
        "acks": "all",
        "enable.idempotence": True,
        "max.in.flight.requests.per.connection": 5,
        "message.timeout.ms": int(settings.relay_delivery_timeout * 1000),
        "linger.ms": 5,
        "compression.type": "lz4",
    }


def make_producer(settings: Settings, client_id: str = "flowmaster-outbox-relay") -> Producer:
    return Producer(producer_config(settings, client_id))


def check_topics(settings: Settings, producer: Producer) -> list[str]:
    """Topics of settings.kafka_topics the cluster does not have (raises if the cluster is unreachable)."""
    metadata = producer.list_topics(timeout=settings.kafka_timeout)
    return sorted(t for t in settings.kafka_topics.values() if t not in metadata.topics)
