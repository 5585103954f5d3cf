"""The FlowMaster chart (charts/flowmaster) with the values each Kubernetes stack passes:
lint, golden renders, Kubernetes schemas, the values schema, no secret and no spec number in it.

Refresh the golden files after an intended change:  FM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/charts
"""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import kubernetes_validate
import pytest
import yaml

from fmctl.app_settings import HTTP_SERVICES
from fmctl.render import spec_data
from stacks.k8s.app_chart import CHART_DIR
from tests.charts.helm import (
    ENVIRONMENTS,
    GOLDEN_DIR,
    KUBE_VERSION,
    UPDATE_GOLDEN,
    as_text,
    helm,
    lint,
    objects,
    render,
    stack,
    stack_values,
)
from tests.stacks.harness import leaves, open_objects
from tests.stacks.test_validation import crd_schema

CORE_KINDS = {"ServiceAccount", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "Job"}


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def env(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def rendered(env) -> dict[str, str]:
    return render(stack_values(env))


# --------------------------------------------------------------------- (a) lint


def test_lint_strict_with_each_stacks_values(env):
    report = lint(stack_values(env))
    assert report["total_charts_linted"] == 1
    assert not report["errors"], report["errors"]
    # Strict: warnings count as failures too (info, e.g. "icon is recommended", does not).
    assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


# --------------------------------------------------------------------- (b) golden


def test_render_matches_golden_file(env, rendered):
    golden = GOLDEN_DIR / f"{env}.yaml"
    text = as_text(rendered)
    if UPDATE_GOLDEN:
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden.name}: run FM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/charts"
    assert text == golden.read_text(), (
        f"the chart renders differently from {golden.name}; if intended: FM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/charts")


# --------------------------------------------------------------------- (c) schemas


def test_every_object_validates_strictly(env, rendered):
    objs = objects(rendered)
    kinds = {o["kind"] for o in objs}
    assert CORE_KINDS | {"ServiceMonitor"} == kinds
    for obj in objs:
        if obj["kind"] == "ServiceMonitor":
            # The closed schema of tests/schemas/crds (as the stack tests use for custom resources).
            jsonschema.validate(obj, crd_schema(obj["apiVersion"], obj["kind"]))
        else:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_misspelt_service_monitor_field_fails(env, rendered):
    (sm,) = [o for o in objects(rendered) if o["kind"] == "ServiceMonitor"]
    sm["spec"]["endpoints"][0]["basicauth"] = sm["spec"]["endpoints"][0].pop("basicAuth")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sm, crd_schema(sm["apiVersion"], sm["kind"]))


# --------------------------------------------------------------------- what the objects say


def by_kind(rendered, kind):
    return {o["metadata"]["name"]: o for o in objects(rendered) if o["kind"] == kind}


def test_deployments_follow_the_spec_and_the_production_shape(env, rendered):
    spec, values = stack(env).spec, stack_values(env)
    deps = by_kind(rendered, "Deployment")
    assert set(deps) == {s.replace("_", "-") for s in values["services"]}
    hard = values["scheduling"]["hard"]
    for name, svc in values["services"].items():
        dep = deps[name.replace("_", "-")]
        assert dep["spec"]["replicas"] == spec.app.services[name].replicas
        if env != "dev":
            assert dep["spec"]["replicas"] >= 2  # the policy pack's rule for the stacks' own workloads
        assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        pod = dep["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == name.replace("_", "-")
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (c,) = pod["containers"]
        assert c["image"] == f"{values['image']['repository']}:{spec.app.version}"
        assert c["args"] == [svc["command"]]
        assert c["resources"] == svc["resources"] and c["resources"]["limits"]["memory"]
        assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}}
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
        env_vars = {e["name"]: e["value"] for e in c["env"]}
        assert env_vars["FM_SETTINGS_FILE"] == "/etc/flowmaster/settings/settings.yaml"
        for item in values["credentials"]["settings"]:
            assert env_vars[f"FM_{item['setting'].upper()}_FILE"] == f"/etc/flowmaster/secrets/{item['setting']}"
        if name in HTTP_SERVICES:
            assert c["ports"] == [{"name": "http", "containerPort": svc["port"], "protocol": "TCP"}]
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        else:
            assert "ports" not in c and "livenessProbe" not in c and "readinessProbe" not in c
        anti = pod["affinity"]["podAntiAffinity"]
        assert ("requiredDuringSchedulingIgnoredDuringExecution" in anti) == hard
        spread = {t["topologyKey"]: t["whenUnsatisfiable"] for t in pod["topologySpreadConstraints"]}
        assert spread["kubernetes.io/hostname"] == ("DoNotSchedule" if hard else "ScheduleAnyway")
        assert ("topology.kubernetes.io/zone" in spread) == bool({h.zone for h in spec.hosts.values() if h.zone})


