"""Business rules: DMN 1.3 decision tables with FEEL unary tests and all seven hit policies."""

from .dmn_reader import load_dmn_file, parse_dmn
from .errors import (
    DecisionEvaluationError,
    DecisionNotFound,
    DmnDefinitionError,
    DmnError,
    FeelError,
    HitPolicyViolation,
)
from .evaluate import DecisionResult, evaluate_decision
from .model import Aggregation, Decision, DecisionModel, DecisionTable, HitPolicy
from .rule_cases import CaseOutcome, RuleCase, load_cases, parse_cases, run_cases

__all__ = [
    "Aggregation",
    "CaseOutcome",
    "Decision",
    "DecisionEvaluationError",
    "DecisionModel",
    "DecisionNotFound",
    "DecisionResult",
    "DecisionTable",
    "DmnDefinitionError",
    "DmnError",
    "FeelError",
    "HitPolicy",
    "HitPolicyViolation",
    "RuleCase",
    "evaluate_decision",
    "load_cases",
    "load_dmn_file",
    "parse_cases",
    "parse_dmn",
    "run_cases",
]
