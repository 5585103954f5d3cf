"""`fmctl render` writes every file of the RENDERINGS table, byte-stable, secret-free."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmctl import secrets
from fmctl.paths import ENVIRONMENTS_DIR, REPO_ROOT
from fmctl.render import RENDERINGS, render_all, spec_data, write_all
from fmctl.spec.loader import load_spec, read_raw, validate_mapping
from fmctl.spec.model import PlatformSpec

ENVS = ("local", "dev", "staging", "prod")
# The files the issue names: each must come out of `render --env prod`.
ISSUE_FILES = ("server.properties", "zoo.cfg", "redis.conf", "postgresql.conf", "pg_hba.conf", "pgbouncer.ini",
               "prometheus.yml", "rules.yml", "alertmanager.yml", "nginx.conf", "kong.yml", "vault.hcl")


def expected_files(spec: PlatformSpec) -> dict[str, set[str]]:
    """Template -> the relative paths it must produce, computed from RENDERINGS alone."""
    data = spec_data(spec)
    out: dict[str, set[str]] = {}
    for r in RENDERINGS:
        if r.nodes is not None:
            out[r.template] = {f"{n['host']}/{r.target.format(**n)}" for n in r.nodes(data)}
        else:
            out[r.template] = {f"{r.on_host(data) if r.on_host else 'cluster'}/{r.target}"}
    return out


def test_render_prod_writes_every_file(tmp_path: Path):
    out_dir = tmp_path / "rendered"
    env = {**os.environ, "FLOWMASTER_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.run([str(Path(sys.executable).with_name("fmctl")), "render", "--env", "prod", "--out", str(out_dir),
                           "--json"], capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = set(json.loads(proc.stdout)["files"])
    on_disk = {str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file()}
    assert listed == on_disk
    spec = load_spec("prod").spec
    for template, paths in expected_files(spec).items():
        missing = paths - on_disk
        assert not missing, f"{template} did not produce {sorted(missing)}"
        for rel in paths:
            assert (out_dir / rel).stat().st_size > 0, f"{rel} is empty"
    names = {Path(p).name for p in on_disk}
    assert set(ISSUE_FILES) <= names, set(ISSUE_FILES) - names


def test_every_rendering_produces_a_file_in_prod():
    """No row of the table is silently empty for the production shape (KRaft-only rows aside)."""
    spec = load_spec("prod").spec
    empty = [t for t, paths in expected_files(spec).items() if not paths]
    assert all("kraft" in t for t in empty), empty


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_renders(env: str):
    spec = load_spec(env).spec
    rendered = render_all(spec)
    assert set(rendered) == set().union(*expected_files(spec).values())


@pytest.mark.parametrize("env", ("local", "prod"))
def test_rendering_is_byte_stable(env: str, tmp_path: Path):
    spec = load_spec(env).spec
    a, b = tmp_path / "a", tmp_path / "b"
    write_all(spec, a)
    write_all(load_spec(env).spec, b)  # a fresh load: no shared state
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_rerender_leaves_unchanged_files_alone(tmp_path: Path):
    spec = load_spec("local").spec
    written = write_all(spec, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in written}
    write_all(spec, tmp_path)
    assert {p: p.stat().st_mtime_ns for p in written} == before


def _as_generated(env: str) -> PlatformSpec:
    """The environment with its secrets generated locally (prod reads Vault otherwise)."""
    data = copy.deepcopy(read_raw(ENVIRONMENTS_DIR / f"{env}.yaml")[0])
    data["secrets_backend"] = "generated"
    data = json.loads(json.dumps(data, default=str))
    # vault:PATH#KEY references (e.g. arangodb root) would still need a Vault: make them named secrets
    def named(node):
        if isinstance(node, dict):
            return {k: named(v) for k, v in node.items()}
        if isinstance(node, list):
            return [named(v) for v in node]
        if isinstance(node, str) and node.startswith("vault:"):
            return "secret:" + node.split("#", 1)[1].lower().replace("_", "-") + "-from-vault"
        return node
    return validate_mapping(named(data), env_name=env).spec


@pytest.mark.parametrize("env", ("local", "prod"))
def test_no_secret_value_in_any_rendered_file(env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLOWMASTER_STATE_DIR", str(tmp_path))
    spec = _as_generated(env)
    values = secrets.resolve(spec)
    assert values and (tmp_path / env / "secrets.json").exists()
    assert oct((tmp_path / env / "secrets.json").stat().st_mode & 0o777) == "0o600"
    for rel, content in render_all(spec).items():
        leaked = [ref for ref, value in values.items() if value in content]
        assert not leaked, f"{rel} holds the value of {leaked}"
