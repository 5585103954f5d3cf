"""The Docker target: one container per node on the spec's addresses, pinned images."""

from __future__ import annotations

import ipaddress

import pytest

from fmctl.app_settings import COMMANDS
from stacks.sizing import mib
from tests.stacks.conftest import DOCKER

pytestmark = pytest.mark.parametrize(("env", "target"), DOCKER)


def containers(run):
    return {c.inputs["hostname"]: c.inputs for c in run.resources if c.typ == "docker:index/container:Container"}


def address(c):
    return c["networksAdvanced"][0].get("ipv4Address")


def test_network_holds_every_address(build, env, target):
    r = build(env, target)
    (net,) = [x for x in r.resources if x.typ == "docker:index/network:Network"]
    subnet = ipaddress.ip_network(net.inputs["ipamConfigs"][0]["subnet"])
    assert all(h.address in subnet for h in r.spec.hosts.values())


def test_nodes_on_spec_addresses(build, env, target):
    r = build(env, target)
    cs = containers(r)
    k = r.spec.kafka
    for b in k.brokers:
        assert address(cs[b.host]) == str(r.spec.hosts[b.host].address)
        props = next(u["content"] for u in cs[b.host]["uploads"] if u["file"].endswith("server.properties"))
        assert f"broker.id={b.id}\n" in props
        assert f"min.insync.replicas={k.min_insync_replicas}\n" in props
    for n in k.zookeeper.nodes:
        assert f"ZOO_MY_ID={n.id}" in cs[n.host]["envs"]
    redis_hosts = [h for s in r.spec.redis.shards for h in (s.master, *s.replicas)]
    assert all(address(cs[h]) == str(r.spec.hosts[h].address) for h in redis_hosts)
    create = next(u["content"] for u in cs["redis-cluster-create"]["uploads"] if u["file"] == "/mnt/create.sh")
    assert f"--cluster-replicas {len(r.spec.redis.shards[0].replicas)}" in create
    pg = r.spec.postgresql
    assert address(cs[pg.primary]) == str(r.spec.hosts[pg.primary].address)
    assert all(s.host in cs for s in pg.standbys)


def test_topics_created_from_spec(build, env, target):
    r = build(env, target)
    script = next(u["content"] for u in containers(r)["kafka-topics-init"]["uploads"] if u["file"].endswith("topics.sh"))
    for name, t in r.spec.kafka.topics.items():
        assert (f"--topic {name} --partitions {t.partitions} --replication-factor {t.replication_factor} "
                f"--config retention.ms={t.retention}") in script


def test_arango_roles_and_vault_nodes(build, env, target):
    r = build(env, target)
    cs = containers(r)
    a = r.spec.arangodb
    assert len([h for h in cs if h.startswith("arangodb-agent-")]) == a.agents
    assert len([h for h in cs if h.startswith("arangodb-dbserver-")]) == a.dbservers
    assert len([h for h in cs if h.startswith("arangodb-coordinator-")]) == a.coordinators
    assert len([h for h in cs if h.startswith("vault-")]) == r.spec.vault.replicas


def test_app_replicas_limits_and_built_image(build, env, target):
    r = build(env, target)
    cs = containers(r)
    for name, svc in r.spec.app.services.items():
        replicas = [c for h, c in cs.items() if h.startswith(name.replace("_", "-") + "-")]
        if name not in COMMANDS:  # the app has no command for it yet (logging_console): not deployed
            assert not replicas, name
            continue
        assert len(replicas) == svc.replicas
        assert all(c["memory"] == mib(svc.limits.memory) for c in replicas)
        assert all(c["command"] == [COMMANDS[name]] for c in replicas)
    (image,) = [x for x in r.resources if x.typ == "docker:index/image:Image"]
    assert image.inputs["build"]["context"] == "app"
    assert image.inputs["imageName"].endswith(f":{r.spec.app.version}")


