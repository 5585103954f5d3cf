"""The typed platform spec: the only place a number of the platform is written.

Structure and per-field rules live here (Pydantic); rules that relate several
fields (replication factor vs brokers, memory per machine, ...) live in
`fmctl.spec.invariants` so that every violation is reported at once.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fmctl.units import Duration, Size

# A secret is never written in a spec, only where to find it:
#   secret:NAME      the environment's secrets backend: a file generated at
#                    first run outside the tree (mode 0600), or Vault KV
#   vault:PATH#KEY   an explicit Vault path
#   env:VAR          read from the environment of the run
SECRET_REF_RE = re.compile(r"^(secret:[a-z0-9][a-z0-9_.-]*|vault:[A-Za-z0-9_/.-]+#[A-Za-z0-9_.-]+|env:[A-Z_][A-Z0-9_]*)$")


def _secret_ref(value: str) -> str:
    if not isinstance(value, str) or not SECRET_REF_RE.match(value):
        raise ValueError(
            "secret values are not allowed in a spec: write a reference "
            "(secret:NAME, vault:PATH#KEY or env:VAR)"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_secret_ref), Field(json_schema_extra={"format": "secret-ref"})]
Port = Annotated[int, Field(ge=1, le=65535)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
Positive = Annotated[int, Field(ge=1)]


class Strict(BaseModel):
    """Unknown fields are errors: a misspelt key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------- hosts


class Machine(Strict):
    """Physical capacity that several hosts may share (the `local` machine)."""

    memory: Size
    cpus: Positive = 2


class Host(Strict):
    address: IPv4Address
    machine: str | None = Field(None, description="machines.<name> this host runs on; none: a machine of its own")
    memory: Size | None = Field(None, description="memory of this host when it is a machine of its own")
    zone: str | None = None


# --------------------------------------------------------------- kafka


class KafkaTopic(Strict):
    partitions: Positive
    replication_factor: Positive
    retention: Duration
    min_insync_replicas: Positive = 1
    cleanup_policy: Literal["delete", "compact", "compact,delete"] = "delete"
    accept_min_insync_equals_replicas: bool = Field(
        False, description="accept that losing one replica stops acks=all writes"
    )


class KafkaBroker(Strict):
    id: Annotated[int, Field(ge=0)]
    host: str


class ZooKeeperNode(Strict):
    id: Annotated[int, Field(ge=1, le=255)]
    host: str


class ZooKeeper(Strict):
    nodes: list[ZooKeeperNode]
    heap: Size
    client_port: Port = 2181
    peer_port: Port = 2888
    election_port: Port = 3888
    tick_time: Duration = 2000
    init_limit: Positive = 10
    sync_limit: Positive = 5
    snapshots_kept: Positive = Field(3, description="snapshots (and their logs) the autopurge keeps")
    purge_interval: Duration = Field(86_400_000, description="how often the autopurge runs (whole hours)")
    client_password: SecretRef = Field(
        "secret:zookeeper-kafka", description="password of the brokers' SASL (DIGEST-MD5) login; no other client is let in"
    )


class KRaftController(Strict):
    id: Annotated[int, Field(ge=0)]
    host: str


class KRaft(Strict):
    controllers: list[KRaftController]
    port: Port = 9093
    heap: Size


class KafkaInternalTopics(Strict):
    offsets_replication_factor: Positive
    transaction_state_replication_factor: Positive
    transaction_state_min_isr: Positive


class KafkaUser(Strict):
    password: SecretRef
    superuser: bool = False


class KafkaArtifacts(Strict):
    """Where the broker's jars come from: Maven Central by default."""

    source: Literal["maven", "tarball", "mirror"] = "maven"
    maven_repository: str | None = Field(None, description="internal Maven mirror URL (source=mirror)")
    tarball_url: str | None = Field(None, description="release tarball URL (source=tarball)")


