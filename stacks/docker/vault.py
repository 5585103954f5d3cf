"""Vault raft nodes as containers, audit volume, transit auto-unseal."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pulumi

from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file, volume
from stacks.sizing import workload


@dataclass
class VaultDockerArgs:
    ctx: DockerContext


def config(spec, node: str, nodes: list[str]) -> str:
    v = spec.vault
    joins = "".join(f'  retry_join {{ leader_api_addr = "http://{n}:{v.api_port}" }}\n' for n in nodes if n != node)
    seal = ""
    if v.auto_unseal == "transit" and v.transit_seal:
        t = v.transit_seal
        seal = f'seal "transit" {{\n  address = "{t.address}"\n  mount_path = "{t.mount_path}"\n  key_name = "{t.key_name}"\n}}\n'
    # One private Docker network on a dev box: the listener is plain HTTP there
    # (the policy pack allows it for dev only); Kubernetes serves TLS.
    return (
        f'ui = true\napi_addr = "http://{node}:{v.api_port}"\ncluster_addr = "https://{node}:{v.cluster_port}"\n'
        f'listener "tcp" {{\n  address = "0.0.0.0:{v.api_port}"\n  cluster_address = "0.0.0.0:{v.cluster_port}"\n'
        f'  tls_disable = "true"\n}}\n'
        f'storage "raft" {{\n  path = "/vault/file"\n  node_id = "{node}"\n{joins}}}\n{seal}'
        f'telemetry {{\n  prometheus_retention_time = "{v.telemetry_retention // 1000}s"\n  disable_hostname = true\n}}\n'
    )


class VaultDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: VaultDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:Vault", name, None, opts)
        ctx = args.ctx
        spec, v = ctx.spec, ctx.spec.vault
        nodes = [f"vault-{i + 1}" for i in range(v.replicas)]
        uploads_secret = []
        start = "exec vault server -config=/vault/config/vault.hcl"
        if v.auto_unseal == "transit":
            uploads_secret.append(secret_file("vault-transit-token", ctx.secrets.stack("vault-transit-token")))
            start = f'export VAULT_TOKEN="$(cat {SECRETS_DIR}/vault-transit-token)"; {start}'
        self.nodes = []
        for node in nodes:
            data = volume(ctx, f"{node}-data", self)
            audit = volume(ctx, f"{node}-audit", self)
            self.nodes.append(container(ctx, node, f"hashicorp/vault:{v.version}", workload(spec, "vault"), self,
                                        entrypoint=["sh", "-c", start], aliases=["vault"],
                                        uploads=[{"file": "/vault/config/vault.hcl", "content": config(spec, node, nodes)},
                                                 *uploads_secret],
                                        mounts=[(data, "/vault/file"), (audit, posixpath.dirname(v.audit_log))]))
        self.address = f"http://vault:{v.api_port}"
        self.register_outputs({"address": self.address})
