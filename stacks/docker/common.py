"""What every Docker component shares: the network, pinned images, sized containers.

Secrets never travel in environment variables: they are uploaded as files
(content is a Pulumi secret) and images read them through their *_FILE
variables or a wrapper script.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from fmctl.spec.model import PlatformSpec, Workload
from stacks.secret_source import SecretSource
from stacks.settings import StackSettings
from stacks.sizing import cpu_millis, mib

SECRETS_DIR = "/run/flowmaster-secrets"


@dataclass
class DockerContext:
    spec: PlatformSpec
    settings: StackSettings
    secrets: SecretSource
    network: docker.Network
    images: dict[str, docker.RemoteImage] = field(default_factory=dict)
    image_parent: pulumi.Resource | None = None

    def prefix(self) -> str:
        return f"fm-{self.spec.name}"

    def image(self, ref: str) -> pulumi.Output[str]:
        """One pinned image pull per reference, shared by every container using it."""
        if ":" not in ref.rsplit("/", 1)[-1] or ref.endswith(":latest"):
            raise ValueError(f"image {ref}: pin a version tag (never :latest)")
        if ref not in self.images:
            safe = ref.replace("/", "-").replace(":", "-").replace(".", "-")
            self.images[ref] = docker.RemoteImage(
                f"image-{safe}", name=ref, keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self.image_parent))
        return self.images[ref].image_id

    def address(self, host: str) -> str:
        return str(self.spec.hosts[host].address)


def volume(ctx: DockerContext, name: str, parent: pulumi.Resource) -> docker.Volume:
    return docker.Volume(f"vol-{name}", name=f"{ctx.prefix()}-{name}",
                         labels=[{"label": "flowmaster.io/environment", "value": ctx.spec.name}],
                         opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True))


def secret_file(name: str, value: pulumi.Input[str]) -> dict:
    return {"file": f"{SECRETS_DIR}/{name}", "content": pulumi.Output.secret(value), "permissions": "0400"}


def container(ctx: DockerContext, name: str, image_ref: str, w: Workload, parent: pulumi.Resource, *,
              address: str | None = None, aliases: list[str] | None = None, command: list[str] | None = None,
              entrypoint: list[str] | None = None, envs: list[str] | None = None, uploads: list[dict] | None = None,
              mounts: list[tuple[docker.Volume, str]] | None = None, ports: list[tuple[int, int]] | None = None,
              user: str | None = None, sysctls: dict | None = None, oneshot: bool = False,
              depends_on: list | None = None, built_image: pulumi.Input[str] | None = None) -> docker.Container:
    net: dict = {"name": ctx.network.name, "aliases": [name, *(aliases or [])]}
    if address:
        net["ipv4_address"] = address
    return docker.Container(
        f"ctr-{name}",
        name=f"{ctx.prefix()}-{name}",
        hostname=name,
        image=built_image if built_image is not None else ctx.image(image_ref),
        command=command,
        entrypoints=entrypoint,
        envs=envs or [],
        uploads=uploads or [],
        memory=mib(w.limits.memory),
        memory_reservation=mib(w.requests.memory),
        cpus=f"{cpu_millis(w.limits.cpu) / 1000:g}",
        networks_advanced=[net],
        volumes=[{"volume_name": v.name, "container_path": path} for v, path in (mounts or [])],
        ports=[{"internal": i, "external": e} for i, e in (ports or [])],
        user=user,
        sysctls=sysctls,
        labels=[{"label": "flowmaster.io/environment", "value": ctx.spec.name},
                {"label": "flowmaster.io/node", "value": name}],
        restart="on-failure" if oneshot else "unless-stopped",
        max_retry_count=None,
        must_run=not oneshot,
        wait=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )
