"""PostgreSQL primary and streaming standbys as containers; roles and
databases from the spec; WAL archived to a named volume."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file, volume
from stacks.sizing import workload

PGDATA = "/var/lib/postgresql/data/pgdata"


@dataclass
class PostgresDockerArgs:
    ctx: DockerContext


def settings_args(spec) -> list[str]:
    pg = spec.postgresql
    mb = 1024 * 1024
    params = {
        "listen_addresses": "*",
        "port": pg.port,
        "max_connections": pg.max_connections,
        "superuser_reserved_connections": pg.superuser_reserved_connections,
        "max_wal_senders": pg.max_wal_senders,
        "shared_buffers": f"{pg.shared_buffers // mb}MB",
        "work_mem": f"{pg.work_mem // mb}MB",
        "password_encryption": pg.password_encryption,
        "wal_level": "replica",
        "hot_standby": "on",
    }
    if pg.backup.wal_archiving:
        params["archive_mode"] = "on"
        params["archive_command"] = "test ! -f /archive/%f && cp %p /archive/%f"
    out = []
    for key, value in params.items():
        out += ["-c", f"{key}={value}"]
    return out


class PostgresDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: PostgresDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:PostgreSQL", name, None, opts)
        ctx = args.ctx
        spec, pg = ctx.spec, ctx.spec.postgresql
        image = f"postgres:{pg.version}"
        w = workload(spec, "postgresql")
        roles = {r: ctx.secrets.ref(ref) for r, ref in sorted(pg.role_passwords.items())}
        repl_pw = ctx.secrets.ref(pg.replication_password)

        def init_sql(values: list[str]) -> str:
            *role_pws, rpw = values
            lines = ["#!/bin/sh", "set -e", 'psql -v ON_ERROR_STOP=1 -U postgres <<"SQL"']
            lines.append(f"CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '{rpw}';")
            for (role, _), pw in zip(roles.items(), role_pws, strict=True):
                lines.append(f"CREATE ROLE {role} LOGIN PASSWORD '{pw}';")
            for db, d in sorted(pg.databases.items()):
                lines.append(f"CREATE DATABASE {db} OWNER {d.owner};")
            for s in pg.standbys:
                lines.append(f"SELECT pg_create_physical_replication_slot('{s.slot}');")
            lines += ["SQL", 'echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"']
            return "\n".join(lines) + "\n"

        init = pulumi.Output.all(*roles.values(), repl_pw).apply(lambda v: init_sql(list(v)))
        archive = volume(ctx, "pg-wal-archive", self) if pg.backup.wal_archiving else None
        data = volume(ctx, f"{pg.primary}-data", self)
        mounts = [(data, "/var/lib/postgresql/data")] + ([(archive, "/archive")] if archive else [])
        self.primary = container(ctx, pg.primary, image, w, self, address=ctx.address(pg.primary),
                                 command=["postgres", *settings_args(spec)],
                                 envs=[f"POSTGRES_PASSWORD_FILE={SECRETS_DIR}/postgres", f"PGDATA={PGDATA}"],
                                 uploads=[secret_file("postgres", ctx.secrets.ref(pg.superuser_password)),
                                          {"file": "/docker-entrypoint-initdb.d/10-flowmaster.sh", "content": init,
                                           "permissions": "0500"}],
                                 mounts=mounts)
        for s in pg.standbys:
            sdata = volume(ctx, f"{s.host}-data", self)
            args_ = " ".join(f"'{a}'" for a in settings_args(spec))
            script = (
                "set -e\n"
                f'mkdir -p "{PGDATA}" && chown -R postgres:postgres /var/lib/postgresql/data && chmod 700 "{PGDATA}"\n'
                f'if [ ! -s "{PGDATA}/PG_VERSION" ]; then\n'
                f'  PGPASSWORD="$(cat {SECRETS_DIR}/replicator)" gosu postgres pg_basebackup -h {ctx.address(pg.primary)} '
                f'-p {pg.port} -U replicator -D "{PGDATA}" -R -X stream -S {s.slot}\n'
                "fi\n"
                f'exec gosu postgres postgres -D "{PGDATA}" {args_}\n'
            )
            container(ctx, s.host, image, w, self, address=ctx.address(s.host),
                      entrypoint=["sh", "/mnt/standby.sh"],
                      uploads=[{"file": "/mnt/standby.sh", "content": script}, secret_file("replicator", repl_pw)],
                      mounts=[(sdata, "/var/lib/postgresql/data")], depends_on=[self.primary])
        self.endpoint = f"{ctx.address(pg.primary)}:{pg.port}"
        self.register_outputs({"primary": self.endpoint, "instances": 1 + len(pg.standbys)})
