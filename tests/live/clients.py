"""Authenticated clients of the live local platform, built from the spec."""

from __future__ import annotations

import psycopg
from confluent_kafka.admin import AdminClient
from redis.cluster import ClusterNode, RedisCluster

from fmctl.kafka_admin import admin_client
from fmctl.verify.report import Context


def redis(ctx: Context) -> RedisCluster:
    r = ctx.spec.redis
    first = r.shards[0].master
    return RedisCluster(
        startup_nodes=[ClusterNode(ctx.address(first), r.port)],
        username=r.admin_user,
        password=ctx.secret(r.users[r.admin_user].password),
        socket_timeout=5,
    )


def redis_set(ctx: Context, key: str, value: str) -> None:
    redis(ctx).set(key, value)


def redis_get(ctx: Context, key: str) -> str | None:
    v = redis(ctx).get(key)
    return v.decode() if v is not None else None


def pg(ctx: Context, database: str | None = None) -> psycopg.Connection:
    """A connection through pgbouncer as the database's owner."""
    p = ctx.spec.postgresql
    db = database or ctx.spec.app.database
    owner = p.databases[db].owner
    return psycopg.connect(
        host=ctx.address(p.pgbouncer.host), port=p.pgbouncer.port, dbname=db, user=owner,
        password=ctx.secret(p.role_passwords[owner]), connect_timeout=5, autocommit=True,
        prepare_threshold=None,  # transaction pooling: no server-side prepared statements
    )


def pg_insert(ctx: Context, marker: str) -> None:
    with pg(ctx) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS persistence_check (marker text PRIMARY KEY)")
        conn.execute("INSERT INTO persistence_check VALUES (%s)", (marker,))


def pg_has_row(ctx: Context, marker: str) -> bool:
    with pg(ctx) as conn:
        return conn.execute("SELECT 1 FROM persistence_check WHERE marker = %s", (marker,)).fetchone() is not None


def kafka_admin(ctx: Context) -> AdminClient:
    return admin_client(ctx.data, ctx.secrets)


def kafka_topics(ctx: Context) -> set[str]:
    return set(kafka_admin(ctx).list_topics(timeout=15).topics)
