"""Errors of the rules engine; each message names where the problem is."""

from __future__ import annotations


class DmnError(Exception):
    """Base class: a decision model that cannot be read or evaluated."""


class DmnDefinitionError(DmnError):
    """The .dmn file is malformed, or uses something this engine does not support."""


class DecisionNotFound(DmnError, LookupError):
    """No decision with the requested id or name."""


class FeelError(DmnDefinitionError):
    """Bad FEEL in a table cell: names the decision, rule, column and the text."""

    def __init__(self, *, decision: str, where: str, text: str, reason: str) -> None:
        self.decision = decision
        self.where = where
        self.text = text
        self.reason = reason
        super().__init__(f"decision '{decision}', {where}: bad FEEL {text!r}: {reason}")


class DecisionEvaluationError(DmnError):
    """Evaluation failed for the given inputs (bad input value, aggregation of non-numbers...)."""


class HitPolicyViolation(DecisionEvaluationError):
    """More than one rule matched under UNIQUE, or matches disagreed under ANY."""

    def __init__(self, decision: str, hit_policy: str, rules: list[str], detail: str) -> None:
        self.decision = decision
        self.hit_policy = hit_policy
        self.rules = rules
        super().__init__(f"decision '{decision}': hit policy {hit_policy} violated by rules {', '.join(rules)}: {detail}")
