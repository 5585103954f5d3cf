"""Process linking: call activities make a graph of processes that must stay a DAG.

A call activity's `calledElement` is the linked process. Its failure policy is an extension
property a BPMN modeler can edit: `<camunda:property name="linkFailurePolicy" value="compensate"/>`
(or the same as a zeebe:property); without one, the policy is `fail`.

Failure propagation (a pure function of the graph and the failed process) -- per link, when the
called process did not succeed:
- fail:       the caller fails too; its callers see a failure in turn.
- compensate: the caller undoes the completed work of the call chain (the callee's, then its
              own: saga-style, innermost first), and then counts as failed for its callers.
- continue:   the caller records the failure and carries on; propagation stops there.
A caller reached through several failed links takes the strongest: compensate > fail > continue.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
POLICY_PROPERTY = "linkFailurePolicy"


class LinkError(ValueError):
    """A link definition that cannot be used."""


class LinkCycleError(LinkError):
    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(f"process links form a cycle: {' -> '.join(cycle)}")


class FailurePolicy(StrEnum):
    FAIL = "fail"
    COMPENSATE = "compensate"
    CONTINUE = "continue"


@dataclass(frozen=True)
class Link:
    caller: str
    callee: str
    policy: FailurePolicy = FailurePolicy.FAIL
    activity: str | None = None  # the call activity's id in the caller


def links_from_bpmn(xml: str | bytes) -> list[Link]:
    """Every call activity of every process in a BPMN document, as a link."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    links: list[Link] = []
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
            callee = call.get("calledElement")
            if not callee:
                raise LinkError(f"call activity '{call.get('id')}' in process '{process.get('id')}' has no calledElement")
            links.append(Link(process.get("id"), callee, _policy_of(call, process.get("id")), call.get("id")))
    return links


def _policy_of(call: etree._Element, process_id: str) -> FailurePolicy:
    for tag in (f"{{{CAMUNDA_NS}}}property", f"{{{ZEEBE_NS}}}property"):
        for prop in call.iter(tag):
            if prop.get("name") == POLICY_PROPERTY:
                value = (prop.get("value") or "").strip().lower()
                try:
                    return FailurePolicy(value)
                except ValueError as exc:
                    raise LinkError(
                        f"call activity '{call.get('id')}' in process '{process_id}': {POLICY_PROPERTY} {value!r} "
                        f"is not one of {', '.join(p.value for p in FailurePolicy)}"
                    ) from exc
    return FailurePolicy.FAIL


