"""Container sizes from the spec's `containers` section, checked against the
processes' own sizes (a JVM heap or Redis maxmemory larger than its container
limit would be killed by the kernel, not by a test).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network, ip_network

from fmctl.spec.model import PlatformSpec, Workload
from fmctl.units import format_size


class SizingError(ValueError):
    """A finding with the spec path, like the spec's own invariants."""


def workload(spec: PlatformSpec, name: str) -> Workload:
    try:
        return spec.containers[name]
    except KeyError:
        raise SizingError(f"containers.{name}: required by the Pulumi stacks (requests, limits, storage)") from None


def storage(spec: PlatformSpec, name: str) -> int:
    w = workload(spec, name)
    if w.storage is None:
        raise SizingError(f"containers.{name}.storage: required (this workload keeps data on a volume)")
    return w.storage


def replicas(spec: PlatformSpec, name: str) -> int:
    w = workload(spec, name)
    if w.replicas is None:
        raise SizingError(f"containers.{name}.replicas: required (no other spec field counts these pods)")
    return w.replicas


def quantity(n: int) -> str:
    """Bytes -> a Kubernetes quantity, exact (binary suffixes)."""
    for suffix, factor in (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if n % factor == 0 and n >= factor:
            return f"{n // factor}{suffix}"
    return str(n)


def mib(n: int) -> int:
    return n // (1024 * 1024)


def cpu_millis(cpu: str) -> int:
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def checks(spec: PlatformSpec) -> list[str]:
    """Every size conflict between `containers` and the processes' own sizes."""
    out: list[str] = []
    k = spec.kafka

    def above(name: str, inner: int, what: str) -> None:
        w = spec.containers.get(name)
        if w is None:
            return
        if w.limits.memory <= inner:
            out.append(f"containers.{name}.limits.memory: {format_size(w.limits.memory)} <= {what} "
                       f"{format_size(inner)}; leave room above it")

    above("kafka", k.heap, "kafka.heap")
    if k.mode == "zookeeper" and k.zookeeper:
        above("zookeeper", k.zookeeper.heap, "kafka.zookeeper.heap")
    if k.mode == "kraft" and k.kraft:
        above("kraft_controller", k.kraft.heap, "kafka.kraft.heap")
    above("redis", spec.redis.maxmemory, "redis.maxmemory")
    pg = spec.postgresql
    above("postgresql", pg.shared_buffers + pg.max_connections * pg.work_mem,
          "postgresql.shared_buffers + max_connections x work_mem")
    above("prometheus", spec.monitoring.prometheus_memory - 1, "monitoring.prometheus_memory")
    for role in ("dbserver", "coordinator"):
        above(f"arangodb_{role}", spec.arangodb.memory - 1, "arangodb.memory")
    for name, w in spec.containers.items():
        if w.requests.memory > w.limits.memory:
            out.append(f"containers.{name}.requests.memory: greater than limits.memory")
        if cpu_millis(w.requests.cpu) > cpu_millis(w.limits.cpu):
            out.append(f"containers.{name}.requests.cpu: greater than limits.cpu")
    return out


def require_valid(spec: PlatformSpec) -> None:
    problems = checks(spec)
    if problems:
        raise SizingError("; ".join(problems))


# ------------------------------------------------------------ placement facts


def distinct_machines(spec: PlatformSpec, hosts: list[str]) -> bool:
    """True when the hosts are separate machines: hard anti-affinity is satisfiable."""
    machines = [spec.hosts[h].machine or h for h in hosts]
    return len(set(machines)) == len(machines)


def zones(spec: PlatformSpec) -> set[str]:
    return {h.zone for h in spec.hosts.values() if h.zone}


def subnet(spec: PlatformSpec) -> IPv4Network:
    """The smallest network holding every host address (the Docker network)."""
    addrs = [h.address for h in spec.hosts.values()]
    for prefix in range(32, 0, -1):
        net = ip_network(f"{addrs[0]}/{prefix}", strict=False)
        if all(a in net for a in addrs):
            # Docker takes the first address as the gateway: make room if a host sits there.
            if any(a == net.network_address + 1 for a in addrs) or any(a == net.network_address for a in addrs):
                continue
            return net  # type: ignore[return-value]
    raise SizingError("hosts: addresses share no IPv4 network")


def daily_schedule_days(cron: str) -> int:
    """Days between runs of a daily cron (`M H * * *`); other cadences are refused."""
    if not re.match(r"^\S+ \S+ \* \* \*$", cron.strip()):
        raise SizingError(f"postgresql.backup.schedule: '{cron}' is not daily; the stacks keep `keep` daily backups")
    return 1
