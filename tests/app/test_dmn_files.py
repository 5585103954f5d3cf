"""Reading .dmn files, evaluating their decisions, stored test cases and the `flowmaster` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flowmaster.rules import (
    DecisionEvaluationError,
    DecisionNotFound,
    DmnDefinitionError,
    FeelError,
    evaluate_decision,
    load_cases,
    load_dmn_file,
    parse_cases,
    parse_dmn,
    run_cases,
)
from flowmaster.rules.rule_cases import CaseFileError

from .dmn_builder import EXAMPLES, decision, definitions, table

EXAMPLE_DMN = EXAMPLES / "order_approval.dmn"
FLOWMASTER = Path(sys.executable).with_name("flowmaster")


def test_example_file_validates_against_the_dmn13_schema() -> None:
    model = load_dmn_file(EXAMPLE_DMN, validate=True)
    assert set(model.decisions) == {"approvalLevel", "discount", "shippingPriority", "reviewChecks"}
    assert model.decision("Approval level").id == "approvalLevel"  # by name too


def test_schema_validation_rejects_a_broken_document() -> None:
    xml = table(rules=[(["-"], ['"a"'])]).replace('hitPolicy="UNIQUE"', 'hitPolicy="UNIQUE" colour="red"')
    parse_dmn(xml)  # the reader itself ignores unknown attributes
    with pytest.raises(DmnDefinitionError, match="does not validate against the DMN 1.3 schema"):
        parse_dmn(xml, validate=True)


def test_bad_feel_names_decision_rule_input_and_text() -> None:
    xml = table(inputs=[("amount", "number")], rules=[(["< 5"], ['"a"']), (["[1..10"], ['"b"'])])
    with pytest.raises(FeelError) as err:
        parse_dmn(xml)
    message = str(err.value)
    assert "decision 'd'" in message
    assert "rule 2 (r2), input 'amount'" in message
    assert "'[1..10'" in message
    assert "close the range" in message


def test_bad_output_feel_names_the_output() -> None:
    xml = table(rules=[(["-"], ['"unterminated'])])
    with pytest.raises(FeelError, match=r"rule 1 \(r1\), output 'y': bad FEEL"):
        parse_dmn(xml)


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        ("<definitions/>", "expected a DMN <definitions>"),
        ("<not-xml", "not well-formed XML"),
        (definitions(), "no <decision> elements"),
        (table(rules=[(["-", "-"], ['"a"'])]), r"rule 1 \(r1\): 2 input entries for 1 inputs"),
        (table(outputs=[]), "decision table has no <output>"),
        (definitions(decision(decision_id="a"), decision(decision_id="a")), "decision id 'a' appears twice"),
        (table(requires=["ghost"]), "requires unknown decision 'ghost'"),
    ],
)
def test_document_errors(xml: str, fragment: str) -> None:
    with pytest.raises(DmnDefinitionError, match=fragment):
        parse_dmn(xml)


def test_literal_expression_decisions_are_refused_clearly() -> None:
    xml = definitions(
        '<decision id="lit" name="lit"><literalExpression id="le"><text>1 + 1</text></literalExpression></decision>'
    )
    with pytest.raises(DmnDefinitionError, match="decision 'lit' has no <decisionTable> .*literalExpression"):
        parse_dmn(xml)


def test_unknown_decision() -> None:
    model = load_dmn_file(EXAMPLE_DMN)
    with pytest.raises(DecisionNotFound, match="no decision 'nope'.*approvalLevel"):
        model.decision("nope")
    with pytest.raises(DecisionNotFound, match="has 4 decisions; name one"):
        model.decision(None)


def test_typeref_coercion_errors_name_the_input() -> None:
    model = load_dmn_file(EXAMPLE_DMN)
    with pytest.raises(DecisionEvaluationError, match=r"input 'Order amount' \(typeRef number\): not a number: 'lots'"):
        evaluate_decision(model, "approvalLevel", {"amount": "lots", "customerTier": "gold"})
    with pytest.raises(DecisionEvaluationError, match="input 'Order date'.*not a date"):
        evaluate_decision(model, "shippingPriority", {"orderDate": "yesterday", "deliveryWindow": "P1D"})


def test_input_expression_paths_and_names_with_spaces() -> None:
    xml = table(
        inputs=[("order.total", "number"), ("Customer Age", "number")],
        rules=[(["> 100", ">= 18"], ['"ok"'])],
    )
    assert evaluate_decision(parse_dmn(xml), "d", {"order": {"total": 150}, "Customer Age": 30}).value == "ok"


def test_required_decisions_are_evaluated_first() -> None:
    base = decision("UNIQUE", rules=[(["< 10"], ['"small"']), ([">= 10"], ['"big"'])], decision_id="size")
    top = decision(
        "UNIQUE",
        inputs=[("size", "string")],
        outputs=[("route", "string", None)],
        rules=[(['"small"'], ['"fast lane"']), (['"big"'], ['"review"'])],
        decision_id="routing",
        requires=["size"],
    )
    model = parse_dmn(definitions(base, top))
    assert evaluate_decision(model, "routing", {"x": 3}).value == "fast lane"
    assert evaluate_decision(model, "routing", {"x": 30}).value == "review"


def test_cyclic_requirements_are_named() -> None:
    a = decision(decision_id="a", requires=["b"], rules=[(["-"], ['"x"'])])
    b = decision(decision_id="b", requires=["a"], rules=[(["-"], ['"x"'])])
    with pytest.raises(DmnDefinitionError, match="cycle: a -> b -> a"):
        evaluate_decision(parse_dmn(definitions(a, b)), "a", {"x": 1})


def test_process_variables_shape() -> None:
    model = load_dmn_file(EXAMPLE_DMN)
    single = evaluate_decision(model, "approvalLevel", {"amount": 50, "customerTier": "gold"})
    assert single.variables() == {"approvalLevel": "auto", "approversNeeded": 0}
    assert single.variables("approval") == {"approval": {"approvalLevel": "auto", "approversNeeded": 0}}
    summed = evaluate_decision(model, "discount", {"amount": 6000, "customerTier": "gold"})
    assert summed.variables() == {"discountPercent": 7.5}
    listed = evaluate_decision(model, "reviewChecks", {"amount": 20000, "country": "DE"})
    assert listed.variables() == {"reviewChecks": ["kyc"]}
    none = evaluate_decision(parse_dmn(table(rules=[(["< 0"], ['"neg"'])])), "d", {"x": 1})
    assert none.variables() == {"y": None}


def test_stored_cases_of_the_example_pass() -> None:
    outcomes = run_cases(load_dmn_file(EXAMPLE_DMN), load_cases(EXAMPLES / "order_approval.tests.json"))
    assert len(outcomes) >= 10
    assert [o.message for o in outcomes if not o.passed] == []


def test_failing_cases_are_reported_with_expected_and_actual() -> None:
    model = load_dmn_file(EXAMPLE_DMN)
    cases = parse_cases(
        {
            "decision": "approvalLevel",
            "cases": [
                {"name": "wrong", "inputs": {"amount": 1, "customerTier": "gold"}, "expected": {"approvalLevel": "board"}},
                {"name": "no error", "inputs": {"amount": 1, "customerTier": "gold"}, "expected_error": "UNIQUE"},
                {"name": "unexpected error", "inputs": {"amount": "x", "customerTier": "gold"}, "expected": 1},
                {
                    "name": "bool is not 1",
                    "decision": "discount",
                    "inputs": {"amount": 6000, "customerTier": "x"},
                    "expected": True,
                },
            ],
        }
    )
    outcomes = run_cases(model, cases)
    assert not any(o.passed for o in outcomes)
    assert 'expected {"approvalLevel": "board"}, got {"approvalLevel": "auto", "approversNeeded": 0}' in outcomes[0].message
    assert "expected an error containing 'UNIQUE', got result" in outcomes[1].message
    assert "got error: decision 'approvalLevel'" in outcomes[2].message
    assert outcomes[3].actual == 2.5


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({}, '"cases" list'),
        ({"cases": ["x"]}, "case 1: expected an object"),
        ({"cases": [{"name": "n", "inputs": {}}]}, "exactly one of"),
        ({"cases": [{"name": "n", "inputs": [], "expected": 1}]}, '"inputs" must be an object'),
    ],
)
def test_case_file_shape_errors(document: dict, fragment: str) -> None:
    with pytest.raises(CaseFileError, match=fragment):
        parse_cases(document)


# The console script, as a person runs it -----------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(FLOWMASTER), *args], capture_output=True, text=True, timeout=60)


def test_cli_decide_prints_json() -> None:
    inputs = json.dumps({"amount": 100, "customerTier": "gold"})
    proc = run_cli("decide", str(EXAMPLE_DMN), "--decision", "approvalLevel", "--input", inputs)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["result"] == {"approvalLevel": "auto", "approversNeeded": 0}
    assert out["hitPolicy"] == "UNIQUE"
    assert out["selectedRules"] == ["small"]


def test_cli_decide_input_from_file(tmp_path: Path) -> None:
    inputs = tmp_path / "in.json"
    inputs.write_text('{"amount": 7000, "customerTier": "platinum"}')
    proc = run_cli("decide", str(EXAMPLE_DMN), "-d", "discount", "-i", f"@{inputs}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == 10


def test_cli_hit_policy_violation_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    dmn = tmp_path / "overlap.dmn"
    dmn.write_text(table(rules=[(["< 10"], ['"a"']), (["[5..20]"], ['"b"'])]))
    proc = run_cli("decide", str(dmn), "--input", '{"x": 7}')
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "error: decision 'd': hit policy UNIQUE violated by rules rule 1 (r1), rule 2 (r2)" in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--input", "{bad"], "--input is not valid JSON"),
        (["--input", "[1]"], "must be a JSON object"),
        (["--decision", "nope"], "no decision 'nope'"),
        (["--input", "@/nonexistent/in.json"], "cannot read /nonexistent/in.json"),
    ],
)
def test_cli_decide_usage_errors(args: list[str], fragment: str) -> None:
    proc = run_cli("decide", str(EXAMPLE_DMN), *args)
    assert proc.returncode == 1
    assert fragment in proc.stderr


def test_cli_test_rules(tmp_path: Path) -> None:
    proc = run_cli("test-rules", str(EXAMPLE_DMN))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed" in proc.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"decision": "discount", "cases": [{"name": "off", "inputs": {"amount": 1}, "expected": 99}]}))
    proc = run_cli("test-rules", str(EXAMPLE_DMN), "--cases", str(bad), "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == [{"name": "off", "passed": False, "actual": None, "error": None}]
