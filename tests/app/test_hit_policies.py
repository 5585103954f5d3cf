"""The seven hit policies and the COLLECT aggregators, with the standard's semantics."""

from __future__ import annotations

import pytest
from flowmaster.rules import (
    DecisionEvaluationError,
    DmnDefinitionError,
    HitPolicyViolation,
    evaluate_decision,
    parse_dmn,
)

from .dmn_builder import table


def decide(xml: str, **inputs):
    return evaluate_decision(parse_dmn(xml), None, inputs)


# Overlapping rules on one number input: x=5 matches r1 (< 10), r2 ([0..5]) and r4 (-).
OVERLAP = [
    (["< 10"], ['"low"']),
    (["[0..5]"], ['"mid"']),
    (["> 100"], ['"high"']),
    (["-"], ['"any"']),
]
LEVELS = '"high","mid","low","any"'


def test_unique_single_match() -> None:
    xml = table("UNIQUE", rules=[(["< 10"], ['"low"']), (["[10..20]"], ['"mid"'])])
    result = decide(xml, x=15)
    assert result.value == "mid"
    assert result.to_json()["selectedRules"] == ["r2"]


def test_unique_no_match_is_null() -> None:
    xml = table("UNIQUE", rules=[(["< 10"], ['"low"'])])
    assert decide(xml, x=50).value is None


def test_unique_violation_names_the_rules() -> None:
    with pytest.raises(HitPolicyViolation) as err:
        decide(table("UNIQUE", rules=OVERLAP), x=5)
    message = str(err.value)
    assert "hit policy UNIQUE" in message
    assert "rule 1 (r1), rule 2 (r2), rule 4 (r4)" in message
    assert "x=5" in message
    assert err.value.rules == ["rule 1 (r1)", "rule 2 (r2)", "rule 4 (r4)"]


def test_any_with_equal_outputs() -> None:
    xml = table("ANY", rules=[(["< 10"], ['"low"']), (["[0..5]"], ['"low"']), (["> 100"], ['"high"'])])
    result = decide(xml, x=3)
    assert result.value == "low"
    assert list(result.matched_rules) == ["r1", "r2"]


def test_any_with_different_outputs_is_an_error() -> None:
    with pytest.raises(HitPolicyViolation) as err:
        decide(table("ANY", rules=OVERLAP), x=5)
    assert "hit policy ANY" in str(err.value)
    assert "rule 1 (r1), rule 2 (r2)" in str(err.value)
    assert 'y="low" vs y="mid"' in str(err.value)


def test_first_takes_rule_order() -> None:
    assert decide(table("FIRST", rules=OVERLAP), x=5).value == "low"
    assert decide(table("FIRST", rules=OVERLAP), x=500).value == "high"


def test_priority_follows_output_values_not_rule_order() -> None:
    xml = table("PRIORITY", outputs=[("y", "string", '"any","mid","low","high"')], rules=OVERLAP)
    result = decide(xml, x=5)
    assert result.value == "any"
    assert result.to_json()["selectedRules"] == ["r4"]
    xml = table("PRIORITY", outputs=[("y", "string", LEVELS)], rules=OVERLAP)
    assert decide(xml, x=5).value == "mid"


def test_priority_with_compound_outputs_compares_left_to_right() -> None:
    xml = table(
        "PRIORITY",
        outputs=[("decision", "string", '"REJECT","ACCEPT"'), ("offer", "string", '"premium","basic"')],
        rules=[
            (["> 0"], ['"ACCEPT"', '"basic"']),
            (["> 5"], ['"ACCEPT"', '"premium"']),
            (["> 50"], ['"REJECT"', '"basic"']),
        ],
    )
    assert decide(xml, x=10).value == {"decision": "ACCEPT", "offer": "premium"}
    assert decide(xml, x=60).value == {"decision": "REJECT", "offer": "basic"}


def test_priority_ties_keep_rule_order() -> None:
    xml = table(
        "PRIORITY",
        outputs=[("level", "string", '"hi","lo"'), ("note", "string", None)],
        rules=[(["> 0"], ['"lo"', '"a"']), (["> 1"], ['"hi"', '"b"']), (["> 2"], ['"hi"', '"c"'])],
    )
    assert decide(xml, x=3).value == {"level": "hi", "note": "b"}


def test_rule_order_returns_all_in_rule_order() -> None:
    result = decide(table("RULE ORDER", rules=OVERLAP), x=5)
    assert result.value == ["low", "mid", "any"]
    assert decide(table("RULE ORDER", rules=OVERLAP), x=50).value == ["any"]


def test_output_order_sorts_by_output_priority() -> None:
    xml = table("OUTPUT ORDER", outputs=[("y", "string", '"any","mid","high","low"')], rules=OVERLAP)
    assert decide(xml, x=5).value == ["any", "mid", "low"]


