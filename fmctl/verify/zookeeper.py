"""ZooKeeper (or, in KRaft mode, the controller quorum) against the spec.

ZooKeeper is read with the `srvr` four-letter word (whitelisted; it needs no
session); that sessions need SASL is proven by a client without credentials
being turned away. A KRaft quorum is read with Kafka's MetadataQuorumCommand.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fmctl import filters
from fmctl.verify.report import Check, Context

C = "zookeeper"
KAFKA_HOME = Path(os.environ.get("FM_KAFKA_HOME", "/opt/flowmaster/kafka"))  # the kafka role's default


def four_letter_word(address: str, port: int, word: str = "srvr", timeout: float = 5) -> str:
    with socket.create_connection((address, port), timeout=timeout) as sock:
        sock.sendall(word.encode())
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def mode(address: str, port: int) -> str:
    """leader / follower / standalone, or why the node does not say."""
    try:
        reply = four_letter_word(address, port)
    except OSError as exc:
        return f"unreachable ({exc.strerror or exc})"
    m = re.search(r"^Mode: (\w+)", reply, re.M)
    return m.group(1) if m else "not serving"


def unauthenticated_refused(address: str, port: int) -> str:
    from kazoo.client import KazooClient

    quiet = logging.getLogger("fmctl.verify.kazoo")
    quiet.setLevel(logging.CRITICAL)  # the refusal is the expected outcome, not news
    zk = KazooClient(hosts=f"{address}:{port}", timeout=5, connection_retry={"max_tries": 1},
                     command_retry={"max_tries": 1}, logger=quiet)
    try:
        zk.start(timeout=8)
        zk.get_children("/")
        return "accepted"
    except Exception as exc:  # kazoo raises per cause; any refusal will do
        return f"refused ({type(exc).__name__})"
    finally:
        zk.stop()
        zk.close()


def _zookeeper_checks(ctx: Context) -> Iterator[Check]:
    zk = ctx.data["kafka"]["zookeeper"]
    nodes = filters.zookeeper_nodes(ctx.data)
    modes = {n["host"]: mode(n["address"], zk["client_port"]) for n in nodes}
    for host, m in modes.items():
        yield Check(C, f"{host} serves in the ensemble", "leader|follower", m, ok=m in ("leader", "follower"))
    yield Check(C, "ensemble leaders", 1, sum(m == "leader" for m in modes.values()))
    yield Check(C, "ensemble followers", len(nodes) - 1, sum(m == "follower" for m in modes.values()))
    first = nodes[0]
    refused = unauthenticated_refused(first["address"], zk["client_port"])
    yield Check(C, "client without SASL login", "refused", refused, ok=refused.startswith("refused"))


def _kraft_checks(ctx: Context) -> Iterator[Check]:
    k = ctx.data["kafka"]
    run_class = KAFKA_HOME / f"{k['scala_version']}-{k['version']}" / "bin" / "kafka-run-class"
    admin = filters.kafka_admin_user(ctx.data)
    with tempfile.NamedTemporaryFile("w", suffix=".properties") as cfg:
        os.chmod(cfg.name, 0o600)
        cfg.write("security.protocol=SASL_PLAINTEXT\n"
                  f"sasl.mechanism={k['sasl_mechanism']}\n"
                  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                  f'username="{admin}" password="{ctx.secret(k["users"][admin]["password"])}";\n')
        cfg.flush()
        proc = subprocess.run([str(run_class), "org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server",
                               filters.kafka_bootstrap(ctx.data), "--command-config", cfg.name, "describe", "--status"],
                              capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        yield Check(C, "kraft quorum answers", "yes", proc.stderr.strip()[-200:] or f"rc={proc.returncode}", ok=False)
        return
    voters = re.search(r"CurrentVoters:\s*\[(.*)\]", proc.stdout)
    # 3.9 prints either [1,2,3] or JSON objects with "id" (KIP-853); take the ids of either
    body = voters.group(1) if voters else ""
    ids = sorted(int(i) for i in (re.findall(r'"id":\s*(\d+)', body) or re.findall(r"\d+", body)))
    leader = re.search(r"LeaderId:\s*(-?\d+)", proc.stdout)
    want = sorted(c["id"] for c in filters.kraft_controllers(ctx.data))
    yield Check(C, "kraft quorum voters", want, ids)
    yield Check(C, "kraft quorum has a leader among the voters", "yes",
                "yes" if leader and int(leader.group(1)) in want else "no")


def checks(ctx: Context) -> Iterator[Check]:
    if ctx.data["kafka"]["mode"] == "zookeeper":
        yield from _zookeeper_checks(ctx)
    else:
        yield from _kraft_checks(ctx)
