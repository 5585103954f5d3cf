"""Secret references of the spec -> Pulumi secrets. No value is ever plaintext.

A value comes from, in order:
  1. the stack's encrypted config map `flowmaster:secrets`, keyed by the
     reference without its scheme (`secret:kafka-admin` -> `kafka-admin`,
     `vault:secret/data/arangodb#root` -> `secret/data/arangodb#root`):
       pulumi config set --secret --path 'flowmaster:secrets.kafka-admin' ...
  2. the spec's own secrets backend through `fmctl.secrets.resolve` (Vault KV
     with VAULT_ADDR/VAULT_TOKEN, or env:VAR), the same resolver Ansible uses.
Either way the value enters the program wrapped by `pulumi.Output.secret`, so
state holds it encrypted and every resource input built from it stays secret.

Stack-only secrets (no spec field names them: the transit-seal token, Grafana's
admin password, ArangoDB's JWT key) come from the same config map by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pulumi

from fmctl.spec.model import PlatformSpec

# Secrets the stacks need that no spec field names.
STACK_SECRETS = ("vault-transit-token", "grafana-admin-password", "arangodb-jwt-secret")


class MissingSecret(Exception):
    pass


def config_key(ref: str) -> str:
    """`secret:NAME` -> NAME; `vault:PATH#KEY` -> PATH#KEY; `env:VAR` -> VAR."""
    return ref.split(":", 1)[1] if ":" in ref else ref


class SecretSource:
    def __init__(
        self,
        spec: PlatformSpec,
        values: Mapping[str, str | pulumi.Output] | None = None,
        resolver: Callable[[PlatformSpec], Mapping[str, str]] | None = None,
    ) -> None:
        self._spec = spec
        self._values = dict(values or {})
        self._resolver = resolver
        self._resolved: Mapping[str, str] | None = None

    def _fallback(self, ref: str) -> str:
        if self._resolver is None:
            raise MissingSecret(
                f"{ref}: not in the stack config; run "
                f"`pulumi config set --secret --path 'flowmaster:secrets.{config_key(ref)}' <value>`"
            )
        if self._resolved is None:
            self._resolved = self._resolver(self._spec)
        if ref not in self._resolved:
            raise MissingSecret(f"{ref}: the secrets backend has no value for it")
        return self._resolved[ref]

    def ref(self, ref: str) -> pulumi.Output[str]:
        """The value of a spec reference, as a Pulumi secret."""
        key = config_key(ref)
        value = self._values[key] if key in self._values else self._fallback(ref)
        return pulumi.Output.secret(value)

    def stack(self, name: str) -> pulumi.Output[str]:
        """A stack-only secret (see STACK_SECRETS), as a Pulumi secret."""
        if name not in self._values:
            raise MissingSecret(
                f"{name}: run `pulumi config set --secret --path 'flowmaster:secrets.{name}' <value>`"
            )
        return pulumi.Output.secret(self._values[name])


def from_config(spec: PlatformSpec) -> SecretSource:
    from fmctl.secrets import resolve

    cfg = pulumi.Config("flowmaster")
    values = cfg.get_secret_object("secrets")
    # The object arrives as one secret Output; unwrap per key lazily so each
    # value stays a secret on its own.
    keys = _config_keys()
    per_key: dict[str, pulumi.Output] = {
        k: values.apply(lambda d, k=k: (d or {})[k]) for k in keys  # type: ignore[union-attr]
    } if values is not None else {}
    return SecretSource(spec, per_key, resolver=resolve)


def _config_keys() -> list[str]:
    """Names present under flowmaster:secrets (known at run time, values stay secret)."""
    import json

    from pulumi.runtime.config import get_config

    raw = get_config("flowmaster:secrets")
    if not raw:
        return []
    return list(json.loads(raw))
