"""The program as Pulumi runs it: stacks/__main__.py with a stack's config."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from fmctl.spec.loader import load_spec
from tests.stacks.harness import Mocks, fake_secrets

ROOT = Path(__file__).resolve().parents[2]


def test_stack_files_name_environment_and_target():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "flowmaster-platform"
    assert project["main"] == "stacks/"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["config"]["flowmaster:target"]["default"] == "kubernetes"
    expected = {"dev": "docker", "staging": "kubernetes", "prod": "kubernetes"}
    for env, target in expected.items():
        cfg = yaml.safe_load((ROOT / f"Pulumi.{env}.yaml").read_text())["config"]
        assert cfg["flowmaster:environment"] == env
        assert cfg["flowmaster:target"] == target
        for key in cfg:
            assert key in project["config"], f"Pulumi.{env}.yaml sets {key}, which Pulumi.yaml does not declare"


def test_main_runs_with_stack_config():
    spec = load_spec("dev").spec
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="flowmaster-platform", stack="dev", preview=False)
    cfg = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config = {k: str(v) for k, v in cfg.items()}
    config["flowmaster:secrets"] = json.dumps(fake_secrets(spec))
    pulumi.runtime.set_all_config(config, secret_keys=["flowmaster:secrets"])
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "stacks" / "__main__.py"), run_name="__main__")))
    finally:
        pulumi.runtime.set_all_config({})
    kinds = {r.typ for r in mocks.resources}
    assert "docker:index/container:Container" in kinds
    assert not any(t.startswith("kubernetes:") for t in kinds)
