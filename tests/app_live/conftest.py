"""Live tests of the FlowMaster service against the real PostgreSQL (through pgbouncer), Redis
cluster and Kafka of the local platform.

The `service` fixture migrates the process_management database and runs `flowmaster serve` as
a subprocess (settings from FM_* variables built from the spec, as the deployment writes them),
waits for /readyz, and stops it at the end. Every run works in legal entities and users of its
own (a random suffix), so runs never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from fmctl.verify.report import Context
from tests.live.conftest import platform  # noqa: F401  (the session fixture, re-exported)

from .service_env import service_env

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "app" / "examples"
FLOWMASTER = str(Path(sys.executable).parent / "flowmaster")
READY_TIMEOUT = 120.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def flowmaster(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([FLOWMASTER, *args], env={**os.environ, **env}, input=stdin, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"flowmaster {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


@dataclass
class Service:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict:
        """Poll /readyz until it says ready (bounded); fail with the last answer and the log."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the service exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=10)
                last = r.json()
                if r.status_code == 200:
                    return last
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
        pytest.fail(f"not ready within {timeout:.0f} s; last /readyz: {last}\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_service(env: dict[str, str], tmp: Path, name: str) -> Service:
    port = free_port()
    env = {**env, "FM_LISTEN_HOST": "127.0.0.1", "FM_LISTEN_PORT": str(port)}
    log = tmp / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([FLOWMASTER, "serve"], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    service = Service(f"http://127.0.0.1:{port}", env, proc, log)
    service.wait_ready()
    return service


@pytest.fixture(scope="session")
def base_env(platform: Context) -> dict[str, str]:  # noqa: F811
    m = platform.spec.monitoring
    return service_env(
        platform,
        # Prometheus scrapes with the monitoring login, as it does the exporters.
        FM_METRICS_USERNAME=m.admin_user,
        FM_METRICS_PASSWORD=platform.secret(m.admin_password),
        # The suite logs in and fuzzes from one address and one user far faster than a person:
        # the spec's limits are checked by test_rate_limits on a service of their own.
        FM_RATE_LIMIT="1000000",
        FM_LOGIN_RATE_LIMIT="1000000",
    )


@pytest.fixture(scope="session")
def service(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The API without its relay thread, and `flowmaster relay` as a process of its own: the
    events the suite reads from Kafka come through the standalone relay (the drill and the
    rate-limit service run the in-process one)."""
    flowmaster(base_env, "migrate")
    tmp = tmp_path_factory.mktemp("service")
    env = {**base_env, "FM_RELAY_IN_SERVICE": "false"}
    with (tmp / "relay.log").open("w") as out:
        relay = subprocess.Popen([FLOWMASTER, "relay"], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    svc = start_service(env, tmp, "flowmaster-api")
    yield svc
    svc.stop()
    relay.send_signal(signal.SIGTERM)
    try:
        assert relay.wait(timeout=60) == 0, (tmp / "relay.log").read_text()[-3000:]
    except subprocess.TimeoutExpired:
        relay.kill()
        raise


@dataclass
class User:
    name: str
    password: str
    legal_entities: list[str]
    roles: list[str]
    token: str = ""


@dataclass
class Org:
    """One run's legal entities and people: author and approver in entity A, an outsider in B."""

    run: str
    le_a: str
    le_b: str
    users: dict[str, User] = field(default_factory=dict)


class Api:
    def __init__(self, service: Service, user: User | None = None) -> None:
        headers = {"Authorization": f"Bearer {user.token}"} if user else {}
        self.user = user
        self.http = httpx.Client(base_url=service.url, headers=headers, timeout=60)

    def __getattr__(self, name: str):  # get, post, put, delete ...
        return getattr(self.http, name)


def login(service: Service, user: User) -> str:
    r = httpx.post(f"{service.url}/api/v1/sessions", json={"username": user.name, "password": user.password}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["token"]


@pytest.fixture(scope="session")
def org(service: Service) -> Org:
    run = uuid.uuid4().hex[:8]
    o = Org(run, f"le-{run}-a", f"le-{run}-b")
    people = {
        "author": ([o.le_a], ["process-owner"]),
        "approver": ([o.le_a], ["process-owner", "compliance"]),
        "outsider": ([o.le_b], ["process-owner", "compliance"]),
    }
    for role, (entities, roles) in people.items():
        user = User(f"{role}-{run}", secrets.token_urlsafe(12), entities, roles)
        args = ["create-user", user.name, "--password-stdin"]
        for e in entities:
            args += ["-e", e]
        for r in roles:
            args += ["-r", r]
        flowmaster(service.env, *args, stdin=user.password + "\n")
        user.token = login(service, user)
        o.users[role] = user
    return o


@pytest.fixture(scope="session")
def author(service: Service, org: Org) -> Api:
    return Api(service, org.users["author"])


@pytest.fixture(scope="session")
def approver(service: Service, org: Org) -> Api:
    return Api(service, org.users["approver"])


@pytest.fixture(scope="session")
def outsider(service: Service, org: Org) -> Api:
    return Api(service, org.users["outsider"])


def example_bpmn(key: str = "order_approval") -> bytes:
    """The example BPMN, under another process id if asked (ids are unique per legal entity)."""
    return (EXAMPLES / "order_approval.bpmn").read_bytes().replace(b'"order_approval"', f'"{key}"'.encode())


def example_files(key: str = "order_approval", name: str = "order_approval") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        ("bpmn", (f"{name}.bpmn", example_bpmn(key), "application/xml")),
        ("dmn", (f"{name}.dmn", (EXAMPLES / f"{name}.dmn").read_bytes(), "application/xml")),
        ("tests", (f"{name}.tests.json", (EXAMPLES / f"{name}.tests.json").read_bytes(), "application/json")),
    ]


@dataclass
class Published:
    process_id: str
    version: str
    digest: str


def publish_example(author: Api, approver: Api, legal_entity: str, key: str, risk: str = "medium") -> Published:
    """Upload the example under process id `key`, approve it (four eyes), publish 1.0.0."""
    r = author.post("/api/v1/processes", data={"legal_entity": legal_entity, "risk_class": risk}, files=example_files(key))
    assert r.status_code == 201, r.text
    pid, digest = r.json()["id"], r.json()["draft"]["digest"]
    r = approver.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner"})
    assert r.status_code == 201, r.text
    r = author.post(f"/api/v1/processes/{pid}/versions", json={"bump": "major", "note": "first"})
    assert r.status_code == 201, r.text
    return Published(pid, r.json()["version"], digest)


@pytest.fixture(scope="session")
def published(author: Api, approver: Api, org: Org) -> Published:
    return publish_example(author, approver, org.le_a, "order_approval_shared")
