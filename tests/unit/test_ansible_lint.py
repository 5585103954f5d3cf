"""Every role and playbook passes ansible-lint's production profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmctl.paths import REPO_ROOT

ROLES = sorted(p.name for p in (REPO_ROOT / "roles").iterdir() if (p / "tasks").is_dir())


def lint(*targets: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "NO_COLOR": "1"}
    return subprocess.run([str(Path(sys.executable).with_name("ansible-lint")), "--profile", "production",
                           "--offline", "--nocolor", *targets],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=900)


def test_roles_and_playbooks_pass_the_production_profile():
    proc = lint("roles", "playbooks")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


@pytest.mark.parametrize("role", ROLES)
def test_role_has_the_standard_layout(role: str):
    base = REPO_ROOT / "roles" / role
    for rel in ("tasks/main.yml", "meta/main.yml", "meta/argument_specs.yml", "README.md"):
        assert (base / rel).is_file(), f"roles/{role}/{rel} is missing"
