"""The FlowMaster app: the chart charts/flowmaster as a Helm release, its values built from the
spec (stacks/k8s/app_chart.py), its credentials in a Secret whose values are Pulumi secrets.

The chart makes per service (api, worker) the Deployment with the spec's replicas, requests and
limits, spread over zones and nodes, behind a PDB, the settings ConfigMap, the Service and the
NetworkPolicies; the migration Job runs as a Helm hook before a new version serves. What the
chart renders is checked by tests/charts (lint, golden files, Kubernetes schemas)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from fmctl.app_settings import HTTP_SERVICES, Endpoints
from fmctl.render import spec_data
from stacks.k8s.app_chart import (
    CREDENTIALS,
    KAFKA_CA_KEY,
    KAFKA_CA_SECRET,
    METRICS_USERNAME_KEY,
    RELEASE_NAME,
    chart_path,
    chart_values,
    chart_version,
    credential_keys,
    deployed_services,
)
from stacks.k8s.shape import KubeContext, secret, svc_host


@dataclass(frozen=True)
class AppArgs:
    ctx: KubeContext
    kafka_bootstrap: str
    redis_nodes: list[str]
    postgres_pooler: str
    kafka_ca_secret: str  # "<namespace>/<name>" of the Secret holding the brokers' CA (Strimzi's)


def k8s_name(service: str) -> str:
    return service.replace("_", "-")


class FlowMasterApp(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:App", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        ns = ctx.ns("app")
        keys = credential_keys(spec_data(spec))
        creds = secret(CREDENTIALS, ns, {
            **{key: ctx.secrets.ref(ref) for key, ref in keys.items()},
            METRICS_USERNAME_KEY: spec.monitoring.admin_user,  # not secret: the scraper's user name
        }, parent=self)
        # The brokers' CA certificate (public, but Strimzi keeps it in a Secret) copied next to the app.
        source = k8s.core.v1.Secret.get(f"{ns}-kafka-ca-source", args.kafka_ca_secret, opts=pulumi.ResourceOptions(parent=self))
        ca = k8s.core.v1.Secret(f"{ns}-{KAFKA_CA_SECRET}", metadata={"name": KAFKA_CA_SECRET, "namespace": ns},
                                data={KAFKA_CA_KEY: source.data.apply(lambda d: (d or {}).get(KAFKA_CA_KEY, ""))},
                                opts=pulumi.ResourceOptions(parent=self))
        pg_host, pg_port = args.postgres_pooler.rsplit(":", 1)
        endpoints = Endpoints(pg_host=pg_host, pg_port=int(pg_port), redis_nodes=list(args.redis_nodes),
                              kafka_bootstrap=[args.kafka_bootstrap], kafka_security_protocol="SASL_SSL")
        self.values = chart_values(ctx, endpoints)
        self.release = k8s.helm.v3.Release(
            f"{ns}-{RELEASE_NAME}",
            name=RELEASE_NAME,
            namespace=ns,
            chart=chart_path(),
            version=chart_version(),
            values=self.values,
            # A failed migration hook or rollout rolls the release back.
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[creds, ca]),
        )
        image = f"{self.values['image']['repository']}:{self.values['image']['tag']}"
        self.endpoints: dict[str, str] = {
            s: f"http://{svc_host(k8s_name(s), ns)}:{spec.app.services[s].port}"
            for s in deployed_services(spec.app.services) if s in HTTP_SERVICES
        }
        self.register_outputs({"endpoints": self.endpoints, "image": image})