def test_app_settings_are_the_shared_ones_and_secrets_are_files(build, env, target):
    """FM_* variables are exactly as_env(app_settings(...)); each secret setting is an uploaded file."""
    from fmctl.app_settings import app_secret_refs, app_settings, as_env
    from fmctl.render import spec_data
    from stacks.docker.common import SECRETS_DIR

    r = build(env, target)
    data = spec_data(r.spec)
    refs = app_secret_refs(data)
    cs = containers(r)
    migrate = cs["app-migrate"]
    assert migrate["command"] == ["migrate"] and migrate["mustRun"] is False
    for name in (s for s in r.spec.app.services if s in COMMANDS):
        c = cs[f"{name.replace('_', '-')}-1"]
        env = dict(e.split("=", 1) for e in c["envs"])
        settings = {k: v for k, v in env.items() if not k.endswith("_FILE")}
        assert set(settings) == set(as_env(app_settings(data, _docker_endpoints(r), name, "0.0.0.0")))
        assert settings["FM_LISTEN_PORT"] == str(r.spec.app.services[name].port)
        assert settings["FM_RELAY_IN_SERVICE"] == "false"
        files = {u["file"] for u in c["uploads"]}
        for setting in refs:
            assert env[f"FM_{setting.upper()}_FILE"] == f"{SECRETS_DIR}/{setting}"
            assert f"{SECRETS_DIR}/{setting}" in files
        assert not any(v in e for e in c["envs"] for v in r.secret_values.values())


def _docker_endpoints(r):
    from fmctl.app_settings import Endpoints

    pg = r.spec.postgresql
    addr = {h: str(x.address) for h, x in r.spec.hosts.items()}
    return Endpoints(pg_host=addr[pg.primary], pg_port=pg.port, redis_nodes=[],
                     kafka_bootstrap=[f"{addr[b.host]}:{r.spec.kafka.port}" for b in r.spec.kafka.brokers])


def test_every_container_limited_and_pinned(build, env, target):
    r = build(env, target)
    for c in containers(r).values():
        assert c["memory"] > 0 and float(c["cpus"]) > 0
    for img in (x for x in r.resources if x.typ == "docker:index/remoteImage:RemoteImage"):
        name = img.inputs["name"]
        assert ":" in name.rsplit("/", 1)[-1] and not name.endswith(":latest")


def test_named_volumes_outlive_the_stack(build, env, target):
    r = build(env, target)
    vols = [x for x in r.resources if x.typ == "docker:index/volume:Volume"]
    assert vols and all(v.inputs["name"].startswith(f"fm-{env}-") for v in vols)


def test_kong_declarative_config(build, env, target):
    """Kong's uploaded file is the shared template's rendering for this target; its upstreams are app aliases."""
    import yaml

    from fmctl.render import render_one
    from tests.stacks.harness import TEST_PEM

    r = build(env, target)
    kong = containers(r)[r.spec.gateway.edge_host]
    [text] = [u["content"] for u in kong["uploads"] if u["file"] == "/kong/declarative/kong.yml"]
    upstreams = {s: s.replace("_", "-") for s in r.spec.app.services}
    assert text == render_one(r.spec, "kong/kong.yml.j2", upstreams=upstreams, jwt_public_key=TEST_PEM)
    assert "KONG_DATABASE=off" in kong["envs"]
    for svc in yaml.safe_load(text)["services"]:  # each upstream is a network alias of that service's containers
        serving = [c for c in containers(r).values() if svc["host"] in c["networksAdvanced"][0]["aliases"]]
        if svc["name"] not in COMMANDS:  # routed in the spec, but the app has no command for it yet
            assert not serving, svc["name"]
            continue
        assert serving, svc["name"]
        for c in serving:
            assert f"FM_LISTEN_PORT={svc['port']}" in c["envs"]


def test_prometheus_scrapes_the_app_with_the_monitoring_login(build, env, target):
    import yaml

    from stacks.docker.monitoring import PASSWORD_FILE

    r = build(env, target)
    prom = containers(r)[r.spec.monitoring.host]
    [text] = [u["content"] for u in prom["uploads"] if u["file"] == "/etc/prometheus/prometheus.yml"]
    jobs = {j["job_name"]: j for j in yaml.safe_load(text)["scrape_configs"]}
    assert jobs["flowmaster"]["basic_auth"] == {"username": r.spec.monitoring.admin_user, "password_file": PASSWORD_FILE}
    assert "basic_auth" not in jobs["redis"]  # the exporter asks for none
    [password] = [u for u in prom["uploads"] if u["file"] == PASSWORD_FILE]
    from tests.stacks.harness import config_key

    assert password["content"] == r.secret_values[config_key(r.spec.monitoring.admin_password)]
