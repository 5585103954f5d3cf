"""redis.conf, postgresql.conf, pg_hba.conf, pgbouncer.ini and the backup cron
file, rendered from the local and prod specs and parsed back: every number
is the spec's, no secret is in them, and the servers' own parsers (where
installed here) accept them.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from fmctl import filters
from fmctl.render import environment, render_one, spec_data
from fmctl.spec.loader import load_spec
from fmctl.spec.model import PlatformSpec

ENVS = ("local", "prod")
POSTGRES = Path("/usr/lib/postgresql/15/bin/postgres")


@pytest.fixture(scope="module", params=ENVS)
def spec(request) -> PlatformSpec:
    return load_spec(request.param).spec


def redis_conf(text: str) -> dict[str, list[str]]:
    """Directive -> arguments, the way redis-server reads them (repeatable ones are joined)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, *args = line.split()
            out.setdefault(key.lower(), []).extend(args)
    return out


def pg_conf(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("archive_command") else line.strip()
        if "=" in line:
            key, value = (x.strip() for x in line.split("=", 1))
            out[key] = value.strip("'")
    return out


# ================================================================= redis


def test_redis_conf_every_node(spec: PlatformSpec) -> None:
    data = spec_data(spec)
    r = spec.redis
    nodes = filters.redis_nodes(data)
    assert len(nodes) == sum(1 + len(s.replicas) for s in r.shards)
    for node in nodes:
        conf = redis_conf(render_one(spec, "redis/redis.conf.j2", node))
        assert conf["bind"] == [node["address"]]
        assert conf["bind-source-addr"] == [node["address"]]
        assert conf["port"] == [str(r.port)]
        assert conf["cluster-port"] == [str(r.bus_port)]
        assert conf["cluster-enabled"] == ["yes"]
        assert int(conf["maxmemory"][0]) == r.maxmemory
        assert conf["maxmemory-policy"] == [r.maxmemory_policy]
        assert int(conf["cluster-node-timeout"][0]) == r.node_timeout
        assert conf["appendonly"] == ["yes" if r.persistence.aof else "no"]
        assert conf["appendfsync"] == [r.persistence.aof_fsync]
        pairs = [int(x) for x in conf["save"]]
        assert list(zip(pairs[::2], pairs[1::2], strict=True)) == [tuple(p) for p in r.persistence.rdb_save]
        assert conf["daemonize"] == ["no"]
        # per-node folders carry the host name
        assert conf["dir"] == [f"/var/lib/flowmaster/redis/{node['host']}"]
        assert conf["aclfile"] == [f"/etc/flowmaster/redis/{node['host']}/users.acl"]
        # no credentials in the rendered file: they live in the aclfile and the included file
        assert not {"requirepass", "masterauth", "masteruser", "user"} & conf.keys()
        assert conf["include"] == [f"/etc/flowmaster/redis/{node['host']}/replication.conf"]


def test_redis_local_maxmemory_is_the_local_spec_value() -> None:
    spec = load_spec("local").spec
    node = filters.redis_nodes(spec_data(spec))[0]
    assert redis_conf(render_one(spec, "redis/redis.conf.j2", node))["maxmemory"] == [str(256 * 1024 * 1024)]


def test_redis_save_empty_when_no_snapshot_points() -> None:
    spec = load_spec("local").spec
    data = spec_data(spec)
    data["redis"]["persistence"]["rdb_save"] = []
    text = environment().get_template("redis/redis.conf.j2").render(spec=data, node=filters.redis_nodes(data)[0], env="t")
    assert 'save ""' in text.splitlines()


# ================================================================= postgresql


def test_postgresql_conf_every_node(spec: PlatformSpec) -> None:
    pg = spec.postgresql
    for node in filters.postgresql_nodes(spec_data(spec)):
        conf = pg_conf(render_one(spec, "postgresql/postgresql.conf.j2", node))
        assert conf["listen_addresses"] == node["address"]
        assert int(conf["port"]) == pg.port
        assert int(conf["max_connections"]) == pg.max_connections
        assert int(conf["superuser_reserved_connections"]) == pg.superuser_reserved_connections
        assert int(conf["max_wal_senders"]) == pg.max_wal_senders
        assert conf["shared_buffers"].endswith("kB") and int(conf["shared_buffers"][:-2]) * 1024 == pg.shared_buffers
        assert conf["work_mem"].endswith("kB") and int(conf["work_mem"][:-2]) * 1024 == pg.work_mem
        assert conf["password_encryption"] == "scram-sha-256"
        assert conf["archive_mode"] == ("on" if pg.backup.wal_archiving else "off")
        base = f"/var/lib/flowmaster/postgresql/{node['host']}"
        assert conf["data_directory"] == f"{base}/data"
        assert conf["unix_socket_directories"] == f"{base}/run"
        assert f"{base}/wal-archive/%f" in conf["archive_command"]
        assert conf["hba_file"] == f"/etc/flowmaster/postgresql/{node['host']}/pg_hba.conf"


@pytest.mark.skipif(not POSTGRES.exists(), reason=f"{POSTGRES} is not installed here")
def test_postgresql_conf_accepted_by_postgres(spec: PlatformSpec, tmp_path: Path) -> None:
    """postgres -C parses the file as the server would (the role's validate step)."""
    data = spec_data(spec)
    node = filters.postgresql_nodes(data)[0]
    (tmp_path / "data").mkdir()
    text = environment().get_template("postgresql/postgresql.conf.j2").render(
        spec=data, node=node, env=spec.name, conf_dir=str(tmp_path), data_dir=str(tmp_path / "data"))
    (tmp_path / "postgresql.conf").write_text(text)
    out = subprocess.run([str(POSTGRES), "-C", "max_connections", "-c", f"config_file={tmp_path}/postgresql.conf"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(spec.postgresql.max_connections)


def hba_rules(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_pg_hba_scram_only_and_replication_for_its_role(spec: PlatformSpec) -> None:
    pg = spec.postgresql
    data = spec_data(spec)
    for node in filters.postgresql_nodes(data):
        rules = hba_rules(render_one(spec, "postgresql/pg_hba.conf.j2", node))
        assert rules
        assert all(r[-1] == "scram-sha-256" for r in rules)
        assert "trust" not in render_one(spec, "postgresql/pg_hba.conf.j2", node)
        replication = [r for r in rules if r[1] == "replication"]
        assert replication and {r[2] for r in replication} == {pg.replication_user}
        for name, db in pg.databases.items():
            users = {r[2] for r in rules if r[1] == name}
            assert users == {db.owner}, name
        clients = {r[3] for r in rules if r[0] == "host" and r[1] == spec.app.database}
        assert f"{data['hosts'][spec.app.host]['address']}/32" in clients and "samehost" in clients
        assert not any(r[3] in ("all", "0.0.0.0/0") for r in rules if r[0] == "host")


# ================================================================= pgbouncer


def test_pgbouncer_ini(spec: PlatformSpec) -> None:
    pg, b = spec.postgresql, spec.postgresql.pgbouncer
    data = spec_data(spec)
    ini = configparser.ConfigParser(comment_prefixes=(";",), inline_comment_prefixes=None)
    ini.read_string(render_one(spec, "pgbouncer/pgbouncer.ini.j2"))
    p = ini["pgbouncer"]
    assert p["listen_addr"] == data["hosts"][b.host]["address"]
    assert int(p["listen_port"]) == b.port
    assert p["auth_type"] == "scram-sha-256"
    assert p["auth_file"] == f"/etc/flowmaster/pgbouncer/{b.host}/userlist.txt"
    assert p["pool_mode"] == b.pool_mode
    assert int(p["default_pool_size"]) == b.default_pool_size
    assert int(p["reserve_pool_size"]) == b.reserve_pool_size
    assert int(p["max_client_conn"]) == b.max_client_conn
    assert p["logfile"] == "" and p["pidfile"] == ""  # foreground under the service manager
    primary = data["hosts"][pg.primary]["address"]
    assert dict(ini["databases"]) == {name: f"host={primary} port={pg.port} dbname={name}" for name in pg.databases}


# ================================================================= backup job


def test_backup_cron_follows_the_spec(spec: PlatformSpec) -> None:
    pg = spec.postgresql
    lines = [x for x in render_one(spec, "postgresql/backup.cron.j2").splitlines() if x and not x.startswith("#")]
    job = next(x for x in lines if "fm-pg-backup" in x)
    fields = job.split()
    assert fields[:5] == pg.backup.schedule.split()
    assert fields[5] == "postgres"
    args = job.split("fm-pg-backup", 1)[1].split()
    assert args[args.index("-k") + 1] == str(pg.backup.keep)
    assert args[args.index("-U") + 1] == pg.replication_user
    assert args[args.index("-p") + 1] == str(pg.port)
    assert args[args.index("-d") + 1] == f"/var/lib/flowmaster/postgresql/{pg.primary}/backups"


# ================================================================= SCRAM verifiers


def test_scram_verifier_is_stable_and_per_user() -> None:
    a = filters.scram_sha256("pencil", "alice")
    assert a == filters.scram_sha256("pencil", "alice")  # same secret, same verifier: no rewrite on re-runs
    assert a != filters.scram_sha256("pencil", "bob")  # the salt differs per user
    assert a != filters.scram_sha256("pencil2", "alice")
    method, rest = a.split("$", 1)
    iterations_salt, keys = rest.split("$")
    assert method == "SCRAM-SHA-256" and iterations_salt.startswith("4096:")
    assert len(keys.split(":")) == 2 and "pencil" not in a


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("script", ["fm-pg-backup", "fm-pg-restore"])
def test_backup_tools_parse(script: str) -> None:
    path = Path(__file__).resolve().parents[2] / "roles" / "postgresql" / "files" / script
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    usage = subprocess.run(["bash", str(path)], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr
