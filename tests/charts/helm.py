"""Helm for the chart tests, without a helm binary: helm-python-sdk bundles Helm's Go SDK as a
shared library (chart load, render, schema validation and lint work offline).

The values are the ones the Pulumi stack passes to the release, taken from the program run
under Pulumi's mocks (tests/stacks/harness.py): the golden files show what `pulumi up` installs.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.k8s.app_chart import CHART_DIR, RELEASE_NAME
from tests.stacks.conftest import K8S
from tests.stacks.harness import Run, run

NAMESPACE = "flowmaster-app"
KUBE_VERSION = "1.31.0"  # as tests/stacks/test_validation.py: the oldest minor the stacks support
ENVIRONMENTS = [env for env, _target in K8S]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
# FM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/charts  rewrites the golden files after an intended change.
UPDATE_GOLDEN = os.environ.get("FM_UPDATE_GOLDEN") == "1"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def helm() -> Any:
    """The SDK module; skipped with the reason where it is missing, a failure in CI (make setup installs it)."""
    try:
        import helm_python
    except (ImportError, OSError) as exc:
        msg = f"helm-python-sdk is not usable ({exc}): `make setup` installs it (pyproject's test extra)"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    return helm_python


@functools.cache
def stack(env: str) -> Run:
    return run(env, "kubernetes")


def stack_values(env: str) -> dict:
    (rel,) = [x for x in stack(env).of("Release") if x.inputs["chart"].endswith("charts/flowmaster")]
    return rel.inputs["values"]


def render(values: dict) -> dict[str, str]:
    """Template path -> manifest, as `helm template` (hooks included) would print them."""
    with helm().Chart.load(str(CHART_DIR)) as chart:
        out = chart.render(values, name=RELEASE_NAME, namespace=NAMESPACE, is_install=True)
    return {path: text for path, text in sorted(out.items()) if text.strip()}


def lint(values: dict) -> dict:
    return helm().lint(str(CHART_DIR), values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")


def as_text(manifests: dict[str, str]) -> str:
    return "".join(f"# Source: {path}\n{text.strip()}\n" for path, text in manifests.items())


def objects(manifests: dict[str, str]) -> list[dict]:
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]
