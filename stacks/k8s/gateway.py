"""Kong from the official chart, DB-less, serving the spec's route table."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks import versions
from stacks.k8s.app import k8s_name
from stacks.k8s.shape import (
    KubeContext,
    anti_affinity,
    labels,
    meta,
    network_policies,
    release,
    spread,
    svc_host,
    workload_resources,
)
from stacks.rendered import kong_declarative
from stacks.sizing import distinct_machines, replicas, workload

NAME = "kong"
SERVICE_ACCOUNT = "kong"  # the mesh knows the gateway by this identity


@dataclass(frozen=True)
class GatewayArgs:
    ctx: KubeContext


class KongGateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Kong", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        g, ns = spec.gateway, ctx.ns("gateway")
        app_ns = ctx.ns("app")
        # The app's Services live in another namespace: Kong proxies to their full names.
        upstreams = {s: svc_host(k8s_name(s), app_ns) for s in spec.app.services}
        text = kong_declarative(spec, upstreams, ctx.settings.jwt_public_key)
        cm = k8s.core.v1.ConfigMap(f"{ns}-kong-declarative", metadata=meta("kong-declarative", ns, labels(NAME, "gateway")),
                                   data={"kong.yml": text}, opts=pulumi.ResourceOptions(parent=self))
        n = replicas(spec, "kong")
        match = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
        hard = distinct_machines(spec, [g.edge_host]) and len(ctx.zones) > 1
        self.release = release(NAME, ns, "kong", versions.KONG_CHART, versions.REPOSITORIES["kong"], {
            "image": {"repository": "kong", "tag": g.kong_version},
            "env": {"database": "off", "proxy_access_log": "/dev/stdout", "proxy_error_log": "/dev/stderr"},
            "dblessConfig": {"configMap": "kong-declarative"},
            "ingressController": {"enabled": False},
            "admin": {"enabled": False},
            "proxy": {"type": "LoadBalancer", "http": {"servicePort": g.http_port}, "tls": {"enabled": True}},
            "replicaCount": n,
            "resources": workload_resources(workload(spec, "kong")),
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
            "deployment": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
            "affinity": anti_affinity(match, hard),
            "topologySpreadConstraints": spread(match, ctx, hard),
            "serviceMonitor": {"enabled": True},
        }, parent=self, depends_on=[cm])
        network_policies(ns, [ctx.ns("monitoring")], parent=self)
        # Edge traffic reaches the proxy from outside the cluster.
        k8s.networking.v1.NetworkPolicy(f"{ns}-allow-edge", metadata=meta("allow-edge-proxy", ns), spec={
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": "kong-proxy"}, {"protocol": "TCP", "port": "kong-proxy-tls"}]}],
        }, opts=pulumi.ResourceOptions(parent=self))
        self.endpoint = f"http://{svc_host('kong-kong-proxy', ns)}:{g.http_port}"
        self.register_outputs({"endpoint": self.endpoint, "routes": sorted(g.routes)})
