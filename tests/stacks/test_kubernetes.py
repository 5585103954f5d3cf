"""The Kubernetes target's resource graph matches the spec, for every environment."""

from __future__ import annotations

import pytest

from fmctl.app_settings import COMMANDS
from stacks.sizing import quantity
from tests.stacks.conftest import K8S

pytestmark = pytest.mark.parametrize(("env", "target"), K8S)


def crs(run, kind):
    return [r for r in run.resources if r.typ.startswith("kubernetes:") and r.typ.endswith(f":{kind}")]


def test_topics_match_spec(build, env, target):
    r = build(env, target)
    topics = {t.inputs["spec"]["topicName"]: t.inputs["spec"] for t in crs(r, "KafkaTopic")}
    assert set(topics) == set(r.spec.kafka.topics)
    for name, t in r.spec.kafka.topics.items():
        got = topics[name]
        assert got["partitions"] == t.partitions
        assert got["replicas"] == t.replication_factor
        assert got["config"]["retention.ms"] == t.retention
        assert got["config"]["min.insync.replicas"] == t.min_insync_replicas
    for t in crs(r, "KafkaTopic"):
        assert t.inputs["metadata"]["labels"]["strimzi.io/cluster"] == "flowmaster"


def test_broker_and_metadata_node_counts(build, env, target):
    r = build(env, target)
    k = r.spec.kafka
    (kafka,) = crs(r, "Kafka")
    pools = {p.inputs["metadata"]["name"]: p.inputs for p in crs(r, "KafkaNodePool")}
    assert pools["brokers"]["spec"]["replicas"] == len(k.brokers)
    assert pools["brokers"]["spec"]["roles"] == ["broker"]
    ids = ",".join(str(b.id) for b in sorted(k.brokers, key=lambda b: b.id))
    assert pools["brokers"]["metadata"]["annotations"]["strimzi.io/next-node-ids"] == f"[{ids}]"
    ann = kafka.inputs["metadata"]["annotations"]
    if k.mode == "zookeeper":
        assert ann["strimzi.io/kraft"] == "disabled"
        assert kafka.inputs["spec"]["zookeeper"]["replicas"] == len(k.zookeeper.nodes)
        assert "controllers" not in pools
    else:
        assert ann["strimzi.io/kraft"] == "enabled"
        assert pools["controllers"]["spec"]["replicas"] == len(k.kraft.controllers)
    cfg = kafka.inputs["spec"]["kafka"]["config"]
    assert cfg["min.insync.replicas"] == k.min_insync_replicas
    assert cfg["default.replication.factor"] == k.default_replication_factor
    assert kafka.inputs["spec"]["kafka"]["version"] == k.version


def test_redis_topology(build, env, target):
    r = build(env, target)
    shards = r.spec.redis.shards
    sts = r.named("StatefulSet", "redis").inputs
    assert sts["spec"]["replicas"] == len(shards) * (1 + len(shards[0].replicas))
    job = r.named("Job", "redis-cluster-create").inputs
    cmd = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert f"--cluster-replicas {len(shards[0].replicas)}" in cmd
    assert cmd.count(f":{r.spec.redis.port}") >= sts["spec"]["replicas"]
    conf = r.named("ConfigMap", "redis-config").inputs["data"]["redis.conf"]
    assert f"maxmemory {r.spec.redis.maxmemory}\n" in conf
    assert "cluster-enabled yes" in conf


def test_postgresql_instances_backup_pooler(build, env, target):
    r = build(env, target)
    pg = r.spec.postgresql
    (cluster,) = crs(r, "Cluster")
    spec = cluster.inputs["spec"]
    assert spec["instances"] == 1 + len(pg.standbys)
    assert spec["postgresql"]["parameters"]["max_connections"] == str(pg.max_connections)
    assert spec["backup"]["barmanObjectStore"]["wal"]
    assert spec["backup"]["retentionPolicy"] == f"{pg.backup.keep}d"
    (sched,) = crs(r, "ScheduledBackup")
    assert sched.inputs["spec"]["schedule"] == f"0 {pg.backup.schedule}"
    (pooler,) = crs(r, "Pooler")
    bouncer = pooler.inputs["spec"]["pgbouncer"]
    assert bouncer["poolMode"] == pg.pgbouncer.pool_mode
    assert bouncer["parameters"]["default_pool_size"] == str(pg.pgbouncer.default_pool_size)
    assert bouncer["parameters"]["max_client_conn"] == str(pg.pgbouncer.max_client_conn)
    assert {d.inputs["spec"]["name"] for d in crs(r, "Database")} == set(pg.databases)


