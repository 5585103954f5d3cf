"""Evaluate a decision of a DecisionModel against input data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DecisionEvaluationError, DmnDefinitionError
from .feel_ast import all_true
from .feel_types import FeelValueError, coerce, render, to_feel, to_json
from .hit_policies import Hit, select
from .model import Decision, DecisionModel, InputClause


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    value: Any  # FEEL-shaped: bare value (one output) or context; a list for multi-hit; a scalar when aggregated
    hits: tuple[Hit, ...]  # the rules the hit policy kept, in result order
    matched_rules: tuple[str, ...]  # every rule that matched, in rule order (ids)
    inputs: dict[str, Any]  # the input column values the rules were tested against

    @property
    def single_hit(self) -> bool:
        return self.decision.table.hit_policy.single_hit

    def variables(self, result_variable: str | None = None) -> dict[str, Any]:
        """JSON-safe process variables for a process instance.

        Single hit: one variable per output. COLLECT with an aggregator: the output's variable holds
        the aggregate. Other multi-hit policies: a list under the decision id. `result_variable`
        overrides all of these with one variable holding the DMN-shaped result.
        """
        if result_variable:
            return {result_variable: to_json(self.value)}
        if self.single_hit:
            keys = [self.decision.output_key(o) for o in self.decision.table.outputs]
            if not self.hits and self.value is None:
                return dict.fromkeys(keys)
            values = self.value if len(keys) > 1 else {keys[0]: self.value}
            return {k: to_json(values.get(k)) for k in keys}
        if self.decision.table.aggregation is not None:
            return {self.decision.output_key(self.decision.table.outputs[0]): to_json(self.value)}
        return {self.decision.id: to_json(self.value)}

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision.id,
            "hitPolicy": self.decision.table.policy_name,
            "result": to_json(self.value),
            "selectedRules": [h.rule.id for h in self.hits],
            "matchedRules": list(self.matched_rules),
        }


def evaluate_decision(model: DecisionModel, decision_ref: str | None, data: Mapping[str, Any]) -> DecisionResult:
    """Evaluate one decision (and the decisions it requires, first) against `data`."""
    context = to_feel(dict(data))
    return _evaluate(model, model.decision(decision_ref), context, ())


def _evaluate(model: DecisionModel, decision: Decision, context: dict[str, Any], stack: tuple[str, ...]) -> DecisionResult:
    if decision.id in stack:
        cycle = " -> ".join((*stack[stack.index(decision.id) :], decision.id))
        raise DmnDefinitionError(f"decision requirements form a cycle: {cycle}")
    for required_id in decision.required:
        required = model.decisions[required_id]
        if required.name not in context:
            context[required.name] = _evaluate(model, required, context, (*stack, decision.id)).value
    table = decision.table
    values = [_input_value(decision, clause, context) for clause in table.inputs]
    pairs = zip(table.inputs, values, strict=True)
    inputs_text = ", ".join(f"{c.label or c.text}={render(v)}" for c, v in pairs) or "(no inputs)"
    hits: list[Hit] = []
    for rule in table.rules:
        results = [test.test(value, context) for test, value in zip(rule.input_entries, values, strict=True)]
        if all_true(results):
            outputs = {
                decision.output_key(clause): entry.evaluate(context)
                for clause, entry in zip(table.outputs, rule.output_entries, strict=True)
            }
            hits.append(Hit(rule, outputs))
    selection = select(decision, hits, inputs_text)
    return DecisionResult(
        decision=decision,
        value=selection.value,
        hits=selection.hits,
        matched_rules=tuple(h.rule.id for h in hits),
        inputs={(c.label or c.text): to_json(v) for c, v in zip(table.inputs, values, strict=True)},
    )


def _input_value(decision: Decision, clause: InputClause, context: dict[str, Any]) -> Any:
    raw = clause.expression.evaluate(context)
    try:
        value = coerce(raw, clause.type_ref)
    except FeelValueError as exc:
        raise DecisionEvaluationError(f"decision '{decision.id}', {clause.title} (typeRef {clause.type_ref}): {exc}") from exc
    if clause.allowed is not None and value is not None and clause.allowed.test(value, context) is not True:
        raise DecisionEvaluationError(
            f"decision '{decision.id}', {clause.title}: {render(value)} is not among its inputValues ({clause.allowed_text})"
        )
    return value
