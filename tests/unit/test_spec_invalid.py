"""A catalogue of bad specs: each is a shipped environment with one small mistake.

Every case asserts the exact field path of the finding and a key phrase of its
reason, and that nothing else is reported (no noise around the real mistake).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fmctl.paths import ENVIRONMENTS_DIR
from fmctl.spec.invariants import Finding, check_against_live
from fmctl.spec.loader import SpecError, load_spec, read_raw, validate_mapping

RAW = {env: read_raw(ENVIRONMENTS_DIR / f"{env}.yaml")[0] for env in ("local", "prod")}

Mutation = Callable[[dict], None]


def _walk(data: dict, path: tuple) -> tuple[object, object]:
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    return node, last


def set_(*path: object, value: object) -> Mutation:
    def mutate(data: dict) -> None:
        node, last = _walk(data, path)
        node[last] = value
    return mutate


def delete(*path: object) -> Mutation:
    def mutate(data: dict) -> None:
        node, last = _walk(data, path)
        del node[last]
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict) -> None:
        for m in mutations:
            m(data)
    return mutate


def errors_of(env: str, mutate: Mutation) -> list[Finding]:
    data = copy.deepcopy(RAW[env])
    mutate(data)
    with pytest.raises(SpecError) as info:
        validate_mapping(data, env_name=env)
    assert all(f.level == "error" for f in info.value.findings)
    return info.value.findings


def accepted(env: str, mutate: Mutation):
    data = copy.deepcopy(RAW[env])
    mutate(data)
    return validate_mapping(data, env_name=env)


@dataclass(frozen=True)
class Bad:
    id: str
    mutate: Mutation
    path: str  # the exact field path of the finding
    phrase: str  # a key phrase of its reason
    env: str = "local"
    also: frozenset[str] = field(default_factory=frozenset)  # other paths the same mistake rightly reports


def bad(id: str, mutate: Mutation, path: str, phrase: str, env: str = "local", also: tuple[str, ...] = ()) -> Bad:
    return Bad(id, mutate, path, phrase, env, frozenset(also))


EXTRA_PG_HOST = set_("hosts", "pg-3", value={"address": "127.0.4.3", "machine": "this-machine"})
ZK_TO_KRAFT = both(
    set_("kafka", "mode", value="kraft"),
    set_("kafka", "kraft", value={"heap": "256MiB", "controllers": [{"id": 11, "host": "zk-1"}, {"id": 12, "host": "zk-2"}]}),
)

CATALOGUE = [
    # ---------------------------------------------------------------- kafka
    bad("topic-rf-above-brokers", set_("kafka", "topics", "execution_events", "replication_factor", value=4),
        "kafka.topics.execution_events.replication_factor", "4 > 3 brokers"),
    bad("prod-topic-rf-above-brokers", set_("kafka", "topics", "system_events", "replication_factor", value=5),
        "kafka.topics.system_events.replication_factor", "5 > 3 brokers", env="prod"),
    bad("default-rf-above-brokers", set_("kafka", "default_replication_factor", value=4),
        "kafka.default_replication_factor", "4 > 3 brokers"),
    bad("offsets-rf-above-brokers", set_("kafka", "internal_topics", "offsets_replication_factor", value=4),
        "kafka.internal_topics.offsets_replication_factor", "4 > 3 brokers"),
    bad("transaction-rf-above-brokers", set_("kafka", "internal_topics", "transaction_state_replication_factor", value=4),
        "kafka.internal_topics.transaction_state_replication_factor", "4 > 3 brokers"),
    bad("transaction-min-isr-above-its-rf", set_("kafka", "internal_topics", "transaction_state_min_isr", value=4),
        "kafka.internal_topics.transaction_state_min_isr", "transactions could never commit"),
    bad("connect-storage-rf-above-brokers", set_("kafka", "connect", "storage_replication_factor", value=5),
        "kafka.connect.storage_replication_factor", "5 > 3 brokers"),
    bad("schema-registry-rf-above-brokers", set_("kafka", "schema_registry", "topic_replication_factor", value=5),
        "kafka.schema_registry.topic_replication_factor", "5 > 3 brokers"),
    bad("min-insync-equals-rf-unaccepted", set_("kafka", "topics", "process_events", "min_insync_replicas", value=2),
        "kafka.topics.process_events.min_insync_replicas", "losing one replica stops acks=all writes"),
    bad("min-insync-above-rf", set_("kafka", "topics", "human_task_events", "min_insync_replicas", value=3),
        "kafka.topics.human_task_events.min_insync_replicas", "3 > replication_factor 2"),
    bad("broker-min-insync-above-default-rf", set_("kafka", "min_insync_replicas", value=3),
        "kafka.min_insync_replicas", "acks=all writes would always fail"),
    bad("topic-partitions-zero", set_("kafka", "topics", "agent_task_events", "partitions", value=0),
        "kafka.topics.agent_task_events.partitions", "greater than or equal to 1"),
    bad("even-zookeeper-ensemble", delete("kafka", "zookeeper", "nodes", 2),
        "kafka.zookeeper.nodes", "2 nodes: an ensemble needs an odd count"),
    bad("duplicate-zookeeper-id", set_("kafka", "zookeeper", "nodes", 2, "id", value=1),
        "kafka.zookeeper.nodes", "node ids must be unique"),
    bad("zookeeper-mode-without-zookeeper", delete("kafka", "zookeeper"),
        "kafka.zookeeper", "required when kafka.mode is zookeeper"),
    bad("kraft-mode-without-kraft", set_("kafka", "mode", value="kraft"),
        "kafka.kraft", "required when kafka.mode is kraft"),
    bad("even-kraft-quorum", ZK_TO_KRAFT, "kafka.kraft.controllers", "2 controllers: a quorum needs an odd count"),
    bad("kraft-controller-id-differs-from-its-broker",
        both(set_("kafka", "mode", value="kraft"),
             set_("kafka", "kraft", value={"heap": "256MiB", "controllers": [
                 {"id": 7, "host": "kafka-1"}, {"id": 2, "host": "kafka-2"}, {"id": 3, "host": "kafka-3"}]})),
        "kafka.kraft.controllers[0].id", "shares host kafka-1 with broker 1"),
    bad("connect-user-unknown", set_("kafka", "connect", "user", value="etl"),
        "kafka.connect.user", "'etl' is not in kafka.users"),
    bad("schema-registry-user-unknown", delete("kafka", "users", "schema_registry"),
        "kafka.schema_registry.user", "'schema_registry' is not in kafka.users"),
    bad("unknown-kafka-mode", set_("kafka", "mode", value="raft"), "kafka.mode", "'zookeeper' or 'kraft'"),
    bad("duplicate-broker-id", set_("kafka", "brokers", 1, "id", value=1), "kafka.brokers", "broker id 1 is used 2 times"),
    bad("two-brokers-one-host", set_("kafka", "brokers", 1, "host", value="kafka-1"),
        "kafka.brokers", "host kafka-1 carries 2 brokers", also=("kafka.port", "kafka.jmx_port", "kafka.metrics_port")),
    bad("no-kafka-superuser", set_("kafka", "users", "admin", "superuser", value=False),
        "kafka.users", "at least one superuser"),
    bad("unknown-broker-host", set_("kafka", "brokers", 2, "host", value="kafka-9"),
        "kafka.brokers[2].host", "'kafka-9' is not in hosts"),
    bad("bad-kafka-version", set_("kafka", "version", value="3.9"), "kafka.version", "should match pattern"),
    # ---------------------------------------------------------------- redis
    bad("redis-two-masters", delete("redis", "shards", 2), "redis.shards", "2 masters: a Redis cluster needs at least 3"),
    bad("redis-master-without-replica", set_("redis", "shards", 0, "replicas", value=[]),
        "redis.shards[0].replicas", "every master needs at least 1 replica"),
    bad("redis-replica-on-master-host", set_("redis", "shards", 0, "replicas", value=["redis-1"]),
        "redis.shards[0].replicas[0]", "replica on its master's host redis-1",
        also=("redis.shards",)),  # ... which also puts two nodes on one host
    bad("redis-two-nodes-one-host", set_("redis", "shards", 1, "replicas", value=["redis-4"]),
        "redis.shards", "host redis-4 carries 2 Redis nodes", also=("redis.port", "redis.bus_port")),
    bad("redis-unknown-policy", set_("redis", "maxmemory_policy", value="lru"), "redis.maxmemory_policy", "allkeys-lru"),
    # ---------------------------------------------------------------- memory, hosts, ports
    bad("memory-budget-exceeded", set_("redis", "maxmemory", value="4GiB"),
        "machines.this-machine.memory", "> 20GiB budget"),
    bad("prod-host-memory-exceeded", set_("kafka", "heap", value="40GiB"),
        "hosts.kafka-1.memory", "placed on it > 32GiB budget", env="prod",
        also=("hosts.kafka-2.memory", "hosts.kafka-3.memory")),
    bad("host-without-memory-or-machine", set_("hosts", "app-1", value={"address": "127.0.7.1"}),
        "hosts.app-1", "give either `machine`"),
    bad("host-with-machine-and-memory", set_("hosts", "app-1", "memory", value="1GiB"),
        "hosts.app-1.memory", "takes its memory from machines"),
    bad("host-on-unknown-machine", set_("hosts", "app-1", "machine", value="other-box"),
        "hosts.app-1.machine", "'other-box' is not in machines"),
    bad("duplicate-host-address", set_("hosts", "kafka-2", "address", value="127.0.1.1"),
        "hosts.kafka-2.address", "127.0.1.1 is also the address of kafka-1"),
    bad("host-address-not-ip", set_("hosts", "kafka-2", "address", value="kafka-2.local"),
        "hosts.kafka-2.address", "valid IPv4 address"),
    bad("duplicate-port-one-component", set_("kafka", "jmx_port", value=9092),
        "kafka.jmx_port", "port 9092 is already taken by kafka.port"),
    bad("duplicate-port-two-components", set_("postgresql", "pgbouncer", "port", value=5432),
        "postgresql.pgbouncer.port", "port 5432 is already taken by postgresql.port on host(s) pg-1"),
    bad("duplicate-monitoring-port", set_("monitoring", "alertmanager_port", value=9090),
        "monitoring.alertmanager_port", "already taken by monitoring.prometheus_port"),
    bad("port-out-of-range", set_("redis", "port", value=70000), "redis.port", "less than or equal to 65535"),
    # ---------------------------------------------------------------- units
    bad("bad-duration", set_("kafka", "topics", "process_events", "retention", value="7 days"),
        "kafka.topics.process_events.retention", "'7 days' is not a duration"),
    bad("duration-without-unit", set_("redis", "node_timeout", value=2000), "redis.node_timeout", "2000 has no unit"),
    bad("bad-size", set_("redis", "maxmemory", value="4 gigs"), "redis.maxmemory", "'4 gigs' is not a size"),
    bad("prod-bad-size", set_("postgresql", "shared_buffers", value="16 GiBs"),
        "postgresql.shared_buffers", "is not a size", env="prod"),
    # ---------------------------------------------------------------- secrets
    bad("literal-password", set_("kafka", "users", "admin", "password", value="hunter2"),
        "kafka.users.admin.password", "secret values are not allowed in a spec"),
    bad("literal-secret-under-ref-field", set_("postgresql", "role_passwords", "flowmaster", value="hunter2"),
        "postgresql.role_passwords.flowmaster", "secret values are not allowed in a spec"),
    bad("literal-secret-key", set_("app", "secret_key", value="s3cr3t-value"),
        "app.secret_key", "secret values are not allowed in a spec"),
    bad("literal-token-anywhere", set_("redis", "users", "admin", "token", value="abc123"),
        "redis.users.admin.token", "secret values are not allowed in a spec"),
    bad("prod-literal-root-password", set_("arangodb", "root_password", value="rootroot"),
        "arangodb.root_password", "secret values are not allowed in a spec", env="prod"),
    # ---------------------------------------------------------------- structure
    bad("unknown-field", set_("kafka", "topics", "process_events", "partitons", value=5),
        "kafka.topics.process_events.partitons", "unknown field"),
    bad("unknown-top-level-field", set_("kafak", value={}), "kafak", "unknown field"),
    bad("missing-required-field", delete("kafka", "heap"), "kafka.heap", "required field is missing"),
    bad("prod-missing-required-field", delete("postgresql", "primary"), "postgresql.primary", "required field is missing",
        env="prod"),
    bad("name-not-matching-file", set_("name", value="staging"), "name", "'staging' differs from the file name 'local'"),
    # ---------------------------------------------------------------- postgresql
    bad("postgres-version-14", set_("postgresql", "version", value=14), "postgresql.version", "Input should be 15"),
    bad("no-standby", set_("postgresql", "standbys", value=[]),
        "postgresql.standbys", "needs at least 1 streaming standby"),
    bad("standby-on-primary-host", set_("postgresql", "standbys", 0, "host", value="pg-1"),
        "postgresql.standbys[0].host", "cannot share its primary's host"),
    bad("duplicate-replication-slot",
        both(EXTRA_PG_HOST, set_("postgresql", "standbys", value=[{"host": "pg-2", "slot": "s"}, {"host": "pg-3", "slot": "s"}])),
        "postgresql.standbys", "slot names must be unique"),
    bad("wal-senders-below-standbys",
        both(EXTRA_PG_HOST, set_("postgresql", "max_wal_senders", value=1),
             set_("postgresql", "standbys", value=[{"host": "pg-2", "slot": "a"}, {"host": "pg-3", "slot": "b"}])),
        "postgresql.max_wal_senders", "fewer than the 2 standbys"),
    bad("owner-without-password", set_("postgresql", "databases", "analytics", "owner", value="reporting"),
        "postgresql.databases.analytics.owner", "role 'reporting' has no entry in role_passwords"),
    bad("pgbouncer-pools-above-connections", set_("postgresql", "pgbouncer", "default_pool_size", value=40),
        "postgresql.pgbouncer.default_pool_size", "225 server connections"),
    bad("prod-max-connections-below-pools", set_("postgresql", "max_connections", value=150),
        "postgresql.pgbouncer.default_pool_size", "> 147 (max_connections 150 - 3 reserved)", env="prod"),
    # ---------------------------------------------------------------- arangodb
    bad("even-arango-agents", set_("arangodb", "agents", value=4), "arangodb.agents", "4 agents: the agency needs an odd count"),
    bad("arango-rf-above-dbservers", set_("arangodb", "replication_factor", value=4),
        "arangodb.replication_factor", "4 > 3 dbservers"),
    bad("graph-edge-to-unknown-collection",
        set_("arangodb", "databases", "flowmaster", "graphs", "process_flow", "edges", 0, "to", value=["steps"]),
        "arangodb.databases.flowmaster.graphs.process_flow.edges[0].to", "'steps' is not in the database's collections"),
    # ---------------------------------------------------------------- gateway & mesh
    bad("route-to-unknown-service", set_("gateway", "routes", "process_api", "service", value="billing"),
        "gateway.routes.process_api.service", "'billing' is not in app.services"),
    bad("none-auth-combined", set_("gateway", "routes", "health", "auth", value=["none", "jwt"]),
        "gateway.routes.health.auth", "'none' cannot be combined"),
    bad("empty-rate-limit", set_("gateway", "routes", "process_api", "rate_limit", value={}),
        "gateway.routes.process_api.rate_limit", "give per_second, per_minute or both"),
    bad("duplicate-route-path", set_("gateway", "routes", "templates_api", "path", value="/api/v1/processes"),
        "gateway.routes", "path /api/v1/processes is routed 2 times"),
    bad("route-path-without-slash", set_("gateway", "routes", "health", "path", value="healthz"),
        "gateway.routes.health.path", "should match pattern"),
    bad("mesh-allows-unknown-service", set_("gateway", "mesh", "allow", "billing", value=["api"]),
        "gateway.mesh.allow.billing", "'billing' is not in app.services"),
    bad("mesh-unknown-caller", set_("gateway", "mesh", "allow", "api", value=["gateway", "billing"]),
        "gateway.mesh.allow.api", "caller 'billing' is neither 'gateway' nor in app.services"),
    # ---------------------------------------------------------------- vault
    bad("vault-policy-path-under-no-engine", set_("vault", "policies", "flowmaster-api", "paths", "kv2/data/x", value=["read"]),
        "vault.policies.flowmaster-api.paths", "'kv2/data/x' is under no mounted engine"),
    bad("even-vault-replicas", set_("vault", "replicas", value=4), "vault.replicas", "4: a raft cluster needs an odd count"),
    bad("transit-unseal-without-seal", delete("vault", "transit_seal"),
        "vault.transit_seal", "required when vault.auto_unseal is transit"),
    bad("vault-too-old", set_("vault", "version", value="1.14.0"), "vault.version", "should match pattern"),
    bad("vault-unknown-capability", set_("vault", "policies", "platform-admin", "paths", "secret/*", value=["write"]),
        "vault.policies.platform-admin.paths.secret/*[0]", "'create', 'read'"),
    # ---------------------------------------------------------------- app
    bad("app-database-unknown", set_("app", "database", value="billing"),
        "app.database", "'billing' is not in postgresql.databases"),
    bad("app-requests-above-limits", set_("app", "services", "api", "requests", "memory", value="1GiB"),
        "app.services.api.requests.memory", "greater than limits.memory"),
    bad("prod-app-host-unknown", set_("app", "host", value="app-9"), "app.host", "'app-9' is not in hosts", env="prod"),
]


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 30
    assert len({c.id for c in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda c: c.id)
def test_bad_spec_is_rejected_with_path_and_reason(case: Bad):
    findings = errors_of(case.env, case.mutate)
    at_path = [f for f in findings if f.path == case.path]
    assert at_path, f"no finding at {case.path}; got: {[str(f) for f in findings]}"
    assert any(case.phrase in f.message for f in at_path), [str(f) for f in at_path]
    # precise: nothing but the mistake (and what it rightly implies) is reported
    assert {f.path for f in findings} == {case.path} | case.also, [str(f) for f in findings]


@pytest.mark.parametrize("env", sorted(RAW))
def test_catalogue_base_is_valid(env: str):
    """The mutations start from a valid spec, so each finding is the mutation's."""
    validate_mapping(copy.deepcopy(RAW[env]), env_name=env)


