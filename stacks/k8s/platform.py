"""Compose the Kubernetes target: every component, wired by their outputs."""

from __future__ import annotations

import pulumi

from fmctl.spec.model import PlatformSpec
from stacks.k8s.app import AppArgs, FlowMasterApp
from stacks.k8s.arangodb import ArangoArgs, ArangoCluster
from stacks.k8s.foundation import Foundation, FoundationArgs
from stacks.k8s.gateway import GatewayArgs, KongGateway
from stacks.k8s.kafka import KafkaArgs, KafkaCluster
from stacks.k8s.mesh import MeshArgs, ServiceMesh
from stacks.k8s.monitoring import Monitoring, MonitoringArgs
from stacks.k8s.postgresql import PostgresArgs, PostgresCluster
from stacks.k8s.redis import RedisArgs, RedisCluster
from stacks.k8s.shape import KubeContext
from stacks.k8s.vault import VaultArgs, VaultCluster
from stacks.secret_source import SecretSource
from stacks.settings import StackSettings
from stacks.sizing import zones


def build(spec: PlatformSpec, settings: StackSettings, secrets: SecretSource) -> dict:
    ctx = KubeContext(spec=spec, settings=settings, secrets=secrets, zones=tuple(sorted(zones(spec))))
    foundation = Foundation("foundation", FoundationArgs(ctx))
    after = pulumi.ResourceOptions(depends_on=[foundation])
    kafka = KafkaCluster("kafka", KafkaArgs(ctx), after)
    redis = RedisCluster("redis", RedisArgs(ctx), after)
    postgres = PostgresCluster("postgresql", PostgresArgs(ctx), after)
    arango = ArangoCluster("arangodb", ArangoArgs(ctx), after)
    vault = VaultCluster("vault", VaultArgs(ctx), after)
    mesh = ServiceMesh("mesh", MeshArgs(ctx), after)
    gateway = KongGateway("gateway", GatewayArgs(ctx), pulumi.ResourceOptions(depends_on=[foundation, mesh]))
    monitoring = Monitoring("monitoring", MonitoringArgs(ctx), after)
    app = FlowMasterApp("app", AppArgs(
        ctx=ctx, kafka_bootstrap=kafka.bootstrap_host, redis_nodes=redis.nodes, postgres_pooler=postgres.pooler,
        kafka_ca_secret=kafka.ca_secret,
    ), pulumi.ResourceOptions(depends_on=[foundation, mesh, kafka, redis, postgres]))
    return {
        "kafka_bootstrap": kafka.bootstrap_host,
        "redis_nodes": redis.nodes,
        "postgresql_primary": postgres.primary,
        "pgbouncer": postgres.pooler,
        "arangodb": arango.endpoint,
        "vault": vault.address,
        "gateway": gateway.endpoint,
        "prometheus": monitoring.prometheus,
        "alertmanager": monitoring.alertmanager,
        "grafana": monitoring.grafana,
        "loki": monitoring.loki,
        "jaeger": monitoring.jaeger,
        "app": app.endpoints,
    }
