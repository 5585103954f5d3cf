"""The parsed form of FEEL unary tests and simple expressions, and how they evaluate.

A unary test is checked against one input value and answers True, False or None (FEEL null,
e.g. `< 5` against a string); a rule matches only where every test answers True.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .feel_types import feel_compare, feel_equal, render

Context = Mapping[str, Any]


# Expressions (endpoints, input expressions, output entries) ---------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any

    def evaluate(self, context: Context) -> Any:
        return self.value

    def __str__(self) -> str:
        return render(self.value)


@dataclass(frozen=True)
class Path:
    """A name, or a dotted path into a context (`applicant.age`); unknown names are null."""

    parts: tuple[str, ...]

    def evaluate(self, context: Context) -> Any:
        value: Any = context
        for part in self.parts:
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return value

    def __str__(self) -> str:
        return ".".join(self.parts)


Expression = Literal | Path


# Unary tests ---------------------------------------------------------------------------------


def _and(values: list[bool | None]) -> bool | None:
    if False in values:
        return False
    return None if None in values else True


def _or(values: list[bool | None]) -> bool | None:
    if True in values:
        return True
    return None if None in values else False


@dataclass(frozen=True)
class AnyValue:
    """`-`: matches every input, null included."""

    def test(self, value: Any, context: Context) -> bool | None:
        return True

    def __str__(self) -> str:
        return "-"


_COMPARATORS = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


@dataclass(frozen=True)
class Comparison:
    """`< 10`, `>= date("2024-01-01")`, `= "gold"`, `!= 3`, or a bare endpoint (equality)."""

    operator: str
    endpoint: Expression

    def test(self, value: Any, context: Context) -> bool | None:
        other = self.endpoint.evaluate(context)
        if self.operator == "=":
            return feel_equal(value, other)
        if self.operator == "!=":
            equal = feel_equal(value, other)
            return None if equal is None else not equal
        order = feel_compare(value, other)
        return None if order is None else _COMPARATORS[self.operator](order)

    def __str__(self) -> str:
        return f"{self.operator} {self.endpoint}" if self.operator != "=" else str(self.endpoint)


@dataclass(frozen=True)
class Interval:
    """`[1..10]`, `(1..10)`, `]1..10[`, `[1..10[`: closed ends include the endpoint."""

    low: Expression
    low_closed: bool
    high: Expression
    high_closed: bool

    def test(self, value: Any, context: Context) -> bool | None:
        above = feel_compare(value, self.low.evaluate(context))
        below = feel_compare(value, self.high.evaluate(context))
        if above is None or below is None:
            return None
        return (above >= 0 if self.low_closed else above > 0) and (below <= 0 if self.high_closed else below < 0)

    def __str__(self) -> str:
        return f"{'[' if self.low_closed else '('}{self.low}..{self.high}{']' if self.high_closed else ')'}"


@dataclass(frozen=True)
class AnyOf:
    """`a, b, c`: matches where any alternative matches."""

    tests: tuple[UnaryTest, ...]

    def test(self, value: Any, context: Context) -> bool | None:
        return _or([t.test(value, context) for t in self.tests])

    def __str__(self) -> str:
        return ", ".join(str(t) for t in self.tests)


@dataclass(frozen=True)
class Not:
    """`not(a, b)`: matches where no alternative matches (null stays null)."""

    inner: AnyOf

    def test(self, value: Any, context: Context) -> bool | None:
        result = self.inner.test(value, context)
        return None if result is None else not result

    def __str__(self) -> str:
        return f"not({self.inner})"


UnaryTest = AnyValue | Comparison | Interval | AnyOf | Not


def all_true(results: list[bool | None]) -> bool:
    """A rule matches only where every input entry answers True (null does not match)."""
    return _and(results) is True