def test_arango_roles(build, env, target):
    r = build(env, target)
    a = r.spec.arangodb
    (dep,) = crs(r, "ArangoDeployment")
    spec = dep.inputs["spec"]
    assert spec["mode"] == "Cluster"
    assert spec["agents"]["count"] == a.agents
    assert spec["dbservers"]["count"] == a.dbservers
    assert spec["coordinators"]["count"] == a.coordinators
    assert spec["dbservers"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == quantity(a.storage)
    assert spec["image"] == f"arangodb/arangodb:{a.version}"


def test_mtls_strict_and_mesh_policies(build, env, target):
    r = build(env, target)
    m = r.spec.gateway.mesh
    (pa,) = crs(r, "PeerAuthentication")
    assert pa.inputs["spec"]["mtls"]["mode"] == "STRICT" == m.mtls
    for dr in crs(r, "DestinationRule"):
        assert dr.inputs["spec"]["trafficPolicy"]["loadBalancer"]["simple"] == m.load_balancer
        assert dr.inputs["spec"]["trafficPolicy"]["tls"]["mode"] == "ISTIO_MUTUAL"
    for vs in crs(r, "VirtualService"):
        assert vs.inputs["spec"]["http"][0]["retries"]["attempts"] == m.retries
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in crs(r, "AuthorizationPolicy")}
    assert set(policies) == {f"allow-{t.replace('_', '-')}" for t in m.allow}
    api = policies["allow-api"]["rules"][0]["from"][0]["source"]["principals"]
    assert any(p.endswith("/sa/kong") for p in api) and any(p.endswith("/sa/worker") for p in api)


def app_values(run) -> dict:
    """Values of the FlowMaster chart's release (what the chart renders is tests/charts' business)."""
    (rel,) = [x for x in run.of("Release") if x.inputs["chart"].endswith("charts/flowmaster")]
    return rel.inputs["values"]


def test_app_release_values_sizes_settings_secrets(build, env, target):
    from fmctl.app_settings import COMMANDS, HTTP_SERVICES, app_secret_refs
    from fmctl.render import spec_data
    from stacks.k8s.app_chart import chart_version

    r = build(env, target)
    (rel,) = [x for x in r.of("Release") if x.inputs["chart"].endswith("charts/flowmaster")]
    assert rel.inputs["version"] == chart_version() and rel.inputs["namespace"] == "flowmaster-app"
    assert rel.inputs["atomic"] is True
    v = rel.inputs["values"]
    assert v["image"]["tag"] == r.spec.app.version
    # Every service the app has a command for, none other (logging_console has none yet).
    assert set(v["services"]) == {s for s in r.spec.app.services if s in COMMANDS}
    for name, got in v["services"].items():
        svc = r.spec.app.services[name]
        assert got["command"] == COMMANDS[name]
        assert got["replicas"] == svc.replicas
        assert got["resources"] == {"requests": {"cpu": svc.requests.cpu, "memory": quantity(svc.requests.memory)},
                                    "limits": {"cpu": svc.limits.cpu, "memory": quantity(svc.limits.memory)}}
        assert got.get("port") == (svc.port if name in HTTP_SERVICES else None)
        assert got["settings"]["listen_port"] == svc.port
        assert got["settings"]["pg_host"] == "flowmaster-pgbouncer.flowmaster-postgresql.svc.cluster.local"
        assert got["settings"]["pg_port"] == r.spec.postgresql.pgbouncer.port
        assert got["settings"]["kafka_bootstrap"] == [
            f"flowmaster-kafka-bootstrap.flowmaster-kafka.svc.cluster.local:{r.spec.kafka.port}"]
        assert got["callers"] == sorted(c for c in r.spec.gateway.mesh.allow.get(name, []) if c != "gateway")
    assert v["migration"] == {"enabled": True, "service": "api"}
    # Secret settings come from the Secret the stack makes, keyed per setting; its values are Pulumi secrets.
    refs = app_secret_refs(spec_data(r.spec))
    assert v["credentials"]["settings"] == [{"setting": k, "key": k} for k in sorted(refs)]
    creds = r.named("Secret", v["credentials"]["existingSecret"])
    assert set(creds.inputs["stringData"]) == set(refs) | {v["serviceMonitor"]["basicAuth"]["usernameKey"]}
    assert "stringData" in creds.secret_paths  # the whole mapping is a Pulumi secret
    assert v["serviceMonitor"]["basicAuth"]["passwordKey"] == "metrics_password"
    # The chart's objects replace the stack's own app Deployments.
    assert not [d for d in r.of("Deployment") if d.inputs["metadata"].get("namespace") == "flowmaster-app"]


