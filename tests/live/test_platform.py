"""The whole local platform: verify is clean, up is idempotent, down keeps data.

These run after the component tests (pytest runs files in name order within
a folder; this file's name sorts last on purpose: `zz` would be clearer but
the fixture makes order irrelevant for correctness, only for run time).
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.live.conftest import fmctl

pytestmark = pytest.mark.live


def test_verify_reports_no_drift(platform):
    proc = fmctl("verify", "--env", "local", "--json")
    report = json.loads(proc.stdout)
    drift = [c for c in report["checks"] if not c["ok"]]
    assert drift == [], f"spec vs live differs: {drift}"
    assert proc.returncode == 0
    components = {c["component"] for c in report["checks"]}
    assert {"kafka", "zookeeper", "redis", "postgresql", "monitoring", "edge"} <= components


def test_second_up_changes_nothing(platform):
    proc = fmctl("up", "--env", "local", "--json")
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, result
    assert result["failed"] == 0
    assert result["changed"] == 0, f"a second up changed {result['changed']} task(s); see {result['log']}"


def test_down_then_up_keeps_topics_keys_and_rows(platform):
    from tests.live import clients

    marker = f"persist-{uuid.uuid4().hex[:8]}"
    clients.redis_set(platform, f"fm:test:{marker}", marker)
    clients.pg_insert(platform, marker)
    topics_before = clients.kafka_topics(platform)

    down = fmctl("down", "--env", "local", "--json")
    assert down.returncode == 0, down.stderr
    status = json.loads(fmctl("status", "--env", "local", "--json").stdout)
    assert all(s["state"] != "RUNNING" for s in status["services"]), status

    up = fmctl("up", "--env", "local", "--json")
    assert up.returncode == 0, up.stderr[-2000:]

    assert clients.redis_get(platform, f"fm:test:{marker}") == marker
    assert clients.pg_has_row(platform, marker)
    assert clients.kafka_topics(platform) >= topics_before
