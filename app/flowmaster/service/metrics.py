"""Prometheus metrics of the service (exposed on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("flowmaster_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "flowmaster_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
INSTANCES = Counter("flowmaster_instances_total", "Process instance transitions", ["event"])
OUTBOX_PUBLISHED = Counter("flowmaster_outbox_published_total", "Outbox events acknowledged by Kafka")
OUTBOX_FAILED = Counter("flowmaster_outbox_failed_total", "Outbox deliveries that failed (retried later)")
OUTBOX_PENDING = Gauge("flowmaster_outbox_pending", "Unsent outbox events (the API reads them at each scrape)")
OUTBOX_OLDEST = Gauge("flowmaster_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox event, 0 when none")
RATE_LIMITED = Counter("flowmaster_rate_limited_total", "Requests refused by the rate limit")
