"""ArangoDB on kube-arangodb: one ArangoDeployment with the spec's agents,
DB servers and coordinators; the root password from the spec's reference."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks import versions
from stacks.k8s.shape import KubeContext, custom, network_policies, release, secret, svc_host, workload_resources
from stacks.sizing import quantity, storage, workload

ARANGO_API = "database.arangodb.com/v1"
NAME = "flowmaster-arangodb"


@dataclass(frozen=True)
class ArangoArgs:
    ctx: KubeContext


def claim(size: int, ctx: KubeContext) -> dict:
    return {"spec": {"storageClassName": ctx.storage_class, "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": quantity(size)}}}}


class ArangoCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: ArangoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:ArangoDB", name, None, opts)
        ctx, spec = args.ctx, args.ctx.spec
        a, ns = spec.arangodb, ctx.ns("arangodb")
        op = release("kube-arangodb", ns, "kube-arangodb", versions.KUBE_ARANGODB, versions.REPOSITORIES["arangodb"], {
            "operator": {"resources": workload_resources(workload(spec, "arangodb_operator")),
                         "features": {"deployment": True, "deploymentReplications": False, "storage": False,
                                      "backup": False}},
        }, parent=self)
        root = secret("arangodb-root", ns, {"username": "root", "password": ctx.secrets.ref(a.root_password)},
                      parent=self, secret_type="kubernetes.io/basic-auth")
        # Production: the operator keeps servers of one group on different nodes.
        env = "Production" if len(ctx.zones) > 1 else "Development"
        dep_spec: dict = {
            "mode": "Cluster" if a.mode == "cluster" else "Single",
            "environment": env,
            "image": f"arangodb/arangodb:{a.version}",
            "externalAccess": {"type": "None"},
            "tls": {"caSecretName": f"{NAME}-ca"},
            "auth": {"jwtSecretName": f"{NAME}-jwt"},
            "bootstrap": {"passwordSecretNames": {"root": "arangodb-root"}},
        }
        if a.mode == "cluster":
            dep_spec["agents"] = {"count": a.agents, "resources": workload_resources(workload(spec, "arangodb_agent")),
                                  "volumeClaimTemplate": claim(storage(spec, "arangodb_agent"), ctx)}
            dep_spec["dbservers"] = {"count": a.dbservers,
                                     "resources": workload_resources(workload(spec, "arangodb_dbserver")),
                                     "volumeClaimTemplate": claim(a.storage, ctx)}
            dep_spec["coordinators"] = {"count": a.coordinators,
                                        "resources": workload_resources(workload(spec, "arangodb_coordinator"))}
        else:
            dep_spec["single"] = {"resources": workload_resources(workload(spec, "arangodb_dbserver")),
                                  "volumeClaimTemplate": claim(a.storage, ctx)}
        self.deployment = custom((ARANGO_API, "ArangoDeployment"), NAME, ns, dep_spec, parent=self,
                                 depends_on=[op, root])
        network_policies(ns, [ctx.ns("app"), ctx.ns("monitoring")], parent=self)
        self.endpoint = f"https://{svc_host(NAME, ns)}:{a.port}"
        self.register_outputs({"endpoint": self.endpoint})
