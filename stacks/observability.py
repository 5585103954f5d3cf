"""Alert rule groups and Grafana dashboards from the spec, for both targets."""

from __future__ import annotations

import json
from itertools import groupby

from fmctl.spec.model import PlatformSpec


def duration(ms: int) -> str:
    """Prometheus duration: whole minutes or seconds as the spec wrote them."""
    if ms % 3_600_000 == 0:
        return f"{ms // 3_600_000}h"
    if ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def rule_groups(spec: PlatformSpec) -> list[dict]:
    """monitoring.alert_rules as Prometheus rule groups (PrometheusRule spec.groups)."""
    rules = sorted(spec.monitoring.alert_rules.items(), key=lambda kv: (kv[1].group, kv[0]))
    groups = []
    for group, items in groupby(rules, key=lambda kv: kv[1].group):
        groups.append({
            "name": group,
            "interval": duration(spec.monitoring.evaluation_interval),
            "rules": [{
                "alert": name,
                "expr": r.expr,
                "for": duration(r.for_),
                "labels": {"severity": r.severity},
                "annotations": {"summary": r.summary, "runbook_url": r.runbook},
            } for name, r in items],
        })
    return groups


# What each dashboard shows: panel title -> PromQL. Metric names are the
# exporters' and the app's (flowmaster_*), the same the alert rules read.
DASHBOARD_PANELS: dict[str, dict[str, str]] = {
    "system_health": {
        "Targets up": "sum by (job) (up)",
        "Memory available": "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        "Kafka under-replicated partitions": "sum(kafka_server_replicamanager_underreplicatedpartitions)",
        "Redis cluster state": "min(redis_cluster_state)",
        "PostgreSQL up": "pg_up",
    },
    "service_performance": {
        "Requests per second": "sum by (service) (rate(flowmaster_http_requests_total[5m]))",
        "p95 latency": "histogram_quantile(0.95, sum by (le, service) "
                       "(rate(flowmaster_http_request_duration_seconds_bucket[5m])))",
        "Kafka consumer lag": "sum by (group) (flowmaster_kafka_consumer_lag)",
    },
    "business_metrics": {
        "Process instances started": "sum(rate(flowmaster_process_instances_started_total[1h]))",
        "Human tasks open": "sum(flowmaster_human_tasks_open)",
        "Agent tasks completed": "sum(rate(flowmaster_agent_tasks_completed_total[1h]))",
    },
    "error_tracking": {
        "5xx rate": "sum by (service) (rate(flowmaster_http_requests_total{status=~\"5..\"}[5m]))",
        "Failed executions": "sum(rate(flowmaster_executions_failed_total[5m]))",
        "Alerts firing": "sum by (severity) (ALERTS{alertstate=\"firing\"})",
    },
    "user_analytics": {
        "Active sessions": "sum(flowmaster_active_sessions)",
        "Logins": "sum(rate(flowmaster_logins_total[1h]))",
        "Requests by route": "sum by (route) (rate(flowmaster_http_requests_total[1h]))",
    },
}


def dashboard(name: str) -> dict:
    panels = []
    for i, (title, expr) in enumerate(DASHBOARD_PANELS[name].items()):
        panels.append({
            "id": i + 1, "type": "timeseries", "title": title,
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "targets": [{"refId": "A", "expr": expr}],
        })
    return {
        "uid": f"flowmaster-{name.replace('_', '-')}",
        "title": f"FlowMaster — {name.replace('_', ' ').title()}",
        "tags": ["flowmaster"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
    }


def dashboards(spec: PlatformSpec) -> dict[str, str]:
    """file name -> dashboard JSON, one per spec dashboard."""
    return {f"{d}.json": json.dumps(dashboard(d), indent=2, sort_keys=True) for d in spec.monitoring.dashboards}
