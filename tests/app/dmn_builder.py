"""Build small DMN 1.3 documents for tests, one decision table at a time."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "examples"

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(*args, **kwargs) -> str:
    """A DMN document with one decision table (arguments as for decision())."""
    return definitions(decision(*args, **kwargs))


def definitions(*decisions: str) -> str:
    return (
        f'<definitions xmlns="{DMN13}" id="defs" name="test" namespace="https://flowmaster.example/test">'
        + "".join(decisions)
        + "</definitions>"
    )


def decision(
    hit_policy: str = "UNIQUE",
    inputs: list[tuple[str, str]] | None = None,
    outputs: list[tuple[str, str, str | None]] | None = None,
    rules: list[tuple[list[str], list[str]]] | None = None,
    *,
    aggregation: str | None = None,
    decision_id: str = "d",
    requires: list[str] | None = None,
) -> str:
    """inputs: (expression, typeRef); outputs: (name, typeRef, outputValues text or None);
    rules: ([input entry texts], [output entry texts]); rule ids are r1, r2, ..."""
    inputs = inputs if inputs is not None else [("x", "number")]
    outputs = outputs if outputs is not None else [("y", "string", None)]
    rules = rules or []
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    parts = [f'<decision id="{decision_id}" name="{decision_id}">']
    for req in requires or []:
        parts.append(f'<informationRequirement id="ir_{req}"><requiredDecision href="#{req}"/></informationRequirement>')
    parts.append(f'<decisionTable id="t_{decision_id}" hitPolicy="{hit_policy}"{agg}>')
    for i, (expr, type_ref) in enumerate(inputs):
        parts.append(
            f'<input id="i{i}" label="{escape(expr)}"><inputExpression id="ie{i}" typeRef="{type_ref}">'
            f"<text>{escape(expr)}</text></inputExpression></input>"
        )
    for i, (name, type_ref, values) in enumerate(outputs):
        vals = f'<outputValues id="ov{i}"><text>{escape(values)}</text></outputValues>' if values else ""
        parts.append(f'<output id="o{i}" name="{name}" typeRef="{type_ref}">{vals}</output>')
    for n, (ins, outs) in enumerate(rules, start=1):
        parts.append(f'<rule id="r{n}">')
        parts += [f'<inputEntry id="r{n}i{i}"><text>{escape(t)}</text></inputEntry>' for i, t in enumerate(ins)]
        parts += [f'<outputEntry id="r{n}o{i}"><text>{escape(t)}</text></outputEntry>' for i, t in enumerate(outs)]
        parts.append("</rule>")
    parts.append("</decisionTable></decision>")
    return "".join(parts)