class KafkaConnect(Strict):
    workers: list[str] = Field(description="hosts running a distributed worker")
    port: Port = 8083
    heap: Size
    group_id: str = "flowmaster-connect"
    storage_replication_factor: Positive
    user: Name = Field("connect", description="kafka.users entry the workers log in as")


class SchemaRegistry(Strict):
    implementation: Literal["builtin", "karapace"] = Field(
        "builtin", description="builtin: roles/schema_registry's Confluent-API registry (Karapace is not on PyPI)"
    )
    hosts: list[str]
    port: Port = 8081
    topic_replication_factor: Positive
    user: Name = Field("schema_registry", description="kafka.users entry the registry logs in to Kafka as")


class Kafka(Strict):
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    scala_version: Literal["2.12", "2.13"] = "2.13"
    mode: Literal["zookeeper", "kraft"]
    artifacts: KafkaArtifacts = KafkaArtifacts()
    brokers: list[KafkaBroker]
    port: Port = 9092
    jmx_port: Port = 9999
    metrics_port: Port = Field(7071, description="Prometheus JMX exporter agent")
    heap: Size
    network_threads: Positive
    io_threads: Positive
    default_replication_factor: Positive
    min_insync_replicas: Positive
    unclean_leader_election: bool = False
    auto_create_topics: bool = False
    internal_topics: KafkaInternalTopics
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    users: dict[Name, KafkaUser]
    zookeeper: ZooKeeper | None = None
    kraft: KRaft | None = None
    connect: KafkaConnect
    schema_registry: SchemaRegistry
    topics: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")], KafkaTopic]


# --------------------------------------------------------------- redis


class RedisShard(Strict):
    master: str
    replicas: list[str]


class RedisPersistence(Strict):
    rdb_save: list[tuple[Positive, Positive]] = Field(description="(seconds, changes) snapshot points")
    aof: bool = True
    aof_fsync: Literal["always", "everysec", "no"] = "everysec"


class RedisUser(Strict):
    password: SecretRef
    rules: str = Field(description="ACL rules, e.g. '~* &* +@all'")


class RedisUse(Strict):
    key_prefix: str
    ttl: Duration | None = None


class Redis(Strict):
    version: str = "7.0"
    shards: list[RedisShard]
    port: Port = 6379
    bus_port: Port = 16379
    maxmemory: Size
    maxmemory_policy: Literal[
        "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    ]
    persistence: RedisPersistence
    node_timeout: Duration
    users: dict[Name, RedisUser]
    admin_user: Name = Field("admin", description="users entry the platform tooling (cluster setup, verifier) uses")
    replication_user: Name = Field("replicator", description="users entry replicas authenticate with (masteruser)")
    uses: dict[Literal["sessions", "cache", "rate_limits", "pubsub"], RedisUse]


# --------------------------------------------------------------- postgresql


class PgDatabase(Strict):
    owner: Name
    purpose: str


class PgStandby(Strict):
    host: str
    slot: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]


class PgBackup(Strict):
    schedule: str = Field(description="cron expression of the daily base backup")
    keep: Positive = Field(description="base backups kept")
    wal_archiving: bool = True


class PgBouncer(Strict):
    host: str
    port: Port = 6432
    pool_mode: Literal["session", "transaction", "statement"] = "transaction"
    default_pool_size: Positive
    reserve_pool_size: Annotated[int, Field(ge=0)] = 0
    max_client_conn: Positive


class PostgreSQL(Strict):
    version: Literal[15] = 15
    primary: str
    standbys: list[PgStandby]
    port: Port = 5432
    max_connections: Positive
    superuser_reserved_connections: Annotated[int, Field(ge=0)] = 3
    max_wal_senders: Positive = 10
    shared_buffers: Size
    work_mem: Size
    password_encryption: Literal["scram-sha-256"] = "scram-sha-256"
    superuser_password: SecretRef
    replication_password: SecretRef
    replication_user: Name = Field("replicator", description="role standbys and base backups connect as")
    monitoring_user: Name = Field("monitoring", description="login of the metrics exporter (member of pg_monitor)")
    monitoring_password: SecretRef
    databases: dict[Name, PgDatabase]
    role_passwords: dict[Name, SecretRef] = Field(description="one per database owner")
    backup: PgBackup
    pgbouncer: PgBouncer


