"""schemathesis against the live OpenAPI: generated requests to every operation, no 5xx.

Bounded: a fixed number of examples per operation. Runs as a user with a process, a published
version and an instance of its own, so generated requests reach real rows as well as 404/422
paths. Logging out is left out (it would end the fuzzer's own session).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Api, Org, Published, Service, login

pytestmark = pytest.mark.live

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
MAX_EXAMPLES = 25


def test_no_operation_answers_5xx(service: Service, org: Org, author: Api, published: Published, tmp_path: Path) -> None:
    author.post("/api/v1/instances", json={"process_id": published.process_id, "data": {"amount": 1}})
    token = login(service, org.users["author"])
    report = tmp_path / "schemathesis.xml"
    proc = subprocess.run(
        [
            SCHEMATHESIS, "run", f"{service.url}/api/v1/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--exclude-name", "DELETE /api/v1/sessions/current",
            "--checks", "not_a_server_error",
            "--max-examples", str(MAX_EXAMPLES),
            # One worker: with two, CPython 3.11's ast module (used by Hypothesis to describe
            # lambdas) raised "AST constructor recursion depth mismatch" inside schemathesis.
            "--workers", "1",
            "--generation-database", "none",
            "--request-timeout", "30",
            "--report", "junit", "--report-junit-path", str(report),
            "--no-color",
        ],
        capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, f"schemathesis found server errors:\n{proc.stdout[-8000:]}\n{proc.stderr[-2000:]}\n" + (
        service.log_tail(6000))
    assert "Server error" not in proc.stdout
