"""The FlowMaster app image built from app/, a one-shot migration, one container per service replica.

Settings are fmctl/app_settings.py's (the one source every target uses) as FM_* variables; each
secret setting is an uploaded file named by FM_<SETTING>_FILE.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from fmctl.app_settings import COMMANDS, HTTP_SERVICES, Endpoints, app_secret_refs, app_settings, as_env
from fmctl.render import spec_data
from fmctl.spec.model import Workload
from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file

# A container serves on its own address on the stack's network.
LISTEN_HOST = "0.0.0.0"
# Which service's settings and size the migration container uses (it needs the database settings).
MIGRATE_WITH = "api"


@dataclass
class AppDockerArgs:
    ctx: DockerContext
    kafka_bootstrap: str
    redis_nodes: list[str]
    postgres: str


def alias(service: str) -> str:
    return service.replace("_", "-")


class AppDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:App", name, None, opts)
        ctx = args.ctx
        spec, app = ctx.spec, ctx.spec.app
        data = spec_data(spec)
        context = ctx.settings.app_build_context
        self.image = docker.Image("app-image", image_name=f"flowmaster/flowmaster:{app.version}",
                                  build={"context": context, "dockerfile": os.path.join(context, "Dockerfile"),
                                         "platform": "linux/amd64"},
                                  skip_push=True, opts=pulumi.ResourceOptions(parent=self))
        refs = app_secret_refs(data)
        # The image runs as its own non-root user and Docker uploads files as root: readable to all in
        # the container (it runs the app alone), never in the environment or the image.
        files = [{**secret_file(setting, ctx.secrets.ref(ref)), "permissions": "0444"} for setting, ref in sorted(refs.items())]
        secret_env = [f"FM_{setting.upper()}_FILE={SECRETS_DIR}/{setting}" for setting in sorted(refs)]
        pg_host, pg_port = args.postgres.rsplit(":", 1)
        # The single box has no pgbouncer: the app reaches the primary.
        endpoints = Endpoints(pg_host=pg_host, pg_port=int(pg_port), redis_nodes=list(args.redis_nodes),
                              kafka_bootstrap=args.kafka_bootstrap.split(","))

        def envs(service: str) -> list[str]:
            env = as_env(app_settings(data, endpoints, service, LISTEN_HOST))
            return [f"{k}={v}" for k, v in sorted(env.items())] + secret_env

        def size(service: str) -> Workload:
            svc = app.services[service]
            return Workload(requests=svc.requests, limits=svc.limits)

        # Migrations once before the services start. Pulumi creates the services after this
        # container but does not wait for it to exit: a service that starts before the schema
        # is current fails and Docker restarts it (restart unless-stopped) until it is.
        migrate = container(ctx, "app-migrate", "", size(MIGRATE_WITH), self, built_image=self.image.image_name,
                            command=["migrate"], envs=envs(MIGRATE_WITH), uploads=files, oneshot=True)
        self.endpoints: dict[str, str] = {}
        # app.services entries without a command (logging_console) are not part of the app yet.
        for sname in sorted(s for s in app.services if s in COMMANDS):
            svc = app.services[sname]
            for i in range(svc.replicas):
                container(ctx, f"{alias(sname)}-{i + 1}", "", size(sname), self, aliases=[alias(sname)],
                          built_image=self.image.image_name, command=[COMMANDS[sname]],
                          envs=envs(sname), uploads=files, depends_on=[migrate])
            if sname in HTTP_SERVICES:
                self.endpoints[sname] = f"http://{alias(sname)}:{svc.port}"
        self.register_outputs({"endpoints": self.endpoints})
