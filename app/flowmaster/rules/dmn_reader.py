"""Read standard DMN XML (1.1 to 1.5) into a DecisionModel, parsing every FEEL cell up front.

SpiffWorkflow's DMNParser reads one decision per file and keeps cells as Python expressions;
here every decision table of the file is read, cells are FEEL, and the DMN XSDs that ship
with SpiffWorkflow validate the document when asked to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from .errors import DmnDefinitionError, FeelError
from .feel_ast import AnyOf, Comparison, Expression, Literal, UnaryTest
from .feel_ast import Path as FeelPath
from .feel_parser import FeelSyntaxError, parse_expression, parse_unary_tests
from .feel_types import feel_equal, render
from .model import (
    Aggregation,
    Decision,
    DecisionModel,
    DecisionTable,
    HitPolicy,
    InputClause,
    OutputClause,
    Rule,
)

DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}


def load_dmn_file(path: str | Path, *, validate: bool = False) -> DecisionModel:
    path = Path(path)
    return parse_dmn(path.read_bytes(), source=str(path), validate=validate)


def parse_dmn(xml: str | bytes, *, source: str | None = None, validate: bool = False) -> DecisionModel:
    """Parse a DMN document; `validate` also checks it against the standard's XSD."""
    where = source or "DMN document"
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    except etree.XMLSyntaxError as exc:
        raise DmnDefinitionError(f"{where}: not well-formed XML: {exc}") from exc
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "definitions" or ns not in DMN_NAMESPACES:
        raise DmnDefinitionError(
            f"{where}: root element is {root.tag}, expected a DMN <definitions> in one of {', '.join(DMN_NAMESPACES)}"
        )
    if validate:
        _validate(root, ns, where)
    reader = _Reader(ns)
    decisions: dict[str, Decision] = {}
    for element in root.findall(reader.q("decision")):
        decision = reader.decision(element)
        if decision.id in decisions:
            raise DmnDefinitionError(f"{where}: decision id '{decision.id}' appears twice")
        decisions[decision.id] = decision
    if not decisions:
        raise DmnDefinitionError(f"{where}: no <decision> elements")
    for decision in decisions.values():
        for required in decision.required:
            if required not in decisions:
                raise DmnDefinitionError(f"{where}: decision '{decision.id}' requires unknown decision '{required}'")
    return DecisionModel(
        id=root.get("id", ""),
        name=root.get("name", ""),
        namespace=root.get("namespace", ""),
        decisions=decisions,
        source=source,
    )


def _validate(root: Any, ns: str, where: str) -> None:
    # Reuse SpiffWorkflow's copy of the OMG schemas rather than shipping our own.
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
    from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS

    schema = SCHEMAS.get(ns)
    if schema is None:
        raise DmnDefinitionError(f"{where}: no XSD available for DMN {DMN_NAMESPACES[ns]} to validate against")
    try:
        BpmnValidator(schema).validate(root, where)
    except ValidationException as exc:
        raise DmnDefinitionError(f"{where}: does not validate against the DMN {DMN_NAMESPACES[ns]} schema: {exc}") from exc


