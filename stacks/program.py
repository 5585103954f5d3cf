"""Build the platform of one environment on the stack's target; return the outputs.

Outputs name every service endpoint and the verifier's connection settings
(`fmctl verify --env <env>` reads them: addresses and which secret reference
holds each password; never a password).
"""

from __future__ import annotations

from fmctl.spec.model import PlatformSpec
from stacks.secret_source import SecretSource
from stacks.settings import StackSettings
from stacks.sizing import require_valid


def verifier_settings(spec: PlatformSpec, endpoints: dict) -> dict:
    k, r, pg = spec.kafka, spec.redis, spec.postgresql
    admin = next(n for n, u in sorted(k.users.items()) if u.superuser)
    return {
        "environment": spec.name,
        "kafka": {"bootstrap": endpoints["kafka_bootstrap"], "sasl_mechanism": k.sasl_mechanism,
                  "user": admin, "password_ref": k.users[admin].password, "topics": sorted(k.topics)},
        "redis": {"nodes": endpoints["redis_nodes"], "user": "admin", "password_ref": r.users["admin"].password,
                  "masters": len(r.shards)},
        "postgresql": {"primary": endpoints["postgresql_primary"], "pgbouncer": endpoints["pgbouncer"],
                       "user": "postgres", "password_ref": pg.superuser_password,
                       "instances": 1 + len(pg.standbys)},
        "arangodb": {"endpoint": endpoints["arangodb"], "user": "root", "password_ref": spec.arangodb.root_password},
        "vault": {"address": endpoints["vault"]},
        "prometheus": {"url": endpoints["prometheus"]},
        "gateway": {"url": endpoints["gateway"], "routes": sorted(spec.gateway.routes)},
    }


def build(spec: PlatformSpec, settings: StackSettings, secrets: SecretSource) -> dict:
    if settings.environment and settings.environment != spec.name:
        raise ValueError(f"flowmaster:environment is '{settings.environment}' but the spec is '{spec.name}'")
    require_valid(spec)
    if settings.target == "kubernetes":
        from stacks.k8s.platform import build as build_target
    else:
        from stacks.docker.platform import build as build_target
    endpoints = build_target(spec, settings, secrets)
    return {"target": settings.target, "endpoints": endpoints, "verifier": verifier_settings(spec, endpoints)}
