"""Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana), the
spec's alert rules, scrape targets, the five dashboards; Loki for logs and
Jaeger for traces."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks import observability, versions
from stacks.k8s.kafka import CLUSTER as KAFKA_CLUSTER
from stacks.k8s.shape import (
    KubeContext,
    custom,
    labels,
    meta,
    network_policies,
    release,
    secret,
    svc_host,
    workload_resources,
)
from stacks.sizing import quantity, replicas, storage, workload

MONITORING_API = "monitoring.coreos.com/v1"
RELEASE = "kube-prometheus-stack"
# kube-prometheus-stack selects rules and monitors by its release label.
RELEASE_LABEL = {"release": RELEASE}


@dataclass(frozen=True)
class MonitoringArgs:
    ctx: KubeContext


def claim(size: int, ctx: KubeContext) -> dict:
    return {"spec": {"storageClassName": ctx.storage_class, "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": quantity(size)}}}}


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Monitoring", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        mon, ns = spec.monitoring, ctx.ns("monitoring")
        grafana_admin = secret("grafana-admin", ns, {
            "admin-user": "admin", "admin-password": ctx.secrets.stack("grafana-admin-password")}, parent=self)
        receiver: dict = {"name": mon.alert_receiver}
        if mon.alert_webhook:
            receiver["webhook_configs"] = [{"url": mon.alert_webhook, "send_resolved": True}]
        interval = observability.duration
        self.stack = release(RELEASE, ns, "kube-prometheus-stack", versions.KUBE_PROMETHEUS_STACK,
                             versions.REPOSITORIES["prometheus-community"], {
            "prometheus": {"prometheusSpec": {
                "replicas": replicas(spec, "prometheus"),
                "retention": interval(mon.retention),
                "scrapeInterval": interval(mon.scrape_interval),
                "evaluationInterval": interval(mon.evaluation_interval),
                "resources": workload_resources(workload(spec, "prometheus")),
                "storageSpec": {"volumeClaimTemplate": claim(storage(spec, "prometheus"), ctx)},
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
            }},
            "alertmanager": {
                "alertmanagerSpec": {
                    "replicas": replicas(spec, "alertmanager"),
                    "resources": workload_resources(workload(spec, "alertmanager")),
                    "storage": {"volumeClaimTemplate": claim(storage(spec, "alertmanager"), ctx)},
                },
                "config": {"route": {"receiver": mon.alert_receiver, "group_by": ["alertname", "severity"]},
                           "receivers": [receiver, {"name": "null"}]},
            },
            "grafana": {
                "replicas": replicas(spec, "grafana"),
                "resources": workload_resources(workload(spec, "grafana")),
                "admin": {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
                "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1"}},
            },
        }, parent=self, depends_on=[grafana_admin])
        after = [self.stack]

        custom((MONITORING_API, "PrometheusRule"), "flowmaster-alerts", ns,
               {"groups": observability.rule_groups(spec)}, parent=self, lbl=RELEASE_LABEL, depends_on=after)
        # The app's ServiceMonitor comes with its chart (charts/flowmaster): /metrics needs its basic-auth login.
        custom((MONITORING_API, "ServiceMonitor"), "redis", ns, {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "cache"}},
            "namespaceSelector": {"matchNames": [ctx.ns("redis")]},
            "endpoints": [{"port": "metrics", "interval": interval(mon.scrape_interval)}],
        }, parent=self, lbl=RELEASE_LABEL, depends_on=after)
        custom((MONITORING_API, "PodMonitor"), "kafka", ns, {
            "selector": {"matchLabels": {"strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/kind": "Kafka"}},
            "namespaceSelector": {"matchNames": [ctx.ns("kafka")]},
            "podMetricsEndpoints": [{"port": "tcp-prometheus", "path": "/metrics", "interval": interval(mon.scrape_interval)}],
        }, parent=self, lbl=RELEASE_LABEL, depends_on=after)

        for fname, body in sorted(observability.dashboards(spec).items()):
            dname = fname.removesuffix(".json").replace("_", "-")
            k8s.core.v1.ConfigMap(f"{ns}-dashboard-{dname}",
                                  metadata=meta(f"dashboard-{dname}", ns, {**labels("grafana", "dashboard"),
                                                                           "grafana_dashboard": "1"}),
                                  data={fname: body}, opts=pulumi.ResourceOptions(parent=self))

        # Logs: Loki, one binary on a retained volume; telemetry, so one replica.
        release("loki", ns, "loki", versions.LOKI_CHART, versions.REPOSITORIES["grafana"], {
            "deploymentMode": "SingleBinary",
            "loki": {
                "auth_enabled": True,
                "commonConfig": {"replication_factor": 1},
                "storage": {"type": "filesystem"},
                "schemaConfig": {"configs": [{"from": "2024-04-01", "store": "tsdb", "object_store": "filesystem",
                                              "schema": "v13", "index": {"prefix": "index_", "period": "24h"}}]},
                "limits_config": {"retention_period": interval(mon.retention)},
                "server": {"http_listen_port": mon.loki_port},
            },
            "singleBinary": {"replicas": 1, "resources": workload_resources(workload(spec, "loki")),
                             "persistence": {"enabled": True, "size": quantity(storage(spec, "loki")),
                                             "storageClass": ctx.storage_class}},
            "read": {"replicas": 0}, "write": {"replicas": 0}, "backend": {"replicas": 0},
            "chunksCache": {"enabled": False}, "resultsCache": {"enabled": False},
        }, parent=self)

        # Traces: Jaeger all-in-one with badger on a retained claim.
        jw = workload(spec, "jaeger")
        k8s.core.v1.PersistentVolumeClaim(f"{ns}-jaeger-badger", metadata=meta("jaeger-badger", ns, labels("jaeger", "traces")),
                                          spec={"accessModes": ["ReadWriteOnce"], "storageClassName": ctx.storage_class,
                                                "resources": {"requests": {"storage": quantity(storage(spec, "jaeger"))}}},
                                          opts=pulumi.ResourceOptions(parent=self))
        release("jaeger", ns, "jaeger", versions.JAEGER_CHART, versions.REPOSITORIES["jaegertracing"], {
            "provisionDataStore": {"cassandra": False},
            "storage": {"type": "badger", "badger": {"ephemeral": False,
                                                     "persistence": {"useExistingPvcName": "jaeger-badger"}}},
            "allInOne": {"enabled": True, "resources": workload_resources(jw)},
            "agent": {"enabled": False}, "collector": {"enabled": False}, "query": {"enabled": False},
        }, parent=self)

        network_policies(ns, [ctx.ns("app"), ctx.ns("gateway")], parent=self)
        self.prometheus = f"http://{svc_host(RELEASE + '-prometheus', ns)}:{mon.prometheus_port}"
        self.alertmanager = f"http://{svc_host(RELEASE + '-alertmanager', ns)}:{mon.alertmanager_port}"
        self.grafana = f"http://{svc_host(RELEASE + '-grafana', ns)}"
        self.loki = f"http://{svc_host('loki', ns)}:{mon.loki_port}"
        self.jaeger = f"http://{svc_host('jaeger-query', ns)}:{mon.jaeger_query_port}"
        self.register_outputs({"prometheus": self.prometheus, "grafana": self.grafana, "loki": self.loki,
                               "jaeger": self.jaeger, "dashboards": sorted(spec.monitoring.dashboards)})
