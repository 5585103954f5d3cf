"""Vault from the official chart: HA on raft with the spec's replicas, an audit
volume, auto-unseal through another Vault's transit engine, TLS listeners."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pulumi

from stacks import versions
from stacks.k8s.shape import (
    KubeContext,
    anti_affinity,
    network_policies,
    release,
    secret,
    spread,
    svc_host,
    workload_resources,
)
from stacks.sizing import quantity, storage, workload

NAME = "vault"
TLS_SECRET = "vault-tls"  # issued by the cluster's CA (see docs/pulumi.md)
TLS_DIR = f"/vault/userconfig/{TLS_SECRET}"


@dataclass(frozen=True)
class VaultArgs:
    ctx: KubeContext


def server_config(spec, namespace: str) -> str:
    """vault.hcl for the chart: no secret in it (the transit token is VAULT_TOKEN)."""
    v = spec.vault
    joins = "\n".join(
        f'  retry_join {{\n    leader_api_addr = "https://{NAME}-{i}.{NAME}-internal.{namespace}.svc:{v.api_port}"\n'
        f'    leader_ca_cert_file = "{TLS_DIR}/ca.crt"\n  }}'
        for i in range(v.replicas))
    seal = ""
    if v.auto_unseal == "transit":
        if v.transit_seal is None:
            raise ValueError("vault.transit_seal: required when vault.auto_unseal is transit")
        t = v.transit_seal
        seal = (f'seal "transit" {{\n  address = "{t.address}"\n  mount_path = "{t.mount_path}"\n'
                f'  key_name = "{t.key_name}"\n  disable_renewal = "false"\n}}\n')
    elif v.auto_unseal != "none":
        seal = f'seal "{v.auto_unseal}" {{}}\n'
    return (
        "ui = true\n"
        f'listener "tcp" {{\n  address = "[::]:{v.api_port}"\n  cluster_address = "[::]:{v.cluster_port}"\n'
        f'  tls_cert_file = "{TLS_DIR}/tls.crt"\n  tls_key_file = "{TLS_DIR}/tls.key"\n'
        f'  tls_client_ca_file = "{TLS_DIR}/ca.crt"\n}}\n'
        f'storage "raft" {{\n  path = "/vault/data"\n{joins}\n}}\n'
        f"{seal}"
        'service_registration "kubernetes" {}\n'
        f'telemetry {{\n  prometheus_retention_time = "{v.telemetry_retention // 1000}s"\n  disable_hostname = true\n}}\n'
    )


class VaultCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: VaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Vault", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        v, ns = spec.vault, ctx.ns("vault")
        w = workload(spec, "vault")
        if w.log_storage is None:
            raise ValueError("containers.vault.log_storage: required (the audit log volume)")
        after = []
        env_secrets = []
        if v.auto_unseal == "transit":
            after.append(secret("vault-transit-seal", ns, {"token": ctx.secrets.stack("vault-transit-token")}, parent=self))
            env_secrets.append({"envName": "VAULT_TOKEN", "secretName": "vault-transit-seal", "secretKey": "token"})
        match = {"app.kubernetes.io/name": NAME, "component": "server"}
        self.release = release(NAME, ns, "vault", versions.VAULT_CHART, versions.REPOSITORIES["hashicorp"], {
            "global": {"tlsDisable": False},
            "injector": {"enabled": False},
            "server": {
                "image": {"repository": "hashicorp/vault", "tag": v.version},
                "resources": workload_resources(w),
                "dataStorage": {"enabled": True, "size": quantity(storage(spec, "vault")), "storageClass": ctx.storage_class},
                "auditStorage": {"enabled": True, "size": quantity(w.log_storage), "storageClass": ctx.storage_class,
                                 "mountPath": posixpath.dirname(v.audit_log)},
                "extraSecretEnvironmentVars": env_secrets,
                "extraEnvironmentVars": {"VAULT_CACERT": f"{TLS_DIR}/ca.crt"},
                "volumes": [{"name": TLS_SECRET, "secret": {"secretName": TLS_SECRET, "defaultMode": 0o400}}],
                "volumeMounts": [{"name": TLS_SECRET, "mountPath": TLS_DIR, "readOnly": True}],
                "affinity": anti_affinity(match, hard=len(ctx.zones) > 1),
                "topologySpreadConstraints": spread(match, ctx, hard_nodes=len(ctx.zones) > 1),
                "ha": {
                    "enabled": True,
                    "replicas": v.replicas,
                    "raft": {"enabled": True, "setNodeId": True, "config": server_config(spec, ns)},
                },
            },
            "serverTelemetry": {"serviceMonitor": {"enabled": True}},
        }, parent=self, depends_on=after)
        network_policies(ns, [ctx.ns("app"), ctx.ns("monitoring")], parent=self)
        self.address = f"https://{svc_host(NAME + '-active', ns)}:{v.api_port}"
        self.register_outputs({"address": self.address, "audit_log": v.audit_log})
