"""Diff two versions of a process: structure (flow nodes, sequence flows) and properties.

Elements are matched by id, as BPMN modelers keep ids stable across edits. Structure: nodes and
flows added or removed. Properties: for elements in both, every changed property -- type, name,
attributes (e.g. camunda:decisionRef), source/target, condition, script, documentation, event
definitions, extension elements. Decision tables attached to the versions are compared too:
decisions added/removed, hit policy changes, rules added/removed/changed (by rule id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..rules import DecisionModel, parse_dmn

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_KNOWN_PREFIXES = {
    BPMN_NS: "bpmn",
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://camunda.org/schema/zeebe/1.0": "zeebe",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
}
# Children that are not flow nodes of the process.
_NOT_NODES = {
    "sequenceFlow",
    "laneSet",
    "extensionElements",
    "documentation",
    "ioSpecification",
    "property",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "textAnnotation",
    "association",
    "incoming",
    "outgoing",
}


def _qname(name: str) -> str:
    """{namespace}attr -> camunda:attr for the namespaces modelers use; others stay in full."""
    if not name.startswith("{"):
        return name
    ns, local = name[1:].split("}", 1)
    prefix = _KNOWN_PREFIXES.get(ns)
    if prefix == "bpmn":
        return local
    return f"{prefix}:{local}" if prefix else name


def _text(element: Any, tag: str) -> str | None:
    found = element.find(f"{{{BPMN_NS}}}{tag}")
    return (found.text or "").strip() if found is not None else None


def _extensions(element: Any) -> str | None:
    ext = element.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None or len(ext) == 0:
        return None
    return etree.tostring(ext, method="c14n").decode()


def _properties(element: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"type": etree.QName(element).localname}
    for key, value in element.attrib.items():
        if key != "id":
            props[_qname(key)] = value
    for tag in ("documentation", "script", "conditionExpression"):
        value = _text(element, tag)
        if value is not None:
            props["condition" if tag == "conditionExpression" else tag] = value
    event_defs = sorted(etree.QName(c).localname for c in element if isinstance(c.tag, str) and c.tag.endswith("EventDefinition"))
    if event_defs:
        props["eventDefinitions"] = ",".join(event_defs)
    ext = _extensions(element)
    if ext is not None:
        props["extensionElements"] = ext
    return props


@dataclass(frozen=True)
class ProcessModel:
    """Processes, flow nodes and sequence flows of a BPMN document, by id."""

    processes: dict[str, dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    flows: dict[str, dict[str, Any]]


def read_structure(xml: str | bytes) -> ProcessModel:
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    processes: dict[str, dict[str, Any]] = {}
    nodes: dict[str, dict[str, Any]] = {}
    flows: dict[str, dict[str, Any]] = {}

    def walk(container: Any, process_id: str) -> None:
        for child in container:
            if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
                continue
            local = etree.QName(child).localname
            if local == "sequenceFlow":
                flows[child.get("id")] = {"process": process_id, **_properties(child)}
            elif local not in _NOT_NODES:
                nodes[child.get("id")] = {"process": process_id, **_properties(child)}
                if local in {"subProcess", "transaction", "adHocSubProcess"}:
                    walk(child, process_id)

    for process in root.iter(f"{{{BPMN_NS}}}process"):
        walk(process, process.get("id"))
        processes[process.get("id")] = _properties(process)
    return ProcessModel(processes, nodes, flows)


@dataclass(frozen=True)
class PropertyChange:
    element: str
    kind: str  # "process", "node", "flow" or "decision"
    property: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ProcessDiff:
    added_nodes: tuple[dict[str, Any], ...] = ()
    removed_nodes: tuple[dict[str, Any], ...] = ()
    added_flows: tuple[dict[str, Any], ...] = ()
    removed_flows: tuple[dict[str, Any], ...] = ()
    changes: tuple[PropertyChange, ...] = ()
    added_decisions: tuple[str, ...] = ()
    removed_decisions: tuple[str, ...] = ()
    decision_changes: tuple[PropertyChange, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.added_nodes,
                self.removed_nodes,
                self.added_flows,
                self.removed_flows,
                self.changes,
                self.added_decisions,
                self.removed_decisions,
                self.decision_changes,
            )
        )

    def to_json(self) -> dict[str, Any]:
        def change(c: PropertyChange) -> dict[str, Any]:
            return {"element": c.element, "kind": c.kind, "property": c.property, "old": c.old, "new": c.new}

        return {
            "structure": {
                "added_nodes": list(self.added_nodes),
                "removed_nodes": list(self.removed_nodes),
                "added_flows": list(self.added_flows),
                "removed_flows": list(self.removed_flows),
            },
            "properties": [change(c) for c in self.changes],
            "decisions": {
                "added": list(self.added_decisions),
                "removed": list(self.removed_decisions),
                "changes": [change(c) for c in self.decision_changes],
            },
        }


def _summary(element_id: str, props: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {"id": element_id, **{k: props.get(k) for k in keys}}


def _compare(old: Mapping[str, dict[str, Any]], new: Mapping[str, dict[str, Any]], kind: str) -> list[PropertyChange]:
    changes = []
    for element in sorted(old.keys() & new.keys()):
        a, b = old[element], new[element]
        for prop in sorted(a.keys() | b.keys()):
            if a.get(prop) != b.get(prop):
                changes.append(PropertyChange(element, kind, prop, a.get(prop), b.get(prop)))
    return changes


def _decision_rows(model: DecisionModel) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for decision in model.decisions.values():
        table = decision.table
        rows[decision.id] = {
            "name": decision.name,
            "hitPolicy": table.policy_name,
            "inputs": " | ".join(i.text for i in table.inputs),
            "outputs": " | ".join(decision.output_key(o) for o in table.outputs),
            "outputValues": " | ".join(",".join(map(str, o.values)) if o.values else "-" for o in table.outputs),
        }
        for rule in table.rules:
            rows[f"{decision.id}/{rule.id}"] = {
                "when": " | ".join(rule.input_texts),
                "then": " | ".join(rule.output_texts),
                "position": rule.index,
            }
    return rows


def diff_processes(
    old_bpmn: str | bytes,
    new_bpmn: str | bytes,
    old_dmn: Mapping[str, str] | None = None,
    new_dmn: Mapping[str, str] | None = None,
) -> ProcessDiff:
    """Compare two versions; DMN documents are given as file name -> XML."""
    a, b = read_structure(old_bpmn), read_structure(new_bpmn)
    node_keys = ("type", "name")
    flow_keys = ("sourceRef", "targetRef")
    old_rows: dict[str, dict[str, Any]] = {}
    new_rows: dict[str, dict[str, Any]] = {}
    for docs, rows in ((old_dmn or {}, old_rows), (new_dmn or {}, new_rows)):
        for name, xml in sorted(docs.items()):
            rows.update(_decision_rows(parse_dmn(xml, source=name)))
    old_decisions = {k for k in old_rows if "/" not in k}
    new_decisions = {k for k in new_rows if "/" not in k}
    decision_changes: list[PropertyChange] = []
    for key in sorted(old_rows.keys() | new_rows.keys()):
        decision_id = key.split("/")[0]
        if decision_id not in old_decisions or decision_id not in new_decisions or "/" not in key:
            continue
        if key not in old_rows or key not in new_rows:
            decision_changes.append(PropertyChange(key, "decision", "rule", old_rows.get(key), new_rows.get(key)))
    decision_changes += _compare(old_rows, new_rows, "decision")
    return ProcessDiff(
        added_nodes=tuple(_summary(k, b.nodes[k], *node_keys) for k in sorted(b.nodes.keys() - a.nodes.keys())),
        removed_nodes=tuple(_summary(k, a.nodes[k], *node_keys) for k in sorted(a.nodes.keys() - b.nodes.keys())),
        added_flows=tuple(_summary(k, b.flows[k], *flow_keys) for k in sorted(b.flows.keys() - a.flows.keys())),
        removed_flows=tuple(_summary(k, a.flows[k], *flow_keys) for k in sorted(a.flows.keys() - b.flows.keys())),
        changes=tuple(
            _compare(a.processes, b.processes, "process")
            + _compare(a.nodes, b.nodes, "node")
            + _compare(a.flows, b.flows, "flow")
        ),
        added_decisions=tuple(sorted(new_decisions - old_decisions)),
        removed_decisions=tuple(sorted(old_decisions - new_decisions)),
        decision_changes=tuple(sorted(decision_changes, key=lambda c: (c.element, c.property))),
    )


def migration_blockers(old_bpmn: str | bytes, new_bpmn: str | bytes, active_tasks: set[str]) -> list[str]:
    """Why instances waiting at `active_tasks` (BPMN ids) cannot move to the new version; [] if they can."""
    a, b = read_structure(old_bpmn), read_structure(new_bpmn)
    problems = []
    for task in sorted(active_tasks):
        if task not in b.nodes:
            problems.append(f"task '{task}' where instances wait is removed in the new version")
        elif task in a.nodes and a.nodes[task]["type"] != b.nodes[task]["type"]:
            problems.append(f"task '{task}' changes type {a.nodes[task]['type']} -> {b.nodes[task]['type']}")
    return problems
