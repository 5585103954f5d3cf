"""Stack fixtures: the program built fresh under Pulumi's mocks per (environment, target).

Each test module gets its own fresh builds (module scope): a build takes
about half a second, and no test mutates one.
"""

from __future__ import annotations

import pytest

from tests.stacks.harness import Run, run

# Every environment on both targets (each stack file picks one; the program serves either).
COMBOS = [(env, target) for env in ("dev", "staging", "prod") for target in ("docker", "kubernetes")]
K8S = [c for c in COMBOS if c[1] == "kubernetes"]
DOCKER = [c for c in COMBOS if c[1] == "docker"]


@pytest.fixture(scope="module")
def build():
    cache: dict[tuple[str, str], Run] = {}

    def get(env: str, target: str) -> Run:
        if (env, target) not in cache:
            cache[(env, target)] = run(env, target)
        return cache[(env, target)]

    return get
