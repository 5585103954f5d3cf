"""ArangoDB cluster as containers: the spec's agents, DB servers and coordinators."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file, volume
from stacks.sizing import workload


@dataclass
class ArangoDockerArgs:
    ctx: DockerContext


class ArangoDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: ArangoDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:ArangoDB", name, None, opts)
        ctx = args.ctx
        spec, a = ctx.spec, ctx.spec.arangodb
        image = f"arangodb/arangodb:{a.version}"
        port = a.port
        secrets = [secret_file("arangodb-jwt", ctx.secrets.stack("arangodb-jwt-secret")),
                   secret_file("arangodb-root", ctx.secrets.ref(a.root_password))]
        auth = ["--server.authentication", "true", "--server.jwt-secret-keyfile", f"{SECRETS_DIR}/arangodb-jwt"]
        agents = [f"arangodb-agent-{i + 1}" for i in range(a.agents)]
        agency = [x for name in agents for x in ("--cluster.agency-endpoint", f"tcp://{name}:{port}")]

        def run(role_args: list[str]) -> list[str]:
            cmd = " ".join(["arangod", "--server.endpoint", f"tcp://0.0.0.0:{port}", *auth, *role_args])
            return ["sh", "-c", f'export ARANGODB_DEFAULT_ROOT_PASSWORD="$(cat {SECRETS_DIR}/arangodb-root)"; exec {cmd}']

        self.servers = []
        for name_ in agents:
            data = volume(ctx, f"{name_}-data", self)
            self.servers.append(container(ctx, name_, image, workload(spec, "arangodb_agent"), self, entrypoint=run([
                "--agency.activate", "true", "--agency.size", str(a.agents), "--agency.supervision", "true",
                "--agency.my-address", f"tcp://{name_}:{port}",
                *[x for other in agents for x in ("--agency.endpoint", f"tcp://{other}:{port}")],
            ]), uploads=secrets, mounts=[(data, "/var/lib/arangodb3")]))
        for role, count, size in (("dbserver", a.dbservers, "arangodb_dbserver"),
                                  ("coordinator", a.coordinators, "arangodb_coordinator")):
            for i in range(count):
                name_ = f"arangodb-{role}-{i + 1}"
                mounts = [(volume(ctx, f"{name_}-data", self), "/var/lib/arangodb3")]
                self.servers.append(container(ctx, name_, image, workload(spec, size), self, entrypoint=run([
                    "--cluster.my-role", role.upper(), "--cluster.my-address", f"tcp://{name_}:{port}",
                    "--cluster.default-replication-factor", str(a.replication_factor), *agency,
                ]), uploads=secrets, mounts=mounts, aliases=[f"arangodb-{role}"], depends_on=self.servers[:a.agents]))
        self.endpoint = f"http://arangodb-coordinator:{port}"
        self.register_outputs({"endpoint": self.endpoint})
