"""The Ansible inventory comes from the spec: groups, addresses and the spec data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmctl.paths import INVENTORIES_DIR, REPO_ROOT
from fmctl.render import spec_data
from fmctl.spec.loader import load_spec
from fmctl.spec.model import PlatformSpec


def _plain(node):
    """ansible-inventory's JSON marks strings {'__ansible_unsafe': value}: unwrap them."""
    if isinstance(node, dict):
        if set(node) == {"__ansible_unsafe"}:
            return node["__ansible_unsafe"]
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def inventory(name: str) -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    proc = subprocess.run([str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(INVENTORIES_DIR / name),
                           "--list"], capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return _plain(json.loads(proc.stdout))


def expected_groups(spec: PlatformSpec) -> dict[str, list[str]]:
    """Written from the spec model directly, not through the plugin's filters."""
    k, r, pg = spec.kafka, spec.redis, spec.postgresql
    groups = {
        "kafka_brokers": [b.host for b in k.brokers],
        "zookeeper": [n.host for n in k.zookeeper.nodes] if k.mode == "zookeeper" and k.zookeeper else [],
        "kraft_controllers": [c.host for c in k.kraft.controllers] if k.mode == "kraft" and k.kraft else [],
        "kafka_connect": list(k.connect.workers),
        "schema_registry": list(k.schema_registry.hosts),
        "redis": [s.master for s in r.shards] + [h for s in r.shards for h in s.replicas],
        "redis_masters": [s.master for s in r.shards],
        "redis_replicas": [h for s in r.shards for h in s.replicas],
        "postgresql": [pg.primary] + [s.host for s in pg.standbys],
        "postgresql_primary": [pg.primary],
        "postgresql_standby": [s.host for s in pg.standbys],
        "pgbouncer": [pg.pgbouncer.host],
        "monitoring": [spec.monitoring.host],
        "edge": [spec.gateway.edge_host],
        "app": [spec.app.host],
    }
    return {g: sorted(set(h)) for g, h in groups.items() if h}  # ansible-inventory omits empty groups


@pytest.fixture(scope="module")
def local_inventory() -> dict:
    return inventory("local")


def test_local_groups_equal_the_spec(local_inventory: dict):
    spec = load_spec("local").spec
    got = {g: sorted(v["hosts"]) for g, v in local_inventory.items() if g not in ("_meta", "all") and v.get("hosts")}
    assert got == expected_groups(spec)


def test_local_production_shape(local_inventory: dict):
    sizes = {g: len(v.get("hosts", [])) for g, v in local_inventory.items() if g != "_meta"}
    assert sizes["kafka_brokers"] == 3
    assert sizes["zookeeper"] == 3
    assert sizes["redis"] == 6 and sizes["redis_masters"] == 3 and sizes["redis_replicas"] == 3
    assert sizes["postgresql_primary"] == 1 and sizes["postgresql_standby"] == 1


def test_local_hosts_have_their_spec_address_and_run_here(local_inventory: dict):
    spec = load_spec("local").spec
    hostvars = local_inventory["_meta"]["hostvars"]
    assert set(hostvars) == set(spec.hosts)
    for name, host in spec.hosts.items():
        hv = hostvars[name]
        assert hv["fm_address"] == str(host.address)
        assert hv["ansible_connection"] == "local"
        assert hv["ansible_python_interpreter"] == "/usr/bin/python3"
    addresses = [hv["fm_address"] for hv in hostvars.values()]
    assert len(addresses) == len(set(addresses))
    assert all(a.startswith("127.") for a in addresses)


def test_fm_spec_is_the_spec_as_data(local_inventory: dict):
    spec = load_spec("local").spec
    fm_spec = local_inventory["_meta"]["hostvars"]["kafka-1"]["fm_spec"]
    assert fm_spec == json.loads(json.dumps(spec_data(spec)))
    assert fm_spec["redis"]["maxmemory"] == spec.redis.maxmemory  # bytes
    assert fm_spec["kafka"]["topics"]["system_events"]["retention"] == spec.kafka.topics["system_events"].retention  # ms


def test_example_prod_reaches_hosts_by_address():
    inv = inventory("example-prod")
    spec = load_spec("prod").spec
    got = {g: sorted(v["hosts"]) for g, v in inv.items() if g not in ("_meta", "all") and v.get("hosts")}
    assert got == expected_groups(spec)
    for name, host in spec.hosts.items():
        hv = inv["_meta"]["hostvars"][name]
        assert hv["ansible_host"] == hv["fm_address"] == str(host.address)
        assert hv.get("ansible_connection") != "local"
