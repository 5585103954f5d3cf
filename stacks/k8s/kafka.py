"""Kafka on Strimzi: the operator, one Kafka with node pools, the spec's topics and users.

ZooKeeper or KRaft as `kafka.mode` says; node ids are the spec's broker (and
controller) ids; racks are zones, so replicas of a partition land in different
zones; the disruption budget lets go only as many brokers as every topic can
lose without dropping below its min.insync.replicas.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks import versions
from stacks.k8s.shape import (
    ZONE_KEY,
    KubeContext,
    anti_affinity,
    custom,
    meta,
    network_policies,
    quorum_loss_budget,
    release,
    secret,
    spread,
    svc_host,
    workload_resources,
)
from stacks.sizing import distinct_machines, quantity, storage, workload

STRIMZI_API = "kafka.strimzi.io/v1beta2"
CLUSTER = "flowmaster"
# Metrics the alert rules read (kafka_server_replicamanager_underreplicatedpartitions, ...).
JMX_EXPORTER_RULES = """lowercaseOutputName: true
rules:
- pattern: 'kafka.(\\w+)<type=(.+), name=(.+)><>Value'
  name: kafka_$1_$2_$3
- pattern: 'kafka.(\\w+)<type=(.+), name=(.+)><>Count'
  name: kafka_$1_$2_$3_total