def test_app_talks_tls_to_strimzi_with_its_cluster_ca(build, env, target):
    """Strimzi's listener is TLS: the app says SASL_SSL and trusts the cluster CA, read from the
    Secret Strimzi makes in the Kafka namespace and copied into the app's."""
    from stacks.k8s.app_chart import KAFKA_CA_KEY, KAFKA_CA_SECRET

    r = build(env, target)
    (kafka,) = crs(r, "Kafka")
    assert all(listener["tls"] for listener in kafka.inputs["spec"]["kafka"]["listeners"])
    assert ("kubernetes:core/v1:Secret", "flowmaster-kafka/flowmaster-cluster-ca-cert") in r.reads
    copy = [s for s in r.of("Secret") if s.inputs["metadata"] == {"name": KAFKA_CA_SECRET, "namespace": "flowmaster-app"}]
    assert len(copy) == 1 and set(copy[0].inputs["data"]) == {KAFKA_CA_KEY}
    v = app_values(r)
    assert v["kafkaCa"] == {"existingSecret": KAFKA_CA_SECRET, "key": KAFKA_CA_KEY}
    assert {s["settings"]["kafka_security_protocol"] for s in v["services"].values()} == {"SASL_SSL"}


def test_production_shape_is_hard_in_prod(build, env, target):
    r = build(env, target)
    sched = app_values(r)["scheduling"]
    if env in ("prod", "staging"):
        assert sched == {"hard": True, "spreadOverZones": True}
        redis = r.named("StatefulSet", "redis").inputs["spec"]["template"]["spec"]
        assert "requiredDuringSchedulingIgnoredDuringExecution" in redis["affinity"]["podAntiAffinity"]
    else:
        assert sched == {"hard": False, "spreadOverZones": False}  # dev names no zones: over nodes only, softly


def test_disruption_budgets(build, env, target):
    r = build(env, target)
    (kafka,) = crs(r, "Kafka")
    budget = kafka.inputs["spec"]["kafka"]["template"]["podDisruptionBudget"]["maxUnavailable"]
    margin = min(t.replication_factor - t.min_insync_replicas for t in r.spec.kafka.topics.values())
    assert 1 <= budget <= max(margin, 1)
    assert r.named("PodDisruptionBudget", "redis").inputs["spec"]["maxUnavailable"] == 1
    (cluster,) = crs(r, "Cluster")
    assert cluster.inputs["spec"]["enablePDB"] is True


