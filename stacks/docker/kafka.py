"""ZooKeeper (or KRaft controllers) and Kafka brokers as containers, SCRAM users
and the spec's topics created by one-shot containers."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import pulumi

from stacks import versions
from stacks.docker.common import SECRETS_DIR, DockerContext, container, secret_file, volume
from stacks.sizing import workload

CONFIG = "/mnt/flowmaster/server.properties"
CLIENT = "/mnt/flowmaster/admin.properties"
BIN = "/opt/kafka/bin"


@dataclass
class KafkaDockerArgs:
    ctx: DockerContext


def cluster_id(env: str) -> str:
    """KRaft cluster id: stable per environment (base64 of a name-based UUID)."""
    return base64.urlsafe_b64encode(uuid.uuid5(uuid.NAMESPACE_DNS, f"flowmaster-{env}").bytes).decode().rstrip("=")


def jaas(user: str, password: str) -> str:
    return f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";'


class KafkaDocker(pulumi.ComponentResource):
    def __init__(self, name: str, args: KafkaDockerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("flowmaster:docker:Kafka", name, None, opts)
        ctx = args.ctx
        spec = ctx.spec
        k = spec.kafka
        image = f"apache/kafka:{k.version}"
        admin = next(n for n, u in sorted(k.users.items()) if u.superuser)
        admin_pw = ctx.secrets.ref(k.users[admin].password)
        mech = k.sasl_mechanism
        controllers = []
        common = {
            "default.replication.factor": k.default_replication_factor,
            "min.insync.replicas": k.min_insync_replicas,
            "offsets.topic.replication.factor": k.internal_topics.offsets_replication_factor,
            "transaction.state.log.replication.factor": k.internal_topics.transaction_state_replication_factor,
            "transaction.state.log.min.isr": k.internal_topics.transaction_state_min_isr,
            "unclean.leader.election.enable": str(k.unclean_leader_election).lower(),
            "auto.create.topics.enable": str(k.auto_create_topics).lower(),
            "num.network.threads": k.network_threads,
            "num.io.threads": k.io_threads,
            "log.dirs": "/var/lib/kafka/data",
            "sasl.enabled.mechanisms": mech,
            "sasl.mechanism.inter.broker.protocol": mech,
            "security.inter.broker.protocol": "SASL_PLAINTEXT",
            "super.users": ";".join(f"User:{n}" for n, u in sorted(k.users.items()) if u.superuser),
        }
        scram_users = {n: ctx.secrets.ref(u.password) for n, u in sorted(k.users.items())}
        kraft = k.mode == "kraft"
        if kraft:
            assert k.kraft is not None
            voters = ",".join(f"{c.id}@{ctx.address(c.host)}:{k.kraft.port}" for c in k.kraft.controllers)
            common.update({"controller.quorum.voters": voters, "controller.listener.names": "CONTROLLER",
                           "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer"})
            for c in k.kraft.controllers:
                props = {**common, "process.roles": "controller", "node.id": c.id,
                         "listeners": f"CONTROLLER://{ctx.address(c.host)}:{k.kraft.port}",
                         "listener.security.protocol.map": "CONTROLLER:PLAINTEXT"}
                controllers.append(self._node(ctx, c.host, image, "kraft_controller", props, admin, admin_pw,
                                              scram_users, kraft=True))
        else:
            assert k.zookeeper is not None
            z = k.zookeeper
            servers = " ".join(f"server.{n.id}={n.host}:{z.peer_port}:{z.election_port};{z.client_port}" for n in z.nodes)
            zw = workload(spec, "zookeeper")
            for n in z.nodes:
                data = volume(ctx, f"{n.host}-data", self)
                controllers.append(container(ctx, n.host, versions.ZOOKEEPER_IMAGE, zw, self, address=ctx.address(n.host),
                                             envs=[f"ZOO_MY_ID={n.id}", f"ZOO_SERVERS={servers}",
                                                   f"ZOO_TICK_TIME={z.tick_time}", f"ZOO_INIT_LIMIT={z.init_limit}",
                                                   f"ZOO_SYNC_LIMIT={z.sync_limit}",
                                                   f"ZOO_AUTOPURGE_SNAPRETAINCOUNT={z.snapshots_kept}",
                                                   f"ZOO_AUTOPURGE_PURGEINTERVAL={max(z.purge_interval // 3_600_000, 1)}",
                                                   "ZOO_4LW_COMMANDS_WHITELIST=srvr,ruok,mntr",
                                                   f"JVMFLAGS=-Xmx{z.heap // 1048576}m -Xms{z.heap // 1048576}m"],
                                             mounts=[(data, "/data")]))
            zk_connect = ",".join(f"{n.host}:{z.client_port}" for n in z.nodes)
            common.update({"zookeeper.connect": zk_connect,
                           "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"})
            # SCRAM credentials live in ZooKeeper: write them before any broker starts.
            script = pulumi.Output.all(*scram_users.values()).apply(lambda pws: "set -e\n" + "".join(
                f"{BIN}/kafka-configs.sh --zookeeper {zk_connect} --alter --entity-type users --entity-name {u} "
                f"--add-config '{mech}=[password={pw}]'\n" for u, pw in zip(scram_users, pws, strict=True)))
            users_init = container(ctx, "kafka-scram-init", image, workload(spec, "kafka_entity_operator"), self,
                                   entrypoint=["sh", f"{SECRETS_DIR}/scram-init.sh"],
                                   uploads=[secret_file("scram-init.sh", script)], oneshot=True, depends_on=controllers)
            controllers.append(users_init)

        self.brokers = []
        for b in k.brokers:
            addr = ctx.address(b.host)
            props = {**common, "listeners": f"SASL_PLAINTEXT://{addr}:{k.port}",
                     "advertised.listeners": f"SASL_PLAINTEXT://{addr}:{k.port}"}
            if kraft:
                props.update({"process.roles": "broker", "node.id": b.id,
                              "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"})
            else:
                props["broker.id"] = b.id
            self.brokers.append(self._node(ctx, b.host, image, "kafka", props, admin, admin_pw, scram_users,
                                           kraft=kraft, heap=k.heap, depends_on=controllers))

        client = admin_pw.apply(lambda pw: f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism={mech}\n"
                                           f"sasl.jaas.config={jaas(admin, pw)}\n")
        bootstrap = ",".join(f"{ctx.address(b.host)}:{k.port}" for b in k.brokers)
        create = "set -e\n" + "".join(
            f"{BIN}/kafka-topics.sh --bootstrap-server {bootstrap} --command-config {CLIENT} --create --if-not-exists "
            f"--topic {t} --partitions {topic.partitions} --replication-factor {topic.replication_factor} "
            f"--config retention.ms={topic.retention} --config min.insync.replicas={topic.min_insync_replicas} "
            f"--config cleanup.policy={topic.cleanup_policy}\n" for t, topic in sorted(k.topics.items()))
        container(ctx, "kafka-topics-init", image, workload(spec, "kafka_entity_operator"), self,
                  entrypoint=["sh", "/mnt/flowmaster/topics.sh"],
                  uploads=[{"file": "/mnt/flowmaster/topics.sh", "content": create},
                           {"file": CLIENT, "content": client, "permissions": "0400"}],
                  oneshot=True, depends_on=self.brokers)
        self.bootstrap = bootstrap
        self.register_outputs({"bootstrap": bootstrap})

    def _node(self, ctx, host, image, size, props, admin, admin_pw, scram_users, *, kraft, heap=None, depends_on=None):
        k = ctx.spec.kafka
        heap = heap if heap is not None else (k.kraft.heap if k.kraft else k.heap)
        mech = k.sasl_mechanism

        def render(values: list[str]) -> str:
            pw = values[0]
            lines = [f"{key}={val}" for key, val in sorted(props.items())]
            if "SASL_PLAINTEXT" in props.get("listeners", ""):
                lines.append(f"listener.name.sasl_plaintext.{mech.lower()}.sasl.jaas.config={jaas(admin, pw)}")
            return "\n".join(lines) + "\n"

        text = pulumi.Output.all(admin_pw).apply(render)
        data = volume(ctx, f"{host}-data", self)
        start = f"{BIN}/kafka-server-start.sh {CONFIG}"
        if kraft:
            scram = " ".join(f"--add-scram '{mech}=[name={u},password='\"$(cat {SECRETS_DIR}/kafka-{u})\"']'"
                             for u in scram_users)
            start = (f"{BIN}/kafka-storage.sh format --ignore-formatted -t {cluster_id(ctx.spec.name)} -c {CONFIG} "
                     f"{scram} && exec {start}")
        return container(ctx, host, image, workload(ctx.spec, size), self, address=ctx.address(host),
                         entrypoint=["sh", "-c", start],
                         envs=[f"KAFKA_HEAP_OPTS=-Xmx{heap // 1048576}m -Xms{heap // 1048576}m"],
                         uploads=[{"file": CONFIG, "content": text, "permissions": "0400"},
                                  *(secret_file(f"kafka-{u}", pw) for u, pw in scram_users.items())],
                         mounts=[(data, "/var/lib/kafka/data")], depends_on=depends_on)
