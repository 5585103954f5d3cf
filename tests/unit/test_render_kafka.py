"""The Kafka, ZooKeeper and Connect configs rendered for local and prod carry the spec's values."""

from __future__ import annotations

import copy
import json

import pytest

from fmctl import filters
from fmctl.paths import ENVIRONMENTS_DIR
from fmctl.render import render_one, spec_data
from fmctl.spec.loader import SpecError, load_spec, read_raw, validate_mapping

ENVS = ("local", "prod")


def parse_properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not a property line: {line!r}"
            assert key not in out, f"{key} set twice"
            out[key] = value
    return out


def property_keys(text: str) -> list[str]:
    return [line.partition("=")[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module", params=ENVS)
def env(request):
    spec = load_spec(request.param).spec
    return spec, spec_data(spec)


def kraft_spec(env_name: str):
    """The environment switched to KRaft mode, controllers on the broker hosts (combined nodes)."""
    raw, _ = read_raw(ENVIRONMENTS_DIR / f"{env_name}.yaml")
    raw = copy.deepcopy(raw)
    raw["kafka"]["mode"] = "kraft"
    raw["kafka"]["kraft"] = {"heap": "512MiB", "port": 9094,
                             "controllers": [{"id": b["id"], "host": b["host"]} for b in raw["kafka"]["brokers"]]}
    return validate_mapping(raw, env_name=env_name).spec


def test_server_properties_carry_the_spec(env):
    spec, data = env
    k = spec.kafka
    for node in filters.kafka_nodes(data):
        text = render_one(spec, "kafka/server.properties.j2", node)
        props = parse_properties(text)
        assert property_keys(text) == sorted(property_keys(text)), "one merge point: output sorted by key"
        address = str(spec.hosts[node["host"]].address)
        assert props["broker.id"] == str(node["id"])
        assert props["listeners"] == f"SASL_PLAINTEXT://{address}:{k.port}"
        assert props["advertised.listeners"] == props["listeners"]
        assert props["num.network.threads"] == str(k.network_threads)
        assert props["num.io.threads"] == str(k.io_threads)
        assert props["default.replication.factor"] == str(k.default_replication_factor)
        assert props["min.insync.replicas"] == str(k.min_insync_replicas)
        assert props["offsets.topic.replication.factor"] == str(k.internal_topics.offsets_replication_factor)
        assert props["transaction.state.log.min.isr"] == str(k.internal_topics.transaction_state_min_isr)
        assert props["unclean.leader.election.enable"] == str(k.unclean_leader_election).lower()
        assert props["auto.create.topics.enable"] == str(k.auto_create_topics).lower()
        assert props["sasl.enabled.mechanisms"] == k.sasl_mechanism
        assert props["sasl.mechanism.inter.broker.protocol"] == k.sasl_mechanism
        assert props["super.users"] == ";".join(f"User:{n}" for n, u in sorted(k.users.items()) if u.superuser)
        zk = k.zookeeper
        assert props["zookeeper.connect"] == ",".join(f"{spec.hosts[n.host].address}:{zk.client_port}" for n in zk.nodes)
        assert props["zookeeper.set.acl"] == "true"
        assert node["host"] in props["log.dirs"], "a node's data directory carries its host name"
        assert "password" not in text.lower(), "no secret in a rendered file"


def test_zoo_cfg_carries_the_spec(env):
    spec, data = env
    zk = spec.kafka.zookeeper
    for node in filters.zookeeper_nodes(data):
        props = parse_properties(render_one(spec, "zookeeper/zoo.cfg.j2", node))
        assert props["clientPortAddress"] == str(spec.hosts[node["host"]].address)
        assert props["clientPort"] == str(zk.client_port)
        assert props["tickTime"] == str(zk.tick_time)
        assert props["initLimit"] == str(zk.init_limit)
        assert props["syncLimit"] == str(zk.sync_limit)
        assert props["autopurge.snapRetainCount"] == str(zk.snapshots_kept)
        assert props["autopurge.purgeInterval"] == str(zk.purge_interval // 3_600_000)
        assert props["4lw.commands.whitelist"] == "srvr,ruok,mntr"
        assert props["enforce.auth.enabled"] == "true"
        servers = {k: v for k, v in props.items() if k.startswith("server.")}
        assert servers == {f"server.{n.id}": f"{spec.hosts[n.host].address}:{zk.peer_port}:{zk.election_port}"
                           for n in zk.nodes}
        assert node["host"] in props["dataDir"]


def test_connect_properties_carry_the_spec(env):
    spec, data = env
    c = spec.kafka.connect
    for node in filters.connect_workers(data):
        text = render_one(spec, "kafka_connect/connect-distributed.properties.j2", node)
        props = parse_properties(text)
        assert props["group.id"] == c.group_id
        assert props["listeners"] == f"http://{spec.hosts[node['host']].address}:{c.port}"
        for kind in ("config", "offset", "status"):
            assert props[f"{kind}.storage.replication.factor"] == str(c.storage_replication_factor)
        assert props["bootstrap.servers"] == filters.kafka_bootstrap(data)
        for prefix in ("", "producer.", "consumer.", "admin."):
            assert props[f"{prefix}security.protocol"] == "SASL_PLAINTEXT"
            assert props[f"{prefix}sasl.mechanism"] == spec.kafka.sasl_mechanism
        assert "password" not in text.lower()


def test_jmx_exporter_rules_name_the_alerted_metrics(env):
    spec, data = env
    text = render_one(spec, "kafka/jmx-exporter.yml.j2", filters.kafka_brokers(data)[0])
    assert "lowercaseOutputName: true" in text
    assert "name: kafka_$1_$2_$3" in text  # kafka.server<type=ReplicaManager, name=...> -> kafka_server_replicamanager_...


def test_pom_has_kafka_tools_connect_and_one_binding(env):
    spec, _ = env
    pom = render_one(spec, "kafka/pom.xml.j2")
    for artifact in (f"kafka_{spec.kafka.scala_version}", "kafka-tools", "connect-runtime", "connect-json"):
        assert f"<artifactId>{artifact}</artifactId>" in pom
    assert pom.count(f"<version>{spec.kafka.version}</version>") >= 5
    assert pom.count("slf4j-reload4j") == 1


def test_schema_registry_settings(env):
    spec, data = env
    sr = spec.kafka.schema_registry
    for i, host in enumerate(sr.hosts):
        cfg = json.loads(render_one(spec, "schema_registry/registry.json.j2",
                                    {"host": host, "address": data["hosts"][host]["address"]}))
        assert cfg["port"] == sr.port
        assert cfg["replication_factor"] == sr.topic_replication_factor
        assert cfg["primary"] is (i == 0)
        assert cfg["kafka"]["sasl.username"] == sr.user
        assert not any("password" in k for k in cfg["kafka"])


@pytest.mark.parametrize("env_name", ENVS)
def test_kraft_mode_renders_combined_nodes(env_name):
    spec = kraft_spec(env_name)
    data = spec_data(spec)
    voters = ",".join(f"{c.id}@{spec.hosts[c.host].address}:{spec.kafka.kraft.port}" for c in spec.kafka.kraft.controllers)
    for node in filters.kafka_nodes(data):
        props = parse_properties(render_one(spec, "kafka/server.properties.j2", node))
        address = spec.hosts[node["host"]].address
        assert props["process.roles"] == "broker,controller"
        assert props["node.id"] == str(node["id"])
        assert props["controller.quorum.voters"] == voters
        assert props["listeners"] == f"SASL_PLAINTEXT://{address}:{spec.kafka.port},CONTROLLER://{address}:9094"
        assert "zookeeper.connect" not in props and "broker.id" not in props
        assert props["authorizer.class.name"].endswith("StandardAuthorizer")


def test_kraft_cluster_id_is_stable_and_valid():
    spec = kraft_spec("local")
    a, b = filters.kafka_cluster_id(spec_data(spec)), filters.kafka_cluster_id(spec_data(spec))
    assert a == b and len(a) == 22  # a base64url UUID, as StorageTool random-uuid prints
    assert a != filters.kafka_cluster_id({**spec_data(spec), "name": "prod"})


def test_combined_controller_must_share_the_broker_id():
    raw, _ = read_raw(ENVIRONMENTS_DIR / "local.yaml")
    raw = copy.deepcopy(raw)
    raw["kafka"]["mode"] = "kraft"
    raw["kafka"]["kraft"] = {"heap": "512MiB", "controllers": [{"id": 11, "host": "kafka-1"}, {"id": 2, "host": "kafka-2"},
                                                               {"id": 3, "host": "kafka-3"}]}
    with pytest.raises(SpecError, match=r"kafka.kraft.controllers\[0\].id"):
        validate_mapping(raw, env_name="local")
