"""Run the policy pack's rules over resources the way the Pulumi engine would:
one ResourceValidationArgs per resource (inputs with secrets unwrapped), one
StackValidationArgs for the stack rules, and collect the violations."""

from __future__ import annotations

from pulumi_policy import (
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.pulumi.flowmaster_rules import ALL_POLICIES


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 additional_secret_outputs=[], custom_timeouts=None)


def resource_args(typ: str, props: dict, name: str = "r", config: dict | None = None) -> ResourceValidationArgs:
    return ResourceValidationArgs(typ, props, f"urn:pulumi:test::flowmaster-platform::{typ}::{name}", name, _opts(), None,
                                  config or {})


def validate(policy, typ: str, props: dict, config: dict | None = None) -> list[str]:
    found: list[str] = []
    if isinstance(policy, StackValidationPolicy):
        res = PolicyResource(typ, props, f"urn:{typ}::r", "r", _opts(), None, None, [], {})
        policy.validate(StackValidationArgs([res], config or {}), lambda msg, urn=None: found.append(msg))
    else:
        policy.validate(resource_args(typ, props, config=config), lambda msg, urn=None: found.append(msg))
    return found


def run_pack(resources: list[tuple[str, str, dict]], config: dict | None = None) -> dict[str, list[str]]:
    """policy name -> violations, over (type, name, inputs) triples."""
    out: dict[str, list[str]] = {p.name: [] for p in ALL_POLICIES}
    stack_resources = []
    for typ, name, props in resources:
        if typ.startswith("flowmaster:"):
            continue  # components only group resources
        stack_resources.append(PolicyResource(typ, props, f"urn:{typ}::{name}", name, _opts(), None, None, [], {}))
        for p in ALL_POLICIES:
            if isinstance(p, ResourceValidationPolicy):
                p.validate(resource_args(typ, props, name, config),
                           lambda msg, urn=None, p=p, name=name: out[p.name].append(f"{name}: {msg}"))
    for p in ALL_POLICIES:
        if isinstance(p, StackValidationPolicy):
            p.validate(StackValidationArgs(stack_resources, config or {}),
                       lambda msg, urn=None, p=p: out[p.name].append(msg))
    return out