def test_settings_configmaps_hold_the_shared_settings(env, rendered):
    values = stack_values(env)
    cms = by_kind(rendered, "ConfigMap")
    for name, svc in values["services"].items():
        assert yaml.safe_load(cms[f"{name.replace('_', '-')}-settings"]["data"]["settings.yaml"]) == svc["settings"]
    migrate = cms["flowmaster-migrate-settings"]
    assert yaml.safe_load(migrate["data"]["settings.yaml"]) == values["services"][values["migration"]["service"]]["settings"]


def test_a_settings_change_rolls_the_pods(env):
    values = copy.deepcopy(stack_values(env))
    before = by_kind(render(values), "Deployment")["api"]["spec"]["template"]["metadata"]["annotations"]
    values["services"]["api"]["settings"]["page_size"] += 1
    after = by_kind(render(values), "Deployment")["api"]["spec"]["template"]["metadata"]["annotations"]
    assert before["checksum/settings"] != after["checksum/settings"]


def test_services_pdbs_and_network_policies(env, rendered):
    spec, values = stack(env).spec, stack_values(env)
    services = by_kind(rendered, "Service")
    assert set(services) == {s.replace("_", "-") for s in values["services"] if s in HTTP_SERVICES}
    for name, svc in services.items():
        assert svc["spec"]["ports"] == [{"name": "http", "port": spec.app.services[name].port, "targetPort": "http",
                                         "protocol": "TCP"}]
    assert set(by_kind(rendered, "PodDisruptionBudget")) == {s.replace("_", "-") for s in values["services"]}
    policies = by_kind(rendered, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    routed = {r.service for r in spec.gateway.routes.values()}
    for name in (s for s in values["services"] if s in HTTP_SERVICES):
        (rule,) = policies[f"allow-{name.replace('_', '-')}"]["spec"]["ingress"]
        assert rule["from"], "an empty `from` would admit everyone"
        assert rule["ports"] == [{"protocol": "TCP", "port": spec.app.services[name].port}]
        namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"]
                      if "namespaceSelector" in p}
        pods = {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in rule["from"] if "podSelector" in p}
        assert ("flowmaster-gateway" in namespaces) == (name in routed)
        assert "flowmaster-monitoring" in namespaces
        assert pods == {c for c in spec.gateway.mesh.allow.get(name, []) if c != "gateway"}


