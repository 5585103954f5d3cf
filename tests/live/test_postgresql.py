"""PostgreSQL primary + standby and pgbouncer of the live local platform.

The restore test runs the backup job's own command line (read from the
cron file the role wrote), writes rows after the backup, restores the backup
with fm-pg-restore into a scratch data directory on a scratch loopback
address, lets it replay the WAL archive and finds every row.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from fmctl import filters
from fmctl.verify import run
from fmctl.verify.postgresql import connect, superuser
from fmctl.verify.report import Context, drift
from tests.live.conftest import fmctl

pytestmark = pytest.mark.live

TIMEOUT = 120.0  # seconds for replication, archiving and the scratch restore to catch up
BASE = "/var/lib/flowmaster/postgresql"  # the role's default folders, per host
TOOLS = Path("/usr/local/sbin")


def assert_no_drift(ctx: Context) -> None:
    checks = list(run(ctx, ["postgresql"]))
    bad = [(c.name, c.spec, c.live) for c in drift(checks)]
    assert not bad, f"PostgreSQL differs from the spec: {bad}"
    assert len(checks) > 25


def owner(ctx: Context, host: str | None = None, via_pgbouncer: bool = False, address: str | None = None):
    """A connection as the app database's owner: to a node (default the primary), pgbouncer, or an address."""
    pg = ctx.spec.postgresql
    db = ctx.spec.app.database
    user = pg.databases[db].owner
    password = ctx.secret(pg.role_passwords[user])
    if via_pgbouncer:
        return connect(ctx.address(pg.pgbouncer.host), pg.pgbouncer.port, user, password, db)
    return connect(address or ctx.address(host or pg.primary), pg.port, user, password, db)


