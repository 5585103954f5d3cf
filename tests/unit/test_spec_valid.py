"""The four shipped environments validate and keep the production shape."""

from __future__ import annotations

import json

import pytest

from fmctl.render import spec_data
from fmctl.spec.loader import load_spec
from fmctl.spec.model import PlatformSpec

ENVS = ("local", "dev", "staging", "prod")
GiB = 1024**3
DAY_MS = 86_400_000

# WBS INF-001 "Topics to Create": name -> (partitions, replication factor, retention in days)
WBS_TOPICS = {
    "process_events": (5, 2, 7),
    "execution_events": (10, 2, 3),
    "human_task_events": (3, 2, 14),
    "agent_task_events": (5, 2, 7),
    "system_events": (3, 2, 30),
}


@pytest.fixture(scope="module", params=ENVS)
def spec(request) -> PlatformSpec:
    return load_spec(request.param).spec


@pytest.mark.parametrize("env", ENVS)
def test_shipped_environment_validates(env: str):
    loaded = load_spec(env)
    assert loaded.spec.name == env
    assert all(w.level == "warning" for w in loaded.warnings)
    assert loaded.sources[-1].name == f"{env}.yaml"
    assert loaded.sources[0].name == "base.yaml"


def test_kafka_production_shape(spec: PlatformSpec):
    k = spec.kafka
    assert len(k.brokers) == 3
    assert len({b.host for b in k.brokers}) == 3
    assert k.mode == "zookeeper"
    assert k.zookeeper is not None and len(k.zookeeper.nodes) == 3
    assert k.connect.workers and k.schema_registry.hosts


def test_wbs_topics(spec: PlatformSpec):
    topics = {name: (t.partitions, t.replication_factor, t.retention // DAY_MS) for name, t in spec.kafka.topics.items()}
    assert topics == WBS_TOPICS


def test_redis_production_shape(spec: PlatformSpec):
    r = spec.redis
    assert len(r.shards) == 3
    assert all(len(s.replicas) == 1 for s in r.shards)
    nodes = [h for s in r.shards for h in (s.master, *s.replicas)]
    assert len(nodes) == len(set(nodes)) == 6
    assert r.maxmemory_policy == "allkeys-lru"
    assert r.persistence.aof and r.persistence.rdb_save
    assert set(r.uses) == {"sessions", "cache", "rate_limits", "pubsub"}


def test_postgresql_production_shape(spec: PlatformSpec):
    pg = spec.postgresql
    assert pg.version == 15
    assert len(pg.standbys) == 1
    assert pg.standbys[0].host != pg.primary
    assert pg.max_connections == 200
    assert set(pg.databases) == {"flowmaster", "process_management", "human_tasks", "case_management", "analytics"}
    assert pg.backup.wal_archiving


def test_other_wbs_shapes(spec: PlatformSpec):
    a = spec.arangodb
    assert (a.coordinators, a.dbservers, a.agents) == (2, 3, 3)
    assert spec.vault.replicas == 3
    assert set(spec.vault.engines) == {"kv", "database", "pki", "transit"}
    assert spec.app.services["logging_console"].port == 9001


def test_prod_sizes_are_the_wbs_ones():
    prod = load_spec("prod").spec
    assert prod.redis.maxmemory == 4 * GiB
    local = load_spec("local").spec
    assert local.redis.maxmemory < prod.redis.maxmemory  # small envs override sizes, not shape


def test_json_dump_has_sizes_in_bytes_and_durations_in_ms():
    spec = load_spec("local").spec
    data = json.loads(spec.model_dump_json(by_alias=True))
    assert data["redis"]["maxmemory"] == 256 * 1024**2
    assert data["kafka"]["heap"] == 512 * 1024**2
    assert data["kafka"]["topics"]["system_events"]["retention"] == 30 * DAY_MS
    assert data["redis"]["node_timeout"] == 2000
    assert data["monitoring"]["alert_rules"]["TargetDown"]["for"] == 120_000
    # what templates and Ansible get is the same
    assert spec_data(spec)["redis"]["maxmemory"] == data["redis"]["maxmemory"]