# ---------------------------------------------------------------- all at once


def test_every_invariant_mistake_is_reported_at_once():
    findings = errors_of("local", both(
        set_("kafka", "topics", "execution_events", "replication_factor", value=4),
        delete("kafka", "zookeeper", "nodes", 2),
        set_("redis", "shards", 0, "replicas", value=[]),
        set_("postgresql", "pgbouncer", "default_pool_size", value=40),
        set_("arangodb", "agents", value=2),
        set_("gateway", "routes", "process_api", "service", value="billing"),
        set_("vault", "replicas", value=2),
        set_("app", "database", value="billing"),
    ))
    assert {f.path for f in findings} == {
        "kafka.topics.execution_events.replication_factor",
        "kafka.zookeeper.nodes",
        "redis.shards[0].replicas",
        "postgresql.pgbouncer.default_pool_size",
        "arangodb.agents",
        "gateway.routes.process_api.service",
        "vault.replicas",
        "app.database",
    }


def test_every_structural_mistake_is_reported_at_once():
    findings = errors_of("prod", both(
        set_("redis", "maxmemory", value="4 gigs"),
        set_("kafka", "users", "admin", "password", value="hunter2"),
        set_("kafka", "topics", "process_events", "partitons", value=5),
        delete("kafka", "heap"),
        set_("kafka", "topics", "system_events", "partitions", value=0),
        set_("postgresql", "version", value=14),
    ))
    assert {f.path for f in findings} == {
        "redis.maxmemory",
        "kafka.users.admin.password",
        "kafka.topics.process_events.partitons",
        "kafka.heap",
        "kafka.topics.system_events.partitions",
        "postgresql.version",
    }


