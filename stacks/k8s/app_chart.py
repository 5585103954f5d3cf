"""Values of the FlowMaster chart (charts/flowmaster) for one environment.

Everything a value holds comes from the spec: the settings through fmctl/app_settings.py (the
one source the Ansible role and the live tests use too), sizes from app.services, network and
mesh callers from the gateway's route table and mesh.allow. The values never hold a secret:
the pods read secret settings from files of the existing Secret the stack creates.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from fmctl.app_settings import COMMANDS, HTTP_SERVICES, Endpoints, app_secret_refs, app_settings
from fmctl.render import spec_data
from stacks.k8s.monitoring import RELEASE_LABEL as MONITOR_LABELS
from stacks.k8s.shape import KubeContext, res
from stacks.observability import duration

CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "flowmaster"
RELEASE_NAME = "flowmaster"
CREDENTIALS = "flowmaster-credentials"
# Key of CREDENTIALS holding the scrape login's user name: the ServiceMonitor can only read
# basic-auth users from a Secret (the app itself gets it as the metrics_username setting).
METRICS_USERNAME_KEY = "metrics_username"
# Copy of Strimzi's cluster CA certificate in the app's namespace: the brokers' TLS listener is
# signed by it (Strimzi creates <cluster>-cluster-ca-cert in the Kafka namespace only).
KAFKA_CA_SECRET = "kafka-cluster-ca"
KAFKA_CA_KEY = "ca.crt"
# A pod serves on its own address; the Service and the NetworkPolicies decide who reaches it.
LISTEN_HOST = "0.0.0.0"


def chart_path() -> str:
    """The chart relative to the working directory (Pulumi runs the program in stacks/): no
    machine-specific absolute path lands in the release's inputs."""
    return os.path.relpath(CHART_DIR)


def chart_version() -> str:
    return str(yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["version"])


def deployed_services(spec_services: dict) -> list[str]:
    """app.services entries the app has a command for (logging_console has none yet)."""
    return sorted(s for s in spec_services if s in COMMANDS)


def credential_keys(data: dict) -> dict[str, str]:
    """Keys of CREDENTIALS -> the spec's secret references: one key per secret setting, named as it."""
    return dict(sorted(app_secret_refs(data).items()))


def chart_values(ctx: KubeContext, endpoints: Endpoints) -> dict:
    spec = ctx.spec
    data = spec_data(spec)
    routed = {r.service for r in spec.gateway.routes.values()}
    services = {}
    for name in deployed_services(spec.app.services):
        svc = spec.app.services[name]
        callers = spec.gateway.mesh.allow.get(name, [])
        entry: dict = {
            "command": COMMANDS[name],
            "replicas": svc.replicas,
            "resources": res(svc.requests, svc.limits),
            "settings": app_settings(data, endpoints, name, LISTEN_HOST),
            "fromGateway": name in routed or "gateway" in callers,
            "callers": sorted(c for c in callers if c != "gateway"),
        }
        if name in HTTP_SERVICES:
            entry["port"] = svc.port
        services[name] = entry
    # Several zones: never two pods of a service on one node, even spread over zones (hard).
    hard = len(ctx.zones) > 1
    return {
        "image": {"repository": ctx.settings.app_image_repository, "tag": spec.app.version, "pullPolicy": "IfNotPresent"},
        "services": services,
        "kafkaCa": {"existingSecret": KAFKA_CA_SECRET, "key": KAFKA_CA_KEY},
        "credentials": {"existingSecret": CREDENTIALS, "settings": [{"setting": k, "key": k} for k in credential_keys(data)]},
        "scheduling": {"hard": hard, "spreadOverZones": bool(ctx.zones)},
        "networkPolicy": {"enabled": True, "gatewayNamespace": ctx.ns("gateway"), "monitoringNamespace": ctx.ns("monitoring")},
        "migration": {"enabled": True, "service": next(s for s in services if s in HTTP_SERVICES)},
        "serviceMonitor": {
            "enabled": True,
            "interval": duration(spec.monitoring.scrape_interval),
            "labels": dict(MONITOR_LABELS),  # kube-prometheus-stack selects monitors by it
            "basicAuth": {"usernameKey": METRICS_USERNAME_KEY, "passwordKey": "metrics_password"},
        },
    }
