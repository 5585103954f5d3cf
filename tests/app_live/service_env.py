"""FM_* settings of the FlowMaster service, built from the spec (what the deployment role writes)."""

from __future__ import annotations

from fmctl.verify.report import Context


def service_env(ctx: Context, **overrides: str) -> dict[str, str]:
    spec = ctx.spec
    pg, redis, kafka, app = spec.postgresql, spec.redis, spec.kafka, spec.app
    db = app.process_database
    owner = pg.databases[db].owner
    env = {
        "FM_ENVIRONMENT": spec.name,
        "FM_SECRET_KEY": ctx.secret(app.secret_key),
        "FM_PG_HOST": ctx.address(pg.pgbouncer.host),
        "FM_PG_PORT": str(pg.pgbouncer.port),
        "FM_PG_DATABASE": db,
        "FM_PG_USER": owner,
        "FM_PG_PASSWORD": ctx.secret(pg.role_passwords[owner]),
        "FM_PG_POOL_SIZE": str(app.api.db_pool_size),
        "FM_REDIS_NODES": ",".join(f"{ctx.address(s.master)}:{redis.port}" for s in redis.shards),
        "FM_REDIS_USERNAME": "flowmaster",
        "FM_REDIS_PASSWORD": ctx.secret(redis.users["flowmaster"].password),
        "FM_SESSION_PREFIX": redis.uses["sessions"].key_prefix,
        "FM_SESSION_TTL": f"{redis.uses['sessions'].ttl}ms",
        "FM_CACHE_PREFIX": redis.uses["cache"].key_prefix,
        "FM_CACHE_TTL": f"{redis.uses['cache'].ttl}ms",
        "FM_RATE_LIMIT_PREFIX": redis.uses["rate_limits"].key_prefix,
        "FM_RATE_LIMIT_WINDOW": f"{redis.uses['rate_limits'].ttl}ms",
        "FM_RATE_LIMIT": str(app.api.rate_limit),
        "FM_LOGIN_RATE_LIMIT": str(app.api.login_rate_limit),
        "FM_PAGE_SIZE": str(app.api.page_size),
        "FM_MAX_PAGE_SIZE": str(app.api.max_page_size),
        "FM_IDEMPOTENCY_TTL": f"{app.api.idempotency_ttl}ms",
        "FM_KAFKA_BOOTSTRAP": ",".join(f"{ctx.address(b.host)}:{kafka.port}" for b in kafka.brokers),
        "FM_KAFKA_USERNAME": "flowmaster",
        "FM_KAFKA_PASSWORD": ctx.secret(kafka.users["flowmaster"].password),
        "FM_KAFKA_SASL_MECHANISM": kafka.sasl_mechanism,
        "FM_RELAY_BATCH_SIZE": str(app.outbox.batch_size),
        "FM_RELAY_POLL_INTERVAL": f"{app.outbox.poll_interval}ms",
        "FM_RELAY_DELIVERY_TIMEOUT": f"{app.outbox.delivery_timeout}ms",
        "FM_OUTBOX_RETENTION": f"{app.outbox.retention}ms",
    }
    env.update(overrides)
    return env
