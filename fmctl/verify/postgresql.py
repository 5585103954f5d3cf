"""PostgreSQL and pgbouncer: read the servers' own views (pg_settings,
pg_stat_replication, pg_replication_slots, pg_stat_wal_receiver,
pg_database, pg_stat_archiver) and compare with the spec.

Per node: its role, the settings the spec owns, where it listens. On the
primary: each standby streams through the spec's slot, the databases and
their owners, WAL archiving on and a segment actually archived (the check
switches to a new WAL segment and waits, bounded, for the archiver). Through
pgbouncer: a query as the app database's owner. Everywhere: a client without
the password, or with a wrong one, is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg

from fmctl import filters
from fmctl.verify.report import Check, Context

C = "postgresql"
ARCHIVE_TIMEOUT = 60.0  # seconds the archiver may take to report a switched segment

NO_PASSFILE = "/nonexistent/flowmaster-verify-no-pgpass"
SETTINGS = ("max_connections", "superuser_reserved_connections", "max_wal_senders", "shared_buffers", "work_mem",
            "password_encryption", "archive_mode", "listen_addresses", "port")


def connect(address: str, port: int, user: str, password: str, dbname: str = "postgres") -> psycopg.Connection:
    # a passfile that does not exist: only the password given here counts, never a ~/.pgpass
    return psycopg.connect(host=address, port=port, user=user, password=password, dbname=dbname,
                           passfile=NO_PASSFILE, connect_timeout=5, autocommit=True)


def superuser(ctx: Context, address: str) -> psycopg.Connection:
    pg = ctx.data["postgresql"]
    return connect(address, pg["port"], "postgres", ctx.secret(pg["superuser_password"]))


def refusal(address: str, port: int, user: str, dbname: str, password: str) -> str:
    """'refused' when the server turns the login down, else 'accepted'."""
    try:
        connect(address, port, user, password, dbname).close()
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "no password supplied" in text or "authentication failed" in text:
            return "refused"
        raise
    return "accepted"


def settings(conn: psycopg.Connection) -> dict[str, object]:
    """The spec-owned settings; memory ones in bytes, numbers as int."""
    rows = conn.execute(
        "SELECT name, setting, unit, vartype FROM pg_settings WHERE name = ANY(%s)", (list(SETTINGS),)).fetchall()
    out: dict[str, object] = {}
    for name, setting, unit, vartype in rows:
        if vartype == "integer" and unit and unit.endswith("B"):
            size = unit if unit[0].isdigit() else "1" + unit  # units are "8kB", "kB", "MB"
            out[name] = int(setting) * conn.execute("SELECT pg_size_bytes(%s)", (size,)).fetchone()[0]
        elif vartype == "integer":
            out[name] = int(setting)
        else:
            out[name] = setting
    return out


def wal_archived(conn: psycopg.Connection) -> str:
    """Switch to a new WAL segment, wait until the archiver reports it archived."""
    segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
    deadline = time.monotonic() + ARCHIVE_TIMEOUT
    while True:
        count, last, failed_count, last_failed = conn.execute(
            "SELECT archived_count, last_archived_wal, failed_count, last_failed_wal FROM pg_stat_archiver").fetchone()
        if count > 0 and last and last[:24] >= segment:
            return "archived"
        if time.monotonic() > deadline:
            return f"not archived: archived_count={count} last={last} wanted={segment} failed={failed_count} ({last_failed})"
        time.sleep(0.5)


def checks(ctx: Context) -> Iterator[Check]:
    pg = ctx.data["postgresql"]
    port = pg["port"]
    nodes = filters.postgresql_nodes(ctx.data)
    app_db = ctx.data["app"]["database"]
    app_owner = pg["databases"][app_db]["owner"]
    owner_password = ctx.secret(pg["role_passwords"][app_owner])

    for n in nodes:
        host = n["host"]
        try:
            conn = superuser(ctx, n["address"])
        except psycopg.OperationalError as exc:
            yield Check(C, f"{host} reachable as postgres", "yes", str(exc).strip(), ok=False)
            continue
        with conn:
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            yield Check(C, f"{host} role", n["role"], "standby" if in_recovery else "primary")
            live = settings(conn)
            want = {"max_connections": pg["max_connections"],
                    "superuser_reserved_connections": pg["superuser_reserved_connections"],
                    "max_wal_senders": pg["max_wal_senders"], "shared_buffers": pg["shared_buffers"],
                    "work_mem": pg["work_mem"], "password_encryption": pg["password_encryption"],
                    "archive_mode": "on" if pg["backup"]["wal_archiving"] else "off",
                    "listen_addresses": n["address"], "port": port}
            for name, value in want.items():
                yield Check(C, f"{host} {name}", value, live.get(name))

            if n["role"] == "standby":
                row = conn.execute("SELECT status, slot_name FROM pg_stat_wal_receiver").fetchone()
                yield Check(C, f"{host} WAL receiver (slot {n['slot']})", f"streaming via {n['slot']}",
                            f"{row[0]} via {row[1]}" if row else "not receiving")
                continue

            # the primary
            for s in (x for x in nodes if x["role"] == "standby"):
                row = conn.execute(
                    "SELECT r.state FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid"
                    " WHERE s.slot_name = %s", (s["slot"],)).fetchone()
                yield Check(C, f"{host} replication to {s['host']} via slot {s['slot']}", "streaming",
                            row[0] if row else "no active slot")
            owners = dict(conn.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database").fetchall())
            for name, db in sorted(pg["databases"].items()):
                yield Check(C, f"{host} database {name} owner", db["owner"], owners.get(name, "missing"))
            if pg["backup"]["wal_archiving"]:
                yield Check(C, f"{host} WAL segment archived (pg_stat_archiver)", "archived", wal_archived(conn))

        for label, password in (("without password", ""), ("with a wrong password", "wrong-" + owner_password)):
            yield Check(C, f"{host} client {label}", "refused", refusal(n["address"], port, app_owner, app_db, password))

    # pgbouncer, in front of the primary
    b = pg["pgbouncer"]
    address = ctx.address(b["host"])
    try:
        with connect(address, b["port"], app_owner, owner_password, app_db) as conn:
            row = conn.execute("SELECT current_user || '@' || current_database() || ' on ' || inet_server_addr()").fetchone()
        live = row[0]
    except psycopg.OperationalError as exc:
        live = str(exc).strip()
    yield Check(C, f"pgbouncer {address}:{b['port']} query as {app_owner}",
                f"{app_owner}@{app_db} on {ctx.address(pg['primary'])}/32", live)
    for label, password in (("without password", ""), ("with a wrong password", "wrong-" + owner_password)):
        yield Check(C, f"pgbouncer client {label}", "refused", refusal(address, b["port"], app_owner, app_db, password))