def wait_until(what: str, condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def as_postgres(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, f"{argv[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def has_marker(conn: psycopg.Connection, table: str, marker: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE marker = %s", (marker,)).fetchone() is not None


# ------------------------------------------------------------------ state


def test_verifier_finds_no_drift(platform: Context) -> None:
    assert_no_drift(platform)


@pytest.mark.parametrize("where", ["primary", "standby", "pgbouncer"])
def test_a_client_without_the_password_is_refused(platform: Context, where: str) -> None:
    pg = platform.spec.postgresql
    if where == "pgbouncer":
        address, port = platform.address(pg.pgbouncer.host), pg.pgbouncer.port
    else:
        address, port = platform.address(pg.primary if where == "primary" else pg.standbys[0].host), pg.port
    db = platform.spec.app.database
    for user in (pg.databases[db].owner, "postgres"):
        for password in ("", "not-the-password"):
            with pytest.raises(psycopg.OperationalError, match="no password supplied|authentication failed"):
                connect(address, port, user, password, db)


def test_replication_is_for_the_replication_role_only(platform: Context) -> None:
    pg = platform.spec.postgresql
    db = platform.spec.app.database
    user = pg.databases[db].owner
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry for replication connection"):
        psycopg.connect(host=platform.address(pg.primary), port=pg.port, user=user, dbname=db,
                        password=platform.secret(pg.role_passwords[user]), replication="true", connect_timeout=5)


def test_a_row_written_through_pgbouncer_reaches_the_standby(platform: Context) -> None:
    pg = platform.spec.postgresql
    marker = f"repl-{uuid.uuid4().hex[:8]}"
    with owner(platform, via_pgbouncer=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS replication_probe (marker text PRIMARY KEY)")
        conn.execute("INSERT INTO replication_probe VALUES (%s)", (marker,))
    with owner(platform, host=pg.standbys[0].host) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        wait_until("the row on the standby", lambda: has_marker(standby, "replication_probe", marker))
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO replication_probe VALUES ('nope')")


# ------------------------------------------------------------------ backup and restore


def scratch_address(ctx: Context) -> str:
    """A loopback address next to the primary's that no host of the spec uses."""
    used = {h["address"] for h in ctx.data["hosts"].values()}
    net = ipaddress.ip_network(f"{ctx.address(ctx.spec.postgresql.primary)}/24", strict=False)
    return next(str(a) for a in reversed(list(net.hosts())) if str(a) not in used)


def backup_command(ctx: Context) -> str:
    """The daily job's command line, as the role wrote it into cron.d (without its log redirect)."""
    primary = ctx.spec.postgresql.primary
    lines = Path(f"/etc/cron.d/fm-pg-backup-{primary}").read_text().splitlines()
    job = next(x for x in lines if "fm-pg-backup" in x and not x.startswith("#"))
    fields = job.split(None, 6)
    assert " ".join(fields[:5]) == ctx.spec.postgresql.backup.schedule and fields[5] == "postgres"
    return fields[6].split(" >>", 1)[0]


def test_backup_then_restore_with_the_wal_archive(platform: Context) -> None:
    pg = platform.spec.postgresql
    primary = pg.primary
    before, after = f"before-{uuid.uuid4().hex[:8]}", f"after-{uuid.uuid4().hex[:8]}"
    with owner(platform) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS restore_probe (marker text PRIMARY KEY)")
        conn.execute("INSERT INTO restore_probe VALUES (%s)", (before,))

    backup = as_postgres("sh", "-c", backup_command(platform)).stdout.strip().splitlines()[-1]
    assert Path(backup, "backup_manifest").is_file(), backup
    kept = sorted(p.name for p in Path(f"{BASE}/{primary}/backups").iterdir() if p.name.startswith("2"))
    assert Path(backup).name in kept and len(kept) <= pg.backup.keep

    # a row only the WAL archive knows about: written after the backup, its segment switched out and archived
    with owner(platform) as conn:
        conn.execute("INSERT INTO restore_probe VALUES (%s)", (after,))
    with superuser(platform, platform.address(primary)) as su:
        segment = su.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]

        def archived() -> bool:
            last = su.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
            return bool(last) and last[:24] >= segment
        wait_until(f"segment {segment} in the archive", archived)

    workdir = Path(tempfile.mkdtemp(prefix="fm-restore-", dir="/var/tmp"))
    workdir.chmod(0o755)
    target = workdir / "data"
    address = scratch_address(platform)
    pg_ctl = f"/usr/lib/postgresql/{pg.version}/bin/pg_ctl"
    try:
        restore = subprocess.run([str(TOOLS / "fm-pg-restore"), "-b", f"{BASE}/{primary}/backups",
                                  "-a", f"{BASE}/{primary}/wal-archive", "-D", str(target),
                                  "-l", address, "-p", str(pg.port)], capture_output=True, text=True, timeout=600)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert Path(backup).name in restore.stdout  # the newest backup: the one just taken
        as_postgres(pg_ctl, "-D", str(target), "-l", str(target / "restore.log"), "-w", "-t", str(int(TIMEOUT)), "start")
        with owner(platform, address=address) as scratch:
            wait_until("the restored server to finish recovery",
                       lambda: not scratch.execute("SELECT pg_is_in_recovery()").fetchone()[0])
            assert has_marker(scratch, "restore_probe", before)  # from the base backup
            assert has_marker(scratch, "restore_probe", after)  # replayed from the WAL archive
    finally:
        if (target / "postmaster.pid").exists():
            as_postgres(pg_ctl, "-D", str(target), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------ drills


@pytest.mark.slow
def test_rows_survive_stopping_and_starting_postgresql(platform: Context) -> None:
    if platform.spec.service_manager != "supervisor" or shutil.which("supervisorctl") is None:
        pytest.skip("the drill drives supervisor; this environment uses another service manager")
    pg = platform.spec.postgresql
    marker = f"persist-{uuid.uuid4().hex[:8]}"
    with owner(platform, via_pgbouncer=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS persistence_probe (marker text PRIMARY KEY)")
        conn.execute("INSERT INTO persistence_probe VALUES (%s)", (marker,))
    services = [f"fm-pgbouncer-{pg.pgbouncer.host}"] + [
        f"fm-postgresql-{n['host']}" for n in reversed(filters.postgresql_nodes(platform.data))]
    subprocess.run(["supervisorctl", "stop", *services], check=True, capture_output=True)

    proc = fmctl("up", "--env", "local", "--tags", "postgresql")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    with owner(platform, via_pgbouncer=True) as conn:
        assert has_marker(conn, "persistence_probe", marker)
    with owner(platform, host=pg.standbys[0].host) as standby:
        wait_until("the row on the standby", lambda: has_marker(standby, "persistence_probe", marker))
    assert_no_drift(platform)