def test_migration_is_a_hook_running_migrate_outside_the_mesh(env, rendered):
    (job,) = by_kind(rendered, "Job").values()
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    (c,) = pod["spec"]["containers"]
    assert c["args"] == ["migrate"] and pod["spec"]["restartPolicy"] == "Never"
    # Its ServiceAccount and settings are hooks too, created before it (lower weight).
    for kind in ("ServiceAccount", "ConfigMap"):
        hooked = [o for o in objects(rendered) if o["kind"] == kind and "helm.sh/hook" in o["metadata"].get("annotations", {})]
        assert len(hooked) == 1 and int(hooked[0]["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
            ann["helm.sh/hook-weight"])


def test_service_monitor_scrapes_metrics_with_basic_auth(env, rendered):
    values = stack_values(env)
    (sm,) = by_kind(rendered, "ServiceMonitor").values()
    (ep,) = sm["spec"]["endpoints"]
    assert ep["path"] == "/metrics" and ep["port"] == "http"
    secret = values["credentials"]["existingSecret"]
    assert ep["basicAuth"] == {"username": {"name": secret, "key": "metrics_username"},
                               "password": {"name": secret, "key": "metrics_password"}}
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"


# --------------------------------------------------------------------- (d) the values schema


def _break(values, how):
    v = copy.deepcopy(values)
    how(v)
    return v


BAD_VALUES = [
    ("replicas as a string", lambda v: v["services"]["api"].__setitem__("replicas", "3"), "/services/api/replicas"),
    ("unknown key", lambda v: v["services"]["api"].__setitem__("replica", 3), "/services/api"),
    ("missing replicas", lambda v: v["services"]["worker"].pop("replicas"), "replicas"),
    ("port on a relay", lambda v: v["services"]["worker"].__setitem__("port", 8002), "/services/worker"),
    ("serve without a port", lambda v: v["services"]["api"].pop("port"), "port"),
    ("latest tag", lambda v: v["image"].__setitem__("tag", "latest"), "/image/tag"),
    ("no image repository", lambda v: v["image"].pop("repository"), "repository"),
    ("unknown top-level key", lambda v: v.__setitem__("replicaCount", 3), "replicaCount"),
    ("memory not a quantity", lambda v: v["services"]["api"]["resources"]["limits"].__setitem__("memory", 512),
     "/services/api/resources/limits/memory"),
    ("a secret value in values", lambda v: v["credentials"].__setitem__("pg_password", "hunter22"), "pg_password"),
    ("no existing Secret", lambda v: v["credentials"].__setitem__("existingSecret", ""), "/credentials/existingSecret"),
    ("monitor without its login", lambda v: v["serviceMonitor"]["basicAuth"].__setitem__("passwordKey", ""),
     "/serviceMonitor/basicAuth/passwordKey"),
]


@pytest.mark.parametrize(("case", "how", "field"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_values_schema_refuses_bad_values_naming_the_field(case, how, field):
    bad = _break(stack_values("prod"), how)
    report = lint(bad)
    assert report["errors"] and any(field in e for e in report["errors"]), (case, report["errors"])
    with pytest.raises(helm().HelmValuesError, match=re.escape(field)):
        render(bad)


def test_schema_is_closed_and_values_yaml_holds_no_spec_number():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    assert not open_objects(schema)
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert defaults["services"] == {} and defaults["image"]["tag"] == ""
    numbers = {p for p, v in leaves(defaults) if isinstance(v, int) and not isinstance(v, bool)}
    # The image's user (app/Dockerfile) and the budget's step: the chart's, not the spec's.
    assert numbers == {"securityContext.runAsUser", "securityContext.fsGroup", "podDisruptionBudget.maxUnavailable"}


# --------------------------------------------------------------------- (e) no secret, no spec number


def test_no_secret_value_in_any_rendered_file(env, rendered):
    text = as_text(rendered)
    secrets = set(stack(env).secret_values.values())
    assert secrets and not [s for s in secrets if s in text]


def test_templates_repeat_no_port_or_size_the_spec_owns():
    data = spec_data(stack("prod").spec)
    ports = {v for p, v in leaves(data) if p.rsplit(".", 1)[-1].endswith("port") and isinstance(v, int)}
    assert {s["port"] for s in data["app"]["services"].values()} <= ports
    # Quantities with a unit (a bare "1" CPU would match any 1 in a template).
    sizes = {q for s in stack_values("prod")["services"].values() for part in s["resources"].values()
             for q in part.values() if not q.isdigit()}
    assert sizes
    for tpl in sorted((CHART_DIR / "templates").iterdir()):
        text = tpl.read_text()
        hits = [p for p in ports if re.search(rf"(?<![\w.]){p}(?![\w.])", text)]
        assert not hits, f"{tpl.name} hard-codes the spec's port(s) {sorted(hits)}"
        assert not [q for q in sizes if re.search(rf"(?<![\w.]){re.escape(q)}(?![\w.])", text)], tpl.name


def test_readme_documents_every_value():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    defs = schema["definitions"]

    def paths(node, prefix):
        node = defs[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node
        props = node.get("properties")
        if props:
            for k, v in props.items():
                yield from paths(v, f"{prefix}.{k}" if prefix else k)
        elif isinstance(node.get("additionalProperties"), dict) and "$ref" in node["additionalProperties"]:
            yield prefix
            yield from paths(node["additionalProperties"], f"{prefix}.<name>")
        elif node.get("type") == "array" and "properties" in node.get("items", {}):
            yield prefix
            yield from paths(node["items"], f"{prefix}[]")
        else:
            yield prefix

    readme = (CHART_DIR / "README.md").read_text()
    found = list(paths(schema, ""))
    assert len(found) > 30
    assert not [p for p in found if f"| `{p}` |" not in readme]
