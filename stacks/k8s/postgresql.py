"""PostgreSQL on CloudNativePG: primary + standbys, WAL archive, daily base
backups, one Database per spec database, and the pgbouncer Pooler."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks import versions
from stacks.k8s.shape import (
    KubeContext,
    custom,
    network_policies,
    release,
    secret,
    svc_host,
    workload_resources,
)
from stacks.sizing import daily_schedule_days, distinct_machines, quantity, replicas, storage, workload

CNPG_API = "postgresql.cnpg.io/v1"
CLUSTER = "flowmaster-pg"
POOLER = "flowmaster-pgbouncer"


@dataclass(frozen=True)
class PostgresArgs:
    ctx: KubeContext


def mb(n: int) -> str:
    return f"{n // (1024 * 1024)}MB"


def role_secret_name(role: str) -> str:
    return f"pg-role-{role.replace('_', '-')}"


class PostgresCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:PostgreSQL", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        pg, ns = spec.postgresql, ctx.ns("postgresql")
        op = release("cloudnative-pg", ctx.ns("cnpg"), "cloudnative-pg", versions.CLOUDNATIVE_PG_CHART,
                     versions.REPOSITORIES["cnpg"], {
                         "resources": workload_resources(workload(spec, "cnpg_operator")),
                         "monitoring": {"podMonitorEnabled": True},
                     }, parent=self)

        superuser = secret("pg-superuser", ns, {"username": "postgres", "password": ctx.secrets.ref(pg.superuser_password)},
                           parent=self, secret_type="kubernetes.io/basic-auth")
        roles = []
        role_secrets = []
        for role, ref in sorted(pg.role_passwords.items()):
            role_secrets.append(secret(role_secret_name(role), ns, {"username": role, "password": ctx.secrets.ref(ref)},
                                       parent=self, secret_type="kubernetes.io/basic-auth",
                                       lbl={"cnpg.io/reload": "true"}))
            roles.append({"name": role, "ensure": "present", "login": True, "inherit": True,
                          "passwordSecret": {"name": role_secret_name(role)}})

        hosts = [pg.primary, *(s.host for s in pg.standbys)]
        hard = distinct_machines(spec, hosts)
        pw = workload(spec, "postgresql")
        cluster_spec: dict = {
            "instances": len(hosts),
            "imageName": f"ghcr.io/cloudnative-pg/postgresql:{pg.version}",
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": True,
            "superuserSecret": {"name": "pg-superuser"},
            "enablePDB": True,
            "postgresql": {"parameters": {
                "max_connections": str(pg.max_connections),
                "superuser_reserved_connections": str(pg.superuser_reserved_connections),
                "max_wal_senders": str(pg.max_wal_senders),
                "shared_buffers": mb(pg.shared_buffers),
                "work_mem": mb(pg.work_mem),
                "password_encryption": pg.password_encryption,
            }},
            "bootstrap": {"initdb": {"database": spec.app.database, "owner": pg.databases[spec.app.database].owner,
                                     "secret": {"name": role_secret_name(pg.databases[spec.app.database].owner)}}},
            "managed": {"roles": roles},
            "storage": {"size": quantity(storage(spec, "postgresql")), "storageClass": ctx.storage_class},
            "resources": workload_resources(pw),
            "affinity": {
                "enablePodAntiAffinity": True,
                "podAntiAffinityType": "required" if hard else "preferred",
                "topologyKey": "kubernetes.io/hostname",
            },
            "monitoring": {"enablePodMonitor": True},
        }
        if ctx.zones:
            cluster_spec["topologySpreadConstraints"] = [{
                "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule" if len(ctx.zones) > 1 else "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"cnpg.io/cluster": CLUSTER}},
            }]
        b = pg.backup
        if not b.wal_archiving:
            raise ValueError("postgresql.backup.wal_archiving: CloudNativePG base backups need the WAL archive; set it true")
        days = b.keep * daily_schedule_days(b.schedule)
        cluster_spec["backup"] = {
            "retentionPolicy": f"{days}d",
            "barmanObjectStore": {
                "destinationPath": f"{ctx.settings.object_store.rstrip('/')}/postgresql/{spec.name}",
                "s3Credentials": {"inheritFromIAMRole": True},
                "wal": {"compression": "gzip"},
                "data": {"compression": "gzip"},
            },
        }
        self.cluster = custom((CNPG_API, "Cluster"), CLUSTER, ns, cluster_spec, parent=self,
                              depends_on=[op, superuser, *role_secrets])
        # CloudNativePG cron has a seconds field first.
        custom((CNPG_API, "ScheduledBackup"), "daily", ns, {
            "schedule": f"0 {b.schedule}",
            "cluster": {"name": CLUSTER},
            "backupOwnerReference": "self",
            "method": "barmanObjectStore",
            "immediate": True,
        }, parent=self, depends_on=[self.cluster])
        for dbname, db in sorted(pg.databases.items()):
            custom((CNPG_API, "Database"), dbname.replace("_", "-"), ns, {
                "name": dbname, "owner": db.owner, "cluster": {"name": CLUSTER}, "ensure": "present",
            }, parent=self, depends_on=[self.cluster])

        bw, bouncer = workload(spec, "pgbouncer"), pg.pgbouncer
        pool_match = {"cnpg.io/poolerName": POOLER}
        custom((CNPG_API, "Pooler"), POOLER, ns, {
            "cluster": {"name": CLUSTER},
            "instances": replicas(spec, "pgbouncer"),
            "type": "rw",
            "pgbouncer": {"poolMode": bouncer.pool_mode, "parameters": {
                "max_client_conn": str(bouncer.max_client_conn),
                "default_pool_size": str(bouncer.default_pool_size),
                "reserve_pool_size": str(bouncer.reserve_pool_size),
            }},
            "template": {"metadata": {"labels": pool_match}, "spec": {
                "containers": [{"name": "pgbouncer", "resources": workload_resources(bw)}],
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": pool_match}}],
            }},
            "serviceTemplate": {"spec": {"ports": [{"name": "pgbouncer", "port": bouncer.port, "targetPort": "pgbouncer"}]}},
        }, parent=self, depends_on=[self.cluster])

        network_policies(ns, [ctx.ns("app"), ctx.ns("monitoring"), ctx.ns("cnpg")], parent=self)
        self.primary = f"{svc_host(CLUSTER + '-rw', ns)}:{pg.port}"
        self.pooler = f"{svc_host(POOLER, ns)}:{bouncer.port}"
        self.register_outputs({"primary": self.primary, "pooler": self.pooler, "instances": len(hosts)})
