"""Each policy rule with a passing and a failing resource, called directly."""

from __future__ import annotations

import pytest

from policies.pulumi import flowmaster_rules as rules
from tests.policies.packrun import validate

DEP = "kubernetes:apps/v1:Deployment"
CTR = "docker:index/container:Container"
REL = "kubernetes:helm.sh/v3:Release"


def deployment(env=None, image="flowmaster/flowmaster:0.1.0", limits=True, replicas=3):
    c = {"name": "api", "image": image}
    if env is not None:
        c["env"] = env
    if limits:
        c["resources"] = {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}}
    return {"metadata": {"name": "api"}, "spec": {"replicas": replicas, "template": {"spec": {"containers": [c]}}}}


def cr(kind, spec):
    return f"kubernetes:test.io/v1:{kind}", {"metadata": {"name": "x"}, "spec": spec}


CASES = [
    # (policy, type, passing props, failing props, expected message fragment, config)
    (rules.no_plaintext_secrets, DEP,
     deployment(env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p"}}}]),
     deployment(env=[{"name": "DB_PASSWORD", "value": "hunter22"}]), "env DB_PASSWORD holds a secret value", None),
    (rules.no_plaintext_secrets, REL,
     {"chart": "kube-prometheus-stack", "values": {"grafana": {"admin": {"existingSecret": "grafana-admin"}}}},
     {"chart": "kube-prometheus-stack", "values": {"grafana": {"adminPassword": "hunter22"}}},
     "grafana.adminPassword holds a secret", None),
    (rules.no_plaintext_secrets, "kubernetes:core/v1:ConfigMap",
     {"data": {"redis.conf": "aclfile /etc/redis-users/users.acl\n"}},
     {"data": {"redis.conf": "requirepass hunter22\nmasterauth: hunter22\n"}}, "ConfigMap key redis.conf", None),
    (rules.no_plaintext_secrets, CTR, {"envs": ["POSTGRES_PASSWORD_FILE=/run/x"]}, {"envs": ["POSTGRES_PASSWORD=hunter22"]},
     "env POSTGRES_PASSWORD holds a secret", None),
    (rules.limits_set, DEP, deployment(), deployment(limits=False), "set resources.limits", None),
    (rules.limits_set, *cr("KafkaNodePool", {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}})[0:2],
     cr("KafkaNodePool", {"replicas": 3})[1], "KafkaNodePool: set resources.limits", None),
    (rules.limits_set, REL, {"chart": "kong", "values": {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}},
     {"chart": "kong", "values": {}}, "Helm chart kong: set resources.limits", None),
    (rules.limits_set, CTR, {"name": "c", "memory": 512, "cpus": "1"}, {"name": "c"}, "set memory and cpus", None),
    (rules.replicas_outside_dev, DEP, deployment(replicas=2), deployment(replicas=1), "spec.replicas is 1",
     {"environment": "prod"}),
    (rules.replicas_outside_dev, *cr("Cluster", {"instances": 2})[0:2], cr("Cluster", {"instances": 1})[1],
     "instances is 1", {"environment": "staging"}),
    (rules.replicas_outside_dev, REL, {"chart": "vault", "values": {"server": {"ha": {"replicas": 3}}}},
     {"chart": "vault", "values": {"server": {"ha": {"replicas": 1}}}}, "values.server.ha.replicas is 1", None),
    (rules.no_latest, DEP, deployment(), deployment(image="flowmaster/flowmaster:latest"), "never :latest", None),
    (rules.no_latest, DEP, deployment(), deployment(image="redis"), "must carry a version tag", None),
    (rules.no_latest, "docker:index/remoteImage:RemoteImage", {"name": "redis:7.0"}, {"name": "redis:latest"},
     "never :latest", None),
    (rules.no_latest, REL, {"chart": "kong", "version": "2.47.0", "values": {"image": {"tag": "3.9"}}},
     {"chart": "kong", "values": {"image": {"tag": "latest"}}}, "image.tag must pin a version", None),
    (rules.tls_on, *cr("PeerAuthentication", {"mtls": {"mode": "STRICT"}})[0:2],
     cr("PeerAuthentication", {"mtls": {"mode": "PERMISSIVE"}})[1], "must be STRICT", None),
    (rules.tls_on, *cr("Kafka", {"kafka": {"listeners": [
        {"name": "tls", "tls": True, "authentication": {"type": "scram-sha-512"}}]}})[0:2],
     cr("Kafka", {"kafka": {"listeners": [{"name": "plain", "tls": False}]}})[1], "tls must be true", None),
    (rules.tls_on, *cr("DestinationRule", {"host": "api", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}})[0:2],
     cr("DestinationRule", {"host": "api", "trafficPolicy": {"tls": {"mode": "DISABLE"}}})[1], "ISTIO_MUTUAL", None),
    (rules.tls_on, REL, {"chart": "vault", "values": {"global": {"tlsDisable": False}}},
     {"chart": "vault", "values": {"global": {"tlsDisable": True}}}, "tlsDisable must be false", None),
    (rules.kafka_topic_rf, *cr("KafkaTopic", {"topicName": "t", "replicas": 2})[0:2],
     cr("KafkaTopic", {"topicName": "t", "replicas": 1})[1], "replicas is 1", None),
    (rules.vault_audit, REL, {"chart": "vault", "values": {"server": {"auditStorage": {"enabled": True}}}},
     {"chart": "vault", "values": {"server": {"auditStorage": {"enabled": False}}}}, "auditStorage.enabled", None),
    (rules.vault_audit, CTR, {"name": "fm-dev-vault-1", "volumes": [{"containerPath": "/vault/audit"}]},
     {"name": "fm-dev-vault-1", "volumes": [{"containerPath": "/vault/file"}]}, "mount an audit volume", None),
]


