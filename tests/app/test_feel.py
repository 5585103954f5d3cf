"""FEEL unary tests: every form the decision tables use, against values of each FEEL type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flowmaster.rules.feel_parser import FeelSyntaxError, parse_expression, parse_unary_tests
from flowmaster.rules.feel_types import (
    FeelValueError,
    YearsMonthsDuration,
    coerce,
    feel_compare,
    parse_duration,
    to_feel,
    to_json,
)


def check(test: str, value, context=None) -> bool | None:
    return parse_unary_tests(test).test(to_feel(value), to_feel(context or {}))


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("-", 5, True),
        ("-", None, True),
        ("", "anything", True),
        ("5", 5, True),
        ("5", 5.0, True),
        ("5", 6, False),
        ("-5", -5, True),
        ("-2.5", -2.5, True),
        (".5", 0.5, True),
        ('"gold"', "gold", True),
        ('"gold"', "Gold", False),
        ("true", True, True),
        ("false", True, False),
        ("< 10", 9, True),
        ("< 10", 10, False),
        ("<= 10", 10, True),
        ("> 10", 10, False),
        (">= 10", 10, True),
        ("= 10", 10, True),
        ("!= 10", 10, False),
        ("!= 10", 11, True),
        ('< "m"', "apple", True),
        ("null", None, True),
        ("null", 0, False),
        ("= null", None, True),
    ],
)
def test_literals_and_comparisons(test: str, value, expected: bool) -> None:
    assert check(test, value) is expected


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("[1..10]", 1, True),
        ("[1..10]", 10, True),
        ("[1..10]", 10.5, False),
        ("(1..10)", 1, False),
        ("(1..10)", 10, False),
        ("(1..10)", 5, True),
        ("]1..10[", 1, False),
        ("]1..10[", 10, False),
        ("]1..10[", 1.0001, True),
        ("[1..10[", 1, True),
        ("[1..10[", 10, False),
        ("]1..10]", 10, True),
        ("[-5..-1]", -3, True),
        ('["a".."c"]', "b", True),
    ],
)
def test_ranges_open_and_closed_ends(test: str, value, expected: bool) -> None:
    assert check(test, value) is expected


def test_lists_and_negation() -> None:
    assert check('"gold","platinum"', "gold") is True
    assert check('"gold","platinum"', "silver") is False
    assert check("< 0, > 100", 150) is True
    assert check("< 0, [10..20], > 100", 15) is True
    assert check("< 0, [10..20], > 100", 50) is False
    assert check('not("gold","platinum")', "silver") is True
    assert check('not("gold","platinum")', "gold") is False
    assert check("not([1..5])", 7) is True
    assert check("not(null)", None) is False
    assert check("not(null)", 3) is True


def test_dates() -> None:
    assert check('date("2024-01-01")', dt.date(2024, 1, 1)) is True
    assert check('< date("2024-01-01")', dt.date(2023, 12, 31)) is True
    assert check('[date("2024-01-01")..date("2024-01-31")]', dt.date(2024, 1, 31)) is True
    assert check('[date("2024-01-01")..date("2024-01-31")[', dt.date(2024, 1, 31)) is False
    # An ISO string only becomes a date through the input's typeRef; a bare string is not comparable.
    assert check('< date("2024-01-01")', "2023-01-01") is None
    assert check('< date("2024-01-01")', coerce("2023-01-01", "date")) is True
    assert check('>= date and time("2024-01-01T08:00:00")', dt.datetime(2024, 1, 1, 9)) is True
    assert check('< time("12:00:00")', dt.time(11, 59)) is True


def test_durations() -> None:
    assert check('duration("P1D")', dt.timedelta(days=1)) is True
    assert check('duration("P1D")', dt.timedelta(hours=24)) is True
    assert check('< duration("P1D")', coerce("PT23H", "dayTimeDuration")) is True
    assert check('[duration("PT1H")..duration("P2D")]', coerce("P1DT12H", "duration")) is True
    assert check('> duration("P1Y")', coerce("P1Y1M", "yearMonthDuration")) is True
    assert check('= duration("P12M")', YearsMonthsDuration(12)) is True
    # Years/months and days/time durations are different FEEL types: no order between them.
    assert check('< duration("P1M")', dt.timedelta(days=3)) is None


def test_incomparable_values_give_null_not_a_match() -> None:
    assert check("< 10", "abc") is None
    assert check("< 10", None) is None
    assert check('"10"', 10) is None
    assert check("[1..10]", None) is None
    assert check("< 10, > 20", None) is None


def test_names_and_paths_read_the_context() -> None:
    context = {"limit": 100, "customer": {"maxOrder": 50}}
    assert check("< limit", 99, context) is True
    assert check("<= customer.maxOrder", 51, context) is False
    assert check("[0..limit]", 100, context) is True
    assert check("< missing", 1, context) is None


def test_string_escapes() -> None:
    assert check(r'"say \"hi\""', 'say "hi"') is True
    assert check(r'"a\\b"', "a\\b") is True
    assert check(r'"\u00e9"', "é") is True


@pytest.mark.parametrize(
    ("text", "fragment", "column"),
    [
        ("[1..10", "expected ']', ')' or '[' to close the range", 7),
        ("[1 10]", "expected '..' between the ends of a range", 4),
        ("<", "expected a value", 2),
        ("not(1, 2", "expected ')' to close not(", 9),
        ("1 2", "expected ',' or end of the test", 3),
        ('"open', "unterminated string", 1),
        ('date("2024-13-01")', "not a date", 6),
        ('duration("1D")', "not an ISO 8601 duration", 10),
        ("? > 3", "unexpected character '?'", 1),
        ("foo(1)", "function foo(...) is not supported", 4),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, fragment: str, column: int) -> None:
    with pytest.raises(FeelSyntaxError) as err:
        parse_unary_tests(text)
    assert fragment in str(err.value)
    assert err.value.position + 1 == column
    assert repr(text) in str(err.value)


def test_expressions_for_outputs() -> None:
    assert parse_expression('"auto"').evaluate({}) == "auto"
    assert parse_expression("7.5").evaluate({}) == Decimal("7.5")
    assert parse_expression("").evaluate({}) is None
    assert parse_expression("null").evaluate({}) is None
    assert parse_expression('date("2024-02-29")').evaluate({}) == dt.date(2024, 2, 29)
    assert parse_expression("order.total").evaluate({"order": {"total": Decimal(3)}}) == Decimal(3)
    with pytest.raises(FeelSyntaxError):
        parse_expression("< 5")


def test_duration_parsing_and_printing() -> None:
    assert parse_duration("P1DT2H3M4.5S") == dt.timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert parse_duration("-PT1H") == -dt.timedelta(hours=1)
    assert parse_duration("P2W") == dt.timedelta(days=14)
    assert parse_duration("P1Y2M") == YearsMonthsDuration(14)
    assert to_json(parse_duration("P1DT2H3M4.5S")) == "P1DT2H3M4.5S"
    assert to_json(parse_duration("-PT90M")) == "-PT1H30M"
    assert to_json(dt.timedelta(0)) == "PT0S"
    assert to_json(YearsMonthsDuration(14)) == "P1Y2M"
    assert to_json(YearsMonthsDuration(-3)) == "-P3M"
    for bad in ("P", "PT", "1D", "P1Y1D", "P1.5D"):
        with pytest.raises(FeelValueError):
            parse_duration(bad)


def test_values_and_json() -> None:
    assert to_feel(True) is True  # a bool is not a number
    assert to_feel(0.1) + to_feel(0.2) == Decimal("0.3")
    assert to_json(Decimal("10.0")) == 10 and isinstance(to_json(Decimal("10.0")), int)
    assert to_json(Decimal("2.5")) == 2.5
    assert to_json({"d": dt.date(2024, 1, 2), "l": [Decimal(1)]}) == {"d": "2024-01-02", "l": [1]}
    assert feel_compare(True, False) is None
    with pytest.raises(FeelValueError, match="not a number"):
        coerce("12a", "number")
    with pytest.raises(FeelValueError, match="expected a number"):
        coerce(True, "number")
    assert coerce("12.5", "number") == Decimal("12.5")