"""


@dataclass(frozen=True)
class KafkaArgs:
    ctx: KubeContext


def node_ids(ids: list[int]) -> str:
    """Strimzi's next-node-ids annotation: the spec's ids, in order."""
    return "[" + ",".join(str(i) for i in sorted(ids)) + "]"


def jvm(heap: int) -> dict:
    return {"-Xms": f"{heap // (1024 * 1024)}m", "-Xmx": f"{heap // (1024 * 1024)}m"}


def volume(size: int, ctx: KubeContext, kraft_metadata: bool = False) -> dict:
    v: dict = {"id": 0, "type": "persistent-claim", "size": quantity(size), "class": ctx.storage_class, "deleteClaim": False}
    if kraft_metadata:
        v["kraftMetadata"] = "shared"
    return {"type": "jbod", "volumes": [v]}


def broker_budget(spec) -> int:
    """Brokers that may be down at once without any topic dropping below min ISR."""
    k = spec.kafka
    margins = [t.replication_factor - t.min_insync_replicas for t in k.topics.values()]
    margins.append(k.default_replication_factor - k.min_insync_replicas)
    margins.append(k.internal_topics.transaction_state_replication_factor - k.internal_topics.transaction_state_min_isr)
    return max(min(margins), 1)


class KafkaCluster(pulumi.ComponentResource):
    bootstrap_host: str

    def __init__(self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Kafka", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        k, ns = spec.kafka, ctx.ns("kafka")
        if k.sasl_mechanism != "SCRAM-SHA-512":
            raise ValueError(f"kafka.sasl_mechanism: {k.sasl_mechanism} is not offered by Strimzi (SCRAM-SHA-512 only)")
        kraft = k.mode == "kraft"
        op = workload(spec, "strimzi_operator")
        operator = release("strimzi", ns, "strimzi-kafka-operator", versions.STRIMZI, versions.REPOSITORIES["strimzi"], {
            "watchNamespaces": [],
            "resources": workload_resources(op),
            "replicas": 1,  # leader election makes a second operator pointless
        }, parent=self)
        after = [operator]

        metrics = k8s.core.v1.ConfigMap(
            f"{ns}-kafka-metrics", metadata=meta("kafka-metrics", ns),
            data={"kafka-metrics-config.yml": JMX_EXPORTER_RULES}, opts=pulumi.ResourceOptions(parent=self))

        broker_hosts = [b.host for b in k.brokers]
        hard = distinct_machines(spec, broker_hosts)
        broker_match = {"strimzi.io/cluster": CLUSTER, "strimzi.io/pool-name": "brokers"}
        kw = workload(spec, "kafka")
        pools = [custom((STRIMZI_API, "KafkaNodePool"), "brokers", ns, {
            "replicas": len(k.brokers),
            "roles": ["broker"],
            "storage": volume(storage(spec, "kafka"), ctx, kraft_metadata=kraft),
            "resources": workload_resources(kw),
            "jvmOptions": jvm(k.heap),
            "template": {"pod": {
                "affinity": anti_affinity(broker_match, hard),
                "topologySpreadConstraints": spread(broker_match, ctx, hard),
            }},
        }, parent=self, lbl={"strimzi.io/cluster": CLUSTER},
            annotations={"strimzi.io/next-node-ids": node_ids([b.id for b in k.brokers])}, depends_on=after)]
        if kraft:
            assert k.kraft is not None
            cw = workload(spec, "kraft_controller")
            ctl_match = {"strimzi.io/cluster": CLUSTER, "strimzi.io/pool-name": "controllers"}
            ctl_hard = distinct_machines(spec, [c.host for c in k.kraft.controllers])
            pools.append(custom((STRIMZI_API, "KafkaNodePool"), "controllers", ns, {
                "replicas": len(k.kraft.controllers),
                "roles": ["controller"],
                "storage": volume(storage(spec, "kraft_controller"), ctx, kraft_metadata=True),
                "resources": workload_resources(cw),
                "jvmOptions": jvm(k.kraft.heap),
                "template": {"pod": {
                    "affinity": anti_affinity(ctl_match, ctl_hard),
                    "topologySpreadConstraints": spread(ctl_match, ctx, ctl_hard),
                }},
            }, parent=self, lbl={"strimzi.io/cluster": CLUSTER},
                annotations={"strimzi.io/next-node-ids": node_ids([c.id for c in k.kraft.controllers])}, depends_on=after))

        kafka_spec: dict = {
            "kafka": {
                "version": k.version,
                "listeners": [{
                    "name": "tls", "port": k.port, "type": "internal", "tls": True,
                    "authentication": {"type": "scram-sha-512"},
                }],
                "authorization": {"type": "simple", "superUsers": sorted(n for n, u in k.users.items() if u.superuser)},
                "config": {
                    "default.replication.factor": k.default_replication_factor,
                    "min.insync.replicas": k.min_insync_replicas,
                    "offsets.topic.replication.factor": k.internal_topics.offsets_replication_factor,
                    "transaction.state.log.replication.factor": k.internal_topics.transaction_state_replication_factor,
                    "transaction.state.log.min.isr": k.internal_topics.transaction_state_min_isr,
                    "unclean.leader.election.enable": k.unclean_leader_election,
                    "auto.create.topics.enable": k.auto_create_topics,
                    "num.network.threads": k.network_threads,
                    "num.io.threads": k.io_threads,
                },
                "metricsConfig": {"type": "jmxPrometheusExporter", "valueFrom": {
                    "configMapKeyRef": {"name": "kafka-metrics", "key": "kafka-metrics-config.yml"}}},
                "template": {"podDisruptionBudget": {"maxUnavailable": broker_budget(spec)}},
            },
            "entityOperator": {
                "topicOperator": {"resources": workload_resources(workload(spec, "kafka_entity_operator"))},
                "userOperator": {"resources": workload_resources(workload(spec, "kafka_entity_operator"))},
            },
        }
        if ctx.zones:
            kafka_spec["kafka"]["rack"] = {"topologyKey": ZONE_KEY}
        if not kraft:
            assert k.zookeeper is not None
            zw = workload(spec, "zookeeper")
            zk_match = {"strimzi.io/cluster": CLUSTER, "strimzi.io/name": f"{CLUSTER}-zookeeper"}
            zk_hard = distinct_machines(spec, [n.host for n in k.zookeeper.nodes])
            kafka_spec["zookeeper"] = {
                "replicas": len(k.zookeeper.nodes),
                "storage": {"type": "persistent-claim", "size": quantity(storage(spec, "zookeeper")),
                            "class": ctx.storage_class, "deleteClaim": False},
                "resources": workload_resources(zw),
                "jvmOptions": jvm(k.zookeeper.heap),
                "config": {"tickTime": k.zookeeper.tick_time, "initLimit": k.zookeeper.init_limit,
                           "syncLimit": k.zookeeper.sync_limit,
                           "autopurge.snapRetainCount": k.zookeeper.snapshots_kept,
                           "autopurge.purgeInterval": max(k.zookeeper.purge_interval // 3_600_000, 1)},
                "template": {
                    "pod": {"affinity": anti_affinity(zk_match, zk_hard),
                            "topologySpreadConstraints": spread(zk_match, ctx, zk_hard)},
                    "podDisruptionBudget": {"maxUnavailable": quorum_loss_budget(len(k.zookeeper.nodes))},
                },
            }
        self.kafka = custom((STRIMZI_API, "Kafka"), CLUSTER, ns, kafka_spec, parent=self, annotations={
            "strimzi.io/node-pools": "enabled",
            "strimzi.io/kraft": "enabled" if kraft else "disabled",
        }, depends_on=[*after, metrics, *pools])

        cluster_label = {"strimzi.io/cluster": CLUSTER}
        self.topics = {}
        for tname, t in sorted(k.topics.items()):
            self.topics[tname] = custom((STRIMZI_API, "KafkaTopic"), tname.replace("_", "-").lower(), ns, {
                "topicName": tname,
                "partitions": t.partitions,
                "replicas": t.replication_factor,
                "config": {
                    "retention.ms": t.retention,
                    "min.insync.replicas": t.min_insync_replicas,
                    "cleanup.policy": t.cleanup_policy,
                },
            }, parent=self, lbl=cluster_label, depends_on=[self.kafka])

        topic_names = sorted(k.topics)
        self.users = {}
        for uname, u in sorted(k.users.items()):
            sname = f"kafka-user-{uname.replace('_', '-')}"
            pw = secret(sname, ns, {"password": ctx.secrets.ref(u.password)}, parent=self)
            user_spec: dict = {"authentication": {"type": "scram-sha-512", "password": {
                "valueFrom": {"secretKeyRef": {"name": sname, "key": "password"}}}}}
            if not u.superuser:
                acls = [{"resource": {"type": "topic", "name": t, "patternType": "literal"},
                         "operations": ["Describe", "Read", "Write"]} for t in topic_names]
                acls.append({"resource": {"type": "group", "name": uname, "patternType": "prefix"},
                             "operations": ["Read", "Describe"]})
                user_spec["authorization"] = {"type": "simple", "acls": acls}
            self.users[uname] = custom((STRIMZI_API, "KafkaUser"), uname.replace("_", "-"), ns, user_spec,
                                       parent=self, lbl=cluster_label, depends_on=[self.kafka, pw])

        network_policies(ns, [ctx.ns("app"), ctx.ns("monitoring")], parent=self)
        self.bootstrap_host = f"{svc_host(CLUSTER + '-kafka-bootstrap', ns)}:{k.port}"
        self.ca_secret = f"{ns}/{CLUSTER}-cluster-ca-cert"  # made by Strimzi's cluster operator
        self.register_outputs({"bootstrap": self.bootstrap_host, "topics": topic_names})
