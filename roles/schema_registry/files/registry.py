"""A small schema registry with the Confluent REST API, kept in a Kafka topic.

Why this and not Karapace: Karapace is not published on PyPI (the index
answers 404), Confluent's registry is not on Maven Central, and Apicurio's
dependencies are not all served there; so the registry is this file plus
confluent-kafka from PyPI, in its own virtualenv.

State lives in a compacted Kafka topic (one record per subject version); every
instance reads the whole topic at start and follows it, so any instance
answers reads. Writes go to the first host of kafka.schema_registry.hosts (a
single writer keeps ids unique); the others answer 421 with its address.
Every request needs basic auth with a kafka.users login (same passwords).

API subset: GET /subjects, GET /subjects/{s}/versions, GET
/subjects/{s}/versions/{v|latest}, POST /subjects/{s}/versions, POST
/subjects/{s} (lookup), GET /schemas/ids/{id}, GET /config. Schemas are
stored as given (JSON schemas are normalised); no compatibility checks
(GET /config says NONE).
"""

from __future__ import annotations

import base64
import hmac
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Store:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.lock = threading.Condition()
        self.versions: dict[str, dict[int, dict]] = {}  # subject -> version -> record
        self.by_id: dict[int, dict] = {}
        self.offset = -1  # last applied offset of partition 0
        kafka = cfg["kafka"]
        self.producer = Producer({**kafka, "acks": "all", "enable.idempotence": True})
        self.consumer = Consumer({**kafka, "group.id": f"schema-registry-{uuid.uuid4()}", "enable.auto.commit": False,
                                  "auto.offset.reset": "earliest"})

    def ensure_topic(self) -> None:
        admin = AdminClient(self.cfg["kafka"])
        topic = self.cfg["topic"]
        if topic not in admin.list_topics(timeout=30).topics:
            fut = admin.create_topics([NewTopic(topic, 1, self.cfg["replication_factor"],
                                                config={"cleanup.policy": "compact"})])[topic]
            try:
                fut.result(timeout=60)
            except Exception as exc:  # a concurrent instance may have created it
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise

    def follow(self) -> None:
        self.consumer.assign([TopicPartition(self.cfg["topic"], 0, 0)])
        while True:
            msg = self.consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    print(f"consumer: {msg.error()}", file=sys.stderr, flush=True)
                continue
            with self.lock:
                if msg.value() is not None:
                    rec = json.loads(msg.value())
                    self.versions.setdefault(rec["subject"], {})[rec["version"]] = rec
                    self.by_id.setdefault(rec["id"], rec)
                self.offset = msg.offset()
                self.lock.notify_all()

    def end_offset(self, timeout: float = 60) -> int:
        """Offset of the last record now in the log (-1: empty); asked by a consumer of its own."""
        probe = Consumer({**self.cfg["kafka"], "group.id": f"schema-registry-probe-{uuid.uuid4()}"})
        try:
            _, high = probe.get_watermark_offsets(TopicPartition(self.cfg["topic"], 0), timeout=timeout)
        finally:
            probe.close()
        return high - 1

    def wait_caught_up(self, offset: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.offset < offset:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"schema log not read up to offset {offset}")
                self.lock.wait(left)

    def register(self, subject: str, schema: str, schema_type: str) -> int:
        with self.lock:
            for rec in self.versions.get(subject, {}).values():
                if rec["schema"] == schema and rec.get("schemaType", "AVRO") == schema_type:
                    return rec["id"]
            same = [r["id"] for r in self.by_id.values() if r["schema"] == schema and r.get("schemaType", "AVRO") == schema_type]
            new_id = same[0] if same else max(self.by_id, default=0) + 1
            version = max(self.versions.get(subject, {}), default=0) + 1
        rec = {"subject": subject, "version": version, "id": new_id, "schema": schema, "schemaType": schema_type}
        done: dict = {}
        self.producer.produce(self.cfg["topic"], key=json.dumps({"subject": subject, "version": version}),
                              value=json.dumps(rec), partition=0, on_delivery=lambda err, msg: done.update(err=err, msg=msg))
        self.producer.flush(30)
        if done.get("err") or "msg" not in done:
            raise RuntimeError(f"schema not written: {done.get('err')}")
        self.wait_caught_up(done["msg"].offset())
        return new_id


def normalise(schema: str, schema_type: str) -> str:
    if schema_type in ("AVRO", "JSON"):
        return json.dumps(json.loads(schema), separators=(",", ":"), sort_keys=False)
    return schema


def make_handler(store: Store, cfg: dict):
    users = cfg["users"]

    class Handler(BaseHTTPRequestHandler):
        server_version = "flowmaster-schema-registry"

        def log_message(self, fmt: str, *args: object) -> None:
            print(f"{self.address_string()} {fmt % args}", flush=True)

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="schema-registry"')
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: int, message: str) -> None:
            self._send(status, {"error_code": code, "message": message})

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    user, password = "", ""
                want = users.get(user)
                if want is not None and hmac.compare_digest(want.encode(), password.encode()):
                    return True
            self._error(401, 40101, "Unauthorized")
            return False

        def _parts(self) -> list[str]:
            return [unquote(p) for p in self.path.split("?")[0].strip("/").split("/") if p]

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if not self._authorised():
                return
            p = self._parts()
            with store.lock:
                if p == ["subjects"]:
                    return self._send(200, sorted(store.versions))
                if p == ["config"]:
                    return self._send(200, {"compatibilityLevel": "NONE"})
                if len(p) == 3 and p[:2] == ["schemas", "ids"] and p[2].isdigit():
                    rec = store.by_id.get(int(p[2]))
                    if rec is None:
                        return self._error(404, 40403, "Schema not found")
                    return self._send(200, {"schema": rec["schema"], "schemaType": rec.get("schemaType", "AVRO")})
                if len(p) >= 3 and p[0] == "subjects" and p[2] == "versions":
                    versions = store.versions.get(p[1])
                    if not versions:
                        return self._error(404, 40401, "Subject not found")
                    if len(p) == 3:
                        return self._send(200, sorted(versions))
                    v = max(versions) if p[3] in ("latest", "-1") else int(p[3]) if p[3].isdigit() else None
                    if v not in versions:
                        return self._error(404, 40402, "Version not found")
                    rec = versions[v]
                    return self._send(200, {k: rec[k] for k in ("subject", "version", "id", "schema", "schemaType")})
            self._error(404, 404, "Not found")

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorised():
                return
            p = self._parts()
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                schema_type = body.get("schemaType", "AVRO")
                schema = normalise(body["schema"], schema_type)
            except (ValueError, KeyError, TypeError):
                return self._error(422, 42201, "Invalid schema")
            if len(p) == 2 and p[0] == "subjects":  # lookup
                with store.lock:
                    for rec in store.versions.get(p[1], {}).values():
                        if rec["schema"] == schema:
                            return self._send(200, {k: rec[k] for k in ("subject", "version", "id", "schema")})
                return self._error(404, 40403, "Schema not found")
            if len(p) == 3 and p[0] == "subjects" and p[2] == "versions":
                if not cfg["primary"]:
                    return self._error(421, 50003, f"writes go to the primary {cfg['primary_url']}")
                return self._send(200, {"id": store.register(p[1], schema, schema_type)})
            self._error(404, 404, "Not found")

    return Handler


def main(config_path: str, secrets_path: str) -> None:
    with open(config_path) as fh:
        cfg = json.load(fh)
    with open(secrets_path) as fh:  # kept apart: the config file holds no secret
        secrets = json.load(fh)
    cfg["kafka"]["sasl.password"] = secrets["kafka_password"]
    cfg["users"] = secrets["users"]
    store = Store(cfg)
    store.ensure_topic()
    end = store.end_offset()
    threading.Thread(target=store.follow, daemon=True).start()
    store.wait_caught_up(end, timeout=120)  # serve only a complete view
    server = ThreadingHTTPServer((cfg["host"], cfg["port"]), make_handler(store, cfg))
    print(f"schema registry on {cfg['host']}:{cfg['port']}, topic {cfg['topic']}, "
          f"{sum(len(v) for v in store.versions.values())} schema versions", flush=True)
    server.serve_forever()


REQUIRED = {"host": str, "port": int, "topic": str, "replication_factor": int, "primary": bool, "primary_url": str,
            "kafka": dict}


def check(config_path: str) -> None:
    """Validate a settings file before it replaces the live one (the role's `validate:`)."""
    with open(config_path) as fh:
        cfg = json.load(fh)
    bad = [k for k, t in REQUIRED.items() if not isinstance(cfg.get(k), t)]
    if bad or "bootstrap.servers" not in cfg["kafka"]:
        sys.exit(f"invalid schema registry settings: missing or mistyped {', '.join(bad) or 'kafka.bootstrap.servers'}")
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
