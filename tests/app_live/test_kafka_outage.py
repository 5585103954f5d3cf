"""Drill (slow): every Kafka broker stops while instances run; no event is lost.

Instances start and complete while the brokers are down (the API does not need Kafka: events wait
in the outbox, committed with the changes). The drill runs a service whose relay gives up on a
delivery after 5 s and keeps the brokers down until that relay has seen deliveries fail (its
metric says so): the failed events must stay queued. The brokers come back; the relays publish
the backlog; every outbox event of these instances is then read from Kafka by its event id.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from fmctl.verify.report import Context
from tests.live.clients import kafka_admin

from .conftest import Api, Org, Published, Service, start_service
from .kafka_events import collect, end_offsets
from .test_process_lifecycle import outbox_events

pytestmark = [pytest.mark.live, pytest.mark.slow]

RECOVERY_TIMEOUT = 300.0


def brokers(ctx: Context) -> list[str]:
    return [f"fm-kafka-{b.host}" for b in ctx.spec.kafka.brokers]


def supervisorctl(*args: str) -> str:
    proc = subprocess.run(["supervisorctl", *args], capture_output=True, text=True, timeout=180)
    return proc.stdout + proc.stderr


def all_partitions_led(admin: AdminClient, topics: list[str]) -> bool:
    try:
        md = admin.list_topics(timeout=10)
    except Exception:  # brokers still starting
        return False
    return all(t in md.topics and md.topics[t].partitions and all(p.leader >= 0 for p in md.topics[t].partitions.values())
               for t in topics)


def unsent(ctx: Context, keys: list[str]) -> int:
    import psycopg

    p = ctx.spec.postgresql
    db = ctx.spec.app.process_database
    owner = p.databases[db].owner
    with psycopg.connect(host=ctx.address(p.pgbouncer.host), port=p.pgbouncer.port, dbname=db, user=owner,
                         password=ctx.secret(p.role_passwords[owner]), prepare_threshold=None, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE key = ANY(%s) AND sent_at IS NULL", (keys,)).fetchone()[0]


@pytest.fixture
def quick_relay(base_env: dict[str, str], tmp_path: Path) -> Iterator[Service]:
    svc = start_service({**base_env, "FM_RELAY_DELIVERY_TIMEOUT": "5s"}, tmp_path, "quick-relay")
    yield svc
    svc.stop()


def failed_deliveries(svc: Service) -> float:
    env = svc.env
    text = httpx.get(f"{svc.url}/metrics", auth=(env["FM_METRICS_USERNAME"], env["FM_METRICS_PASSWORD"]), timeout=10).text
    m = re.search(r"^flowmaster_outbox_failed_total (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def run_one(author: Api, approver: Api, pid: str, i: int) -> str:
    r = author.post("/api/v1/instances", json={"process_id": pid, "data": {"amount": 100 * i, "customerId": f"c-{i}"}})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = approver.post(f"/api/v1/instances/{iid}/user-tasks/review_order/complete", json={"data": {"approved": i % 2 == 0}})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    return iid


def test_a_kafka_outage_loses_no_event(
    platform: Context, org: Org, published: Published, quick_relay: Service
) -> None:
    author, approver = Api(quick_relay, org.users["author"]), Api(quick_relay, org.users["approver"])
    topics = sorted(platform.spec.kafka.topics)
    start = end_offsets(platform, topics)
    admin = kafka_admin(platform)
    assert all_partitions_led(admin, topics), "Kafka is not healthy before the drill"
    pid = published.process_id
    before = [run_one(author, approver, pid, i) for i in range(5)]
    during: list[str] = []
    try:
        out = supervisorctl("stop", *brokers(platform))
        assert "ERROR" not in out, out
        # The API keeps working: the changes and their events commit to PostgreSQL.
        during = [run_one(author, approver, pid, i) for i in range(5, 25)]
        assert unsent(platform, during) > 0, "events were marked sent while every broker was down"
        # Keep the brokers down until the relay has given up on some deliveries.
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while failed_deliveries(quick_relay) == 0:
            assert time.monotonic() < deadline, "the relay never reported a failed delivery"
            time.sleep(0.5)
        assert unsent(platform, during) > 0
    finally:
        supervisorctl("start", *brokers(platform))
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while not all_partitions_led(admin, topics):
        assert time.monotonic() < deadline, "Kafka did not recover"
        time.sleep(1)
    after = [run_one(author, approver, pid, i) for i in range(25, 30)]

    keys = before + during + after
    expected = outbox_events(platform, keys)
    assert len(expected) == 30 * 13  # 13 events per instance of the 3-step process
    seen = collect(platform, start, lambda evs: expected.keys() <= {e.id for e in evs}, timeout=RECOVERY_TIMEOUT,
                   keys=set(keys))
    missing = expected.keys() - {e.id for e in seen}
    assert not missing, f"{len(missing)} of {len(expected)} events lost: {sorted({expected[m]['event_type'] for m in missing})}"
    # The relay marks rows sent in the commit after Kafka's acks: consumers may see them first.
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while (left := unsent(platform, keys)) > 0:
        assert time.monotonic() < deadline, f"{left} events delivered but still marked unsent"
        time.sleep(0.5)
