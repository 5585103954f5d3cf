"""Config files the stacks ship, rendered from the shared templates (templates/).

A stack never builds a config file of its own: it renders the template that
`fmctl render` and Ansible render, and passes as extra variables only what
the target alone knows (its service names, its settings). The text goes into
the ConfigMap or container as rendered, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from fmctl.render import render_one
from fmctl.spec.model import PlatformSpec

KONG_TEMPLATE = "kong/kong.yml.j2"


def yaml_file(spec: PlatformSpec, template: str, **variables: object) -> str:
    """The rendering of a YAML template, parsed once so that a broken one fails the preview, not the rollout."""
    text = render_one(spec, template, **variables)
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise ValueError(f"templates/{template} rendered {type(doc).__name__}, not a YAML mapping")
    return text


def kong_declarative(spec: PlatformSpec, upstreams: Mapping[str, str], jwt_public_key: str) -> str:
    """Kong's DB-less declarative config: upstreams maps each app service to the host Kong proxies to."""
    return yaml_file(spec, KONG_TEMPLATE, upstreams=dict(upstreams), jwt_public_key=jwt_public_key)
