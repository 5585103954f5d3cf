"""The FlowMaster service's settings, derived from the spec: one mapping for every target.

The Ansible role writes them as the service's settings file (through the `fm_app_settings`
filter), the Helm chart receives them as values from the Pulumi stack, and the live tests
start the service with them as FM_* variables. Only the endpoints differ per target (bare
hosts reach pgbouncer, Redis and Kafka at the spec's addresses; Kubernetes at Service names),
so they are parameters; every other value is read from the spec here and nowhere else.

Settings never hold a secret value: `app_secret_refs` names, per secret setting, the spec's
secret reference that the deployment resolves into a separate 0600 file or a Kubernetes Secret.
"""

from __future__ import annotations

from dataclasses import dataclass

# Which `flowmaster` command runs each app.services entry. The spec also places a
# `logging_console` service: the app does not have it yet, so no target runs it.
COMMANDS: dict[str, str] = {"api": "serve", "worker": "relay"}
# Services that answer HTTP (liveness, readiness, metrics) on their port.
HTTP_SERVICES = frozenset({"api"})


def address(spec: dict, host: str) -> str:
    # fmctl.filters registers this module's functions as filters: no import back from there.
    return spec["hosts"][host]["address"]


@dataclass(frozen=True)
class Endpoints:
    """Where the service reaches its dependencies."""

    pg_host: str
    pg_port: int
    redis_nodes: list[str]
    kafka_bootstrap: list[str]
    # SASL_SSL where the brokers listen with TLS (Strimzi); the CA file is the target's to provide.
    kafka_security_protocol: str = "SASL_PLAINTEXT"


def bare_endpoints(spec: dict) -> Endpoints:
    """The dependencies at the addresses the spec places them (bare hosts, the local platform)."""
    pg, redis, kafka = spec["postgresql"], spec["redis"], spec["kafka"]
    return Endpoints(
        pg_host=address(spec, pg["pgbouncer"]["host"]),
        pg_port=pg["pgbouncer"]["port"],
        redis_nodes=[f"{address(spec, s['master'])}:{redis['port']}" for s in redis["shards"]],
        kafka_bootstrap=[f"{address(spec, b['host'])}:{kafka['port']}" for b in kafka["brokers"]],
    )


def app_settings(spec: dict, endpoints: Endpoints, service: str, listen_host: str) -> dict:
    """Non-secret settings of one app service (`api`, `worker`), keyed as flowmaster's Settings."""
    if service not in COMMANDS:
        raise ValueError(f"app.services.{service}: the FlowMaster app has no command for this service "
                         f"(it runs {', '.join(sorted(COMMANDS))})")
    app, pg, redis, kafka, mon = spec["app"], spec["postgresql"], spec["redis"], spec["kafka"], spec["monitoring"]
    db = app["process_database"]
    uses = redis["uses"]
    return {
        "environment": spec["name"],
        "listen_host": listen_host,
        "listen_port": app["services"][service]["port"],
        "pg_host": endpoints.pg_host,
        "pg_port": endpoints.pg_port,
        "pg_database": db,
        "pg_user": pg["databases"][db]["owner"],
        "pg_pool_size": app["api"]["db_pool_size"],
        "redis_nodes": list(endpoints.redis_nodes),
        "redis_username": "flowmaster",
        "session_prefix": uses["sessions"]["key_prefix"],
        "session_ttl": f"{uses['sessions']['ttl']}ms",
        "cache_prefix": uses["cache"]["key_prefix"],
        "cache_ttl": f"{uses['cache']['ttl']}ms",
        "rate_limit_prefix": uses["rate_limits"]["key_prefix"],
        "rate_limit_window": f"{uses['rate_limits']['ttl']}ms",
        "rate_limit": app["api"]["rate_limit"],
        "login_rate_limit": app["api"]["login_rate_limit"],
        "page_size": app["api"]["page_size"],
        "max_page_size": app["api"]["max_page_size"],
        "idempotency_ttl": f"{app['api']['idempotency_ttl']}ms",
        "kafka_bootstrap": list(endpoints.kafka_bootstrap),
        "kafka_username": "flowmaster",
        "kafka_sasl_mechanism": kafka["sasl_mechanism"],
        "kafka_security_protocol": endpoints.kafka_security_protocol,
        # A deployment runs the relay as its own `worker` service, not as a thread of the API.
        "relay_in_service": False,
        "relay_batch_size": app["outbox"]["batch_size"],
        "relay_poll_interval": f"{app['outbox']['poll_interval']}ms",
        "relay_delivery_timeout": f"{app['outbox']['delivery_timeout']}ms",
        "outbox_retention": f"{app['outbox']['retention']}ms",
        # Prometheus scrapes /metrics with the monitoring login, as it does every other job.
        "metrics_username": mon["admin_user"],
    }


def app_secret_refs(spec: dict) -> dict[str, str]:
    """Secret settings -> the spec's secret references (resolved by the deployment, never rendered)."""
    app, pg = spec["app"], spec["postgresql"]
    owner = pg["databases"][app["process_database"]]["owner"]
    return {
        "secret_key": app["secret_key"],
        "pg_password": pg["role_passwords"][owner],
        "redis_password": spec["redis"]["users"]["flowmaster"]["password"],
        "kafka_password": spec["kafka"]["users"]["flowmaster"]["password"],
        "metrics_password": spec["monitoring"]["admin_password"],
    }


def app_processes(spec: dict) -> list[dict]:
    """The app services a bare host runs, sorted: host, address, service, command, port, http.

    Services of the spec without a command (see COMMANDS) are left out.
    """
    host = spec["app"]["host"]
    return [{"host": host, "address": address(spec, host), "service": name, "command": COMMANDS[name],
             "port": svc["port"], "http": name in HTTP_SERVICES}
            for name, svc in sorted(spec["app"]["services"].items()) if name in COMMANDS]


def bare_app_settings(spec: dict, service: str) -> dict:
    """Settings of a service on the app host of a bare-host environment (the role's filter)."""
    return app_settings(spec, bare_endpoints(spec), service, address(spec, spec["app"]["host"]))


def as_env(settings: dict) -> dict[str, str]:
    """FM_* variables of a settings mapping (lists comma-joined, as Settings.load reads them)."""
    def text(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return ",".join(map(str, v)) if isinstance(v, list) else str(v)
    return {f"FM_{k.upper()}": text(v) for k, v in settings.items()}
