"""The FlowMaster policy rules, importable without starting a policy server.

Each rule is a pulumi-policy ResourceValidationPolicy (or, where it needs the
whole stack, a StackValidationPolicy). The analyzer hands rules the resource
inputs with secrets already unwrapped, so "no plaintext secrets" means: a
secret may only travel where the engine keeps it encrypted (a Kubernetes
Secret, a Docker upload) and be referenced from everywhere else.

The environment (several rules relax for `dev`) is read from a Docker
container's `flowmaster.io/environment` label or from the policy config
`environment` (`--policy-pack-config`); unknown means the strict rules apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ENV_SCHEMA = PolicyConfigSchema(properties={"environment": {"type": "string"}})

SECRET_WORD = re.compile(r"(?i)(password|passwd|secret|token|api_?key|private_?key|masterauth|requirepass|auth)$")
# Keys that name where a secret is, not the secret itself.
SECRET_REFERENCE = re.compile(r"(?i)(existing|name|ref|file|path|key$|keys$|envvars)")
INLINE_SECRET = re.compile(r"(?i)\b(password|passwd|secret|token|masterauth|requirepass)\s*[=:]\s*['\"]?(?!\$)[^\s'\"]{4,}")

WORKLOADS = {
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job", "kubernetes:core/v1:Pod",
}
CONTAINER = "docker:index/container:Container"
RELEASE = "kubernetes:helm.sh/v3:Release"

# Where each chart keeps replica counts, resources and image tags (values paths).
CHART_REPLICAS: dict[str, list[str]] = {
    "vault": ["server.ha.replicas"],
    "kong": ["replicaCount"],
    "istiod": ["pilot.replicaCount"],
    "kube-prometheus-stack": ["prometheus.prometheusSpec.replicas", "alertmanager.alertmanagerSpec.replicas",
                              "grafana.replicas"],
}
CHART_RESOURCES: dict[str, list[str]] = {
    "vault": ["server.resources"],
    "kong": ["resources"],
    "istiod": ["pilot.resources"],
    "kube-prometheus-stack": ["prometheus.prometheusSpec.resources", "alertmanager.alertmanagerSpec.resources",
                              "grafana.resources"],
    "strimzi-kafka-operator": ["resources"],
    "cloudnative-pg": ["resources"],
    "kube-arangodb": ["operator.resources"],
    "loki": ["singleBinary.resources"],
    "jaeger": ["allInOne.resources"],
}
CHART_IMAGES: dict[str, list[str]] = {"vault": ["server.image.tag"], "kong": ["image.tag"]}


# ------------------------------------------------------------------ helpers


def get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def environment(args: ResourceValidationArgs) -> str | None:
    if args.resource_type == CONTAINER:
        for label in args.props.get("labels") or []:
            if label.get("label") == "flowmaster.io/environment":
                return label.get("value")
    return (args.get_config() or {}).get("environment")


def is_dev(args: ResourceValidationArgs) -> bool:
    return environment(args) == "dev"


def pod_spec(args: ResourceValidationArgs) -> dict | None:
    props = args.props
    if args.resource_type == "kubernetes:core/v1:Pod":
        return props.get("spec")
    if args.resource_type in WORKLOADS:
        return get(props, "spec.template.spec")
    return None


def containers(args: ResourceValidationArgs) -> Iterator[dict]:
    spec = pod_spec(args)
    if spec:
        yield from spec.get("initContainers") or []
        yield from spec.get("containers") or []


def cr(args: ResourceValidationArgs, kind: str) -> dict | None:
    """The spec of a custom resource of this kind (any API group), else None."""
    return args.props.get("spec") or {} if args.resource_type.endswith(f":{kind}") and "kubernetes:" in args.resource_type \
        else None


def chart(args: ResourceValidationArgs) -> str | None:
    return args.props.get("chart") if args.resource_type == RELEASE else None


def walk(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            yield p, v
            yield from walk(v, p)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from walk(v, f"{path}[{i}]")


def secret_key(key: str) -> bool:
    return bool(SECRET_WORD.search(key)) and not SECRET_REFERENCE.search(key)


def rule(name: str, description: str, validate: Callable[[ResourceValidationArgs, ReportViolation], None],
         config: bool = False) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY,
                                    config_schema=ENV_SCHEMA if config else None)


# ------------------------------------------------------------------ rules


def _no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for c in containers(args):
        for e in c.get("env") or []:
            if secret_key(e.get("name", "")) and "value" in e:
                report(f"container {c.get('name')}: env {e['name']} holds a secret value; use valueFrom.secretKeyRef")
    if args.resource_type == "kubernetes:core/v1:ConfigMap":
        for key, value in (args.props.get("data") or {}).items():
            if secret_key(key) or (isinstance(value, str) and INLINE_SECRET.search(value)):
                report(f"ConfigMap key {key} carries a secret; put it in a Secret")
    if args.resource_type == RELEASE:
        for path, value in walk(args.props.get("values") or {}):
            leaf = path.rsplit(".", 1)[-1]
            if isinstance(value, str) and value and secret_key(leaf):
                report(f"Helm values {path} holds a secret (it would be stored in the release); use an existingSecret")
    if args.resource_type == CONTAINER:
        for env in args.props.get("envs") or []:
            key = env.split("=", 1)[0]
            if secret_key(key) and not key.endswith("_FILE"):
                report(f"container env {key} holds a secret; upload it as a file and point *_FILE at it")
        command = " ".join((args.props.get("command") or []) + (args.props.get("entrypoints") or []))
        if INLINE_SECRET.search(command):
            report("container command line carries a secret; read it from an uploaded file")


def _resources_ok(r: Any) -> bool:
    limits = (r or {}).get("limits") or {}
    return bool(limits.get("cpu")) and bool(limits.get("memory"))


def _limits_set(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for c in containers(args):
        if not _resources_ok(c.get("resources")):
            report(f"container {c.get('name')}: set resources.limits.cpu and .memory")
    spec = cr(args, "KafkaNodePool")
    if spec is not None and not _resources_ok(spec.get("resources")):
        report("KafkaNodePool: set resources.limits")
    spec = cr(args, "Kafka")
    if spec is not None and spec.get("zookeeper") and not _resources_ok(spec["zookeeper"].get("resources")):
        report("Kafka zookeeper: set resources.limits")
    spec = cr(args, "Cluster")
    if spec is not None and "instances" in spec and not _resources_ok(spec.get("resources")):
        report("PostgreSQL Cluster: set resources.limits")
    spec = cr(args, "ArangoDeployment")
    if spec is not None:
        for group in ("agents", "dbservers", "coordinators", "single"):
            if group in spec and not _resources_ok(spec[group].get("resources")):
                report(f"ArangoDeployment {group}: set resources.limits")
    name = chart(args)
    for path in CHART_RESOURCES.get(name or "", []):
        if not _resources_ok(get(args.props.get("values") or {}, path)):
            report(f"Helm chart {name}: set {path}.limits")
    if args.resource_type == CONTAINER and (not args.props.get("memory") or not args.props.get("cpus")):
        report(f"container {args.props.get('name')}: set memory and cpus limits")


def _replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_dev(args):
        return
    found: list[tuple[str, Any]] = []
    if args.resource_type in {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"}:
        found.append(("spec.replicas", get(args.props, "spec.replicas")))
    for kind, paths in (("KafkaNodePool", ["replicas"]), ("Cluster", ["instances"]), ("Pooler", ["instances"]),
                        ("ArangoDeployment", ["agents.count", "dbservers.count", "coordinators.count"])):
        spec = cr(args, kind)
        if spec is not None:
            found += [(p, get(spec, p)) for p in paths if get(spec, p) is not None or kind != "ArangoDeployment"]
    spec = cr(args, "Kafka")
    if spec is not None and spec.get("zookeeper"):
        found.append(("zookeeper.replicas", get(spec, "zookeeper.replicas")))
    name = chart(args)
    for path in CHART_REPLICAS.get(name or "", []):
        found.append((f"values.{path}", get(args.props.get("values") or {}, path)))
    for path, value in found:
        if not isinstance(value, int) or value < 2:
            report(f"{path} is {value}: outside dev every service runs at least 2 replicas")


def _image_ok(image: str | None) -> bool:
    if not image:
        return False
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")


def _no_latest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for c in containers(args):
        if "image" in c and not _image_ok(c.get("image")):
            report(f"container {c.get('name')}: image {c.get('image')} must carry a version tag, never :latest")
    for kind, field in (("Cluster", "imageName"), ("ArangoDeployment", "image")):
        spec = cr(args, kind)
        if spec is not None and field in spec and not _image_ok(spec[field]):
            report(f"{kind} {field} {spec[field]} must carry a version tag, never :latest")
    name = chart(args)
    for path in CHART_IMAGES.get(name or "", []):
        tag = get(args.props.get("values") or {}, path)
        if not tag or str(tag) == "latest":
            report(f"Helm chart {name}: {path} must pin a version, not {tag!r}")
    if name and not args.props.get("version"):
        report(f"Helm chart {name}: pin the chart version")
    if args.resource_type == "docker:index/remoteImage:RemoteImage" and not _image_ok(args.props.get("name")):
        report(f"image {args.props.get('name')} must carry a version tag, never :latest")
    if args.resource_type == "docker:index/image:Image" and not _image_ok(args.props.get("imageName")):
        report(f"built image {args.props.get('imageName')} must carry a version tag, never :latest")


def _tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = cr(args, "Kafka")
    if spec is not None:
        for listener in get(spec, "kafka.listeners") or []:
            if not listener.get("tls"):
                report(f"Kafka listener {listener.get('name')}: tls must be true")
            if not get(listener, "authentication.type"):
                report(f"Kafka listener {listener.get('name')}: needs authentication")
    spec = cr(args, "PeerAuthentication")
    if spec is not None and get(spec, "mtls.mode") != "STRICT":
        report(f"PeerAuthentication: mtls.mode is {get(spec, 'mtls.mode')}, must be STRICT")
    spec = cr(args, "DestinationRule")
    if spec is not None and get(spec, "trafficPolicy.tls.mode") not in ("ISTIO_MUTUAL", "MUTUAL"):
        report(f"DestinationRule {spec.get('host')}: trafficPolicy.tls.mode must be ISTIO_MUTUAL")
    spec = cr(args, "ArangoDeployment")
    if spec is not None and get(spec, "tls.caSecretName") in (None, "None"):
        report("ArangoDeployment: tls.caSecretName must name a CA (TLS on)")
    name = chart(args)
    values = args.props.get("values") or {}
    if name == "vault" and get(values, "global.tlsDisable") is not False:
        report("Vault chart: global.tlsDisable must be false")
    if name == "vault" and 'tls_disable = "true"' in str(get(values, "server.ha.raft.config") or ""):
        report("Vault chart: the listener disables TLS")
    if name == "kong" and get(values, "proxy.tls.enabled") is not True:
        report("Kong chart: proxy.tls.enabled must be true")
    if args.resource_type == CONTAINER and not is_dev(args):
        for up in args.props.get("uploads") or []:
            if re.search(r'tls_disable\s*=\s*"?(true|1)', str(up.get("content") or "")):
                report(f"container {args.props.get('name')}: {up.get('file')} disables TLS (allowed in dev only)")


def _kafka_rf(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = cr(args, "KafkaTopic")
    if spec is not None:
        rf = spec.get("replicas")
        if not isinstance(rf, int) or rf < 2:
            report(f"KafkaTopic {spec.get('topicName')}: replicas is {rf}; at least 2 (one broker loss keeps the data)")


def _vault_audit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if chart(args) == "vault" and get(args.props.get("values") or {}, "server.auditStorage.enabled") is not True:
        report("Vault chart: server.auditStorage.enabled must be true (the audit device needs its volume)")
    if args.resource_type == CONTAINER and "vault" in str(args.props.get("name", "")):
        paths = [v.get("container_path") or v.get("containerPath") or "" for v in args.props.get("volumes") or []]
        if not any("audit" in p for p in paths):
            report(f"container {args.props.get('name')}: mount an audit volume")


RETAINING_DEFAULT = "flowmaster-retain"


def _claims(r) -> Iterator[tuple[str, str | None]]:
    """(where, storage class) of every volume claim a resource asks for."""
    t, p = r.resource_type, r.props
    if t == "kubernetes:core/v1:PersistentVolumeClaim":
        yield f"PersistentVolumeClaim {get(p, 'metadata.name')}", get(p, "spec.storageClassName")
    if t == "kubernetes:apps/v1:StatefulSet":
        for c in get(p, "spec.volumeClaimTemplates") or []:
            yield f"StatefulSet {get(p, 'metadata.name')} claim {get(c, 'metadata.name')}", get(c, "spec.storageClassName")
    if t.startswith("kubernetes:") and t.endswith(":KafkaNodePool"):
        for v in get(p, "spec.storage.volumes") or [get(p, "spec.storage")]:
            yield f"KafkaNodePool {get(p, 'metadata.name')}", (v or {}).get("class")
    if t.startswith("kubernetes:") and t.endswith(":Kafka") and get(p, "spec.zookeeper.storage"):
        yield "Kafka zookeeper storage", get(p, "spec.zookeeper.storage.class")
    if t.startswith("kubernetes:") and t.endswith(":Cluster") and get(p, "spec.storage"):
        yield f"PostgreSQL Cluster {get(p, 'metadata.name')}", get(p, "spec.storage.storageClass")
    if t.startswith("kubernetes:") and t.endswith(":ArangoDeployment"):
        for g in ("agents", "dbservers", "single"):
            if get(p, f"spec.{g}.volumeClaimTemplate"):
                yield f"ArangoDeployment {g}", get(p, f"spec.{g}.volumeClaimTemplate.spec.storageClassName")
    if t == RELEASE:
        values = p.get("values") or {}
        for path, value in walk(values):
            if path.endswith(("storageClass", "storageClassName")):
                yield f"Helm chart {p.get('chart')} {path}", value


def _pv_retain(args: StackValidationArgs, report: ReportViolation) -> None:
    retaining = {get(r.props, "metadata.name") for r in args.resources
                 if r.resource_type == "kubernetes:storage.k8s.io/v1:StorageClass" and r.props.get("reclaimPolicy") == "Retain"}
    for r in args.resources:
        if r.resource_type == "kubernetes:storage.k8s.io/v1:StorageClass" and r.props.get("reclaimPolicy") != "Retain":
            report(f"StorageClass {get(r.props, 'metadata.name')}: reclaimPolicy must be Retain", r.urn)
        for where, cls in _claims(r):
            if cls not in retaining:
                report(f"{where}: storage class {cls!r} does not retain volumes (use a class with reclaimPolicy Retain)",
                       r.urn)


no_plaintext_secrets = rule("no-plaintext-secrets", "Secrets travel only in Secrets/uploads, never in env, config or Helm values",
                            _no_plaintext_secrets)
limits_set = rule("limits-set", "Every container, operator-managed pod and chart component has CPU and memory limits",
                  _limits_set)
replicas_outside_dev = rule("replicas-outside-dev", "Outside dev every service runs at least 2 replicas", _replicas,
                            config=True)
no_latest = rule("no-latest-images", "Every image and chart is pinned to a version; never :latest", _no_latest)
tls_on = rule("tls-on", "Kafka listeners TLS, mesh mTLS STRICT, Vault and Kong TLS, Arango TLS", _tls, config=True)
kafka_topic_rf = rule("kafka-topic-replication", "Kafka topics keep at least 2 replicas", _kafka_rf)
vault_audit = rule("vault-audit", "Vault has its audit volume", _vault_audit)
pv_retain = StackValidationPolicy(name="volumes-retain", description="Every persistent volume uses a retaining storage class",
                                  validate=_pv_retain, enforcement_level=EnforcementLevel.MANDATORY)

ALL_POLICIES = [no_plaintext_secrets, limits_set, replicas_outside_dev, no_latest, tls_on, kafka_topic_rf, vault_audit,
                pv_retain]
