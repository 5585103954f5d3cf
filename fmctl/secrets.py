"""Resolve the spec's secret references; no secret value ever lives in the tree.

  secret:NAME     secrets_backend=generated: a random value created at first
                  use in <state>/secrets.json (mode 0600, outside the tree);
                  secrets_backend=vault: Vault KV v2 <kv mount>/flowmaster/<env>, key NAME
  vault:PATH#KEY  Vault KV v2, explicit path
  env:VAR         the run's environment
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
from collections.abc import Iterator
from pathlib import Path

from fmctl.paths import state_dir
from fmctl.spec.model import SECRET_REF_RE, PlatformSpec


class SecretError(Exception):
    pass


def references(node: object) -> Iterator[str]:
    """Every secret reference in the spec data, each once, in spec order."""
    seen: set[str] = set()

    def walk(n: object) -> Iterator[str]:
        if isinstance(n, dict):
            for v in n.values():
                yield from walk(v)
        elif isinstance(n, list):
            for v in n:
                yield from walk(v)
        elif isinstance(n, str) and SECRET_REF_RE.match(n) and n not in seen:
            seen.add(n)
            yield n

    yield from walk(node)


def _write_private(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)  # atomic: a crash never leaves half a secrets file


def _generated(env: str, names: list[str]) -> dict[str, str]:
    path = state_dir(env) / "secrets.json"
    store = json.loads(path.read_text()) if path.exists() else {}
    missing = [n for n in names if n not in store]
    if missing:
        for n in missing:
            store[n] = pysecrets.token_urlsafe(24)
        _write_private(path, store)
    return {n: store[n] for n in names}


def _vault_read(path: str, key: str) -> str:
    import hvac  # only environments with Vault need it at run time

    addr, token = os.environ.get("VAULT_ADDR"), os.environ.get("VAULT_TOKEN")
    if not addr or not token:
        raise SecretError(f"{path}#{key}: set VAULT_ADDR and VAULT_TOKEN to read secrets from Vault")
    mount, _, rest = path.partition("/")
    rest = rest.removeprefix("data/")  # KV v2 API paths carry data/; hvac adds it
    client = hvac.Client(url=addr, token=token)
    data = client.secrets.kv.v2.read_secret_version(mount_point=mount, path=rest, raise_on_deleted_version=True)
    try:
        return data["data"]["data"][key]
    except KeyError:
        raise SecretError(f"{path}#{key}: no such key in Vault") from None


def resolve(spec: PlatformSpec) -> dict[str, str]:
    """Reference -> value for every reference in the spec."""
    refs = list(references(spec.model_dump(mode="json", by_alias=True)))
    out: dict[str, str] = {}
    named = [r.split(":", 1)[1] for r in refs if r.startswith("secret:")]
    if named and spec.secrets_backend == "generated":
        for name, value in _generated(spec.name, named).items():
            out[f"secret:{name}"] = value
    for ref in refs:
        scheme, _, rest = ref.partition(":")
        if scheme == "secret" and spec.secrets_backend == "vault":
            out[ref] = _vault_read(f"{spec.vault.engines['kv']}/data/flowmaster/{spec.name}", rest)
        elif scheme == "vault":
            path, _, key = rest.partition("#")
            out[ref] = _vault_read(path, key)
        elif scheme == "env":
            if rest not in os.environ:
                raise SecretError(f"{ref}: the environment variable {rest} is not set")
            out[ref] = os.environ[rest]
    return out


def write_for_ansible(spec: PlatformSpec) -> Path:
    """Resolved secrets as an Ansible extra-vars file (mode 0600, outside the tree)."""
    path = state_dir(spec.name) / "ansible-secrets.json"
    _write_private(path, {"fm_secrets": resolve(spec)})
    return path
