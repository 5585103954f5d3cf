"""Compose the Docker target: network, volumes and containers, wired by their outputs."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from fmctl.app_settings import HTTP_SERVICES
from fmctl.spec.model import PlatformSpec
from stacks.docker.app import AppDocker, AppDockerArgs
from stacks.docker.arangodb import ArangoDocker, ArangoDockerArgs
from stacks.docker.common import DockerContext
from stacks.docker.gateway import KongDocker, KongDockerArgs
from stacks.docker.kafka import KafkaDocker, KafkaDockerArgs
from stacks.docker.monitoring import MonitoringDocker, MonitoringDockerArgs
from stacks.docker.postgresql import PostgresDocker, PostgresDockerArgs
from stacks.docker.redis import RedisDocker, RedisDockerArgs
from stacks.docker.vault import VaultDocker, VaultDockerArgs
from stacks.secret_source import SecretSource
from stacks.settings import StackSettings
from stacks.sizing import subnet


class DockerFoundation(pulumi.ComponentResource):
    """The private network (the spec's addresses live on it) and the image pulls."""

    def __init__(self, name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:Foundation", name, None, opts)
        self.network = docker.Network("network", name=f"fm-{spec.name}", driver="bridge", internal=False,
                                      ipam_configs=[{"subnet": str(subnet(spec))}],
                                      labels=[{"label": "flowmaster.io/environment", "value": spec.name}],
                                      opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"network": self.network.name})


def build(spec: PlatformSpec, settings: StackSettings, secrets: SecretSource) -> dict:
    foundation = DockerFoundation("foundation", spec)
    ctx = DockerContext(spec=spec, settings=settings, secrets=secrets, network=foundation.network,
                        image_parent=foundation)
    kafka = KafkaDocker("kafka", KafkaDockerArgs(ctx))
    redis = RedisDocker("redis", RedisDockerArgs(ctx))
    postgres = PostgresDocker("postgresql", PostgresDockerArgs(ctx))
    arango = ArangoDocker("arangodb", ArangoDockerArgs(ctx))
    vault = VaultDocker("vault", VaultDockerArgs(ctx))
    gateway = KongDocker("gateway", KongDockerArgs(ctx))
    mon = spec.monitoring
    scrape = {
        "redis": [f"{n.rsplit(':', 1)[0]}:{mon.redis_exporter_port}" for n in redis.endpoints],
        # Only the services that answer HTTP have /metrics.
        "flowmaster": [f"{s.replace('_', '-')}:{svc.port}" for s, svc in sorted(spec.app.services.items())
                       if s in HTTP_SERVICES],
        "vault": [f"vault:{spec.vault.api_port}"],
    }
    # The app's /metrics asks for the monitoring login, as on bare hosts and Kubernetes.
    monitoring = MonitoringDocker("monitoring", MonitoringDockerArgs(ctx, scrape, auth_jobs=frozenset({"flowmaster"})))
    app = AppDocker("app", AppDockerArgs(ctx=ctx, kafka_bootstrap=kafka.bootstrap, redis_nodes=redis.endpoints,
                                         postgres=postgres.endpoint),
                    pulumi.ResourceOptions(depends_on=[kafka, redis, postgres]))
    return {
        "kafka_bootstrap": kafka.bootstrap,
        "redis_nodes": redis.endpoints,
        "postgresql_primary": postgres.endpoint,
        "pgbouncer": postgres.endpoint,  # no pooler on the single box: clients reach the primary
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
