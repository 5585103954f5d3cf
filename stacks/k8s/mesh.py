"""Istio: base + istiod, mesh-wide mTLS as the spec says, and per service the
load balancing, retries and who may call it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks import versions
from stacks.k8s.gateway import SERVICE_ACCOUNT as GATEWAY_SA
from stacks.k8s.shape import KubeContext, custom, release, svc_host, workload_resources
from stacks.sizing import replicas, workload

SECURITY_API = "security.istio.io/v1"
NETWORKING_API = "networking.istio.io/v1"


@dataclass(frozen=True)
class MeshArgs:
    ctx: KubeContext


def k8s_name(service: str) -> str:
    return service.replace("_", "-")


def principal(ctx: KubeContext, caller: str) -> str:
    if caller == "gateway":
        return f"cluster.local/ns/{ctx.ns('gateway')}/sa/{GATEWAY_SA}"
    return f"cluster.local/ns/{ctx.ns('app')}/sa/{k8s_name(caller)}"


class ServiceMesh(pulumi.ComponentResource):
    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Istio", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        m, ns, app_ns = spec.gateway.mesh, ctx.ns("mesh"), ctx.ns("app")
        repo = versions.REPOSITORIES["istio"]
        base = release("istio-base", ns, "base", versions.ISTIO, repo, {"defaultRevision": "default"}, parent=self)
        n = replicas(spec, "istiod")
        istiod = release("istiod", ns, "istiod", versions.ISTIO, repo, {
            "pilot": {"autoscaleEnabled": False, "replicaCount": n,
                      "resources": workload_resources(workload(spec, "istiod"))},
            "meshConfig": {"enableAutoMtls": True},
            "global": {"proxy": {"holdApplicationUntilProxyStarts": True}},
        }, parent=self, depends_on=[base])
        after = [istiod]
        self.peer_auth = custom((SECURITY_API, "PeerAuthentication"), "default", ns, {"mtls": {"mode": m.mtls}},
                                parent=self, depends_on=after)
        for sname in sorted(spec.app.services):
            host = svc_host(k8s_name(sname), app_ns)
            tls_mode = "ISTIO_MUTUAL" if m.mtls != "DISABLE" else "DISABLE"
            custom((NETWORKING_API, "DestinationRule"), k8s_name(sname), app_ns, {
                "host": host,
                "trafficPolicy": {"loadBalancer": {"simple": m.load_balancer}, "tls": {"mode": tls_mode}},
            }, parent=self, depends_on=after)
            custom((NETWORKING_API, "VirtualService"), k8s_name(sname), app_ns, {
                "hosts": [host],
                "http": [{
                    "route": [{"destination": {"host": host}}],
                    "retries": {"attempts": m.retries, "perTryTimeout": f"{m.per_try_timeout}ms",
                                "retryOn": "connect-failure,refused-stream,unavailable,reset,503"},
                }],
            }, parent=self, depends_on=after)
        for target, callers in sorted(m.allow.items()):
            custom((SECURITY_API, "AuthorizationPolicy"), f"allow-{k8s_name(target)}", app_ns, {
                "selector": {"matchLabels": {"app.kubernetes.io/name": k8s_name(target)}},
                "action": "ALLOW",
                "rules": [
                    {"from": [{"source": {"principals": sorted(principal(ctx, c) for c in callers)}}]},
                    # Prometheus scrapes /metrics only.
                    {"from": [{"source": {"namespaces": [ctx.ns("monitoring")]}}],
                     "to": [{"operation": {"paths": ["/metrics"], "methods": ["GET"]}}]},
                ],
            }, parent=self, depends_on=after)
        self.register_outputs({"mtls": m.mtls})