@dataclass(frozen=True)
class LinkGraph:
    links: tuple[Link, ...] = ()
    extra_processes: frozenset[str] = frozenset()  # processes without links

    @classmethod
    def of(cls, links: Iterable[Link], processes: Iterable[str] = ()) -> LinkGraph:
        return cls(tuple(links), frozenset(processes))

    @property
    def processes(self) -> list[str]:
        names = set(self.extra_processes)
        for link in self.links:
            names.update((link.caller, link.callee))
        return sorted(names)

    def callees(self, process: str) -> list[Link]:
        return [link for link in self.links if link.caller == process]

    def callers(self, process: str) -> list[Link]:
        return [link for link in self.links if link.callee == process]

    def replace_links_of(self, process: str, links: Iterable[Link]) -> LinkGraph:
        """The graph as it would be if `process` (e.g. a draft being published) had these links."""
        kept = tuple(link for link in self.links if link.caller != process)
        return LinkGraph(kept + tuple(links), self.extra_processes | {process})

    def find_cycle(self) -> list[str] | None:
        """A cycle as a closed path [A, B, C, A], or None; deterministic (sorted DFS)."""
        state: dict[str, int] = {}  # 1 on the current path, 2 done
        path: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            path.append(node)
            for callee in sorted({link.callee for link in self.callees(node)}):
                if state.get(callee) == 1:
                    return path[path.index(callee) :] + [callee]
                if callee not in state and (found := visit(callee)):
                    return found
            path.pop()
            state[node] = 2
            return None

        for node in self.processes:
            if node not in state and (found := visit(node)):
                return found
        return None

    def check_acyclic(self) -> None:
        cycle = self.find_cycle()
        if cycle:
            raise LinkCycleError(cycle)

    def execution_order(self) -> list[str]:
        """Callers before the processes they call (ties by name); a cycle is an error."""
        self.check_acyclic()
        indegree = {p: 0 for p in self.processes}
        edges = {(link.caller, link.callee) for link in self.links}
        for _, callee in edges:
            indegree[callee] += 1
        ready = [p for p, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            node = heapq.heappop(ready)
            order.append(node)
            for caller, callee in sorted(edges):
                if caller == node:
                    indegree[callee] -= 1
                    if indegree[callee] == 0:
                        heapq.heappush(ready, callee)
        return order

    def dependency_order(self) -> list[str]:
        """Called processes first: the order to publish or deploy a linked set in."""
        return list(reversed(self.execution_order()))


class Outcome(StrEnum):
    FAILED = "failed"
    COMPENSATED = "compensated"
    CONTINUED = "continued"


_STRENGTH = {FailurePolicy.CONTINUE: 0, FailurePolicy.FAIL: 1, FailurePolicy.COMPENSATE: 2}
_OUTCOME = {
    FailurePolicy.CONTINUE: Outcome.CONTINUED,
    FailurePolicy.FAIL: Outcome.FAILED,
    FailurePolicy.COMPENSATE: Outcome.COMPENSATED,
}


@dataclass(frozen=True)
class Propagation:
    failed: str
    outcomes: dict[str, Outcome]  # every affected process, the failed one included
    causes: dict[str, tuple[Link, ...]] = field(default_factory=dict)  # the failed links that decided each outcome
    compensation_order: tuple[str, ...] = ()  # innermost first

    @property
    def continued(self) -> list[str]:
        return sorted(p for p, o in self.outcomes.items() if o is Outcome.CONTINUED)

    def outcome(self, process: str) -> Outcome | None:
        """None: the failure does not reach this process."""
        return self.outcomes.get(process)


def propagate_failure(graph: LinkGraph, failed: str, call_path: Sequence[str] | None = None) -> Propagation:
    """What a failure of `failed` does to the processes that (transitively) call it.

    `call_path` (root caller first, `failed` last) limits propagation to one running call chain;
    without it every process that can reach `failed` is considered (impact analysis).
    """
    links = list(graph.links)
    if call_path is not None:
        if not call_path or call_path[-1] != failed:
            raise LinkError(f"call path must end with the failed process {failed!r}")
        chain = list(zip(call_path, call_path[1:], strict=False))
        for caller, callee in chain:
            if not any(link.caller == caller and link.callee == callee for link in links):
                raise LinkError(f"call path step {caller} -> {callee} is not a link of the graph")
        links = [link for link in links if (link.caller, link.callee) in chain]
    sub = LinkGraph(tuple(links), frozenset({failed}))
    order = sub.execution_order()  # callers first; walk it backwards, callees decide first
    outcomes: dict[str, Outcome] = {failed: Outcome.FAILED}
    causes: dict[str, tuple[Link, ...]] = {}
    compensation: list[str] = []
    for process in reversed(order):
        if process == failed:
            continue
        failing = [link for link in sub.callees(process) if outcomes.get(link.callee) in {Outcome.FAILED, Outcome.COMPENSATED}]
        if not failing:
            continue
        strongest = max(failing, key=lambda link: _STRENGTH[link.policy]).policy
        outcomes[process] = _OUTCOME[strongest]
        causes[process] = tuple(sorted(failing, key=lambda link: link.callee))
        if strongest is FailurePolicy.COMPENSATE:
            for link in causes[process]:
                if link.policy is FailurePolicy.COMPENSATE and link.callee not in compensation:
                    compensation.append(link.callee)
            compensation.append(process)
    return Propagation(failed, outcomes, causes, tuple(compensation))