def test_collect_without_aggregator_lists_all() -> None:
    assert decide(table("COLLECT", rules=OVERLAP), x=5).value == ["low", "mid", "any"]
    assert decide(table("COLLECT", rules=OVERLAP), x=-1).value == ["low", "any"]


def test_multi_output_multi_hit_gives_contexts() -> None:
    xml = table(
        "RULE ORDER",
        outputs=[("code", "string", None), ("weight", "number", None)],
        rules=[(["> 0"], ['"a"', "1"]), (["> 1"], ['"b"', "2"])],
    )
    assert decide(xml, x=2).to_json()["result"] == [{"code": "a", "weight": 1}, {"code": "b", "weight": 2}]


POINTS = [(["> 0"], ["10"]), (["> 5"], ["2.5"]), (["> 6"], ["10"]), (["< 0"], ["-1"])]


@pytest.mark.parametrize(
    ("aggregation", "x", "expected"),
    [
        ("SUM", 7, 22.5),  # DMN 1.3 uses FEEL sum(): duplicates count
        ("SUM", 3, 10),
        ("SUM", 0, None),  # sum([]) is null
        ("COUNT", 7, 3),  # count(): every hit, not distinct values
        ("COUNT", 0, 0),
        ("MIN", 7, 2.5),
        ("MIN", 0, None),
        ("MAX", 7, 10),
        ("MAX", -3, -1),
    ],
)
def test_collect_aggregators(aggregation: str, x: int, expected) -> None:
    xml = table("COLLECT", outputs=[("points", "number", None)], rules=POINTS, aggregation=aggregation)
    assert decide(xml, x=x).to_json()["result"] == expected


def test_sum_is_exact_decimal() -> None:
    xml = table("COLLECT", outputs=[("p", "number", None)], rules=[(["-"], ["0.1"]), (["-"], ["0.2"])], aggregation="SUM")
    assert decide(xml, x=1).to_json()["result"] == 0.3


def test_min_max_work_on_dates_too() -> None:
    xml = table(
        "COLLECT",
        outputs=[("due", "date", None)],
        rules=[(["-"], ['date("2024-03-01")']), (["> 1"], ['date("2024-02-01")'])],
        aggregation="MIN",
    )
    assert decide(xml, x=2).to_json()["result"] == "2024-02-01"


def test_sum_of_strings_is_an_error_naming_the_rule() -> None:
    xml = table("COLLECT", outputs=[("p", "string", None)], rules=[(["-"], ['"a"'])], aggregation="SUM")
    with pytest.raises(DecisionEvaluationError, match=r"COLLECT SUM needs numbers, rule 1 \(r1\) gives string"):
        decide(xml, x=1)


def test_max_of_mixed_types_is_an_error() -> None:
    xml = table("COLLECT", outputs=[("p", "string", None)], rules=[(["-"], ['"a"']), (["-"], ["1"])], aggregation="MAX")
    with pytest.raises(DecisionEvaluationError, match="cannot compare"):
        decide(xml, x=1)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"hit_policy": "PRIORITY"}, "orders by output values"),
        ({"hit_policy": "OUTPUT ORDER"}, "orders by output values"),
        ({"hit_policy": "FIRST", "aggregation": "SUM"}, "only allowed with hit policy COLLECT"),
        (
            {
                "hit_policy": "COLLECT",
                "aggregation": "SUM",
                "outputs": [("a", "number", None), ("b", "number", None)],
                "rules": [(["-"], ["1", "2"])],
            },
            "needs exactly one output",
        ),
        ({"hit_policy": "SOMETIMES"}, "unknown hitPolicy 'SOMETIMES'"),
        ({"hit_policy": "COLLECT", "aggregation": "AVG"}, "unknown aggregation 'AVG'"),
    ],
)
def test_table_definition_errors(kwargs: dict, fragment: str) -> None:
    kwargs.setdefault("rules", [(["-"], ['"low"'])])
    with pytest.raises(DmnDefinitionError, match=fragment):
        parse_dmn(table(**kwargs))


def test_output_entry_must_be_among_output_values() -> None:
    xml = table("PRIORITY", outputs=[("y", "string", '"a","b"')], rules=[(["-"], ['"c"'])])
    with pytest.raises(DmnDefinitionError, match=r"rule 1 \(r1\), output 'y': \"c\" is not among its outputValues"):
        parse_dmn(xml)


def test_priority_of_a_computed_output_outside_the_list_is_an_error() -> None:
    xml = table(
        "PRIORITY",
        inputs=[("x", "string")],
        outputs=[("y", "string", '"a","b"')],
        rules=[(["-"], ["x"]), (["-"], ['"a"'])],
    )
    assert decide(xml, x="b").value == "a"
    with pytest.raises(DecisionEvaluationError, match="is not among its outputValues, so it has no priority"):
        decide(xml, x="zzz")
