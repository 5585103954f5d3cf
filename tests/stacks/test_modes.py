"""Spec switches that change the resource graph's shape."""

from __future__ import annotations

import pytest

from fmctl.paths import ENVIRONMENTS_DIR
from fmctl.spec.loader import deep_merge, read_raw, validate_mapping
from stacks.sizing import SizingError
from tests.stacks.harness import run


def crs(run, kind):
    return [r for r in run.resources if r.typ.startswith("kubernetes:") and r.typ.endswith(f":{kind}")]


def test_kraft_mode_builds_controller_pool():
    """kafka.mode: kraft swaps ZooKeeper for a controller pool with the spec's ids."""
    data, _ = read_raw(ENVIRONMENTS_DIR / "prod.yaml")
    data = deep_merge(data, {"kafka": {"mode": "kraft", "zookeeper": None, "kraft": {
        "heap": "1GiB", "controllers": [{"id": 11, "host": "zk-1"}, {"id": 12, "host": "zk-2"}, {"id": 13, "host": "zk-3"}]}}})
    spec = validate_mapping(data).spec
    r = run(spec, "kubernetes")
    pools = {p.inputs["metadata"]["name"]: p.inputs for p in crs(r, "KafkaNodePool")}
    assert pools["controllers"]["spec"]["roles"] == ["controller"]
    assert pools["controllers"]["spec"]["replicas"] == 3
    assert pools["controllers"]["metadata"]["annotations"]["strimzi.io/next-node-ids"] == "[11,12,13]"
    (kafka,) = crs(r, "Kafka")
    assert "zookeeper" not in kafka.inputs["spec"]
    assert kafka.inputs["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"


def _prod_with(override: dict):
    data, _ = read_raw(ENVIRONMENTS_DIR / "prod.yaml")
    return validate_mapping(deep_merge(data, override)).spec


def test_container_limit_below_heap_is_refused():
    spec = _prod_with({"containers": {"kafka": {"limits": {"memory": "4GiB"}, "requests": {"memory": "4GiB"}}}})
    with pytest.raises(SizingError, match=r"containers.kafka.limits.memory: 4GiB <= kafka.heap 6GiB"):
        run(spec, "kubernetes")


def test_missing_workload_size_names_the_field():
    data, _ = read_raw(ENVIRONMENTS_DIR / "prod.yaml")
    data["containers"].pop("vault")
    with pytest.raises(SizingError, match=r"containers.vault: required"):
        run(validate_mapping(data).spec, "kubernetes")


def test_fresh_runs_are_independent():
    first = run("prod", "kubernetes")
    second = run("prod", "kubernetes")
    assert sorted(r.name for r in first.resources) == sorted(r.name for r in second.resources)
    assert len({(r.typ, r.name) for r in second.resources}) == len(second.resources)  # URNs unique
