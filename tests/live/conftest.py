"""Live tests run against the real local platform on this machine.

The session fixture `platform` brings it up once with `fmctl up --env local`
(the same command a person runs) and hands out a verifier Context with the
resolved secrets. FM_SKIP_UP=1 uses what already runs (while developing one
component: `fmctl up --tags kafka`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmctl import secrets
from fmctl.render import spec_data
from fmctl.spec.loader import load_spec
from fmctl.verify.report import Context

FMCTL = [sys.executable, "-m", "fmctl.cli"]


def fmctl(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([*FMCTL, *args], capture_output=True, text=True, check=check,
                          cwd=Path(__file__).resolve().parents[2])


@pytest.fixture(scope="session")
def platform() -> Context:
    if os.environ.get("FM_SKIP_UP") != "1":
        proc = fmctl("up", "--env", "local", "--json")
        if proc.returncode != 0:
            pytest.fail(f"fmctl up failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout)
        assert result["failed"] == 0
    spec = load_spec("local").spec
    return Context(spec, spec_data(spec), secrets.resolve(spec))
