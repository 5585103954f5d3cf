"""What a stack adds to the spec: its target and the provider-side facts.

Numbers never live here (they are the spec's); these are names and places that
differ per cluster or Docker host, read from the stack's Pulumi config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Target = Literal["kubernetes", "docker"]
TARGETS: tuple[str, ...] = ("kubernetes", "docker")


@dataclass(frozen=True)
class StackSettings:
    environment: str
    target: Target
    # Kubernetes
    storage_provisioner: str = "ebs.csi.aws.com"
    object_store: str = "s3://flowmaster-backups"  # base backups, WAL archive
    object_store_region: str = "eu-west-1"
    # No registry host: the cluster's default registry, or the stack's flowmaster:appImageRepository.
    app_image_repository: str = "flowmaster/flowmaster"
    jwt_public_key: str = ""  # PEM of the issuer's RS256 key: public, not a secret
    # Docker
    app_build_context: str = "app"

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"flowmaster:target is '{self.target}': use one of {', '.join(TARGETS)}")


def from_config() -> StackSettings:
    """Read the stack's config (Pulumi.<stack>.yaml, defaults in Pulumi.yaml)."""
    import pulumi

    cfg = pulumi.Config("flowmaster")
    defaults = StackSettings(environment="", target="kubernetes")
    return StackSettings(
        environment=cfg.get("environment") or pulumi.get_stack(),
        target=cfg.get("target") or "kubernetes",  # type: ignore[arg-type]
        storage_provisioner=cfg.get("storageProvisioner") or defaults.storage_provisioner,
        object_store=cfg.get("objectStore") or defaults.object_store,
        object_store_region=cfg.get("objectStoreRegion") or defaults.object_store_region,
        app_image_repository=cfg.get("appImageRepository") or defaults.app_image_repository,
        jwt_public_key=cfg.get("jwtPublicKey") or "",
        app_build_context=cfg.get("appBuildContext") or defaults.app_build_context,
    )