# --------------------------------------------------------------- arangodb


class ArangoEdge(Strict):
    collection: str
    from_: Annotated[list[str], Field(alias="from")]
    to: list[str]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ArangoGraph(Strict):
    purpose: str
    edges: list[ArangoEdge]


class ArangoDatabase(Strict):
    collections: list[str]
    graphs: dict[Name, ArangoGraph]


class ArangoDB(Strict):
    version: Annotated[str, Field(pattern=r"^3\.\d+(\.\d+)?$")]
    mode: Literal["cluster", "single"] = "cluster"
    port: Port = 8529
    coordinators: Positive
    dbservers: Positive
    agents: Positive
    replication_factor: Positive
    storage: Size
    memory: Size = Field(description="memory per server")
    root_password: SecretRef
    databases: dict[Name, ArangoDatabase]


# --------------------------------------------------------------- gateway & mesh


class RateLimit(Strict):
    per_second: Positive | None = None
    per_minute: Positive | None = None


class Route(Strict):
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9/_.-]*$")]
    service: str
    methods: list[Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]]
    auth: list[Literal["jwt", "oauth2", "none"]]
    rate_limit: RateLimit | None = None
    cache_ttl: Duration | None = None
    add_request_headers: dict[str, str] = {}
    strip_path: bool = False


class Mesh(Strict):
    mtls: Literal["STRICT", "PERMISSIVE", "DISABLE"]
    retries: Annotated[int, Field(ge=0)]
    per_try_timeout: Duration
    load_balancer: Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"]
    allow: dict[str, list[str]] = Field(description="service -> services allowed to call it")


class Gateway(Strict):
    kong_version: str
    edge_host: str = Field(description="host of the local edge (nginx)")
    http_port: Port = 80
    service_discovery: Literal["consul", "kubernetes", "static"]
    jwt_issuer: str
    routes: dict[Name, Route]
    mesh: Mesh


# --------------------------------------------------------------- monitoring


class AlertRule(Strict):
    group: Name
    expr: Annotated[str, Field(min_length=1)]
    for_: Annotated[Duration, Field(alias="for")]
    severity: Literal["critical", "warning", "info"]
    summary: str
    runbook: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Monitoring(Strict):
    host: str
    prometheus_port: Port = 9090
    alertmanager_port: Port = 9093
    node_exporter_port: Port = 9100
    postgres_exporter_port: Port = 9187
    redis_exporter_port: Port = 9121
    grafana_port: Port = 3000
    loki_port: Port = 3100
    jaeger_query_port: Port = 16686
    jaeger_otlp_port: Port = Field(4317, description="OTLP gRPC receiver of the traces collector")
    scrape_interval: Duration
    evaluation_interval: Duration
    retention: Duration
    prometheus_memory: Size
    alert_receiver: Name
    alert_webhook: str | None = None
    admin_user: Name = Field("admin", description="basic-auth user of Prometheus, Alertmanager and the exporters")
    admin_password: SecretRef = Field(description="its password (stored only as a bcrypt hash on hosts)")
    dashboards: list[Literal["system_health", "service_performance", "business_metrics", "error_tracking", "user_analytics"]]
    logs: Literal["loki"] = "loki"
    traces: Literal["jaeger"] = "jaeger"
    alert_rules: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")], AlertRule]


# --------------------------------------------------------------- vault


class VaultPolicy(Strict):
    paths: dict[str, list[Literal["create", "read", "update", "delete", "list", "sudo", "deny"]]]


class VaultTransitSeal(Strict):
    """Auto-unseal through another Vault's transit engine; its token comes from VAULT_TOKEN."""

    address: str = Field(description="URL of the Vault that holds the unseal key")
    mount_path: str = "transit/"
    key_name: str = Field(description="transit key that wraps this cluster's root key")


class Vault(Strict):
    version: Annotated[str, Field(pattern=r"^1\.(1[5-9]|[2-9]\d)\.\d+$")]
    replicas: Positive
    storage: Literal["raft"] = "raft"
    api_port: Port = 8200
    cluster_port: Port = 8201
    audit_log: str
    auto_unseal: Literal["transit", "awskms", "gcpckms", "azurekeyvault", "none"]
    transit_seal: VaultTransitSeal | None = Field(None, description="required when auto_unseal is transit")
    telemetry_retention: Duration = Field(86_400_000, description="how long Prometheus metrics stay in memory")
    engines: dict[Literal["kv", "database", "pki", "transit"], str] = Field(description="engine -> mount path")
    policies: dict[Name, VaultPolicy]


# --------------------------------------------------------------- the app


class Resources(Strict):
    cpu: Annotated[str, Field(pattern=r"^\d+(\.\d+)?m?$")]
    memory: Size


class Workload(Strict):
    """Size of one containerised workload: Kubernetes pods (Pulumi stacks) and Docker containers.

    Bare hosts (Ansible) size processes from the component's own fields instead.
    """

    replicas: Positive | None = Field(None, description="pod count where the spec fixes none elsewhere")
    requests: Resources
    limits: Resources
    storage: Size | None = Field(None, description="persistent volume per pod")
    log_storage: Size | None = Field(None, description="second volume per pod for logs (Vault audit)")


class AppService(Strict):
    port: Port
    replicas: Positive
    requests: Resources
    limits: Resources


class AppApi(Strict):
    """Limits of the FlowMaster REST API; the service gets them as settings."""

    rate_limit: Positive = Field(description="requests per client per redis.uses.rate_limits.ttl window")
    login_rate_limit: Positive = Field(description="login attempts per client address per rate-limit window")
    page_size: Positive = Field(description="list page size when neither the request nor the user's preference names one")
    max_page_size: Positive = Field(description="largest page a list returns")
    idempotency_ttl: Duration = Field(description="how long an Idempotency-Key and its response are remembered")
    db_pool_size: Positive = Field(description="client connections to pgbouncer per API process")


class AppOutbox(Strict):
    """The transactional outbox and its relay to Kafka."""

    batch_size: Positive = Field(description="events the relay publishes per round")
    poll_interval: Duration = Field(description="pause between rounds when the outbox is empty")
    delivery_timeout: Duration = Field(description="Kafka message.timeout.ms: a round gives up on an event after this")
    retention: Duration = Field(description="published events are deleted from the outbox after this")


class App(Strict):
    version: str
    host: str
    services: dict[Name, AppService]
    database: Name = Field(description="postgresql.databases entry of the main schema")
    process_database: Name = Field(description="postgresql.databases entry of the process-management service's tables")
    secret_key: SecretRef
    api: AppApi
    outbox: AppOutbox


# --------------------------------------------------------------- the spec


class Accept(Strict):
    """Risks an environment accepts explicitly; each silences one warning."""

    replicas_share_machine: bool = Field(False, description="Redis replicas on their master's machine (one-box envs)")


class PlatformSpec(Strict):
    name: Name
    description: str
    service_manager: Literal["systemd", "supervisor"]
    secrets_backend: Literal["generated", "vault"] = Field(
        description="where secret:NAME references resolve: generated local file, or Vault KV"
    )
    machines: dict[Name, Machine] = {}
    hosts: dict[Name, Host]
    accept: Accept = Accept()
    kafka: Kafka
    redis: Redis
    postgresql: PostgreSQL
    arangodb: ArangoDB
    gateway: Gateway
    monitoring: Monitoring
    vault: Vault
    app: App
    containers: dict[Name, Workload] = Field(
        {}, description="sizes of containerised workloads (Pulumi: Kubernetes and Docker targets), by workload name"
    )
