"""Redis cluster as a StatefulSet: masters + replicas from `redis.shards`.

One StatefulSet holds every node (roles move on failover, so pod names cannot
carry them); a Job forms the cluster once with `--cluster-replicas` from the
spec and does nothing when the cluster is already formed. Users come from an
ACL file in a Secret; the config (no secret in it) from a ConfigMap.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks import versions
from stacks.k8s.shape import (
    KubeContext,
    anti_affinity,
    container_security,
    labels,
    meta,
    network_policies,
    pdb,
    pod_security,
    secret,
    selector,
    spread,
    svc_host,
    workload_resources,
)
from stacks.sizing import distinct_machines, quantity, storage, workload

NAME = "redis"
CONF_DIR = "/etc/redis"
ACL_DIR = "/etc/redis-users"


@dataclass(frozen=True)
class RedisArgs:
    ctx: KubeContext


def redis_conf(spec) -> str:
    r = spec.redis
    save = " ".join(f"{s} {c}" for s, c in r.persistence.rdb_save)
    lines = [
        f"port {r.port}",
        "bind * -::*",
        "protected-mode yes",
        "cluster-enabled yes",
        "cluster-config-file /data/nodes.conf",
        f"cluster-node-timeout {r.node_timeout}",
        f"cluster-port {r.bus_port}",
        f"maxmemory {r.maxmemory}",
        f"maxmemory-policy {r.maxmemory_policy}",
        f"appendonly {'yes' if r.persistence.aof else 'no'}",
        f"appendfsync {r.persistence.aof_fsync}",
        f'save "{save}"',
        "dir /data",
        f"aclfile {ACL_DIR}/users.acl",
        f"include {ACL_DIR}/replication.conf",
    ]
    return "\n".join(lines) + "\n"


def admin_user(spec) -> str:
    return getattr(spec.redis, "admin_user", "admin")


def replication_user(spec) -> str:
    """The user replicas authenticate with (redis.replication_user), else the admin."""
    name = getattr(spec.redis, "replication_user", "replicator")
    return name if name in spec.redis.users else admin_user(spec)


class RedisCluster(pulumi.ComponentResource):
    nodes: list[str]

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Redis", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        r, ns = spec.redis, ctx.ns("redis")
        shards = r.shards
        per_shard = {len(s.replicas) for s in shards}
        if len(per_shard) != 1:
            raise ValueError("redis.shards: every master needs the same number of replicas on Kubernetes")
        replicas_per_master = per_shard.pop()
        total = len(shards) * (1 + replicas_per_master)
        hosts = [h for s in shards for h in (s.master, *s.replicas)]
        hard = distinct_machines(spec, hosts)
        lbl = labels(NAME, "cache")
        match = selector(NAME)

        users = {n: ctx.secrets.ref(u.password) for n, u in r.users.items()}
        rules = {n: u.rules for n, u in r.users.items()}

        def acl(values: list[str]) -> str:
            lines = ["user default off"]
            for (uname, _), pw in zip(sorted(users.items()), values, strict=True):
                lines.append(f"user {uname} on >{pw} {rules[uname]}")
            return "\n".join(lines) + "\n"

        ordered = [users[n] for n in sorted(users)]
        repl = replication_user(spec)
        acl_file = pulumi.Output.all(*ordered).apply(lambda vals: acl(list(vals)))
        repl_conf = users[repl].apply(lambda pw: f"masteruser {repl}\nmasterauth {pw}\n")
        users_secret = secret("redis-users", ns, {
            "users.acl": acl_file, "replication.conf": repl_conf,
            **{f"{n.replace('_', '-')}-password": v for n, v in users.items()},
        }, parent=self)
        conf = k8s.core.v1.ConfigMap(f"{ns}-redis-config", metadata=meta("redis-config", ns, lbl),
                                     data={"redis.conf": redis_conf(spec)}, opts=pulumi.ResourceOptions(parent=self))

        headless = k8s.core.v1.Service(f"{ns}-redis-headless", metadata=meta("redis-headless", ns, lbl), spec={
            "clusterIP": "None", "publishNotReadyAddresses": True, "selector": match,
            "ports": [{"name": "redis", "port": r.port, "targetPort": "redis"},
                      {"name": "bus", "port": r.bus_port, "targetPort": "bus"}],
        }, opts=pulumi.ResourceOptions(parent=self))
        k8s.core.v1.Service(f"{ns}-redis", metadata=meta("redis", ns, lbl), spec={
            "selector": match,
            "ports": [{"name": "redis", "port": r.port, "targetPort": "redis"},
                      {"name": "metrics", "port": spec.monitoring.redis_exporter_port, "targetPort": "metrics"}],
        }, opts=pulumi.ResourceOptions(parent=self))

        rw, ew = workload(spec, "redis"), workload(spec, "redis_exporter")
        image = f"redis:{r.version}"
        exporter_user = "exporter" if "exporter" in r.users else admin_user(spec)
        self.statefulset = k8s.apps.v1.StatefulSet(f"{ns}-redis", metadata=meta(NAME, ns, lbl), spec={
            "serviceName": "redis-headless",
            "replicas": total,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": match},
            "template": {
                "metadata": {"labels": lbl},
                "spec": {
                    "securityContext": {**pod_security(), "runAsUser": 999, "fsGroup": 999},
                    "affinity": anti_affinity(match, hard),
                    "topologySpreadConstraints": spread(match, ctx, hard),
                    "containers": [
                        {
                            "name": "redis",
                            "image": image,
                            "command": ["redis-server", f"{CONF_DIR}/redis.conf", "--cluster-announce-ip", "$(POD_IP)"],
                            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                            "ports": [{"name": "redis", "containerPort": r.port},
                                      {"name": "bus", "containerPort": r.bus_port}],
                            "readinessProbe": {"tcpSocket": {"port": "redis"}},
                            "livenessProbe": {"tcpSocket": {"port": "redis"}},
                            "resources": workload_resources(rw),
                            "securityContext": container_security(),
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/data"},
                                {"name": "config", "mountPath": CONF_DIR, "readOnly": True},
                                {"name": "users", "mountPath": ACL_DIR, "readOnly": True},
                            ],
                        },
                        {
                            "name": "exporter",
                            "image": versions.REDIS_EXPORTER_IMAGE,
                            "env": [
                                {"name": "REDIS_ADDR", "value": f"redis://localhost:{r.port}"},
                                {"name": "REDIS_USER", "value": exporter_user},
                                {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {
                                    "name": "redis-users", "key": f"{exporter_user}-password"}}},
                                {"name": "REDIS_EXPORTER_WEB_LISTEN_ADDRESS", "value": f":{spec.monitoring.redis_exporter_port}"},
                                {"name": "REDIS_EXPORTER_IS_CLUSTER", "value": "true"},
                            ],
                            "ports": [{"name": "metrics", "containerPort": spec.monitoring.redis_exporter_port}],
                            "resources": workload_resources(ew),
                            "securityContext": container_security(),
                        },
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "redis-config"}},
                        {"name": "users", "secret": {"secretName": "redis-users", "defaultMode": 0o400}},
                    ],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": ctx.storage_class,
                         "resources": {"requests": {"storage": quantity(storage(spec, "redis"))}}},
            }],
        }, opts=pulumi.ResourceOptions(parent=self, depends_on=[users_secret, conf, headless]))

        # One node down at a time at most: a shard survives as long as one of its copies does.
        pdb(NAME, ns, match, self, max_unavailable=replicas_per_master, depends_on=[self.statefulset])

        self.nodes = [f"redis-{i}.{svc_host('redis-headless', ns)}:{r.port}" for i in range(total)]
        resolve = " ".join(
            f"$(getent hosts redis-{i}.{svc_host('redis-headless', ns)} | cut -d' ' -f1):{r.port}" for i in range(total))
        first = svc_host("redis-headless", ns)
        admin = admin_user(spec)
        create = (
            f"if redis-cli --user {admin} -h redis-0.{first} -p {r.port} cluster info | grep -q cluster_state:ok; "
            f"then echo formed; exit 0; fi; "
            f"redis-cli --user {admin} --cluster create {resolve} --cluster-replicas {replicas_per_master} --cluster-yes"
        )
        k8s.batch.v1.Job(f"{ns}-redis-cluster-create", metadata=meta("redis-cluster-create", ns, labels(NAME, "init")), spec={
            "backoffLimit": total,
            "template": {"metadata": {"labels": labels("redis-cluster-create", "init")}, "spec": {
                "restartPolicy": "OnFailure",
                "securityContext": {**pod_security(), "runAsUser": 999},
                "containers": [{
                    "name": "create",
                    "image": image,
                    "command": ["sh", "-c", create],
                    "env": [{"name": "REDISCLI_AUTH", "valueFrom": {"secretKeyRef": {
                        "name": "redis-users", "key": f"{admin}-password"}}}],
                    "resources": workload_resources(ew),
                    "securityContext": container_security(),
                }],
            }},
        }, opts=pulumi.ResourceOptions(parent=self, depends_on=[self.statefulset]))

        network_policies(ns, [ctx.ns("app"), ctx.ns("monitoring")], parent=self)
        self.register_outputs({"nodes": self.nodes, "masters": len(shards), "replicas_per_master": replicas_per_master})
