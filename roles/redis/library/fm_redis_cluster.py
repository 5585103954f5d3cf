#!/usr/bin/python3
"""Ansible module: bring a Redis cluster to the shape the spec pairs.

Runs once, on a host that reaches every node. It reads every node first
(CLUSTER NODES / CLUSTER INFO) and writes only on a real difference:

- every node empty and alone: create the cluster once, deterministically:
  `redis-cli --cluster create <masters>`, then each replica joins ITS master
  (`--cluster add-node ... --cluster-slave --cluster-master-id`);
- a node that came back empty (new id, knows only itself): the stale entry
  of its address is forgotten everywhere (CLUSTER FORGET), then it meets
  the cluster (CLUSTER MEET) and takes its place in its shard;
- a node that misses others: CLUSTER MEET;
- a spec master that runs as its replica's replica (after a failover): a
  coordinated CLUSTER FAILOVER on it gives it its role back, no data lost;
- a replica of the wrong master: CLUSTER REPLICATE;
- open or uncovered slots: `redis-cli --cluster fix`.
It then waits, bounded, until every node says cluster_state:ok and each
shard has its spec master with its replicas linked.

Python's standard library only: the target's /usr/bin/python3 has no redis
client, so this speaks RESP itself.
"""

from __future__ import annotations

import socket
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: fm_redis_cluster
short_description: Create, verify and repair a Redis cluster as the spec pairs its nodes
description:
  - Reads every node, then creates the cluster once, re-joins nodes that came back, restores the spec's
    master/replica pairing and fixes slots; reports changed only when it wrote something.
options:
  nodes:
    description: The spec's nodes (fm_redis_nodes), each with host, address, role (master|replica) and master (host).
    type: list
    elements: dict
    required: true
  port:
    description: Client port of every node.
    type: int
    required: true
  bus_port:
    description: Cluster bus port of every node.
    type: int
    required: true
  user:
    description: ACL user with the admin commands.
    type: str
    required: true
  password:
    description: Password of I(user).
    type: str
    required: true
    no_log: true
  redis_cli:
    description: Path of redis-cli.
    type: path
    default: /usr/bin/redis-cli
  timeout:
    description: Seconds to wait for the cluster to settle.
    type: int
    default: 120
"""

RETURN = r"""
actions:
  description: What was done, in order.
  type: list
  returned: always
nodes:
  description: host -> node id, role and master host after the run.
  type: dict
  returned: always
"""


class RedisError(Exception):
    pass


class Conn:
    """A minimal RESP2 client: enough for CLUSTER and INFO commands."""

    def __init__(self, address: str, port: int, user: str, password: str, timeout: float = 5.0):
        self.sock = socket.create_connection((address, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.call("AUTH", user, password)

    def call(self, *args: object):
        parts = [str(a).encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self._read()

    def _read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


def parse_info(text: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def parse_nodes(text: str) -> list[dict]:
    """CLUSTER NODES -> [{id, endpoint, flags, master, slots}]."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        out.append({
            "id": f[0],
            "endpoint": f[1].split("@")[0],
            "flags": set(f[2].split(",")),
            "master": None if f[3] == "-" else f[3],
            "slots": [s for s in f[8:] if not s.startswith("[")],
            "link": f[7],
        })
    return out


