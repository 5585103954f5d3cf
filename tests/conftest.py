"""Shared fixtures: the spec of an environment, loaded once."""

from __future__ import annotations

import pytest

from fmctl.spec.loader import load_spec


@pytest.fixture(scope="session")
def local_spec():
    return load_spec("local").spec
