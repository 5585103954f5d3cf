"""A small hand-written parser for the FEEL that decision tables use.

Grammar (a subset of DMN 1.3 FEEL, chapter 10.3.1):

    unary_tests   := "-" | "not" "(" positive_tests ")" | positive_tests
    positive_tests:= positive_test ("," positive_test)*
    positive_test := comparator endpoint | interval | endpoint
    comparator    := "<" | "<=" | ">" | ">=" | "=" | "!="
    interval      := ("[" | "(" | "]") endpoint ".." endpoint ("]" | ")" | "[")
    endpoint      := literal | path
    literal       := ["-"] number | string | "true" | "false" | "null"
                   | ("date" | "time" | "date and time" | "duration") "(" string ")"
    path          := name ("." name)*
    expression    := endpoint          (input expressions and output entries)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .feel_ast import AnyOf, AnyValue, Comparison, Expression, Interval, Literal, Not, Path, UnaryTest
from .feel_types import FeelValueError, parse_date, parse_datetime, parse_duration, parse_time


class FeelSyntaxError(ValueError):
    """FEEL text that does not parse; `position` is the 0-based column of the problem."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.reason = message
        self.text = text
        self.position = position
        super().__init__(f"{message} at column {position + 1} in {text!r}")


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, end
    text: str
    position: int


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.|<=|>=|!=|[<>=\-,()\[\].])
    """,
    re.VERBOSE,
)

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}


def _unescape(body: str, text: str, position: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise FeelSyntaxError(f"unknown escape \\{nxt} in string", text, position + i + 1)
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos] == '"':
                raise FeelSyntaxError("unterminated string", text, pos)
            raise FeelSyntaxError(f"unexpected character {text[pos]!r}", text, pos)
        if m.lastgroup != "space":
            tokens.append(Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


_TEMPORAL = {
    "date": parse_date,
    "time": parse_time,
    "date and time": parse_datetime,
    "duration": parse_duration,
}
_COMPARATOR_OPS = {"<", "<=", ">", ">=", "=", "!="}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.tok.kind == kind and (text is None or self.tok.text == text)

    def expect(self, kind: str, text: str | None = None, what: str | None = None) -> Token:
        if not self.at(kind, text):
            self.fail(f"expected {what or text or kind}")
        return self.advance()

    def fail(self, message: str) -> None:
        found = "end of text" if self.tok.kind == "end" else repr(self.tok.text)
        raise FeelSyntaxError(f"{message}, found {found}", self.text, self.tok.position)

    # grammar
    def unary_tests(self) -> UnaryTest:
        if self.at("op", "-") and self.peek().kind == "end":
            self.advance()
            return AnyValue()
        if self.at("name", "not") and self.peek().text == "(":
            self.advance()
            self.advance()
            inner = self.positive_tests()
            self.expect("op", ")", what="')' to close not(")
            self.expect("end", what="end of the test after not(...)")
            return Not(inner)
        tests = self.positive_tests()
        self.expect("end", what="',' or end of the test")
        return tests

    def positive_tests(self) -> AnyOf:
        tests = [self.positive_test()]
        while self.at("op", ","):
            self.advance()
            tests.append(self.positive_test())
        return AnyOf(tuple(tests))

    def positive_test(self) -> UnaryTest:
        if self.tok.kind == "op" and self.tok.text in _COMPARATOR_OPS:
            op = self.advance().text
            return Comparison(op, self.endpoint())
        if self.tok.kind == "op" and self.tok.text in {"[", "(", "]"}:
            return self.interval()
        return Comparison("=", self.endpoint())

    def interval(self) -> Interval:
        low_closed = self.advance().text == "["
        low = self.endpoint()
        self.expect("op", "..", what="'..' between the ends of a range")
        high = self.endpoint()
        if not (self.tok.kind == "op" and self.tok.text in {"]", ")", "["}):
            self.fail("expected ']', ')' or '[' to close the range")
        high_closed = self.advance().text == "]"
        return Interval(low, low_closed, high, high_closed)

    def endpoint(self) -> Expression:
        tok = self.tok
        if tok.kind == "op" and tok.text == "-" and self.peek().kind == "number":
            self.advance()
            return Literal(-Decimal(self.advance().text))
        if tok.kind == "number":
            self.advance()
            return Literal(Decimal(tok.text))
        if tok.kind == "string":
            self.advance()
            return Literal(_unescape(tok.text[1:-1], self.text, tok.position + 1))
        if tok.kind == "name":
            return self.name_or_literal()
        self.fail("expected a value (number, string, true/false, null, date(...), duration(...)) or a name")
        raise AssertionError  # unreachable: fail() raises

    def name_or_literal(self) -> Expression:
        word = self.tok.text
        if word in {"true", "false"}:
            self.advance()
            return Literal(word == "true")
        if word == "null":
            self.advance()
            return Literal(None)
        function = word
        if word == "date" and self.peek().text == "and" and self.peek(2).text == "time" and self.peek(3).text == "(":
            self.advance()
            self.advance()
            function = "date and time"
        if function in _TEMPORAL and self.peek().text == "(":
            self.advance()
            self.advance()
            arg = self.expect("string", what=f"a string argument to {function}(...)")
            self.expect("op", ")", what=f"')' to close {function}(...)")
            try:
                return Literal(_TEMPORAL[function](_unescape(arg.text[1:-1], self.text, arg.position + 1)))
            except FeelValueError as exc:
                raise FeelSyntaxError(str(exc), self.text, arg.position) from exc
        parts = [self.advance().text]
        while self.at("op", ".") and self.peek().kind == "name":
            self.advance()
            parts.append(self.advance().text)
        if self.at("op", "("):
            self.fail(f"function {'.'.join(parts)}(...) is not supported here")
        return Path(tuple(parts))

    def expression(self) -> Expression:
        expr = self.endpoint()
        self.expect("end", what="end of the expression")
        return expr


def parse_unary_tests(text: str | None) -> UnaryTest:
    """Parse an input entry; empty text means `-` (any value), as modelers write it."""
    if text is None or not text.strip():
        return AnyValue()
    return _Parser(text).unary_tests()


def parse_expression(text: str | None) -> Expression:
    """Parse an output entry or input expression; empty text is null."""
    if text is None or not text.strip():
        return Literal(None)
    return _Parser(text).expression()