def test_namespaces_storage_class_network_policies(build, env, target):
    r = build(env, target)
    names = {n.inputs["metadata"]["name"] for n in r.of("Namespace")}
    assert {"flowmaster-kafka", "flowmaster-redis", "flowmaster-postgresql", "flowmaster-app", "istio-system"} <= names
    (sc,) = r.of("StorageClass")
    assert sc.inputs["reclaimPolicy"] == "Retain"
    denied = {p.inputs["metadata"]["namespace"] for p in r.of("NetworkPolicy")
              if p.inputs["metadata"]["name"] == "default-deny-ingress"}
    assert {"flowmaster-kafka", "flowmaster-redis", "flowmaster-postgresql"} <= denied
    assert app_values(r)["networkPolicy"]["enabled"] is True  # the app's namespace: the chart's policies
    claims = r.named("StatefulSet", "redis").inputs["spec"]["volumeClaimTemplates"]
    assert all(c["spec"]["storageClassName"] == sc.inputs["metadata"]["name"] for c in claims)


def test_monitoring_rules_and_dashboards(build, env, target):
    r = build(env, target)
    (rule,) = crs(r, "PrometheusRule")
    alerts = {a["alert"] for g in rule.inputs["spec"]["groups"] for a in g["rules"]}
    assert alerts == set(r.spec.monitoring.alert_rules)
    boards = [c for c in r.of("ConfigMap") if c.inputs["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert len(boards) == len(r.spec.monitoring.dashboards) == 5
    charts = {x.inputs["chart"] for x in r.of("Release")}
    assert {"kube-prometheus-stack", "loki", "jaeger", "vault", "kong", "base", "istiod", "strimzi-kafka-operator",
            "cloudnative-pg", "kube-arangodb"} <= charts
    assert all(x.inputs.get("version") for x in r.of("Release"))


def test_vault_values(build, env, target):
    r = build(env, target)
    v = r.spec.vault
    vault = next(x for x in r.of("Release") if x.inputs["chart"] == "vault").inputs["values"]
    assert vault["server"]["ha"]["replicas"] == v.replicas
    assert vault["server"]["ha"]["raft"]["enabled"] is True
    assert vault["server"]["auditStorage"]["enabled"] is True
    assert 'seal "transit"' in vault["server"]["ha"]["raft"]["config"]
    assert vault["server"]["image"]["tag"] == v.version


def test_kong_declarative_config(build, env, target):
    """The ConfigMap holds the shared template's rendering for this target, byte for byte."""
    import yaml

    from fmctl.render import render_one
    from tests.stacks.harness import TEST_PEM

    r = build(env, target)
    text = r.named("ConfigMap", "kong-declarative").inputs["data"]["kong.yml"]
    # The chart makes a Service named as each HTTP service, on its port.
    app_services = {s.replace("_", "-"): v["port"] for s, v in app_values(r)["services"].items() if "port" in v}
    upstreams = {s: f"{s.replace('_', '-')}.flowmaster-app.svc.cluster.local" for s in r.spec.app.services}
    assert text == render_one(r.spec, "kong/kong.yml.j2", upstreams=upstreams, jwt_public_key=TEST_PEM)
    cfg = yaml.safe_load(text)
    for svc in cfg["services"]:  # every upstream is an app Service the chart creates, on its port
        name, ns, *_ = svc["host"].split(".")
        if svc["name"] not in COMMANDS:  # routed in the spec, but the app has no command for it yet
            assert name not in app_services, svc["name"]
            continue
        assert (ns, app_services.get(name)) == ("flowmaster-app", svc["port"]), svc["name"]
    routes = {rt["name"]: rt for s in cfg["services"] for rt in s["routes"]}
    assert set(routes) == set(r.spec.gateway.routes)
    for name, route in r.spec.gateway.routes.items():
        plugins = {p["name"]: p["config"] for p in routes[name].get("plugins", [])}
        assert "oauth2" not in plugins  # Kong refuses it without a database
        assert ("jwt" in plugins) == bool(set(route.auth) & {"jwt", "oauth2"})
    [issuer] = cfg["consumers"]
    assert issuer["jwt_secrets"] == [{"key": r.spec.gateway.jwt_issuer, "algorithm": "RS256", "rsa_public_key": TEST_PEM,
                                      "tags": ["flowmaster", r.spec.name]}]
    release = next(x for x in r.of("Release") if x.inputs["chart"] == "kong").inputs["values"]
    assert release["env"]["database"] == "off"
    assert release["dblessConfig"]["configMap"] == "kong-declarative"
