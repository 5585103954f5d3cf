"""Every operator, chart and image version the stacks pin, in one place, with why.

Versions of the platform's own software (Kafka, Redis, PostgreSQL, ArangoDB,
Vault, Kong, the app) come from the spec; what is pinned here is the machinery
that runs them. Bumping one is a reviewed change of this file.
"""

from __future__ import annotations

# Strimzi 0.45 is the LAST minor release that runs ZooKeeper-based clusters
# (0.46 removed them), and 0.45.1+ supports Kafka 3.9.1 (the spec's version);
# 0.45.2 is the final 0.45 patch (CVE fixes). With kafka.mode: kraft a later
# Strimzi would do, but one pin serves both modes until the spec moves to KRaft.
STRIMZI = "0.45.2"

# CloudNativePG chart 0.23.2 = operator 1.25.1: the first operator with the
# declarative Database resource (one per spec database) and still the in-tree
# barmanObjectStore backups (1.26 deprecates them for the Barman Cloud plugin).
CLOUDNATIVE_PG_CHART = "0.23.2"

# kube-arangodb 1.2.43: ArangoDeployment v1 API, supports ArangoDB 3.11 clusters.
KUBE_ARANGODB = "1.2.43"

# hashicorp/vault chart 0.27.0 ships Vault 1.15 (the spec's line); the image
# tag itself comes from vault.version.
VAULT_CHART = "0.27.0"

# kong/kong chart 2.47.0 runs Kong 3.9 (the spec's gateway.kong_version) DB-less
# from a ConfigMap (dblessConfig.configMap).
KONG_CHART = "2.47.0"

# Istio 1.24: security.istio.io/v1 and networking.istio.io/v1 APIs are GA;
# base and istiod charts must carry the same version.
ISTIO = "1.24.3"

# kube-prometheus-stack 66.3.1: Prometheus operator v0.78 (monitoring.coreos.com/v1
# ServiceMonitor, PodMonitor, PrometheusRule), Grafana with the dashboard sidecar.
KUBE_PROMETHEUS_STACK = "66.3.1"

# grafana/loki chart 6.24.0: Loki 3.3, SingleBinary deployment mode.
LOKI_CHART = "6.24.0"

# jaegertracing/jaeger chart 3.3.3: Jaeger 1.6x all-in-one with badger storage.
JAEGER_CHART = "3.3.3"

# Side containers and Docker-target images of components whose version the
# spec does not name. ZooKeeper 3.8.4 is the client Kafka 3.9 ships with.
REDIS_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.66.0"
ZOOKEEPER_IMAGE = "zookeeper:3.8.4"
PROMETHEUS_IMAGE = "prom/prometheus:v2.55.1"
ALERTMANAGER_IMAGE = "prom/alertmanager:v0.27.0"
GRAFANA_IMAGE = "grafana/grafana:11.4.0"
LOKI_IMAGE = "grafana/loki:3.3.2"
JAEGER_IMAGE = "jaegertracing/all-in-one:1.64.0"
PGBOUNCER_IMAGE = "ghcr.io/cloudnative-pg/pgbouncer:1.23.0"

# Chart repositories (the projects' documented defaults).
REPOSITORIES = {
    "strimzi": "https://strimzi.io/charts/",
    "cnpg": "https://cloudnative-pg.github.io/charts",
    "arangodb": "https://arangodb.github.io/kube-arangodb",
    "hashicorp": "https://helm.releases.hashicorp.com",
    "kong": "https://charts.konghq.com",
    "istio": "https://istio-release.storage.googleapis.com/charts",
    "prometheus-community": "https://prometheus-community.github.io/helm-charts",
    "grafana": "https://grafana.github.io/helm-charts",
    "jaegertracing": "https://jaegertracing.github.io/helm-charts",
}
