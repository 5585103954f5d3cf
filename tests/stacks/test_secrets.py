"""No secret value is plaintext anywhere in the resource graph: each appears only
where Pulumi marked it secret (encrypted in state), and Helm values carry none."""

from __future__ import annotations

import json

import pytest

from stacks.secret_source import MissingSecret, SecretSource
from tests.stacks.conftest import COMBOS
from tests.stacks.harness import leaves


@pytest.mark.parametrize(("env", "target"), COMBOS)
def test_secret_values_only_under_secret_markers(build, env, target):
    r = build(env, target)
    values = set(r.secret_values.values())
    seen = set()
    for res in r.resources:
        for path, leaf in leaves(res.inputs):
            if isinstance(leaf, str) and any(v in leaf for v in values):
                seen |= {v for v in values if v in leaf}
                assert any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in res.secret_paths), \
                    f"{res.typ} {res.name} {path} holds a secret in plaintext"
    assert seen, "the stack used no secret at all?"
    assert not any(v in json.dumps(r.outputs) for v in values), "a secret leaked into the stack outputs"


@pytest.mark.parametrize(("env", "target"), [c for c in COMBOS if c[1] == "kubernetes"])
def test_helm_values_hold_no_secret(build, env, target):
    r = build(env, target)
    for rel in r.of("Release"):
        assert not rel.secret_paths, f"{rel.name}: a secret reached the Helm values (stored in the release)"


def test_missing_secret_says_how_to_set_it(build):
    spec = build("prod", "kubernetes").spec
    with pytest.raises(MissingSecret, match=r"pulumi config set --secret --path 'flowmaster:secrets.kafka-admin'"):
        SecretSource(spec, {}).ref("secret:kafka-admin")


def test_fallback_resolver_is_used_for_missing_values(build):
    spec = build("prod", "kubernetes").spec
    calls = []

    def resolver(s):
        calls.append(s.name)
        return {"secret:kafka-admin": "from-vault"}

    src = SecretSource(spec, {}, resolver=resolver)
    src.ref("secret:kafka-admin")
    src.ref("secret:kafka-admin")
    assert calls == ["prod"]  # resolved once, lazily
