"""Build small BPMN documents for tests: linear processes from task snippets."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

HEADER = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'id="defs" targetNamespace="https://flowmaster.example/test">'
)


def service(node_id: str, topic: str) -> str:
    return f'<bpmn:serviceTask id="{node_id}" name="{node_id}" camunda:type="external" camunda:topic="{topic}"/>'


def rule(node_id: str, decision: str, result_variable: str | None = None) -> str:
    rv = f' camunda:resultVariable="{result_variable}"' if result_variable else ""
    return f'<bpmn:businessRuleTask id="{node_id}" name="{node_id}" camunda:decisionRef="{decision}"{rv}/>'


def user(node_id: str, name: str | None = None) -> str:
    return f"<bpmn:userTask id={quoteattr(node_id)} name={quoteattr(name or node_id)}/>"


def script(node_id: str, code: str) -> str:
    body = f"<bpmn:script>{escape(code)}</bpmn:script>"
    return f'<bpmn:scriptTask id="{node_id}" name="{node_id}" scriptFormat="python">{body}</bpmn:scriptTask>'


def call(node_id: str, called: str, policy: str | None = None) -> str:
    ext = (
        '<bpmn:extensionElements><camunda:properties><camunda:property name="linkFailurePolicy" '
        f'value="{policy}"/></camunda:properties></bpmn:extensionElements>'
        if policy
        else ""
    )
    return f'<bpmn:callActivity id="{node_id}" name="{node_id}" calledElement="{called}">{ext}</bpmn:callActivity>'


def _ids(snippet: str) -> str:
    return snippet.split('id="', 1)[1].split('"', 1)[0]


def process(process_id: str, *nodes: str, name: str | None = None) -> str:
    """A <bpmn:process>: P_start -> nodes... -> P_end, flows P_f1, P_f2, ... (P = process id)."""
    chain = [f"{process_id}_start", *(_ids(n) for n in nodes), f"{process_id}_end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="{process_id}_f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(zip(chain, chain[1:], strict=False), start=1)
    )
    return (
        f'<bpmn:process id="{process_id}" name="{name or process_id}" isExecutable="true">'
        f'<bpmn:startEvent id="{chain[0]}"/>' + "".join(nodes) + f'<bpmn:endEvent id="{chain[-1]}"/>' + flows + "</bpmn:process>"
    )


def document(*processes: str) -> str:
    return HEADER + "".join(processes) + "</bpmn:definitions>"


def linear(process_id: str, *nodes: str) -> str:
    return document(process(process_id, *nodes))
