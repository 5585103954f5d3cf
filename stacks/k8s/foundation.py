"""Namespaces per concern and the retaining StorageClass every volume uses."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks.k8s.shape import MESHED, PART_OF, KubeContext, meta


@dataclass(frozen=True)
class FoundationArgs:
    ctx: KubeContext


class Foundation(pulumi.ComponentResource):
    namespaces: dict[str, k8s.core.v1.Namespace]
    storage_class: k8s.storage.v1.StorageClass

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:k8s:Foundation", name, None, opts)
        ctx = args.ctx
        self.namespaces = {}
        for concern, ns in ctx.namespaces.items():
            lbl = {"app.kubernetes.io/part-of": PART_OF, "flowmaster.io/environment": ctx.spec.name}
            if concern in MESHED:
                lbl["istio-injection"] = "enabled"
            self.namespaces[concern] = k8s.core.v1.Namespace(
                f"ns-{concern}", metadata=meta(ns, lbl=lbl), opts=pulumi.ResourceOptions(parent=self)
            )
        # Retain: deleting a claim (or the stack) never deletes a database's disk.
        self.storage_class = k8s.storage.v1.StorageClass(
            "storage-class",
            metadata=meta(ctx.storage_class, lbl={"app.kubernetes.io/part-of": PART_OF}),
            provisioner=ctx.settings.storage_provisioner,
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "namespaces": {c: n.metadata.name for c, n in self.namespaces.items()},
            "storage_class": self.storage_class.metadata.name,
        })