class _Reader:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}"

    def text_of(self, element: Any, *path: str) -> str | None:
        for tag in path:
            if element is None:
                return None
            element = element.find(self.q(tag))
        return None if element is None else (element.text or "")

    def decision(self, element: Any) -> Decision:
        decision_id = element.get("id") or ""
        if not decision_id:
            raise DmnDefinitionError(f"a <decision> named {element.get('name')!r} has no id")
        table_el = element.find(self.q("decisionTable"))
        if table_el is None:
            kinds = ", ".join(etree.QName(c).localname for c in element if isinstance(c.tag, str))
            raise DmnDefinitionError(
                f"decision '{decision_id}' has no <decisionTable> (has: {kinds or 'nothing'}); only decision tables are supported"
            )
        required = tuple(
            (req.get("href") or "").lstrip("#") for req in element.iter(self.q("requiredDecision")) if req.get("href")
        )
        table = self.table(decision_id, table_el)
        return Decision(id=decision_id, name=element.get("name") or decision_id, table=table, required=required)

    def table(self, decision_id: str, element: Any) -> DecisionTable:
        raw_policy = (element.get("hitPolicy") or "UNIQUE").strip().upper()
        try:
            policy = HitPolicy(raw_policy)
        except ValueError as exc:
            raise DmnDefinitionError(
                f"decision '{decision_id}': unknown hitPolicy {raw_policy!r}; one of {', '.join(p.value for p in HitPolicy)}"
            ) from exc
        aggregation = None
        if element.get("aggregation"):
            raw_agg = element.get("aggregation").strip().upper()
            try:
                aggregation = Aggregation(raw_agg)
            except ValueError as exc:
                raise DmnDefinitionError(f"decision '{decision_id}': unknown aggregation {raw_agg!r}") from exc
        inputs = tuple(self.input(decision_id, el) for el in element.findall(self.q("input")))
        outputs = tuple(self.output(decision_id, el) for el in element.findall(self.q("output")))
        if not outputs:
            raise DmnDefinitionError(f"decision '{decision_id}': decision table has no <output>")
        rules = tuple(
            self.rule(decision_id, el, index, inputs, outputs)
            for index, el in enumerate(element.findall(self.q("rule")), start=1)
        )
        table = DecisionTable(
            id=element.get("id") or decision_id,
            hit_policy=policy,
            aggregation=aggregation,
            inputs=inputs,
            outputs=outputs,
            rules=rules,
        )
        _check_table(decision_id, table)
        return table

    def input(self, decision_id: str, element: Any) -> InputClause:
        expr_el = element.find(self.q("inputExpression"))
        text = (self.text_of(expr_el, "text") or "").strip()
        label = element.get("label") or ""
        where = f"input '{label or element.get('id')}' expression"
        if not text:
            raise DmnDefinitionError(f"decision '{decision_id}': {where} is empty")
        allowed_text = self.text_of(element, "inputValues", "text")
        allowed = _unary(decision_id, f"input '{label or text}' inputValues", allowed_text) if allowed_text else None
        return InputClause(
            id=element.get("id") or "",
            label=label,
            text=text,
            expression=_expression(decision_id, where, text, allow_names_with_spaces=True),
            type_ref=(expr_el.get("typeRef") if expr_el is not None else None) or None,
            allowed=allowed,
            allowed_text=allowed_text,
        )

    def output(self, decision_id: str, element: Any) -> OutputClause:
        label = element.get("label") or ""
        name = element.get("name") or ""
        title = f"output '{name or label or element.get('id')}'"
        values_text = self.text_of(element, "outputValues", "text")
        values = _literal_list(decision_id, f"{title} outputValues", values_text) if values_text else None
        default_text = self.text_of(element, "defaultOutputEntry", "text")
        default = _expression(decision_id, f"{title} defaultOutputEntry", default_text) if default_text else None
        return OutputClause(
            id=element.get("id") or "",
            label=label,
            name=name,
            type_ref=element.get("typeRef") or None,
            values=values,
            default=default,
        )

    def rule(
        self,
        decision_id: str,
        element: Any,
        index: int,
        inputs: tuple[InputClause, ...],
        outputs: tuple[OutputClause, ...],
    ) -> Rule:
        rule_id = element.get("id") or f"row{index}"
        title = f"rule {index} ({rule_id})"
        in_texts = [self.text_of(el, "text") or "" for el in element.findall(self.q("inputEntry"))]
        out_texts = [self.text_of(el, "text") or "" for el in element.findall(self.q("outputEntry"))]
        if len(in_texts) != len(inputs):
            raise DmnDefinitionError(f"decision '{decision_id}', {title}: {len(in_texts)} input entries for {len(inputs)} inputs")
        if len(out_texts) != len(outputs):
            raise DmnDefinitionError(
                f"decision '{decision_id}', {title}: {len(out_texts)} output entries for {len(outputs)} outputs"
            )
        tests = tuple(
            _unary(decision_id, f"{title}, {clause.title}", text) for clause, text in zip(inputs, in_texts, strict=True)
        )
        results = tuple(
            _expression(decision_id, f"{title}, {clause.title}", text) for clause, text in zip(outputs, out_texts, strict=True)
        )
        return Rule(
            id=rule_id,
            index=index,
            input_entries=tests,
            output_entries=results,
            input_texts=tuple(t.strip() for t in in_texts),
            output_texts=tuple(t.strip() for t in out_texts),
            description=(self.text_of(element, "description") or "").strip(),
        )


def _unary(decision_id: str, where: str, text: str | None) -> UnaryTest:
    try:
        return parse_unary_tests(text)
    except FeelSyntaxError as exc:
        raise FeelError(decision=decision_id, where=where, text=text or "", reason=str(exc.reason)) from exc


def _expression(decision_id: str, where: str, text: str | None, *, allow_names_with_spaces: bool = False) -> Expression:
    try:
        return parse_expression(text)
    except FeelSyntaxError as exc:
        # FEEL names may contain spaces ("Customer Age"); such an input expression is one name.
        if allow_names_with_spaces and text and all(part.isidentifier() for part in text.split()):
            return FeelPath((" ".join(text.split()),))
        raise FeelError(decision=decision_id, where=where, text=text or "", reason=str(exc.reason)) from exc


def _literal_list(decision_id: str, where: str, text: str) -> tuple[Any, ...]:
    tests = _unary(decision_id, where, text)
    values: list[Any] = []
    for test in tests.tests if isinstance(tests, AnyOf) else ():
        if not (isinstance(test, Comparison) and test.operator == "=" and isinstance(test.endpoint, Literal)):
            raise FeelError(decision=decision_id, where=where, text=text, reason=f"{test} is not a literal value")
        values.append(test.endpoint.value)
    if not values:
        raise FeelError(decision=decision_id, where=where, text=text, reason="expected a list of literal values")
    return tuple(values)


def _check_table(decision_id: str, table: DecisionTable) -> None:
    prefix = f"decision '{decision_id}'"
    if table.aggregation and table.hit_policy is not HitPolicy.COLLECT:
        raise DmnDefinitionError(f"{prefix}: aggregation {table.aggregation} is only allowed with hit policy COLLECT")
    if table.aggregation and len(table.outputs) != 1:
        raise DmnDefinitionError(
            f"{prefix}: COLLECT {table.aggregation} needs exactly one output, table has {len(table.outputs)}"
        )
    if table.hit_policy in {HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER} and not any(o.values for o in table.outputs):
        raise DmnDefinitionError(
            f"{prefix}: hit policy {table.hit_policy} orders by output values; give at least one output <outputValues>"
        )
    for rule in table.rules:
        for clause, entry in zip(table.outputs, rule.output_entries, strict=True):
            if not (clause.values and isinstance(entry, Literal) and entry.value is not None):
                continue
            if not any(feel_equal(entry.value, allowed) for allowed in clause.values):
                allowed_text = ", ".join(render(v) for v in clause.values)
                raise DmnDefinitionError(
                    f"{prefix}, {rule.title}, {clause.title}: {render(entry.value)} "
                    f"is not among its outputValues ({allowed_text})"
                )
