"""The FlowMaster app: one Deployment per `app.services` entry with the spec's
replicas, requests and limits, spread over zones and nodes, behind a PDB, with
credentials from Secrets (values are Pulumi secrets) and the mesh around it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks.k8s.shape import (
    KubeContext,
    anti_affinity,
    container_security,
    labels,
    meta,
    namespace_peer,
    pdb,
    pod_security,
    res,
    secret,
    selector,
    spread,
    svc_host,
)


@dataclass(frozen=True)
class AppArgs:
    ctx: KubeContext
    kafka_bootstrap: str
    redis_nodes: list[str]
    postgres_pooler: str
    arangodb_endpoint: str
    vault_address: str


def k8s_name(service: str) -> str:
    return service.replace("_", "-")


class FlowMasterApp(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:App", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        app, ns = spec.app, ctx.ns("app")
        pg = spec.postgresql
        owner = pg.databases[app.database].owner
        creds = secret("flowmaster-credentials", ns, {
            "database-password": ctx.secrets.ref(pg.role_passwords[owner]),
            "redis-password": ctx.secrets.ref(spec.redis.users["flowmaster"].password),
            "kafka-password": ctx.secrets.ref(spec.kafka.users["flowmaster"].password),
            "secret-key": ctx.secrets.ref(app.secret_key),
        }, parent=self)
        pooler_host, pooler_port = args.postgres_pooler.rsplit(":", 1)
        env = [
            {"name": "FM_ENV", "value": spec.name},
            {"name": "FM_VERSION", "value": app.version},
            {"name": "FM_DATABASE_HOST", "value": pooler_host},
            {"name": "FM_DATABASE_PORT", "value": pooler_port},
            {"name": "FM_DATABASE_NAME", "value": app.database},
            {"name": "FM_DATABASE_USER", "value": owner},
            {"name": "FM_KAFKA_BOOTSTRAP", "value": args.kafka_bootstrap},
            {"name": "FM_KAFKA_USER", "value": "flowmaster"},
            {"name": "FM_KAFKA_SASL_MECHANISM", "value": spec.kafka.sasl_mechanism},
            {"name": "FM_REDIS_NODES", "value": ",".join(args.redis_nodes)},
            {"name": "FM_REDIS_USER", "value": "flowmaster"},
            {"name": "FM_ARANGODB_ENDPOINT", "value": args.arangodb_endpoint},
            {"name": "FM_VAULT_ADDR", "value": args.vault_address},
            *({"name": f"FM_{var}", "valueFrom": {"secretKeyRef": {"name": "flowmaster-credentials", "key": key}}}
              for var, key in (("DATABASE_PASSWORD", "database-password"), ("REDIS_PASSWORD", "redis-password"),
                               ("KAFKA_PASSWORD", "kafka-password"), ("SECRET_KEY", "secret-key"))),
        ]
        image = f"{ctx.settings.app_image_repository}:{app.version}"
        hard = len(ctx.zones) > 1
        self.endpoints: dict[str, str] = {}
        for sname, svc in sorted(app.services.items()):
            n = k8s_name(sname)
            lbl, match = labels(n, "app"), selector(n)
            sa = k8s.core.v1.ServiceAccount(f"{ns}-sa-{n}", metadata=meta(n, ns, lbl),
                                            automount_service_account_token=False, opts=pulumi.ResourceOptions(parent=self))
            dep = k8s.apps.v1.Deployment(f"{ns}-{n}", metadata=meta(n, ns, lbl), spec={
                "replicas": svc.replicas,
                "selector": {"matchLabels": match},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": lbl},
                    "spec": {
                        "serviceAccountName": n,
                        "securityContext": pod_security(),
                        "affinity": anti_affinity(match, hard),
                        "topologySpreadConstraints": spread(match, ctx, hard),
                        "containers": [{
                            "name": n,
                            "image": image,
                            "args": ["serve", sname],
                            "ports": [{"name": "http", "containerPort": svc.port}],
                            "env": [*env, {"name": "FM_SERVICE", "value": sname}, {"name": "FM_PORT", "value": str(svc.port)}],
                            "resources": res(svc.requests, svc.limits),
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                            "securityContext": container_security(),
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
            }, opts=pulumi.ResourceOptions(parent=self, depends_on=[creds, sa]))
            k8s.core.v1.Service(f"{ns}-svc-{n}", metadata=meta(n, ns, lbl), spec={
                "selector": match, "ports": [{"name": "http", "port": svc.port, "targetPort": "http"}],
            }, opts=pulumi.ResourceOptions(parent=self))
            pdb(n, ns, match, self, max_unavailable=1, depends_on=[dep])
            self.endpoints[sname] = f"http://{svc_host(n, ns)}:{svc.port}"

        # Ingress: deny all, then the gateway to routed services, callers per mesh.allow, Prometheus.
        k8s.networking.v1.NetworkPolicy(f"{ns}-default-deny", metadata=meta("default-deny-ingress", ns),
                                        spec={"podSelector": {}, "policyTypes": ["Ingress"]},
                                        opts=pulumi.ResourceOptions(parent=self))
        routed = {r.service for r in spec.gateway.routes.values()}
        for sname, svc in sorted(app.services.items()):
            callers = spec.gateway.mesh.allow.get(sname, [])
            peers = []
            if sname in routed or "gateway" in callers:
                peers.append(namespace_peer(ctx.ns("gateway")))
            peers += [{"podSelector": {"matchLabels": selector(k8s_name(c))}} for c in sorted(callers) if c != "gateway"]
            peers.append(namespace_peer(ctx.ns("monitoring")))
            k8s.networking.v1.NetworkPolicy(f"{ns}-allow-{k8s_name(sname)}", metadata=meta(f"allow-{k8s_name(sname)}", ns), spec={
                "podSelector": {"matchLabels": selector(k8s_name(sname))},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": svc.port}]}],
            }, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"endpoints": self.endpoints, "image": image})
