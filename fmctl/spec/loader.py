"""Read an environment file, merge it over what it extends, and validate it.

Every problem is collected and returned together (structure, secrets, then
cross-field invariants); nothing is deployed from a spec with an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fmctl.paths import ENVIRONMENTS_DIR
from fmctl.spec.invariants import Finding, check_invariants
from fmctl.spec.model import SECRET_REF_RE, PlatformSpec

# Keys whose value is a secret wherever they appear (by how the key ends).
_SECRET_KEY_RE = re.compile(r"(password|passwd|secret|token|api_key|private_key|secret_key)$", re.IGNORECASE)


class SpecError(Exception):
    """The spec cannot be used; `findings` names every problem."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__("\n".join(str(f) for f in findings))


@dataclass
class LoadedSpec:
    spec: PlatformSpec
    warnings: list[Finding] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key; any other value (lists too) is replaced whole.

    `key: null` in the override removes the key (e.g. a machine dev does not have).
    """
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError([Finding("error", str(path), "no such environment file")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SpecError([Finding("error", where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise SpecError([Finding("error", str(path), "an environment file is a mapping at the top level")])
    return data


def read_raw(path: Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """The merged mapping of an environment file and everything it extends."""
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise SpecError([Finding("error", "extends", f"circular extends: {chain}")])
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, [path]
    base, sources = read_raw(path.parent / f"{parent}.yaml", (*_seen, path))
    return deep_merge(base, data), [*sources, path]


def _secret_findings(node: Any, loc: str = "") -> list[Finding]:
    """A literal value under a secret-looking key, anywhere in the file."""
    found: list[Finding] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{loc}.{key}" if loc else str(key)
            if (
                isinstance(value, (str, int))
                and not isinstance(value, bool)
                and _SECRET_KEY_RE.search(str(key))
                and not SECRET_REF_RE.match(str(value))
            ):
                found.append(Finding("error", where, "secret values are not allowed in a spec: "
                                     "write a reference (secret:NAME, vault:PATH#KEY or env:VAR)"))
            else:
                found.extend(_secret_findings(value, where))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_secret_findings(item, f"{loc}[{i}]"))
    return found


def _loc(parts: tuple) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _pydantic_findings(exc: ValidationError) -> list[Finding]:
    findings = []
    for err in exc.errors(include_url=False):
        loc = _loc(tuple(p for p in err["loc"] if p not in ("function-after", "function-before")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (misspelt, or not supported here)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        findings.append(Finding("error", loc, msg))
    return findings


def validate_mapping(data: dict, env_name: str | None = None) -> LoadedSpec:
    """Validate an already merged mapping; raise SpecError with every finding."""
    findings = _secret_findings(data)
    try:
        spec = PlatformSpec.model_validate(data)
    except ValidationError as exc:
        secret_locs = {f.path for f in findings}
        findings += [f for f in _pydantic_findings(exc) if f.path not in secret_locs]
        raise SpecError(findings) from None
    if env_name is not None and spec.name != env_name:
        findings.append(Finding("error", "name", f"'{spec.name}' differs from the file name '{env_name}'"))
    findings += check_invariants(spec)
    errors = [f for f in findings if f.level == "error"]
    if errors:
        raise SpecError(errors)
    return LoadedSpec(spec=spec, warnings=[f for f in findings if f.level == "warning"])


def load_spec(env: str | Path, environments_dir: Path = ENVIRONMENTS_DIR) -> LoadedSpec:
    """Load `environments/<env>.yaml` (or a path) merged over what it extends."""
    path = Path(env) if str(env).endswith((".yaml", ".yml")) else environments_dir / f"{env}.yaml"
    data, sources = read_raw(path)
    loaded = validate_mapping(data, env_name=path.stem)
    loaded.sources = sources
    return loaded
