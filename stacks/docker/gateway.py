"""Kong, DB-less, on the edge host's address, serving the spec's route table."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.docker.common import DockerContext, container
from stacks.rendered import kong_declarative
from stacks.sizing import workload

CONFIG = "/kong/declarative/kong.yml"


@dataclass
class KongDockerArgs:
    ctx: DockerContext


class KongDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: KongDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:Kong", name, None, opts)
        ctx = args.ctx
        spec, g = ctx.spec, ctx.spec.gateway
        # Each app service's containers answer on the network alias of its name (stacks.docker.app).
        upstreams = {s: s.replace("_", "-") for s in spec.app.services}
        text = kong_declarative(spec, upstreams, ctx.settings.jwt_public_key)
        port = g.http_port
        self.container = container(ctx, g.edge_host, f"kong:{g.kong_version}", workload(spec, "kong"), self,
                                   address=ctx.address(g.edge_host), aliases=["kong"],
                                   envs=["KONG_DATABASE=off", f"KONG_DECLARATIVE_CONFIG={CONFIG}",
                                         f"KONG_PROXY_LISTEN=0.0.0.0:{port}", "KONG_ADMIN_LISTEN=off",
                                         "KONG_PROXY_ACCESS_LOG=/dev/stdout", "KONG_PROXY_ERROR_LOG=/dev/stderr"],
                                   uploads=[{"file": CONFIG, "content": text}],
                                   # Kong runs unprivileged; let it bind the spec's port.
                                   sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
                                   ports=[(port, port)])
        self.endpoint = f"http://{ctx.address(g.edge_host)}:{port}"
        self.register_outputs({"endpoint": self.endpoint})
