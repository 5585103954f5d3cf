"""Decision models: what a .dmn file holds, with every FEEL cell already parsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import DecisionNotFound
from .feel_ast import Expression, UnaryTest


class HitPolicy(StrEnum):
    UNIQUE = "UNIQUE"
    ANY = "ANY"
    PRIORITY = "PRIORITY"
    FIRST = "FIRST"
    RULE_ORDER = "RULE ORDER"
    OUTPUT_ORDER = "OUTPUT ORDER"
    COLLECT = "COLLECT"

    @property
    def single_hit(self) -> bool:
        return self in {HitPolicy.UNIQUE, HitPolicy.ANY, HitPolicy.PRIORITY, HitPolicy.FIRST}


class Aggregation(StrEnum):
    SUM = "SUM"
    COUNT = "COUNT"
    MIN = "MIN"
    MAX = "MAX"


@dataclass(frozen=True)
class InputClause:
    id: str
    label: str
    text: str
    expression: Expression
    type_ref: str | None
    allowed: UnaryTest | None = None  # inputValues
    allowed_text: str | None = None

    @property
    def title(self) -> str:
        """How messages name the column."""
        return f"input '{self.label or self.text}'"


@dataclass(frozen=True)
class OutputClause:
    id: str
    label: str
    name: str
    type_ref: str | None
    values: tuple[Any, ...] | None = None  # outputValues, highest priority first
    default: Expression | None = None

    @property
    def title(self) -> str:
        return f"output '{self.name or self.label or self.id}'"


@dataclass(frozen=True)
class Rule:
    id: str
    index: int  # 1-based row number, as modelers show it
    input_entries: tuple[UnaryTest, ...]
    output_entries: tuple[Expression, ...]
    input_texts: tuple[str, ...] = ()
    output_texts: tuple[str, ...] = ()
    description: str = ""

    @property
    def title(self) -> str:
        return f"rule {self.index} ({self.id})"


@dataclass(frozen=True)
class DecisionTable:
    id: str
    hit_policy: HitPolicy
    aggregation: Aggregation | None
    inputs: tuple[InputClause, ...]
    outputs: tuple[OutputClause, ...]
    rules: tuple[Rule, ...]

    @property
    def policy_name(self) -> str:
        return f"{self.hit_policy} {self.aggregation}" if self.aggregation else str(self.hit_policy)


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    table: DecisionTable
    required: tuple[str, ...] = ()  # ids of required decisions (informationRequirement)

    def output_key(self, output: OutputClause) -> str:
        """The variable an output is stored under: its name, else label, else the decision's."""
        return output.name or output.label or (self.name if len(self.table.outputs) == 1 else output.id) or self.id


@dataclass(frozen=True)
class DecisionModel:
    """The decisions of one DMN `definitions` document."""

    id: str
    name: str
    namespace: str
    decisions: dict[str, Decision] = field(default_factory=dict)
    source: str | None = None

    def decision(self, ref: str | None = None) -> Decision:
        """By id, else by unique name; with no ref, the only decision of the file."""
        if ref is None:
            if len(self.decisions) == 1:
                return next(iter(self.decisions.values()))
            raise DecisionNotFound(f"{self._where()} has {len(self.decisions)} decisions; name one: {', '.join(self.decisions)}")
        if ref in self.decisions:
            return self.decisions[ref]
        by_name = [d for d in self.decisions.values() if d.name == ref]
        if len(by_name) == 1:
            return by_name[0]
        raise DecisionNotFound(f"no decision {ref!r} in {self._where()}; decisions: {', '.join(self.decisions) or 'none'}")

    def _where(self) -> str:
        return self.source or f"definitions '{self.id}'"
