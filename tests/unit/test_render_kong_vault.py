"""Kong declarative config and Vault server config / policies, rendered from the spec.

Neither server runs here: Kong's output is checked against a JSON schema of the
declarative format (tests/schemas/), Vault's HCL with python-hcl2; both then
have the spec's values checked field by field.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import hcl2
import jinja2
import jsonschema
import pytest
import yaml

from fmctl import filters
from fmctl.paths import ENVIRONMENTS_DIR
from fmctl.render import RENDERINGS, render_one, spec_data
from fmctl.spec.loader import load_spec, read_raw, validate_mapping
from fmctl.spec.model import PlatformSpec

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "kong-declarative-3.0.schema.json").read_text())
ENVS = ("local", "dev", "staging", "prod")


def variant(env: str, mutate) -> PlatformSpec:
    data = copy.deepcopy(read_raw(ENVIRONMENTS_DIR / f"{env}.yaml")[0])
    mutate(data)
    return validate_mapping(data, env_name=env).spec


# ================================================================= Kong


PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAbm90LWEtcmVhbC1rZXktanVzdC1hLXRlc3QtdmFsdWU=\n-----END PUBLIC KEY-----\n"


def kong(spec: PlatformSpec, **variables) -> dict:
    doc = yaml.safe_load(render_one(spec, "kong/kong.yml.j2", **variables))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


def kong_routes(doc: dict) -> dict[str, tuple[dict, dict]]:
    return {r["name"]: (svc, r) for svc in doc["services"] for r in svc.get("routes", [])}


def plugins(route: dict) -> dict[str, dict]:
    found = {p["name"]: p.get("config", {}) for p in route.get("plugins", [])}
    assert len(found) == len(route.get("plugins", [])), "a plugin is configured twice on one route"
    return found


def refused(doc: dict) -> bool:
    return not jsonschema.Draft202012Validator(SCHEMA).is_valid(doc)


def test_kong_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("env", ENVS)
def test_kong_config_matches_schema_and_spec(env: str):
    spec = load_spec(env).spec
    doc = kong(spec)
    assert doc["_format_version"] == "3.0"
    routes = kong_routes(doc)
    assert set(routes) == set(spec.gateway.routes)
    for name, route in spec.gateway.routes.items():
        svc, kr = routes[name]
        assert svc["name"] == route.service
        assert svc["port"] == spec.app.services[route.service].port
        assert svc["retries"] == spec.gateway.mesh.retries
        assert kr["paths"] == [route.path]
        assert kr["methods"] == list(route.methods)
        assert kr["strip_path"] is route.strip_path
        got = plugins(kr)
        expected = {"jwt"} if set(route.auth) - {"none"} else set()  # oauth2 too: tokens in JWT form
        if route.rate_limit:
            expected.add("rate-limiting")
        if route.add_request_headers:
            expected.add("request-transformer")
        if route.cache_ttl:
            expected.add("proxy-cache")
        assert set(got) == expected, name
        if route.rate_limit:
            rl = got["rate-limiting"]
            assert rl.get("second") == route.rate_limit.per_second
            assert rl.get("minute") == route.rate_limit.per_minute
            assert rl["policy"] == "local"
        if route.cache_ttl:
            assert got["proxy-cache"]["cache_ttl"] == route.cache_ttl // 1000
            assert got["proxy-cache"]["strategy"] == "memory"
        if route.add_request_headers:
            headers = [f"{k}:{v}" for k, v in sorted(route.add_request_headers.items())]
            assert got["request-transformer"]["add"]["headers"] == headers
    # only services that have routes become Kong services
    assert {s["name"] for s in doc["services"]} == {r.service for r in spec.gateway.routes.values()}


def test_kong_values_of_the_shipped_routes():
    doc = kong(load_spec("prod").spec)
    routes = kong_routes(doc)
    p = plugins(routes["process_api"][1])
    assert (p["rate-limiting"]["second"], p["rate-limiting"]["minute"]) == (50, 1000)
    assert p["request-transformer"]["add"]["headers"] == ["X-FlowMaster-Route:process_api"]
    assert plugins(routes["templates_api"][1])["proxy-cache"]["cache_ttl"] == 300
    assert plugins(routes["decisions_api"][1])["proxy-cache"]["cache_ttl"] == 30
    assert "plugins" not in routes["health"][1]  # auth: [none]
    assert routes["logging_console"][0]["port"] == 9001


def test_kong_oauth2_routes_take_access_tokens_in_jwt_form():
    """Kong refuses its oauth2 plugin without a database: jwt and oauth2 routes share the jwt check."""
    doc = kong(load_spec("prod").spec)
    routes = kong_routes(doc)
    both = plugins(routes["process_api"][1])  # auth: [jwt, oauth2]
    only_jwt = plugins(routes["executions_api"][1])  # auth: [jwt]
    assert both["jwt"] == only_jwt["jwt"] == {"key_claim_name": "iss", "claims_to_verify": ["exp"], "run_on_preflight": True}
    assert "anonymous" not in both["jwt"]  # the plugin itself refuses a request without a valid token
    assert all("oauth2" not in plugins(r) for _, r in routes.values())


def test_kong_oauth2_alone_is_the_jwt_check_and_none_is_open():
    def auth(d: dict) -> None:
        routes = d["gateway"]["routes"]
        routes["process_api"]["auth"] = ["oauth2"]
        routes["executions_api"]["auth"] = ["none"]

    routes = kong_routes(kong(variant("local", auth)))
    assert "jwt" in plugins(routes["process_api"][1])
    assert "jwt" not in plugins(routes["executions_api"][1])


def test_kong_schema_refuses_the_oauth2_plugin():
    """The schema is DB-less Kong's: an oauth2 plugin would make Kong refuse the whole file."""
    doc = kong(load_spec("prod").spec)
    doc["services"][0]["routes"][0].setdefault("plugins", []).append(
        {"name": "oauth2", "config": {"enable_client_credentials": True}})
    assert refused(doc)


