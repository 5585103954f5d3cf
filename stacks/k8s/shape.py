"""The production shape, written once: labels, resources, spreading over nodes
and zones, disruption budgets, network policies, hardened containers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from fmctl.spec.model import PlatformSpec, Resources, Workload
from stacks.secret_source import SecretSource
from stacks.settings import StackSettings
from stacks.sizing import quantity

HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"
STORAGE_CLASS = "flowmaster-retain"
PART_OF = "flowmaster"

# One namespace per concern.
NAMESPACES: dict[str, str] = {
    "kafka": "flowmaster-kafka",
    "redis": "flowmaster-redis",
    "postgresql": "flowmaster-postgresql",
    "cnpg": "cnpg-system",
    "arangodb": "flowmaster-arangodb",
    "vault": "flowmaster-vault",
    "gateway": "flowmaster-gateway",
    "mesh": "istio-system",
    "monitoring": "flowmaster-monitoring",
    "app": "flowmaster-app",
}
# Namespaces whose pods get an Istio sidecar (mTLS between services).
MESHED = ("app", "gateway")


@dataclass(frozen=True)
class KubeContext:
    """What every Kubernetes component gets: the spec and the stack's facts."""

    spec: PlatformSpec
    settings: StackSettings
    secrets: SecretSource
    storage_class: str = STORAGE_CLASS
    namespaces: dict[str, str] = field(default_factory=lambda: dict(NAMESPACES))
    # Hard anti-affinity per node only where the spec places nodes on distinct machines.
    zones: tuple[str, ...] = ()

    def ns(self, concern: str) -> str:
        return self.namespaces[concern]


def labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": PART_OF}


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def meta(name: str, namespace: str | None = None, lbl: dict | None = None, **extra) -> dict:
    m: dict = {"name": name}
    if namespace:
        m["namespace"] = namespace
    if lbl:
        m["labels"] = lbl
    m.update(extra)
    return m


def res(r_requests: Resources, r_limits: Resources) -> dict:
    return {
        "requests": {"cpu": r_requests.cpu, "memory": quantity(r_requests.memory)},
        "limits": {"cpu": r_limits.cpu, "memory": quantity(r_limits.memory)},
    }


def workload_resources(w: Workload) -> dict:
    return res(w.requests, w.limits)


def spread(match: dict[str, str], ctx: KubeContext, hard_nodes: bool) -> list[dict]:
    """Even spreading over zones (hard when the spec names several) and nodes."""
    out = []
    if ctx.zones:
        out.append({
            "maxSkew": 1,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "DoNotSchedule" if len(ctx.zones) > 1 else "ScheduleAnyway",
            "labelSelector": {"matchLabels": match},
        })
    out.append({
        "maxSkew": 1,
        "topologyKey": HOSTNAME_KEY,
        "whenUnsatisfiable": "DoNotSchedule" if hard_nodes else "ScheduleAnyway",
        "labelSelector": {"matchLabels": match},
    })
    return out


def anti_affinity(match: dict[str, str], hard: bool) -> dict:
    """Never two pods of one set on a node (hard), or rather not (soft: one-box envs)."""
    term = {"labelSelector": {"matchLabels": match}, "topologyKey": HOSTNAME_KEY}
    if hard:
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}}


def pod_security() -> dict:
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def container_security(read_only: bool = True) -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only,
        "capabilities": {"drop": ["ALL"]},
    }


def pdb(name: str, namespace: str, match: dict, parent: pulumi.Resource, *, max_unavailable: int | None = None,
        min_available: int | None = None, depends_on: list | None = None) -> k8s.policy.v1.PodDisruptionBudget:
    spec: dict = {"selector": {"matchLabels": match}}
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    else:
        spec["minAvailable"] = min_available
    return k8s.policy.v1.PodDisruptionBudget(
        f"{namespace}-{name}-pdb",
        metadata=meta(name, namespace),
        spec=spec,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )


def quorum_loss_budget(members: int) -> int:
    """Members a quorum of `members` may lose and still have a majority."""
    return max((members - 1) // 2, 1) if members > 1 else 1


def namespace_peer(concern_ns: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": concern_ns}}}


def network_policies(namespace: str, allowed_from: list[str], parent: pulumi.Resource,
                     ports: list[int] | None = None, depends_on: list | None = None) -> list:
    """Deny all ingress in the namespace, then let in its own pods and the named namespaces."""
    opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [])
    deny = k8s.networking.v1.NetworkPolicy(
        f"{namespace}-default-deny",
        metadata=meta("default-deny-ingress", namespace),
        spec={"podSelector": {}, "policyTypes": ["Ingress"]},
        opts=opts,
    )
    rule: dict = {"from": [{"podSelector": {}}] + [namespace_peer(n) for n in sorted(set(allowed_from))]}
    if ports:
        rule["ports"] = [{"protocol": "TCP", "port": p} for p in sorted(set(ports))]
    allow = k8s.networking.v1.NetworkPolicy(
        f"{namespace}-allow-platform",
        metadata=meta("allow-platform", namespace),
        spec={"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [rule]},
        opts=opts,
    )
    return [deny, allow]


def secret(name: str, namespace: str, string_data: dict[str, pulumi.Input[str]], parent: pulumi.Resource,
           secret_type: str = "Opaque", depends_on: list | None = None, lbl: dict | None = None) -> k8s.core.v1.Secret:
    """A Secret whose values are Pulumi secrets (encrypted in state)."""
    return k8s.core.v1.Secret(
        f"{namespace}-{name}",
        metadata=meta(name, namespace, lbl),
        type=secret_type,
        string_data={k: pulumi.Output.secret(v) for k, v in string_data.items()},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )


def release(name: str, namespace: str, chart: str, version: str, repo: str, values: dict,
            parent: pulumi.Resource, depends_on: list | None = None) -> k8s.helm.v3.Release:
    """A Helm release whose values hold no secret: charts get existingSecret names only."""
    return k8s.helm.v3.Release(
        f"{namespace}-{name}",
        name=name,
        namespace=namespace,
        chart=chart,
        version=version,
        repository_opts={"repo": repo},
        values=values,
        atomic=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )


def custom(kind_api: tuple[str, str], name: str, namespace: str, spec: dict, parent: pulumi.Resource,
           lbl: dict | None = None, annotations: dict | None = None, depends_on: list | None = None,
           rname: str | None = None) -> k8s.apiextensions.CustomResource:
    api_version, kind = kind_api
    m = meta(name, namespace, lbl)
    if annotations:
        m["annotations"] = annotations
    return k8s.apiextensions.CustomResource(
        rname or f"{namespace}-{kind.lower()}-{name}",
        api_version=api_version,
        kind=kind,
        metadata=m,
        spec=spec,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )


def svc_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"