def test_cli_style_message_names_path_and_reason():
    [finding] = errors_of("local", set_("kafka", "topics", "execution_events", "replication_factor", value=4))
    assert str(finding) == "error: kafka.topics.execution_events.replication_factor: 4 > 3 brokers"


# ---------------------------------------------------------------- explicit acceptance and warnings


def test_min_insync_equal_to_rf_passes_when_accepted():
    loaded = accepted("local", both(
        set_("kafka", "topics", "process_events", "min_insync_replicas", value=2),
        set_("kafka", "topics", "process_events", "accept_min_insync_equals_replicas", value=True),
    ))
    assert not [w for w in loaded.warnings if w.path.startswith("kafka.topics.process_events")]


def test_rf2_min_insync1_is_a_warning_naming_the_risk():
    loaded = accepted("local", lambda d: None)
    warning = next(w for w in loaded.warnings if w.path == "kafka.topics.execution_events.min_insync_replicas")
    assert warning.level == "warning"
    assert "an acknowledged write can be lost" in warning.message


def test_rf3_min_insync2_is_quiet():
    loaded = accepted("local", both(
        set_("kafka", "topics", "execution_events", "replication_factor", value=3),
        set_("kafka", "topics", "execution_events", "min_insync_replicas", value=2),
    ))
    assert not [w for w in loaded.warnings if w.path.startswith("kafka.topics.execution_events")]


