"""Redis cluster nodes as containers on the spec's addresses; a one-shot
container forms the cluster (masters first, `--cluster-replicas` from the spec)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file, volume
from stacks.k8s.redis import admin_user, redis_conf, replication_user
from stacks.sizing import workload


@dataclass
class RedisDockerArgs:
    ctx: DockerContext


class RedisDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: RedisDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:Redis", name, None, opts)
        ctx = args.ctx
        spec, r = ctx.spec, ctx.spec.redis
        image = f"redis:{r.version}"
        users = {n: ctx.secrets.ref(u.password) for n, u in sorted(r.users.items())}
        acl = pulumi.Output.all(*users.values()).apply(lambda pws: "user default off\n" + "".join(
            f"user {n} on >{pw} {r.users[n].rules}\n" for n, pw in zip(users, pws, strict=True)))
        repl = replication_user(spec)
        repl_conf = users[repl].apply(lambda pw: f"masteruser {repl}\nmasterauth {pw}\n")
        # The shared config reads users from /etc/redis-users; here that is the secrets folder.
        base = redis_conf(spec).replace("/etc/redis-users", SECRETS_DIR)
        masters = [s.master for s in r.shards]
        replicas = [h for s in r.shards for h in s.replicas]
        self.nodes = []
        for host in masters + replicas:
            addr = ctx.address(host)
            data = volume(ctx, f"{host}-data", self)
            self.nodes.append(container(ctx, host, image, workload(spec, "redis"), self, address=addr,
                                        command=["redis-server", "/usr/local/etc/redis/redis.conf"],
                                        uploads=[{"file": "/usr/local/etc/redis/redis.conf",
                                                  "content": base + f"cluster-announce-ip {addr}\n"},
                                                 secret_file("users.acl", acl), secret_file("replication.conf", repl_conf)],
                                        mounts=[(data, "/data")]))
        per_master = len(r.shards[0].replicas)
        addrs = " ".join(f"{ctx.address(h)}:{r.port}" for h in masters + replicas)
        first = ctx.address(masters[0])
        admin = admin_user(spec)
        script = (f'export REDISCLI_AUTH="$(cat {SECRETS_DIR}/{admin})"\n'
                  f"if redis-cli --user {admin} -h {first} -p {r.port} cluster info | grep -q cluster_state:ok; then exit 0; fi\n"
                  f"exec redis-cli --user {admin} --cluster create {addrs} --cluster-replicas {per_master} --cluster-yes\n")
        container(ctx, "redis-cluster-create", image, workload(spec, "redis_exporter"), self,
                  entrypoint=["sh", "/mnt/create.sh"],
                  uploads=[{"file": "/mnt/create.sh", "content": script}, secret_file(admin, users[admin])],
                  oneshot=True, depends_on=self.nodes)
        self.endpoints = [f"{ctx.address(h)}:{r.port}" for h in masters + replicas]
        self.register_outputs({"nodes": self.endpoints})
