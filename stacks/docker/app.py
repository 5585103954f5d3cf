"""The FlowMaster app image built from app/ and one container per service replica."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from fmctl.spec.model import Workload
from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file


@dataclass
class AppDockerArgs:
    ctx: DockerContext
    kafka_bootstrap: str
    redis_nodes: list[str]
    postgres: str
    arangodb_endpoint: str
    vault_address: str


class AppDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:App", name, None, opts)
        ctx = args.ctx
        spec, app = ctx.spec, ctx.spec.app
        context = ctx.settings.app_build_context
        self.image = docker.Image("app-image", image_name=f"flowmaster/flowmaster:{app.version}",
                                  build={"context": context, "dockerfile": os.path.join(context, "Dockerfile"),
                                         "platform": "linux/amd64"},
                                  skip_push=True, opts=pulumi.ResourceOptions(parent=self))
        pg = spec.postgresql
        owner = pg.databases[app.database].owner
        files = [
            secret_file("database-password", ctx.secrets.ref(pg.role_passwords[owner])),
            secret_file("redis-password", ctx.secrets.ref(spec.redis.users["flowmaster"].password)),
            secret_file("kafka-password", ctx.secrets.ref(spec.kafka.users["flowmaster"].password)),
            secret_file("secret-key", ctx.secrets.ref(app.secret_key)),
        ]
        db_host, db_port = args.postgres.rsplit(":", 1)
        env = [f"FM_ENV={spec.name}", f"FM_VERSION={app.version}", f"FM_DATABASE_HOST={db_host}",
               f"FM_DATABASE_PORT={db_port}", f"FM_DATABASE_NAME={app.database}", f"FM_DATABASE_USER={owner}",
               f"FM_KAFKA_BOOTSTRAP={args.kafka_bootstrap}", "FM_KAFKA_USER=flowmaster",
               f"FM_KAFKA_SASL_MECHANISM={spec.kafka.sasl_mechanism}", f"FM_REDIS_NODES={','.join(args.redis_nodes)}",
               "FM_REDIS_USER=flowmaster", f"FM_ARANGODB_ENDPOINT={args.arangodb_endpoint}",
               f"FM_VAULT_ADDR={args.vault_address}",
               *(f"FM_{v}_FILE={SECRETS_DIR}/{f}" for v, f in (("DATABASE_PASSWORD", "database-password"),
                                                              ("REDIS_PASSWORD", "redis-password"),
                                                              ("KAFKA_PASSWORD", "kafka-password"),
                                                              ("SECRET_KEY", "secret-key")))]
        self.endpoints: dict[str, str] = {}
        for sname, svc in sorted(app.services.items()):
            alias = sname.replace("_", "-")
            size = Workload(requests=svc.requests, limits=svc.limits)
            for i in range(svc.replicas):
                container(ctx, f"{alias}-{i + 1}", "", size, self, aliases=[alias],
                          built_image=self.image.image_name, command=["serve", sname],
                          envs=[*env, f"FM_SERVICE={sname}", f"FM_PORT={svc.port}"], uploads=files)
            self.endpoints[sname] = f"http://{alias}:{svc.port}"
        self.register_outputs({"endpoints": self.endpoints})
