"""Prometheus (with the spec's rules), Alertmanager, Grafana (the five
dashboards provisioned), Loki and Jaeger as containers."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import yaml

from stacks import observability, versions
from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file, volume
from stacks.sizing import workload

PASSWORD_FILE = f"{SECRETS_DIR}/monitoring-admin"


@dataclass
class MonitoringDockerArgs:
    ctx: DockerContext
    scrape: dict[str, list[str]]  # job -> targets
    auth_jobs: frozenset[str] = frozenset()  # jobs scraped with the monitoring login (basic auth)


class MonitoringDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:Monitoring", name, None, opts)
        ctx = args.ctx
        spec, mon = ctx.spec, ctx.spec.monitoring
        d = observability.duration
        prom_cfg = {
            "global": {"scrape_interval": d(mon.scrape_interval), "evaluation_interval": d(mon.evaluation_interval)},
            "rule_files": ["/etc/prometheus/rules.yml"],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"alertmanager:{mon.alertmanager_port}"]}]}]},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}],
                                **({"basic_auth": {"username": mon.admin_user, "password_file": PASSWORD_FILE}}
                                   if job in args.auth_jobs else {})}
                               for job, targets in sorted(args.scrape.items())],
        }
        # Prometheus runs as nobody: the uploaded file must be readable by it (the container is its own).
        password = {**secret_file("monitoring-admin", ctx.secrets.ref(mon.admin_password)), "permissions": "0444"}
        rules = {"groups": observability.rule_groups(spec)}
        data = volume(ctx, "prometheus-data", self)
        addr = ctx.address(mon.host)
        container(ctx, mon.host, versions.PROMETHEUS_IMAGE, workload(spec, "prometheus"), self, address=addr,
                  aliases=["prometheus"],
                  command=["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                           f"--storage.tsdb.retention.time={d(mon.retention)}",
                           f"--web.listen-address=:{mon.prometheus_port}"],
                  uploads=[{"file": "/etc/prometheus/prometheus.yml", "content": yaml.safe_dump(prom_cfg, sort_keys=True)},
                           {"file": "/etc/prometheus/rules.yml", "content": yaml.safe_dump(rules, sort_keys=False)},
                           *([password] if args.auth_jobs else [])],
                  mounts=[(data, "/prometheus")])
        receiver: dict = {"name": mon.alert_receiver}
        if mon.alert_webhook:
            receiver["webhook_configs"] = [{"url": mon.alert_webhook, "send_resolved": True}]
        am_cfg = {"route": {"receiver": mon.alert_receiver, "group_by": ["alertname", "severity"]}, "receivers": [receiver]}
        container(ctx, "alertmanager", versions.ALERTMANAGER_IMAGE, workload(spec, "alertmanager"), self,
                  command=["--config.file=/etc/alertmanager/alertmanager.yml",
                           f"--web.listen-address=:{mon.alertmanager_port}"],
                  uploads=[{"file": "/etc/alertmanager/alertmanager.yml", "content": yaml.safe_dump(am_cfg)}],
                  mounts=[(volume(ctx, "alertmanager-data", self), "/alertmanager")])
        provider = {"apiVersion": 1, "providers": [{"name": "flowmaster", "type": "file",
                                                    "options": {"path": "/var/lib/grafana/dashboards"}}]}
        datasources = {"apiVersion": 1, "datasources": [
            {"name": "Prometheus", "uid": "prometheus", "type": "prometheus",
             "url": f"http://prometheus:{mon.prometheus_port}", "isDefault": True},
            {"name": "Loki", "uid": "loki", "type": "loki", "url": f"http://loki:{mon.loki_port}"},
            {"name": "Jaeger", "uid": "jaeger", "type": "jaeger", "url": f"http://jaeger:{mon.jaeger_query_port}"}]}
        container(ctx, "grafana", versions.GRAFANA_IMAGE, workload(spec, "grafana"), self,
                  envs=[f"GF_SERVER_HTTP_PORT={mon.grafana_port}", "GF_SECURITY_ADMIN_USER=admin",
                        f"GF_SECURITY_ADMIN_PASSWORD__FILE={SECRETS_DIR}/grafana-admin-password",
                        "GF_AUTH_ANONYMOUS_ENABLED=false"],
                  uploads=[secret_file("grafana-admin-password", ctx.secrets.stack("grafana-admin-password")),
                           {"file": "/etc/grafana/provisioning/dashboards/flowmaster.yml", "content": yaml.safe_dump(provider)},
                           {"file": "/etc/grafana/provisioning/datasources/flowmaster.yml",
                            "content": yaml.safe_dump(datasources)},
                           *({"file": f"/var/lib/grafana/dashboards/{f}", "content": body}
                             for f, body in sorted(observability.dashboards(spec).items()))])
        container(ctx, "loki", versions.LOKI_IMAGE, workload(spec, "loki"), self,
                  command=["-config.file=/etc/loki/local-config.yaml", f"-server.http-listen-port={mon.loki_port}"],
                  mounts=[(volume(ctx, "loki-data", self), "/loki")])
        container(ctx, "jaeger", versions.JAEGER_IMAGE, workload(spec, "jaeger"), self,
                  envs=["SPAN_STORAGE_TYPE=badger", "BADGER_EPHEMERAL=false",
                        "BADGER_DIRECTORY_VALUE=/badger/data", "BADGER_DIRECTORY_KEY=/badger/key",
                        f"QUERY_HTTP_SERVER_HOST_PORT=:{mon.jaeger_query_port}",
                        f"COLLECTOR_OTLP_GRPC_HOST_PORT=:{mon.jaeger_otlp_port}"],
                  mounts=[(volume(ctx, "jaeger-data", self), "/badger")])
        self.prometheus = f"http://{addr}:{mon.prometheus_port}"
        self.alertmanager = f"http://alertmanager:{mon.alertmanager_port}"
        self.grafana = f"http://grafana:{mon.grafana_port}"
        self.loki = f"http://loki:{mon.loki_port}"
        self.jaeger = f"http://jaeger:{mon.jaeger_query_port}"
        self.register_outputs({"prometheus": self.prometheus})
