"""Every rendered Kubernetes object validates: core kinds against the Kubernetes
OpenAPI schema (kubernetes-validate, strict, pinned version), custom resources
against the JSON schemas in tests/schemas/crds/ (written from each operator's
CRD at the version stacks/versions.py pins; additionalProperties false at every
level they define, so a misspelt or misplaced field fails)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from tests.stacks.conftest import K8S
from tests.stacks.harness import open_objects

K8S_VERSION = "1.31.0"  # oldest minor every pinned operator supports and clusters still run
CRD_DIR = Path(__file__).resolve().parent.parent / "schemas" / "crds"
CORE_GROUPS = ("kubernetes:core/", "kubernetes:apps/", "kubernetes:batch/", "kubernetes:policy/",
               "kubernetes:networking.k8s.io/", "kubernetes:storage.k8s.io/")


def crd_schema(api_version: str, kind: str) -> dict:
    path = CRD_DIR / f"{api_version.replace('/', '_')}_{kind}.json"
    assert path.exists(), f"no CRD schema for {api_version} {kind}: write {path.name}"
    return json.loads(path.read_text())


def k8s_objects(run):
    for r in run.resources:
        if r.typ.startswith(CORE_GROUPS):
            yield "core", r.inputs
        elif r.typ.startswith("kubernetes:") and "helm.sh" not in r.typ:
            yield "crd", r.inputs


@pytest.mark.parametrize(("env", "target"), K8S)
def test_core_objects_validate_strictly(build, env, target):
    objs = [o for kind, o in k8s_objects(build(env, target)) if kind == "core"]
    assert len(objs) > 50
    for obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize(("env", "target"), K8S)
def test_custom_resources_validate_against_crd_schemas(build, env, target):
    objs = [o for kind, o in k8s_objects(build(env, target)) if kind == "crd"]
    kinds = {o["kind"] for o in objs}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster", "Pooler", "ScheduledBackup",
            "ArangoDeployment", "PeerAuthentication", "DestinationRule", "AuthorizationPolicy",
            "PrometheusRule", "ServiceMonitor"} <= kinds
    for obj in objs:
        jsonschema.validate(obj, crd_schema(obj["apiVersion"], obj["kind"]))


def _first(run, kind):
    return copy.deepcopy(next(o for k, o in k8s_objects(run) if o["kind"] == kind))


@pytest.mark.parametrize(("kind", "mutate"), [
    ("KafkaTopic", lambda o: o["spec"].__setitem__("partition", o["spec"].pop("partitions"))),  # misspelt
    ("KafkaTopic", lambda o: o["spec"]["config"].__setitem__("retention_ms", 1)),  # misspelt config key
    ("Kafka", lambda o: o["spec"].__setitem__("listeners", o["spec"]["kafka"].pop("listeners"))),  # misplaced
    ("Cluster", lambda o: o["spec"].__setitem__("instance", 2)),
    ("ArangoDeployment", lambda o: o["spec"]["dbservers"].__setitem__("replicas", 3)),
    ("PeerAuthentication", lambda o: o["spec"]["mtls"].__setitem__("mode", "STRICTLY")),
    ("PrometheusRule", lambda o: o["spec"]["groups"][0]["rules"][0].__setitem__("severity", "critical")),
])
def test_misspelt_or_misplaced_custom_resource_field_fails(build, kind, mutate):
    obj = _first(build("prod", "kubernetes"), kind)
    jsonschema.validate(obj, crd_schema(obj["apiVersion"], kind))
    mutate(obj)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(obj, crd_schema(obj["apiVersion"], kind))


def test_misspelt_core_field_fails(build):
    dep = _first(build("prod", "kubernetes"), "StatefulSet")
    dep["spec"]["template"]["spec"]["containers"][0]["resource"] = dep["spec"]["template"]["spec"]["containers"][0].pop(
        "resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSION, strict=True)


def test_every_crd_schema_is_closed():
    """additionalProperties: false wherever a schema lists properties."""
    files = sorted(CRD_DIR.glob("*.json"))
    assert len(files) >= 16
    for f in files:
        schema = json.loads(f.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert not open_objects(schema, f.name)
