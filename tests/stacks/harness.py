"""Run the Pulumi program under Pulumi's mocks and collect what it registers.

Each call builds the program fresh: new mocks, new monitor, the components
constructed again from the spec. Inputs are returned the way the engine would
send them to a provider: secrets unwrapped (and remembered as secret paths),
whole numbers as int.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from fmctl.spec.loader import load_spec
from fmctl.spec.model import PlatformSpec
from stacks.secret_source import STACK_SECRETS, SecretSource, config_key
from stacks.settings import StackSettings

TEST_PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtest\n-----END PUBLIC KEY-----\n"


@dataclass
class Res:
    typ: str
    name: str
    inputs: dict
    secret_paths: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        return self.typ.rsplit(":", 1)[-1]


def _plain(value, path: str, secrets: set[str]):
    if isinstance(value, dict):
        if rpc._special_sig_key in value and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            secrets.add(path)
            return _plain(value["value"], path, secrets)
        return {k: _plain(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# What a read returns per type: enough for the program to use the object's fields.
READ_STATE = {"kubernetes:core/v1:Secret": {"data": {"ca.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"}}}


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Res] = []
        self.reads: list[tuple[str, str]] = []  # (type, id) of existing resources the program reads

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.resource_id:  # Resource.get: the program reads an object it does not own
            self.reads.append((args.typ, args.resource_id))
            return args.resource_id, READ_STATE.get(args.typ, {})
        secrets: set[str] = set()
        self.resources.append(Res(args.typ, args.name, _plain(args.inputs, "", secrets), secrets))
        state = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{args.inputs['name']}"
            state["repoDigest"] = args.inputs["name"]
        if args.typ == "docker:index/image:Image":
            state["imageName"] = args.inputs.get("imageName")
            state["repoDigest"] = args.inputs.get("imageName")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def fake_secrets(spec: PlatformSpec) -> dict[str, str]:
    """A made-up value per reference: tests look for these strings in plaintext."""
    from fmctl.secrets import references

    values = {config_key(r): f"s3cr3t-{config_key(r)}" for r in references(spec.model_dump(mode="json", by_alias=True))}
    values.update({name: f"s3cr3t-{name}" for name in STACK_SECRETS})
    return values


@dataclass
class Run:
    spec: PlatformSpec
    target: str
    resources: list[Res]
    outputs: dict
    secret_values: dict[str, str]
    reads: list[tuple[str, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[Res]:
        return [r for r in self.resources if r.kind == kind]

    def named(self, kind: str, name: str) -> Res:
        found = [r for r in self.of(kind) if r.inputs.get("metadata", {}).get("name") == name or r.inputs.get("name") == name]
        assert len(found) == 1, f"{kind} {name}: {len(found)} found"
        return found[0]


def run(env: str | PlatformSpec, target: str, **settings_kw) -> Run:
    spec = load_spec(env).spec if isinstance(env, str) else env
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="flowmaster-platform", stack=spec.name, preview=False)
    values = fake_secrets(spec)
    settings = StackSettings(environment=spec.name, target=target, jwt_public_key=TEST_PEM, **settings_kw)  # type: ignore[arg-type]
    holder: dict = {}

    def program():
        from stacks.program import build

        holder["outputs"] = build(spec, settings, SecretSource(spec, values))

    _sync_await(run_pulumi_func(program))
    return Run(spec, target, mocks.resources, holder["outputs"], values, mocks.reads)


def leaves(value, path=""):
    """(dotted path, value) of every scalar in nested dicts and lists."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def open_objects(schema, path: str = "schema") -> list[str]:
    """Paths of JSON-schema nodes that list properties but accept others (a misspelt key would pass).

    Conditional subschemas (if/then/else/not) only add constraints to their closed parent: skipped.
    """
    found = []
    if isinstance(schema, dict):
        if "properties" in schema and schema.get("additionalProperties") is not False:
            found.append(path)
        for k, v in schema.items():
            if k not in {"if", "then", "else", "not"}:
                found += open_objects(v, f"{path}.{k}")
    elif isinstance(schema, list):
        for i, v in enumerate(schema):
            found += open_objects(v, f"{path}[{i}]")
    return found
