"""Hit policies (DMN 1.3, 8.2.11): from the rules that matched to the table's result.

Single hit: UNIQUE (more than one match is an error), ANY (matches must agree), PRIORITY
(highest output priority), FIRST (first in rule order). Multiple hit: RULE ORDER, OUTPUT ORDER
(decreasing output priority), COLLECT (rule order here), optionally aggregated with the FEEL
list functions sum, count, min and max (DMN 1.3 counts every output, not distinct ones).
Output priority is the position of a value in its output's outputValues list, first = highest,
compared output by output from left to right; ties keep rule order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import DecisionEvaluationError, HitPolicyViolation
from .feel_types import feel_compare, feel_equal, kind, render
from .model import Aggregation, Decision, HitPolicy, Rule


@dataclass(frozen=True)
class Hit:
    """A matched rule with its evaluated outputs (output key -> FEEL value)."""

    rule: Rule
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Selection:
    hits: tuple[Hit, ...]  # the hits the policy keeps, in result order
    value: Any  # the table's result, shaped as DMN says (see shape())


def shape(decision: Decision, outputs: dict[str, Any]) -> Any:
    """One hit's result: the bare value for a one-output table, else a context."""
    if len(decision.table.outputs) == 1:
        return next(iter(outputs.values()))
    return dict(outputs)


def select(decision: Decision, hits: list[Hit], inputs_text: str) -> Selection:
    """Apply the table's hit policy to `hits` (all matches, in rule order)."""
    policy = decision.table.hit_policy
    if policy is HitPolicy.UNIQUE:
        if len(hits) > 1:
            raise HitPolicyViolation(
                decision.id, policy, [h.rule.title for h in hits], f"{len(hits)} rules match {inputs_text}; UNIQUE allows one"
            )
        return _single(decision, hits[:1])
    if policy is HitPolicy.ANY:
        _check_any(decision, hits, inputs_text)
        return _single(decision, hits[:1])
    if policy is HitPolicy.FIRST:
        return _single(decision, hits[:1])
    if policy is HitPolicy.PRIORITY:
        return _single(decision, _by_priority(decision, hits)[:1])
    if policy is HitPolicy.RULE_ORDER:
        return _multi(decision, hits)
    if policy is HitPolicy.OUTPUT_ORDER:
        return _multi(decision, _by_priority(decision, hits))
    if decision.table.aggregation is None:
        return _multi(decision, hits)
    return Selection(tuple(hits), _aggregate(decision, hits))


def _single(decision: Decision, hits: list[Hit]) -> Selection:
    if hits:
        return Selection(tuple(hits), shape(decision, hits[0].outputs))
    defaults = {
        decision.output_key(o): (o.default.evaluate({}) if o.default is not None else None) for o in decision.table.outputs
    }
    if any(o.default is not None for o in decision.table.outputs):
        return Selection((), shape(decision, defaults))
    return Selection((), None)


def _multi(decision: Decision, hits: list[Hit]) -> Selection:
    return Selection(tuple(hits), [shape(decision, h.outputs) for h in hits])


def _check_any(decision: Decision, hits: list[Hit], inputs_text: str) -> None:
    first = hits[0] if hits else None
    for other in hits[1:]:
        assert first is not None
        for key, value in first.outputs.items():
            if feel_equal(value, other.outputs[key]) is not True:
                raise HitPolicyViolation(
                    decision.id,
                    HitPolicy.ANY,
                    [first.rule.title, other.rule.title],
                    f"both match {inputs_text} but give different outputs: "
                    f"{key}={render(value)} vs {key}={render(other.outputs[key])}",
                )


def _priority_key(decision: Decision, hit: Hit) -> tuple[int, ...]:
    key: list[int] = []
    for clause in decision.table.outputs:
        if not clause.values:
            continue
        value = hit.outputs[decision.output_key(clause)]
        rank = next((i for i, allowed in enumerate(clause.values) if feel_equal(value, allowed)), None)
        if rank is None:
            raise DecisionEvaluationError(
                f"decision '{decision.id}', {hit.rule.title}, {clause.title}: {render(value)} is not among its "
                f"outputValues, so it has no priority"
            )
        key.append(rank)
    return tuple(key)


def _by_priority(decision: Decision, hits: list[Hit]) -> list[Hit]:
    # sorted() is stable: equal priorities keep rule order.
    return sorted(hits, key=lambda h: _priority_key(decision, h))


def _aggregate(decision: Decision, hits: list[Hit]) -> Any:
    aggregation = decision.table.aggregation
    key = decision.output_key(decision.table.outputs[0])
    if aggregation is Aggregation.COUNT:
        return Decimal(len(hits))
    if not hits:
        return None  # FEEL: sum([]), min([]) and max([]) are null
    values = [h.outputs[key] for h in hits]
    for hit, value in zip(hits, values, strict=True):
        if aggregation is Aggregation.SUM and kind(value) != "number":
            raise DecisionEvaluationError(
                f"decision '{decision.id}': COLLECT SUM needs numbers, {hit.rule.title} gives {kind(value)} {render(value)}"
            )
    if aggregation is Aggregation.SUM:
        return sum(values, Decimal(0))
    best, best_hit = values[0], hits[0]
    for hit, value in zip(hits[1:], values[1:], strict=True):
        order = feel_compare(value, best)
        if order is None:
            raise DecisionEvaluationError(
                f"decision '{decision.id}': COLLECT {aggregation} cannot compare {render(value)} ({hit.rule.title}) "
                f"with {render(best)} ({best_hit.rule.title})"
            )
        if (aggregation is Aggregation.MIN and order < 0) or (aggregation is Aggregation.MAX and order > 0):
            best, best_hit = value, hit
    return best