@pytest.mark.parametrize(("policy", "typ", "good", "bad", "message", "config"), CASES,
                         ids=[f"{c[0].name}-{c[1].rsplit(':', 1)[-1]}-{i}" for i, c in enumerate(CASES)])
def test_rule_passes_good_and_fails_bad(policy, typ, good, bad, message, config):
    assert validate(policy, typ, good, config) == []
    found = validate(policy, typ, bad, config)
    assert found and any(message in m for m in found), found


def test_replicas_rule_relaxes_for_dev_only():
    assert validate(rules.replicas_outside_dev, DEP, deployment(replicas=1), {"environment": "dev"}) == []
    labelled = {"name": "c", "labels": [{"label": "flowmaster.io/environment", "value": "dev"}],
                "uploads": [{"file": "/vault/config/vault.hcl", "content": 'tls_disable = "true"'}]}
    assert validate(rules.tls_on, CTR, labelled) == []
    labelled["labels"][0]["value"] = "prod"
    assert validate(rules.tls_on, CTR, labelled)


def test_volumes_retain_rule():
    sc = "kubernetes:storage.k8s.io/v1:StorageClass"
    assert validate(rules.pv_retain, sc, {"metadata": {"name": "fast"}, "reclaimPolicy": "Delete"}) == [
        "StorageClass fast: reclaimPolicy must be Retain"]
    from tests.policies.packrun import run_pack

    good = [(sc, "sc", {"metadata": {"name": "keep"}, "reclaimPolicy": "Retain"}),
            ("kubernetes:core/v1:PersistentVolumeClaim", "pvc",
             {"metadata": {"name": "d"}, "spec": {"storageClassName": "keep"}})]
    assert run_pack(good)["volumes-retain"] == []
    bad = [good[0], ("kubernetes:core/v1:PersistentVolumeClaim", "pvc", {"metadata": {"name": "d"},
                                                                        "spec": {"storageClassName": "standard"}})]
    assert run_pack(bad)["volumes-retain"] == [
        "PersistentVolumeClaim d: storage class 'standard' does not retain volumes (use a class with reclaimPolicy Retain)"]


def test_pack_entry_builds_the_pack_only_in_main():
    from pathlib import Path

    pack = Path(rules.__file__).parent
    assert "PolicyPack(" in (pack / "__main__.py").read_text()
    assert "PolicyPack(" not in Path(rules.__file__).read_text()
    assert {p.name for p in rules.ALL_POLICIES} == {
        "no-plaintext-secrets", "limits-set", "replicas-outside-dev", "no-latest-images", "tls-on",
        "kafka-topic-replication", "vault-audit", "volumes-retain"}


def test_pack_configs_name_real_policies_and_environments():
    import json
    from pathlib import Path

    pack = Path(rules.__file__).parent
    configurable = {p.name for p in rules.ALL_POLICIES if getattr(p, "config_schema", None)}
    for env in ("dev", "staging", "prod"):
        cfg = json.loads((pack / f"{env}.json").read_text())
        assert set(cfg) == configurable
        assert all(v == {"environment": env} for v in cfg.values())
