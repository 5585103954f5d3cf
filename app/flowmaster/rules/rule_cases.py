"""Stored test cases for decision tables, and the runner that checks them.

A case file is JSON, kept next to the .dmn (FILE.tests.json by convention):

    {
      "decision": "approvalLevel",               # default for every case (optional)
      "cases": [
        {"name": "small order", "inputs": {"amount": 100}, "expected": "auto"},
        {"name": "overlap", "decision": "other", "inputs": {"x": 1}, "expected_error": "UNIQUE"}
      ]
    }

`expected` is compared with the decision's JSON result (the "result" that `flowmaster decide`
prints); `expected_error` is a piece of text the error message must contain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DmnError
from .evaluate import evaluate_decision
from .model import DecisionModel

_MISSING = object()


class CaseFileError(ValueError):
    """A test case file that does not have the documented shape."""


@dataclass(frozen=True)
class RuleCase:
    name: str
    decision: str | None
    inputs: dict[str, Any]
    expected: Any = _MISSING
    expected_error: str | None = None


@dataclass(frozen=True)
class CaseOutcome:
    case: RuleCase
    passed: bool
    actual: Any = None
    error: str | None = None

    @property
    def message(self) -> str:
        if self.passed:
            return f"PASS {self.case.name}"
        if self.case.expected_error is not None:
            got = f"error: {self.error}" if self.error else f"result {json.dumps(self.actual)}"
            return f"FAIL {self.case.name}: expected an error containing {self.case.expected_error!r}, got {got}"
        if self.error is not None:
            return f"FAIL {self.case.name}: expected {json.dumps(self.case.expected)}, got error: {self.error}"
        return f"FAIL {self.case.name}: expected {json.dumps(self.case.expected)}, got {json.dumps(self.actual)}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.case.name, "passed": self.passed, "actual": self.actual, "error": self.error}


def parse_cases(document: Mapping[str, Any]) -> list[RuleCase]:
    if not isinstance(document, Mapping) or not isinstance(document.get("cases"), list):
        raise CaseFileError('a case file is an object with a "cases" list')
    default_decision = document.get("decision")
    cases: list[RuleCase] = []
    for i, raw in enumerate(document["cases"], start=1):
        if not isinstance(raw, Mapping):
            raise CaseFileError(f"case {i}: expected an object")
        name = str(raw.get("name") or f"case {i}")
        if not isinstance(raw.get("inputs", {}), Mapping):
            raise CaseFileError(f'case {name!r}: "inputs" must be an object')
        has_expected = "expected" in raw
        if has_expected == ("expected_error" in raw):
            raise CaseFileError(f'case {name!r}: give exactly one of "expected" and "expected_error"')
        cases.append(
            RuleCase(
                name=name,
                decision=raw.get("decision", default_decision),
                inputs=dict(raw.get("inputs", {})),
                expected=raw["expected"] if has_expected else _MISSING,
                expected_error=raw.get("expected_error"),
            )
        )
    return cases


def load_cases(path: str | Path) -> list[RuleCase]:
    try:
        document = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise CaseFileError(f"{path}: not valid JSON: {exc}") from exc
    try:
        return parse_cases(document)
    except CaseFileError as exc:
        raise CaseFileError(f"{path}: {exc}") from exc


def _same(expected: Any, actual: Any) -> bool:
    # JSON numbers: 1 and 1.0 are the same number; bools are not numbers.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(v, actual[k]) for k, v in expected.items())
    return expected == actual


def run_case(model: DecisionModel, case: RuleCase) -> CaseOutcome:
    try:
        actual = evaluate_decision(model, case.decision, case.inputs).to_json()["result"]
    except DmnError as exc:
        passed = case.expected_error is not None and case.expected_error in str(exc)
        return CaseOutcome(case, passed, error=str(exc))
    if case.expected_error is not None:
        return CaseOutcome(case, False, actual=actual)
    return CaseOutcome(case, _same(case.expected, actual), actual=actual)


def run_cases(model: DecisionModel, cases: list[RuleCase]) -> list[CaseOutcome]:
    return [run_case(model, case) for case in cases]


def default_case_file(dmn_path: str | Path) -> Path:
    """FILE.dmn -> FILE.tests.json."""
    path = Path(dmn_path)
    return path.with_name(path.stem + ".tests.json")
