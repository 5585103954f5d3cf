"""The CI/CD pipeline (WBS INF-007): linted, and shaped as the work breakdown asks.

Two linters: check-jsonschema with the GitHub workflow schema it ships (offline),
and actionlint (expressions, job graph, action inputs, shell scripts through
shellcheck when installed) when `make setup` could install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fmctl.paths import ENVIRONMENTS_DIR, REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
BIN = Path(sys.executable).parent


def _workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def test_workflow_matches_github_schema():
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _actionlint() -> str | None:
    candidates = [BIN / "actionlint", shutil.which("actionlint"), Path.home() / "go" / "bin" / "actionlint"]
    return next((str(c) for c in candidates if c and os.access(c, os.X_OK)), None)


def test_workflow_passes_actionlint():
    tool = _actionlint()
    if tool is None:
        pytest.skip("actionlint is not installed (`make setup` installs it when a Go toolchain is present)")
    proc = subprocess.run([tool, "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stages_of_the_work_breakdown():
    jobs = _workflow()["jobs"]
    assert {"build", "unit", "integration", "security", "container", "deploy-staging", "deploy-production"} <= set(jobs)

    def needs(name: str) -> set[str]:
        n = jobs[name].get("needs", [])
        return {n} if isinstance(n, str) else set(n)

    assert needs("unit") == {"build"}
    assert "unit" in needs("integration")
    assert {"unit", "security"} <= needs("container")
    assert {"integration", "container"} <= needs("deploy-staging")
    assert "deploy-staging" in needs("deploy-production")


def test_build_unit_and_integration_run_the_project_commands():
    jobs = _workflow()["jobs"]
    assert "python -m build --wheel" in _runs(jobs["build"])
    assert "pytest tests/unit" in _runs(jobs["unit"])
    assert "fmctl validate" in _runs(jobs["unit"])
    # integration = the README's test command on a clean Debian 12, like this machine
    assert "make test" in _runs(jobs["integration"])
    assert jobs["integration"]["container"]["image"] == "debian:12"


def test_security_scan_covers_dependencies_code_and_secrets():
    runs = _runs(_workflow()["jobs"]["security"])
    for tool in ("pip-audit", "bandit", "detect-secrets", "ansible-lint"):
        assert tool in runs, tool


def test_container_build_uses_the_app_image():
    job = _workflow()["jobs"]["container"]
    [build] = _uses(job, "docker/build-push-action")
    assert build["with"]["file"] == "app/Dockerfile"
    assert "pull_request" in str(build["with"]["push"])  # pull requests build, never push


@pytest.mark.parametrize(("job_name", "stack", "environment"), [
    ("deploy-staging", "staging", "staging"),
    ("deploy-production", "prod", "production"),
])
def test_deploys_run_pulumi_up_on_the_environment_stack(job_name: str, stack: str, environment: str):
    job = _workflow()["jobs"][job_name]
    assert job["environment"]["name"] == environment  # production: required reviewers gate it
    assert "refs/heads/main" in job["if"]  # pull requests never deploy
    steps = job["steps"]
    pulumi = _uses(job, "pulumi/actions")
    ups = [s for s in pulumi if s["with"]["command"] == "up"]
    assert len(ups) == 1 and ups[0]["with"]["stack-name"] == stack
    assert (ENVIRONMENTS_DIR / f"{stack}.yaml").exists(), "a stack deploys an environment of the same name"
    validate = next(i for i, s in enumerate(steps) if f"fmctl validate --env {stack}" in s.get("run", ""))
    assert validate < steps.index(ups[0]), "the spec is validated before anything is deployed"
    assert any(f"fmctl verify --env {stack}" in s.get("run", "") for s in steps[steps.index(ups[0]):])


def test_stacks_exist_for_the_deployed_environments():
    if not (REPO_ROOT / "Pulumi.yaml").exists():
        pytest.skip("no Pulumi project yet (Pulumi.yaml): the stacks arrive with the Pulumi issue")
    for stack in ("staging", "prod"):
        assert (REPO_ROOT / f"Pulumi.{stack}.yaml").exists(), stack


def test_workflow_holds_no_secret_value():
    text = WORKFLOW.read_text()
    for line in text.splitlines():
        if "TOKEN" in line or "PASSWORD" in line or "KUBECONFIG" in line:
            value = line.split(":", 1)[1].strip() if ":" in line else ""
            assert not value or value.startswith("${{") or value.startswith("#") or line.lstrip().startswith("#"), line


def test_image_and_stack_agree_on_the_repository():
    """The pipeline pushes where the stacks pull from: flowmaster:appImageRepository."""
    if not (REPO_ROOT / "Pulumi.yaml").exists():
        pytest.skip("no Pulumi project yet (Pulumi.yaml)")
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    default = project["config"]["flowmaster:appImageRepository"]["default"]
    wf = _workflow()
    assert f"'{default}'" in wf["env"]["APP_IMAGE_REPOSITORY"]
    for job in ("deploy-staging", "deploy-production"):
        for step in _uses(wf["jobs"][job], "pulumi/actions"):
            assert "flowmaster:appImageRepository" in step["with"]["config-map"]
            assert "needs.container.outputs.repository" in step["with"]["config-map"]