def test_kong_issuer_consumer_holds_the_public_key():
    spec = load_spec("prod").spec
    doc = kong(spec, jwt_public_key=PEM)
    [consumer] = doc["consumers"]
    assert consumer["username"] == spec.gateway.jwt_issuer
    [cred] = consumer["jwt_secrets"]
    # the jwt plugin finds the credential by the token's iss claim
    assert cred == {"key": spec.gateway.jwt_issuer, "algorithm": "RS256", "rsa_public_key": PEM, "tags": ["flowmaster", "prod"]}


def test_kong_without_a_key_has_no_consumer():
    text = render_one(load_spec("prod").spec, "kong/kong.yml.j2")
    assert "consumers" not in yaml.safe_load(text)
    assert "refuses every token" in text  # said in the file, for whoever reads `fmctl render` output


def test_kong_schema_refuses_a_secret_in_a_credential():
    doc = kong(load_spec("prod").spec, jwt_public_key=PEM)
    with_secret = copy.deepcopy(doc)
    with_secret["consumers"][0]["jwt_secrets"][0]["secret"] = "shared"
    assert refused(with_secret)
    private = copy.deepcopy(doc)
    private["consumers"][0]["jwt_secrets"][0]["rsa_public_key"] = "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n"
    assert refused(private)
    hmac = copy.deepcopy(doc)
    hmac["consumers"][0]["jwt_secrets"][0]["algorithm"] = "HS256"
    assert refused(hmac)


@pytest.mark.parametrize(("env", "discovery", "api_host", "console_host"), [
    ("local", "static", "127.0.7.1", "127.0.7.1"),
    ("prod", "consul", "api.service.consul", "logging-console.service.consul"),
    ("prod", "kubernetes", "api", "logging-console"),
])
def test_kong_upstream_host_follows_service_discovery(env, discovery, api_host, console_host):
    spec = variant(env, lambda d: d["gateway"].__setitem__("service_discovery", discovery))
    hosts = {s["name"]: s["host"] for s in kong(spec)["services"]}
    assert hosts == {"api": api_host, "logging_console": console_host}


def test_kong_upstreams_from_the_caller_win():
    """A stack passes its own names (Kubernetes: full Service names in the app's namespace)."""
    spec = load_spec("prod").spec
    upstreams = {s: f"{s.replace('_', '-')}.flowmaster-app.svc.cluster.local" for s in spec.app.services}
    hosts = {s["name"]: s["host"] for s in kong(spec, upstreams=upstreams)["services"]}
    assert hosts == {"api": "api.flowmaster-app.svc.cluster.local",
                     "logging_console": "logging-console.flowmaster-app.svc.cluster.local"}


def test_kong_upstreams_missing_a_routed_service_fail():
    spec = load_spec("prod").spec
    with pytest.raises(jinja2.UndefinedError):
        render_one(spec, "kong/kong.yml.j2", upstreams={"api": "api.example"})


def test_kong_schema_refuses_a_misspelt_plugin_field():
    doc = kong(load_spec("local").spec)
    broken = copy.deepcopy(doc)
    plugin = next(p for p in broken["services"][0]["routes"][0]["plugins"] if p["name"] == "rate-limiting")
    plugin["config"]["minutes"] = plugin["config"].pop("minute", 1)
    plugin["config"].pop("second", None)
    assert refused(broken)


@pytest.mark.parametrize("key", [None, PEM])
def test_kong_config_holds_no_secret_reference_or_credential(key):
    spec = load_spec("prod").spec
    text = render_one(spec, "kong/kong.yml.j2", **({"jwt_public_key": key} if key else {}))
    assert "secret:" not in text and "vault:" not in text
    assert "PRIVATE KEY" not in text
    for key_name in ("oauth2_credentials", "client_secret", "provision_key", "password"):
        assert key_name not in text
    doc = yaml.safe_load(text)
    for consumer in doc.get("consumers", []):
        for cred in consumer["jwt_secrets"]:
            assert "secret" not in cred  # Kong generates it; RS256 never uses it