class Cluster:
    def __init__(self, module: AnsibleModule):
        p = module.params
        self.module = module
        self.port, self.bus_port = p["port"], p["bus_port"]
        self.user, self.password = p["user"], p["password"]
        self.nodes = {n["host"]: n for n in p["nodes"]}
        self.hosts = list(self.nodes)
        self.actions: list[str] = []
        self.conns: dict[str, Conn] = {}

    # ------------------------------------------------------------ reading

    def endpoint(self, host: str) -> str:
        return f"{self.nodes[host]['address']}:{self.port}"

    def conn(self, host: str) -> Conn:
        if host not in self.conns:
            self.conns[host] = Conn(self.nodes[host]["address"], self.port, self.user, self.password)
        return self.conns[host]

    def call(self, host: str, *args: object):
        try:
            return self.conn(host).call(*args)
        except (OSError, ConnectionError):
            self.conns.pop(host, None)  # one retry on a fresh connection (a node restarted)
            return self.conn(host).call(*args)

    def read(self) -> dict[str, dict]:
        """host -> {id, info, nodes, myself}."""
        state = {}
        for h in self.hosts:
            table = parse_nodes(self.call(h, "CLUSTER", "NODES"))
            me = next(n for n in table if "myself" in n["flags"])
            state[h] = {"id": me["id"], "info": parse_info(self.call(h, "CLUSTER", "INFO")), "nodes": table, "me": me}
        return state

    @staticmethod
    def alone(s: dict) -> bool:
        return int(s["info"].get("cluster_known_nodes", "1")) == 1 and not s["me"]["slots"]

    # ------------------------------------------------------------ writing

    def act(self, text: str) -> bool:
        self.actions.append(text)
        return not self.module.check_mode

    def cli(self, *args: str, check: bool = True) -> str:
        # bounded: redis-cli waits for the cluster to agree and never gives up on its own
        cmd = ["timeout", str(self.module.params["timeout"]), self.module.params["redis_cli"], "--no-auth-warning",
               "--user", self.user, "--cluster", *args]
        rc, out, err = self.module.run_command(cmd, environ_update={"REDISCLI_AUTH": self.password})
        if check and rc != 0:
            self.module.fail_json(msg=f"redis-cli --cluster {args[0]} failed", stdout=out, stderr=err, actions=self.actions)
        return out

    def fix_slots(self) -> None:
        """Open (migrating/importing) or uncovered slots: redis-cli's own repair."""
        report = self.cli("check", self.endpoint(self.hosts[0]), check=False)
        if ("slots are open" in report or "Not all 16384 slots are covered" in report) and \
                self.act("fix open or uncovered slots (redis-cli --cluster fix)"):
            self.cli("fix", self.endpoint(self.hosts[0]), "--cluster-yes")

    def wait(self, what: str, ok) -> dict[str, dict]:
        deadline = time.monotonic() + self.module.params["timeout"]
        while True:
            state = self.read()
            if ok(state):
                return state
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"timed out waiting for {what}", actions=self.actions,
                                      nodes=self.summary(state))
            time.sleep(0.5)

    def create(self) -> None:
        masters = [h for h in self.hosts if self.nodes[h]["role"] == "master"]
        if self.act(f"create the cluster with masters {', '.join(masters)}"):
            self.cli("create", *[self.endpoint(h) for h in masters], "--cluster-yes")
        for h in self.hosts:
            n = self.nodes[h]
            if n["role"] != "replica":
                continue
            if self.act(f"add {h} as replica of {n['master']}"):
                master_id = self.call(n["master"], "CLUSTER", "MYID")
                self.cli("add-node", self.endpoint(h), self.endpoint(n["master"]), "--cluster-slave",
                         "--cluster-master-id", master_id)

    def join(self, state: dict[str, dict]) -> None:
        """Nodes that came back empty meet the cluster; stale entries of their address go."""
        members = [h for h in self.hosts if not self.alone(state[h])]
        anchor = members[0]
        current_ids = {state[h]["id"] for h in self.hosts}
        for h in self.hosts:
            if h in members:
                continue
            for m in members:
                for n in state[m]["nodes"]:
                    stale = n["endpoint"] == self.endpoint(h) and n["id"] not in current_ids and not n["slots"]
                    if stale and self.act(f"forget stale id {n['id'][:8]} of {h} on {m}"):
                        self.call(m, "CLUSTER", "FORGET", n["id"])
            if self.act(f"{h} meets the cluster through {anchor}"):
                self.call(h, "CLUSTER", "MEET", self.nodes[anchor]["address"], self.port, self.bus_port)

    def meet_missing(self, state: dict[str, dict]) -> None:
        for h in self.hosts:
            known = {n["id"] for n in state[h]["nodes"] if "handshake" not in n["flags"]}
            for o in self.hosts:
                if o != h and state[o]["id"] not in known and self.act(f"{h} meets {o}"):
                    self.call(h, "CLUSTER", "MEET", self.nodes[o]["address"], self.port, self.bus_port)

    def forget_stale(self, state: dict[str, dict]) -> None:
        """Entries no spec node carries any more (a wiped node's old id), slot-less and failed."""
        current = {state[h]["id"] for h in self.hosts}
        for h in self.hosts:
            for n in state[h]["nodes"]:
                if n["id"] in current or n["slots"]:
                    continue
                if state[h]["me"]["master"] == n["id"]:
                    continue  # a replica cannot forget its master; it is re-pointed first
                if self.act(f"forget stale id {n['id'][:8]} ({n['endpoint']}) on {h}"):
                    self.call(h, "CLUSTER", "FORGET", n["id"])

    def knows_all(self, state: dict[str, dict]) -> bool:
        ids = {state[h]["id"] for h in self.hosts}
        for h in self.hosts:
            healthy = {n["id"] for n in state[h]["nodes"]
                       if not n["flags"] & {"handshake", "fail", "fail?", "noaddr"}}
            if not ids <= healthy:
                return False
        return True

    def pair(self, state: dict[str, dict]) -> None:
        """Each shard: the spec's master leads, the spec's replicas follow it."""
        ids = {h: state[h]["id"] for h in self.hosts}
        for m in (h for h in self.hosts if self.nodes[h]["role"] == "master"):
            me = state[m]["me"]
            replicas = [h for h in self.hosts if self.nodes[h].get("master") == m and h != m]
            if "slave" in me["flags"]:
                holder = next((r for r in replicas if ids[r] == me["master"]), None)
                if holder is None:
                    # Came back empty while its replica took over: follow the
                    # shard's current master first, then take the lead back.
                    holder = next((r for r in replicas if "master" in state[r]["me"]["flags"] and state[r]["me"]["slots"]),
                                  None)
                    if holder and self.act(f"{m} replicates {holder} (its shard's current master)"):
                        self.call(m, "CLUSTER", "REPLICATE", ids[holder])
                if holder and self.act(f"{m} takes its master role back from {holder} (CLUSTER FAILOVER)"):
                    self.wait_synced(m)
                    self.call(m, "CLUSTER", "FAILOVER")
            elif not me["slots"]:
                holder = next((r for r in replicas if "master" in state[r]["me"]["flags"] and state[r]["me"]["slots"]), None)
                if holder and self.act(f"{m} replicates {holder}, then takes its master role back"):
                    self.call(m, "CLUSTER", "REPLICATE", ids[holder])
                    self.wait_synced(m)
                    self.call(m, "CLUSTER", "FAILOVER")

    def follow(self, state: dict[str, dict]) -> None:
        ids = {h: state[h]["id"] for h in self.hosts}
        for r in (h for h in self.hosts if self.nodes[h]["role"] == "replica"):
            me, m = state[r]["me"], self.nodes[r]["master"]
            wrong = "master" in state[m]["me"]["flags"] and me["master"] != ids[m] and not me["slots"]
            if wrong and self.act(f"{r} replicates {m}"):
                self.call(r, "CLUSTER", "REPLICATE", ids[m])

    def wait_synced(self, host: str) -> None:
        deadline = time.monotonic() + self.module.params["timeout"]
        while parse_info(self.call(host, "INFO", "replication")).get("master_link_status") != "up":
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"{host} did not sync with its master", actions=self.actions)
            time.sleep(0.5)

    # ------------------------------------------------------------ judging

    def shaped(self, state: dict[str, dict]) -> bool:
        ids = {h: state[h]["id"] for h in self.hosts}
        for h in self.hosts:
            me, n, info = state[h]["me"], self.nodes[h], state[h]["info"]
            if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != "16384":
                return False
            if n["role"] == "master" and ("master" not in me["flags"] or not me["slots"]):
                return False
            if n["role"] == "replica" and ("slave" not in me["flags"] or me["master"] != ids[n["master"]]):
                return False
            if n["role"] == "replica" and parse_info(self.call(h, "INFO", "replication")).get("master_link_status") != "up":
                return False
        return self.knows_all(state)

    def summary(self, state: dict[str, dict]) -> dict:
        by_id = {state[h]["id"]: h for h in self.hosts}
        return {h: {"id": state[h]["id"], "role": "replica" if "slave" in state[h]["me"]["flags"] else "master",
                    "master": by_id.get(state[h]["me"]["master"]), "cluster_state": state[h]["info"].get("cluster_state")}
                for h in self.hosts}

    def converge(self) -> dict[str, dict]:
        state = self.read()
        if all(self.alone(s) for s in state.values()):
            self.create()
        else:
            if any(self.alone(s) for s in state.values()):
                self.join(state)
                if self.module.check_mode:
                    return state
                state = self.wait("the returned nodes to join", self.knows_all)
            if not self.knows_all(state):
                self.meet_missing(state)
                if not self.module.check_mode:
                    state = self.wait("every node to know every other", self.knows_all)
            self.forget_stale(state)
            if not self.module.check_mode:
                self.fix_slots()
            self.pair(state)
            if not self.module.check_mode:
                state = self.read()
            self.follow(state)
        if self.module.check_mode:
            return state
        return self.wait("cluster_state ok with the spec's pairing", self.shaped)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "nodes": {"type": "list", "elements": "dict", "required": True},
            "port": {"type": "int", "required": True},
            "bus_port": {"type": "int", "required": True},
            "user": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "redis_cli": {"type": "path", "default": "/usr/bin/redis-cli"},
            "timeout": {"type": "int", "default": 120},
        },
        supports_check_mode=True,
    )
    cluster = Cluster(module)
    try:
        state = cluster.converge()
    except (OSError, ConnectionError, RedisError) as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {exc}", actions=cluster.actions)
    module.exit_json(changed=bool(cluster.actions), actions=cluster.actions, nodes=cluster.summary(state))


if __name__ == "__main__":
    main()
