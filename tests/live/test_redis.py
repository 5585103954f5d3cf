"""The Redis cluster of the live local platform.

The drills stop nodes through the service manager (a stopped node stays
down, like a dead host; a killed one would be restarted by supervisor at
once) and then run the role again with `fmctl up --tags redis`, the command
a person runs.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from fmctl import filters
from fmctl.verify import run
from fmctl.verify.redis import admin
from fmctl.verify.report import Context, drift
from tests.live.conftest import fmctl

pytestmark = pytest.mark.live

SETTLE_TIMEOUT = 60.0  # seconds a failover or a re-join may take (node_timeout is 2 s locally)


def assert_no_drift(ctx: Context) -> None:
    checks = list(run(ctx, ["redis"]))
    bad = [(c.name, c.spec, c.live) for c in drift(checks)]
    assert not bad, f"Redis differs from the spec: {bad}"
    assert len(checks) > 40


def cluster(ctx: Context, user: str = "flowmaster") -> RedisCluster:
    r = ctx.spec.redis
    return RedisCluster(startup_nodes=[ClusterNode(ctx.address(s.master), r.port) for s in r.shards],
                        username=user, password=ctx.secret(r.users[user].password), socket_timeout=5,
                        decode_responses=True)


def raw(ctx: Context, host: str, *lines: bytes) -> list[bytes]:
    """Speak RESP inline commands on a bare socket: no client library deciding anything for us."""
    with socket.create_connection((ctx.address(host), ctx.spec.redis.port), timeout=5) as s:
        replies = []
        for line in lines:
            s.sendall(line + b"\r\n")
            replies.append(s.recv(4096))
        return replies


def wait_until(what: str, condition, timeout: float = SETTLE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def role_of(ctx: Context, host: str) -> str | None:
    try:
        return admin(ctx, ctx.address(host)).info("replication").get("role")
    except redis.RedisError:
        return None


def supervisorctl(*args: str) -> None:
    subprocess.run(["supervisorctl", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def supervisor(platform: Context) -> None:
    if platform.spec.service_manager != "supervisor" or shutil.which("supervisorctl") is None:
        pytest.skip("the drills drive supervisor; this environment uses another service manager")


def up_redis() -> None:
    proc = fmctl("up", "--env", "local", "--tags", "redis")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


# ------------------------------------------------------------------ state


def test_verifier_finds_no_drift(platform: Context) -> None:
    assert_no_drift(platform)


def test_every_node_refuses_a_client_that_does_not_authenticate(platform: Context) -> None:
    for node in filters.redis_nodes(platform.data):
        ping, get = raw(platform, node["host"], b"PING", b"GET fm:anything")
        assert ping.startswith(b"-NOAUTH"), (node["host"], ping)
        assert get.startswith(b"-NOAUTH"), (node["host"], get)


def test_a_wrong_password_is_refused(platform: Context) -> None:
    host = platform.spec.redis.shards[0].master
    (reply,) = raw(platform, host, b"AUTH flowmaster not-the-password")
    assert reply.startswith(b"-WRONGPASS"), reply
    (reply,) = raw(platform, host, b"AUTH default anything")
    assert reply.startswith(b"-WRONGPASS"), reply  # the default user is off


def test_the_app_user_is_held_to_its_acl(platform: Context) -> None:
    app = cluster(platform)
    key = f"fm:test:{uuid.uuid4().hex[:8]}"
    app.set(key, "v", ex=60)
    assert app.get(key) == "v"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set(f"other:{key}", "v")  # outside its fm:* key pattern
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.config_get("maxmemory")  # -@admin


# ------------------------------------------------------------------ drills


@pytest.mark.slow
def test_nodes_that_come_back_rejoin_after_up(platform: Context, supervisor) -> None:
    """A master that was down (its replica took over) and a replica that came
    back empty (new node id) both take their places as the spec pairs them
    after the role runs again; the data is still there."""
    r = platform.spec.redis
    master, its_replica = r.shards[1].master, r.shards[1].replicas[0]
    wiped = r.shards[2].replicas[0]
    app = cluster(platform)
    keys = {f"fm:test:rejoin:{i}:{uuid.uuid4().hex[:6]}": str(i) for i in range(50)}
    for k, v in keys.items():
        app.set(k, v, ex=3600)
    # AOF fsyncs every second: wait until the replicas have the keys before killing anything
    for s in r.shards:
        admin(platform, platform.address(s.master)).execute_command("WAIT", len(s.replicas), 5000)

    supervisorctl("stop", f"fm-redis-{master}")
    wait_until(f"{its_replica} to take over from {master}", lambda: role_of(platform, its_replica) == "master")

    supervisorctl("stop", f"fm-redis-{wiped}")
    data_dir = f"/var/lib/flowmaster/redis/{wiped}"
    subprocess.run(["find", data_dir, "-mindepth", "1", "-delete"], check=True)

    up_redis()

    assert role_of(platform, master) == "master"
    assert role_of(platform, its_replica) == "slave"
    assert_no_drift(platform)
    app = cluster(platform)
    assert {k: app.get(k) for k in keys} == keys


@pytest.mark.slow
def test_keys_survive_stopping_and_starting_the_cluster(platform: Context, supervisor) -> None:
    app = cluster(platform)
    key = f"fm:test:persist:{uuid.uuid4().hex[:8]}"
    app.set(key, "kept")
    for node in filters.redis_nodes(platform.data):
        supervisorctl("stop", f"fm-redis-{node['host']}")
    up_redis()
    assert cluster(platform).get(key) == "kept"
    assert_no_drift(platform)
