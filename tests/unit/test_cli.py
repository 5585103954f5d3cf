"""The CLI as a person runs it: the console script, real exit codes, stdout/stderr.

Exit codes: 0 ok, 1 a step failed / the platform differs, 2 the spec is invalid.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmctl.paths import ENVIRONMENTS_DIR, REPO_ROOT

FMCTL = Path(sys.executable).with_name("fmctl")


@pytest.fixture
def run(tmp_path: Path):
    state = tmp_path / "state"

    def _run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "FLOWMASTER_STATE_DIR": str(state), "NO_COLOR": "1", "COLUMNS": "200"}
        return subprocess.run([str(FMCTL), *args], capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120)

    _run.state = state  # type: ignore[attr-defined]
    return _run


@pytest.fixture
def envdir(tmp_path: Path) -> Path:
    """A copy of environments/ so that a bad file can `extends: local` next to it."""
    d = tmp_path / "environments"
    d.mkdir()
    for f in ENVIRONMENTS_DIR.glob("*.yaml"):
        shutil.copy(f, d / f.name)
    return d


BAD = """\
extends: local
name: bad
kafka:
  topics:
    execution_events: {replication_factor: 4}
redis:
  maxmemory: 4 gigs
vault:
  replicas: 2
"""
BAD_INVARIANTS = """\
extends: local
name: bad
kafka:
  topics:
    execution_events: {replication_factor: 4}
vault:
  replicas: 2
postgresql:
  pgbouncer: {default_pool_size: 40}
"""


@pytest.mark.parametrize("env", ["local", "dev", "staging", "prod"])
def test_validate_shipped_environments_exit_0(run, env: str):
    proc = run("validate", "--env", env)
    assert proc.returncode == 0, proc.stderr
    assert f"{env}: valid" in proc.stdout


def test_validate_json_lists_warnings_with_paths(run):
    proc = run("validate", "--env", "local", "--json")
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert out["valid"] is True and out["env"] == "local"
    assert {"level": "warning", "path": "kafka.topics.execution_events.min_insync_replicas"} | {} in [
        {k: w[k] for k in ("level", "path")} for w in out["warnings"]]


def test_invalid_spec_exits_2_with_every_path_on_stderr(run, envdir: Path):
    bad = envdir / "bad.yaml"
    bad.write_text(BAD_INVARIANTS)
    proc = run("validate", "--env", str(bad))
    assert proc.returncode == 2
    for path, reason in [
        ("kafka.topics.execution_events.replication_factor", "4 > 3 brokers"),
        ("vault.replicas", "odd count"),
        ("postgresql.pgbouncer.default_pool_size", "server connections"),
    ]:
        assert f"error {path}: " in proc.stderr and reason in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("3 error(s) in the")  # one line that says what to do
    assert proc.stdout == ""


def test_structural_errors_exit_2_too(run, envdir: Path):
    bad = envdir / "bad.yaml"
    bad.write_text(BAD)
    proc = run("validate", "--env", str(bad))
    assert proc.returncode == 2
    assert "error redis.maxmemory: '4 gigs' is not a size" in proc.stderr


def test_invalid_spec_json_has_errors_with_paths(run, envdir: Path):
    bad = envdir / "bad.yaml"
    bad.write_text(BAD_INVARIANTS)
    proc = run("validate", "--env", str(bad), "--json")
    assert proc.returncode == 2
    out = json.loads(proc.stdout)
    assert out["valid"] is False
    assert {e["path"] for e in out["errors"]} == {
        "kafka.topics.execution_events.replication_factor", "vault.replicas", "postgresql.pgbouncer.default_pool_size"}
    assert all(e["level"] == "error" and e["message"] for e in out["errors"])


def test_unknown_environment_exits_2(run):
    proc = run("validate", "--env", "nosuch")
    assert proc.returncode == 2
    assert "no such environment file" in proc.stderr


def test_render_writes_files(run, tmp_path: Path):
    out_dir = tmp_path / "rendered"
    proc = run("render", "--env", "prod", "--out", str(out_dir), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = json.loads(proc.stdout)["files"]
    assert listed and all((out_dir / f).is_file() for f in listed)
    assert "cluster/kong/kong.yml" in listed


def test_render_defaults_to_the_state_dir(run):
    proc = run("render", "--env", "local")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run.state / "local" / "rendered" / "cluster" / "kong" / "kong.yml").is_file()


def test_render_of_invalid_spec_writes_nothing(run, envdir: Path, tmp_path: Path):
    bad = envdir / "bad.yaml"
    bad.write_text(BAD)
    out_dir = tmp_path / "rendered"
    proc = run("render", "--env", str(bad), "--out", str(out_dir))
    assert proc.returncode == 2
    assert not out_dir.exists()


@pytest.mark.parametrize("command", ["up", "down"])
def test_up_on_an_environment_without_inventory_says_so(run, command: str):
    proc = run(command, "--env", "dev")
    assert proc.returncode == 1
    assert "No Ansible inventory serves the dev environment" in proc.stderr
    assert "Pulumi" in proc.stderr  # ... and what to do instead
    assert not (run.state / "dev").exists()  # nothing was touched, no secrets were fetched


def test_help_lists_every_command(run):
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("validate", "render", "up", "verify", "down", "status"):
        assert command in proc.stdout
