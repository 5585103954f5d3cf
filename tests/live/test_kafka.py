"""Kafka, ZooKeeper, Connect and the schema registry of the live local platform.

Topic tests never edit environments/: they apply a scratch copy of the local
spec (tmp_path/local.yaml, extending a copy of base.yaml) with
`python -m fmctl.kafka_admin apply-topics`, the command the kafka_topics role runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from fmctl import filters
from fmctl.kafka_admin import admin_client, client_config, live_topics
from fmctl.paths import ENVIRONMENTS_DIR, REPO_ROOT
from fmctl.verify import run
from fmctl.verify.report import Context, drift

pytestmark = pytest.mark.live


def admin_password(ctx: Context) -> str:
    return ctx.secret(ctx.spec.kafka.users[filters.kafka_admin_user(ctx.data)].password)


def scratch_spec(tmp_path: Path, topics: dict) -> Path:
    """A copy of the local spec whose kafka.topics gain (or override) `topics`."""
    shutil.copy(ENVIRONMENTS_DIR / "base.yaml", tmp_path / "base.yaml")
    local = yaml.safe_load((ENVIRONMENTS_DIR / "local.yaml").read_text())
    local.setdefault("kafka", {}).setdefault("topics", {}).update(topics)
    path = tmp_path / "local.yaml"  # the file stem must be the spec's name
    path.write_text(yaml.safe_dump(local, sort_keys=False))
    return path


def apply_topics(ctx: Context, spec_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fmctl.kafka_admin", "apply-topics", "--env", str(spec_file)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=180,
                          env={**os.environ, "FM_KAFKA_PASSWORD": admin_password(ctx)})


@pytest.fixture
def scratch_topic(platform: Context):
    """A topic name that is in no spec; deleted afterwards."""
    name = f"fm_scratch_{uuid.uuid4().hex[:8]}"
    yield name
    admin = admin_client(platform.data, platform.secrets)
    if name in admin.list_topics(timeout=15).topics:
        admin.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


def test_verifier_finds_no_drift(platform: Context):
    checks = list(run(platform, ["kafka", "zookeeper"]))
    bad = drift(checks)
    assert not bad, "\n".join(f"{c.component} {c.name}: spec={c.spec} live={c.live}" for c in bad)
    names = {c.name for c in checks}
    assert "brokers registered" in names and "ensemble leaders" in names
    assert any(n.startswith("topic ") for n in names)


def test_produce_and_consume_with_scram(platform: Context, scratch_topic: str):
    k = platform.spec.kafka
    admin = admin_client(platform.data, platform.secrets)
    admin.create_topics([NewTopic(scratch_topic, 3, 2)])[scratch_topic].result(timeout=60)
    user = "flowmaster"  # an application user, not the superuser
    cfg = client_config(platform.data, user, platform.secret(k.users[user].password))
    marker = uuid.uuid4().hex
    producer = Producer({**cfg, "acks": "all"})
    delivered: list = []
    for i in range(10):
        producer.produce(scratch_topic, key=str(i), value=f"{marker}-{i}", on_delivery=lambda e, m: delivered.append(e))
    assert producer.flush(60) == 0
    assert delivered == [None] * 10

    consumer = Consumer({**cfg, "group.id": f"test-{marker}", "auto.offset.reset": "earliest"})
    consumer.subscribe([scratch_topic])
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    try:
        while len(seen) < 10 and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                seen.add(msg.value().decode())
    finally:
        consumer.close()
    assert seen == {f"{marker}-{i}" for i in range(10)}


@pytest.mark.parametrize("how", ["no SASL login", "wrong password"])
def test_unauthenticated_client_is_refused(platform: Context, how: str):
    if how == "no SASL login":
        cfg = {"bootstrap.servers": filters.kafka_bootstrap(platform.data), "security.protocol": "PLAINTEXT", "log_level": 0}
    else:
        cfg = client_config(platform.data, "flowmaster", "not-the-password")
    with pytest.raises(KafkaException):
        AdminClient(cfg).list_topics(timeout=5)


def test_zookeeper_refuses_a_client_without_sasl(platform: Context):
    from fmctl.verify.zookeeper import unauthenticated_refused

    node = filters.zookeeper_nodes(platform.data)[0]
    assert unauthenticated_refused(node["address"], platform.spec.kafka.zookeeper.client_port).startswith("refused")


def test_topics_refuse_to_lower_partitions(platform: Context, tmp_path: Path):
    name, topic = next(iter(platform.spec.kafka.topics.items()))
    admin = admin_client(platform.data, platform.secrets)
    before = live_topics(admin, [name])[name].partitions
    lowered = {**topic.model_dump(mode="json"), "partitions": before - 1}
    lowered["retention"] = f"{topic.retention}ms"
    proc = apply_topics(platform, scratch_spec(tmp_path, {name: lowered}))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"kafka.topics.{name}.partitions: {before - 1} < {before} live" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert live_topics(admin, [name])[name].partitions == before


def test_raising_retention_of_a_scratch_topic_is_applied(platform: Context, tmp_path: Path, scratch_topic: str):
    admin = admin_client(platform.data, platform.secrets)
    base = {"partitions": 2, "replication_factor": 2, "min_insync_replicas": 1}
    first = apply_topics(platform, scratch_spec(tmp_path, {scratch_topic: {**base, "retention": "1h"}}))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["changed"] is True
    assert live_topics(admin, [scratch_topic])[scratch_topic].configs["retention.ms"] == "3600000"

    raised = apply_topics(platform, scratch_spec(tmp_path, {scratch_topic: {**base, "retention": "2h", "partitions": 3}}))
    assert raised.returncode == 0, raised.stderr
    report = json.loads(raised.stdout)
    assert report["changed"] is True
    assert f"topic {scratch_topic}: retention.ms 3600000 -> 7200000" in report["changes"]
    live = live_topics(admin, [scratch_topic])[scratch_topic]
    assert live.configs["retention.ms"] == "7200000" and live.partitions == 3

    again = apply_topics(platform, scratch_spec(tmp_path, {scratch_topic: {**base, "retention": "2h", "partitions": 3}}))
    assert json.loads(again.stdout) == {"changed": False, "changes": [], "errors": []}


def test_schema_registry_registers_and_serves_a_schema(platform: Context):
    sr = platform.spec.kafka.schema_registry
    url = f"http://{platform.address(sr.hosts[0])}:{sr.port}"
    auth = ("admin", admin_password(platform))
    assert requests.get(f"{url}/subjects", timeout=10).status_code == 401
    subject = f"fm-test-{uuid.uuid4().hex[:8]}-value"
    schema = {"type": "record", "name": "Probe", "fields": [{"name": "id", "type": "string"}]}
    r = requests.post(f"{url}/subjects/{subject}/versions", json={"schema": json.dumps(schema)}, auth=auth, timeout=30)
    assert r.status_code == 200, r.text
    schema_id = r.json()["id"]
    assert subject in requests.get(f"{url}/subjects", auth=auth, timeout=10).json()
    latest = requests.get(f"{url}/subjects/{subject}/versions/latest", auth=auth, timeout=10).json()
    assert latest["id"] == schema_id and json.loads(latest["schema"]) == schema


def test_connect_worker_needs_a_login(platform: Context):
    c = platform.spec.kafka.connect
    url = f"http://{platform.address(c.workers[0])}:{c.port}/connectors"
    assert requests.get(url, timeout=10).status_code == 401
    r = requests.get(url, auth=(c.user, platform.secret(platform.spec.kafka.users[c.user].password)), timeout=10)
    assert r.status_code == 200 and isinstance(r.json(), list)


@pytest.mark.slow
def test_rolling_restart_keeps_acks_all_writes_flowing(platform: Context, scratch_topic: str):
    """Change a broker setting through the role: brokers restart one at a time behind the health
    gate while a producer writes with acks=all; every write is acknowledged, and the
    cluster is whole afterwards. The setting is then put back (a second rolling restart)."""
    from fmctl.cli import run_playbook

    admin = admin_client(platform.data, platform.secrets)
    admin.create_topics([NewTopic(scratch_topic, 3, 3, config={"min.insync.replicas": "2"})])[scratch_topic].result(60)
    cfg = client_config(platform.data, "flowmaster", platform.secret(platform.spec.kafka.users["flowmaster"].password))
    producer = Producer({**cfg, "acks": "all", "enable.idempotence": True, "delivery.timeout.ms": 120000})
    errors: list = []
    sent = 0

    def write_batch() -> None:
        nonlocal sent
        for _ in range(50):
            producer.produce(scratch_topic, value=str(sent).encode(), on_delivery=lambda e, m: e and errors.append(e))
            sent += 1
        producer.poll(0)

    baseline = run_playbook("local", "site.yml", True, ["--tags", "kafka"])  # from the spec's state, whatever it was
    assert baseline["rc"] == 0, baseline["log"]
    override = json.dumps({"kafka_properties_overrides": {"log.cleaner.threads": 2}})
    for extra in (["-e", override], []):  # change, then put back
        write_batch()
        result = run_playbook("local", "site.yml", True, ["--tags", "kafka", *extra])
        assert result["rc"] == 0 and result["failed"] == 0, result["log"]
        log = Path(result["log"]).read_text()
        restarts = [line for line in log.splitlines() if line.startswith("TASK [Restart kafka-")]
        assert len(restarts) == len(platform.spec.kafka.brokers), "every broker restarted, one task each"
        write_batch()
    assert producer.flush(120) == 0
    assert errors == []
    assert not drift(list(run(platform, ["kafka"])))