# ================================================================= Vault


def _clean(node):
    """python-hcl2 output without its quoting and block markers (stable across versions)."""
    if isinstance(node, dict):
        return {_clean(k): _clean(v) for k, v in node.items() if not (isinstance(k, str) and k.startswith("__"))}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    if isinstance(node, str) and len(node) >= 2 and node[0] == node[-1] == '"':
        return node[1:-1]
    return node


def hcl(text: str) -> dict:
    return _clean(hcl2.loads(text))


def vault_files(spec: PlatformSpec) -> dict[str, dict]:
    return {n["id"]: hcl(render_one(spec, "vault/vault.hcl.j2", n)) for n in filters.vault_nodes(spec_data(spec))}


def block(doc: dict, kind: str) -> tuple[str, dict]:
    [entry] = doc[kind]
    [(label, body)] = entry.items()
    return label, body


@pytest.mark.parametrize("env", ENVS)
def test_vault_hcl_parses_and_carries_the_spec(env: str):
    spec = load_spec(env).spec
    v = spec.vault
    files = vault_files(spec)
    assert sorted(files) == [f"vault-{i}" for i in range(v.replicas)]
    peers = [f"https://vault-{i}.vault-internal:{v.api_port}" for i in range(v.replicas)]
    for node_id, doc in files.items():
        assert doc["ui"] is True
        assert doc["api_addr"] == f"https://{node_id}.vault-internal:{v.api_port}"
        assert doc["cluster_addr"] == f"https://{node_id}.vault-internal:{v.cluster_port}"
        label, listener = block(doc, "listener")
        assert label == "tcp"
        assert listener["address"].endswith(f":{v.api_port}")
        assert listener["cluster_address"].endswith(f":{v.cluster_port}")
        assert listener["tls_cert_file"] and listener["tls_key_file"]
        assert "tls_disable" not in listener
        label, storage = block(doc, "storage")
        assert label == v.storage == "raft"
        assert storage["node_id"] == node_id
        assert [j["leader_api_addr"] for j in storage["retry_join"]] == peers
        [telemetry] = doc["telemetry"]
        assert telemetry["prometheus_retention_time"] == f"{v.telemetry_retention // 1000}s"


def test_vault_transit_seal_takes_its_token_from_the_environment():
    spec = load_spec("prod").spec
    for doc in vault_files(spec).values():
        label, seal = block(doc, "seal")
        assert label == "transit"
        assert seal["address"] == spec.vault.transit_seal.address
        assert seal["key_name"] == spec.vault.transit_seal.key_name
        assert seal["mount_path"] == spec.vault.transit_seal.mount_path
        assert "token" not in seal


def test_vault_replica_count_follows_the_spec():
    spec = variant("prod", lambda d: d["vault"].__setitem__("replicas", 5))
    files = vault_files(spec)
    assert len(files) == 5
    assert all(len(block(doc, "storage")[1]["retry_join"]) == 5 for doc in files.values())


@pytest.mark.parametrize(("unseal", "label"), [("none", None), ("awskms", "awskms"), ("gcpckms", "gcpckms")])
def test_vault_other_seals(unseal, label):
    spec = variant("prod", lambda d: d["vault"].__setitem__("auto_unseal", unseal))
    doc = vault_files(spec)["vault-0"]
    if label is None:
        assert "seal" not in doc  # Shamir keys
    else:
        assert block(doc, "seal") == (label, {})  # KMS settings come from the environment


@pytest.mark.parametrize("env", ("local", "prod"))
def test_vault_policies_one_document_each(env: str):
    spec = load_spec(env).spec
    entries = filters.vault_policies(spec_data(spec))
    assert [e["name"] for e in entries] == sorted(spec.vault.policies)
    for entry in entries:
        doc = hcl(render_one(spec, "vault/policy.hcl.j2", entry))
        assert set(doc) == {"path"}
        got = {path: body["capabilities"] for item in doc["path"] for path, body in item.items()}
        assert got == {p: list(caps) for p, caps in spec.vault.policies[entry["name"]].paths.items()}


def test_vault_renderings_are_registered():
    targets = {r.template: r.target for r in RENDERINGS}
    assert targets["vault/vault.hcl.j2"] == "vault/vault.hcl"
    assert targets["vault/policy.hcl.j2"] == "vault/policies/{name}.hcl"
    assert targets["vault/audit-file.json.j2"] == "vault/audit-file.json"


def test_vault_audit_device_payload():
    spec = load_spec("prod").spec
    body = json.loads(render_one(spec, "vault/audit-file.json.j2"))
    assert body["type"] == "file"
    assert body["options"]["file_path"] == spec.vault.audit_log
