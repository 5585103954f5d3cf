"""Kong's declarative configuration (format 3.0) from the spec's route table.

Used by both targets: a ConfigMap on Kubernetes, an uploaded file on Docker.
Kong runs DB-less there, and Kong's own oauth2 plugin needs a database (it
issues and stores tokens), so a route that accepts `oauth2` accepts OAuth2
access tokens in JWT form from the authorization server (`gateway.jwt_issuer`),
checked by the jwt plugin against the issuer's public key; `jwt` is the same
check. No credential in here: the consumer holds only a public key.
"""

from __future__ import annotations

from collections.abc import Callable

import yaml

from fmctl.spec.model import PlatformSpec


def plugins_for(route) -> list[dict]:
    out: list[dict] = []
    if set(route.auth) & {"jwt", "oauth2"}:
        out.append({"name": "jwt", "config": {"key_claim_name": "iss", "claims_to_verify": ["exp"],
                                              "run_on_preflight": True}})
    if route.rate_limit:
        cfg: dict = {"policy": "local", "fault_tolerant": True}
        if route.rate_limit.per_second:
            cfg["second"] = route.rate_limit.per_second
        if route.rate_limit.per_minute:
            cfg["minute"] = route.rate_limit.per_minute
        out.append({"name": "rate-limiting", "config": cfg})
    if route.add_request_headers:
        out.append({"name": "request-transformer", "config": {
            "add": {"headers": [f"{k}:{v}" for k, v in sorted(route.add_request_headers.items())]}}})
    if route.cache_ttl:
        out.append({"name": "proxy-cache", "config": {
            "strategy": "memory", "cache_ttl": route.cache_ttl // 1000,
            "request_method": ["GET", "HEAD"], "response_code": [200], "content_type": ["application/json"]}})
    return out


def declarative(spec: PlatformSpec, upstream: Callable[[str], str], jwt_public_key: str) -> dict:
    """upstream(service name) -> host Kong proxies to."""
    services = []
    for sname, svc in sorted(spec.app.services.items()):
        routes = [(n, r) for n, r in sorted(spec.gateway.routes.items()) if r.service == sname]
        if not routes:
            continue
        services.append({
            "name": sname,
            "protocol": "http",
            "host": upstream(sname),
            "port": svc.port,
            "retries": spec.gateway.mesh.retries,
            "tags": ["flowmaster", spec.name],
            "routes": [{
                "name": rname,
                "paths": [r.path],
                "methods": list(r.methods),
                "protocols": ["http", "https"],
                "strip_path": r.strip_path,
                "preserve_host": True,
                "plugins": plugins_for(r),
                "tags": ["flowmaster", spec.name],
            } for rname, r in routes],
        })
    config: dict = {"_format_version": "3.0", "_transform": True, "services": services}
    if jwt_public_key:
        config["consumers"] = [{"username": spec.gateway.jwt_issuer, "jwt_secrets": [{
            "key": spec.gateway.jwt_issuer, "algorithm": "RS256", "rsa_public_key": jwt_public_key}]}]
    return config


def render(spec: PlatformSpec, upstream: Callable[[str], str], jwt_public_key: str) -> str:
    return yaml.safe_dump(declarative(spec, upstream, jwt_public_key), sort_keys=True)
