"""The whole pack over the mocked stacks: prod passes, a deliberately bad stack fails."""

from __future__ import annotations

import copy

import pytest

from tests.policies.packrun import run_pack
from tests.stacks.harness import run


def triples(r):
    return [(x.typ, x.name, copy.deepcopy(x.inputs)) for x in r.resources]


@pytest.mark.parametrize(("env", "target"), [("prod", "kubernetes"), ("staging", "kubernetes"), ("dev", "docker"),
                                             ("dev", "kubernetes")])
def test_pack_passes_on_the_stacks(env, target):
    found = run_pack(triples(run(env, target)), {"environment": env})
    assert all(not v for v in found.values()), found


def test_prod_on_docker_is_refused_for_its_plain_vault_listener():
    found = run_pack(triples(run("prod", "docker")), {"environment": "prod"})
    assert {k for k, v in found.items() if v} == {"tls-on"}
    assert all("disables TLS (allowed in dev only)" in m for m in found["tls-on"])


def _edit(res, typ_suffix, name, fn):
    for typ, _name, props in res:
        if typ.endswith(typ_suffix) and (props.get("metadata", {}).get("name") == name or props.get("chart") == name):
            fn(props)
            return
    raise AssertionError(f"{typ_suffix} {name} not found")


def test_bad_stack_fails_with_expected_messages():
    res = triples(run("prod", "kubernetes"))
    # The app's Deployments are the chart's (checked by tests/charts); the Redis StatefulSet stands in.
    _edit(res, ":StatefulSet", "redis", lambda p: (
        p["spec"].__setitem__("replicas", 1),
        p["spec"]["template"]["spec"]["containers"][0].__setitem__("image", "redis:latest"),
        p["spec"]["template"]["spec"]["containers"][0].pop("resources"),
        p["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
            {"name": "FM_DB_PASSWORD", "value": "hunter22"})))
    _edit(res, ":KafkaTopic", "process-events", lambda p: p["spec"].__setitem__("replicas", 1))
    _edit(res, ":PeerAuthentication", "default", lambda p: p["spec"]["mtls"].__setitem__("mode", "PERMISSIVE"))
    _edit(res, ":Release", "vault", lambda p: p["values"]["server"]["auditStorage"].__setitem__("enabled", False))
    _edit(res, ":StorageClass", "flowmaster-retain", lambda p: p.__setitem__("reclaimPolicy", "Delete"))
    found = run_pack(res, {"environment": "prod"})
    expected = {
        "no-plaintext-secrets": "env FM_DB_PASSWORD holds a secret value; use valueFrom.secretKeyRef",
        "limits-set": "container redis: set resources.limits.cpu and .memory",
        "replicas-outside-dev": "spec.replicas is 1: outside dev every service runs at least 2 replicas",
        "no-latest-images": "image redis:latest must carry a version tag, never :latest",
        "tls-on": "PeerAuthentication: mtls.mode is PERMISSIVE, must be STRICT",
        "kafka-topic-replication": "KafkaTopic process_events: replicas is 1; at least 2",
        "vault-audit": "Vault chart: server.auditStorage.enabled must be true",
        "volumes-retain": "StorageClass flowmaster-retain: reclaimPolicy must be Retain",
    }
    for policy, message in expected.items():
        assert any(message in m for m in found[policy]), (policy, found[policy])