@pytest.mark.parametrize(("mutate", "path", "phrase"), [
    (set_("kafka", "topics", "system_events", "replication_factor", value=1),
     "kafka.topics.system_events.replication_factor", "the topic is lost with its broker"),
    (set_("vault", "replicas", value=1), "vault.replicas", "no high availability"),
    (set_("gateway", "mesh", "mtls", value="PERMISSIVE"), "gateway.mesh.mtls", "plaintext traffic"),
    (set_("postgresql", "pgbouncer", "host", value="pg-2"), "postgresql.pgbouncer.host", "extra network hop"),
    (set_("accept", "replicas_share_machine", value=False), "redis.shards[0].replicas[0]",
     "shares machine this-machine with its master"),
], ids=["rf1", "vault-single", "mtls-permissive", "pgbouncer-off-primary", "replica-shares-machine"])
def test_risky_choices_warn_but_validate(mutate, path, phrase):
    loaded = accepted("local", mutate)
    assert any(w.path == path and phrase in w.message for w in loaded.warnings), [str(w) for w in loaded.warnings]


# ---------------------------------------------------------------- files: YAML, extends


@pytest.fixture
def envdir(tmp_path: Path) -> Path:
    for f in ENVIRONMENTS_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_yaml_syntax_error_names_file_and_line(envdir: Path):
    path = envdir / "broken.yaml"
    path.write_text("extends: local\nname: broken\nkafka:\n  heap: [512MiB\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    [finding] = info.value.findings
    assert finding.path.startswith(f"{path}:")
    assert "not valid YAML" in finding.message


def test_top_level_not_a_mapping(envdir: Path):
    path = envdir / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "a mapping at the top level" in info.value.findings[0].message


def test_circular_extends(envdir: Path):
    (envdir / "a.yaml").write_text("extends: b\nname: a\n")
    (envdir / "b.yaml").write_text("extends: a\nname: b\n")
    with pytest.raises(SpecError) as info:
        load_spec(envdir / "a.yaml")
    [finding] = info.value.findings
    assert finding.path == "extends"
    assert "circular extends: a.yaml -> b.yaml -> a.yaml" in finding.message


def test_extends_missing_file(envdir: Path):
    (envdir / "orphan.yaml").write_text("extends: nowhere\nname: orphan\n")
    with pytest.raises(SpecError) as info:
        load_spec(envdir / "orphan.yaml")
    assert info.value.findings[0].path.endswith("nowhere.yaml")
    assert "no such environment file" in info.value.findings[0].message


def test_file_override_error_keeps_field_path(envdir: Path):
    (envdir / "small.yaml").write_text("extends: local\nname: small\nkafka:\n  topics:\n    system_events: {partitions: 0}\n")
    with pytest.raises(SpecError) as info:
        load_spec(envdir / "small.yaml")
    assert [(f.path, "greater than or equal to 1" in f.message) for f in info.value.findings] == [
        ("kafka.topics.system_events.partitions", True)]


# ---------------------------------------------------------------- apply time: against the live cluster


def test_partition_count_never_decreases_against_live():
    spec = load_spec("local").spec
    live = {"execution_events": 12, "process_events": 5, "not_in_spec": 1}
    [finding] = check_against_live(spec, live)
    assert finding.level == "error"
    assert finding.path == "kafka.topics.execution_events.partitions"
    assert "10 < 12 live" in finding.message


def test_partition_increase_or_new_topic_is_fine_against_live():
    spec = load_spec("local").spec
    assert check_against_live(spec, {"execution_events": 8, "process_events": 5}) == []
    assert check_against_live(spec, {}) == []
