"""Render config files from the spec with the shared Jinja2 templates.

The same templates serve Ansible (roles template them onto hosts, with the
filters of `fmctl.filters` as a filter plugin) and this renderer (`fmctl
render`, Pulumi ConfigMaps). Each template sees:

  spec  the validated spec as JSON data (sizes in bytes, durations in ms)
  node  the node being rendered (its fields plus `host` and `address`), or
        nothing for cluster-wide files
  env   the environment's name

A caller that knows more than the spec (a Pulumi target's service names, a
stack's public key) passes it to `render_one` as extra keyword variables;
templates treat such variables as optional (`is defined`), so `fmctl render`
and Ansible, which pass none, render the same template.

Rendered files never hold a secret value: secrets go to separate files that
the roles write from the resolved secrets, mode 0600.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from fmctl import filters
from fmctl.app_settings import app_processes
from fmctl.paths import TEMPLATES_DIR
from fmctl.spec.model import PlatformSpec

Nodes = Callable[[dict], Iterable[dict]]


@dataclass(frozen=True)
class Rendering:
    template: str  # path below templates/
    target: str  # file name below <out>/<host>/ (or <out>/cluster/); {field} takes the node's field
    nodes: Nodes | None = None  # per-node rendering; None: one cluster-wide file
    on_host: Callable[[dict], str] | None = None  # cluster-wide file placed on one host


RENDERINGS: tuple[Rendering, ...] = (
    Rendering("kafka/server.properties.j2", "kafka/server.properties", filters.kafka_nodes),
    Rendering("kafka/log4j.properties.j2", "kafka/log4j.properties", filters.kafka_nodes),
    Rendering("kafka/jmx-exporter.yml.j2", "kafka/jmx-exporter.yml", filters.kafka_brokers),
    Rendering("kafka_connect/connect-distributed.properties.j2", "kafka_connect/connect-distributed.properties",
              filters.connect_workers),
    Rendering("zookeeper/zoo.cfg.j2", "zookeeper/zoo.cfg", filters.zookeeper_nodes),
    Rendering("redis/redis.conf.j2", "redis/redis.conf", filters.redis_nodes),
    Rendering("postgresql/postgresql.conf.j2", "postgresql/postgresql.conf", filters.postgresql_nodes),
    Rendering("postgresql/pg_hba.conf.j2", "postgresql/pg_hba.conf", filters.postgresql_nodes),
    Rendering("pgbouncer/pgbouncer.ini.j2", "pgbouncer/pgbouncer.ini", on_host=lambda s: s["postgresql"]["pgbouncer"]["host"]),
    Rendering("prometheus/prometheus.yml.j2", "prometheus/prometheus.yml", on_host=lambda s: s["monitoring"]["host"]),
    Rendering("prometheus/rules.yml.j2", "prometheus/rules.yml", on_host=lambda s: s["monitoring"]["host"]),
    Rendering("alertmanager/alertmanager.yml.j2", "alertmanager/alertmanager.yml", on_host=lambda s: s["monitoring"]["host"]),
    Rendering("nginx/nginx.conf.j2", "nginx/nginx.conf", on_host=lambda s: s["gateway"]["edge_host"]),
    Rendering("kong/kong.yml.j2", "kong/kong.yml"),
    Rendering("flowmaster/settings.yaml.j2", "flowmaster/{service}.yaml", app_processes),
    Rendering("vault/vault.hcl.j2", "vault/vault.hcl", filters.vault_nodes),
    Rendering("vault/policy.hcl.j2", "vault/policies/{name}.hcl", filters.vault_policies),
    Rendering("vault/audit-file.json.j2", "vault/audit-file.json"),
)


def environment(templates_dir: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # config files, not HTML: nothing to escape (bandit B701 does not apply)
        autoescape=False,  # nosec B701
    )
    env.filters.update(filters.FILTERS)
    return env


def spec_data(spec: PlatformSpec) -> dict:
    """The spec as templates and Ansible see it."""
    return spec.model_dump(mode="json", by_alias=True)


def render_one(spec: PlatformSpec, template: str, node: dict | None = None, **extra: object) -> str:
    data = spec_data(spec)
    return environment().get_template(template).render(spec=data, node=node or {}, env=spec.name, **extra)


def render_all(spec: PlatformSpec) -> dict[str, str]:
    """Relative output path -> content, for every rendering, in a stable order."""
    data = spec_data(spec)
    jenv = environment()
    out: dict[str, str] = {}
    for r in RENDERINGS:
        try:
            template = jenv.get_template(r.template)
            if r.nodes is not None:
                for node in r.nodes(data):
                    out[f"{node['host']}/{r.target.format(**node)}"] = template.render(spec=data, node=node, env=spec.name)
            else:
                where = r.on_host(data) if r.on_host else "cluster"
                out[f"{where}/{r.target}"] = template.render(spec=data, node={}, env=spec.name)
        except Exception as exc:
            exc.add_note(f"while rendering templates/{r.template}")  # same exception type, now with the template
            raise
    return dict(sorted(out.items()))


def write_all(spec: PlatformSpec, out_dir: Path) -> list[Path]:
    """Write every rendering below out_dir; a file is rewritten only when its bytes change."""
    written = []
    for rel, content in render_all(spec).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
        written.append(path)
    return written
