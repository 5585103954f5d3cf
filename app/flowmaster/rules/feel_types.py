"""FEEL values in Python, and how they compare, convert and print.

FEEL number -> Decimal (exact: 0.1 + 0.2 = 0.3 in a SUM), string -> str, boolean -> bool,
null -> None, date -> datetime.date, date and time -> datetime.datetime, time -> datetime.time,
days and time duration -> datetime.timedelta, years and months duration -> YearsMonthsDuration.
Comparisons between values of different kinds give None (FEEL null), never an exception.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class FeelValueError(ValueError):
    """A value cannot be read as the FEEL type it is declared as."""


@dataclass(frozen=True, order=True)
class YearsMonthsDuration:
    """A FEEL years-and-months duration (P1Y2M), counted in months."""

    months: int

    def iso(self) -> str:
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        body = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return f"{sign}P{body}"


_DURATION = re.compile(
    r"^(?P<sign>-)?P(?!$)(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> dt.timedelta | YearsMonthsDuration:
    """ISO 8601 duration -> timedelta (days/time) or YearsMonthsDuration (years/months)."""
    m = _DURATION.match(text.strip())
    if not m:
        raise FeelValueError(f"not an ISO 8601 duration: {text!r} (expected e.g. P1D, PT2H, P1Y2M)")
    sign = -1 if m["sign"] else 1
    has_ym = m["y"] is not None or m["mo"] is not None
    has_dt = any(m[k] is not None for k in ("w", "d", "h", "mi", "s"))
    if has_ym and has_dt:
        raise FeelValueError(f"duration {text!r} mixes years/months with days/time; FEEL keeps the two kinds apart")
    if has_ym:
        return YearsMonthsDuration(sign * (int(m["y"] or 0) * 12 + int(m["mo"] or 0)))
    delta = dt.timedelta(
        weeks=int(m["w"] or 0),
        days=int(m["d"] or 0),
        hours=int(m["h"] or 0),
        minutes=int(m["mi"] or 0),
        seconds=float(m["s"] or 0),
    )
    return delta if sign > 0 else -delta


def format_timedelta(delta: dt.timedelta) -> str:
    """timedelta -> ISO 8601 days-and-time duration (P1DT2H3M4S)."""
    sign = "-" if delta < dt.timedelta(0) else ""
    delta = abs(delta)
    days = delta.days
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = ""
    if delta.microseconds:
        secs = f"{seconds}.{delta.microseconds:06d}".rstrip("0") + "S"
    elif seconds:
        secs = f"{seconds}S"
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + secs
    if not days and not time_part:
        return "PT0S"
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise FeelValueError(f"not a date: {text!r} (expected YYYY-MM-DD)") from exc


def parse_datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise FeelValueError(f"not a date and time: {text!r} (expected YYYY-MM-DDThh:mm:ss)") from exc


def parse_time(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError as exc:
        raise FeelValueError(f"not a time: {text!r} (expected hh:mm:ss)") from exc


def kind(value: Any) -> str:
    """The FEEL type name of a Python value (datetime before date: it is a subclass)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "date and time"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, dt.timedelta):
        return "days and time duration"
    if isinstance(value, YearsMonthsDuration):
        return "years and months duration"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "context"
    return type(value).__name__


def to_feel(value: Any) -> Any:
    """A JSON-ish Python value -> FEEL value (numbers become Decimal)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, Decimal | str | dt.date | dt.time | dt.timedelta | YearsMonthsDuration):
        return value
    if isinstance(value, list | tuple):
        return [to_feel(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_feel(v) for k, v in value.items()}
    raise FeelValueError(f"no FEEL equivalent for a {type(value).__name__} value: {value!r}")


# typeRef spellings seen in DMN 1.1-1.3 files written by common modelers.
_NUMBER_TYPES = {"number", "integer", "long", "double", "int", "decimal"}
_DT_DURATION_TYPES = {"dayTimeDuration", "days and time duration", "duration"}
_YM_DURATION_TYPES = {"yearMonthDuration", "years and months duration"}


def coerce(value: Any, type_ref: str | None) -> Any:
    """Read an input value as the declared typeRef (ISO strings -> dates, durations)."""
    value = to_feel(value)
    if value is None or not type_ref:
        return value
    if type_ref in _NUMBER_TYPES:
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation as exc:
                raise FeelValueError(f"not a number: {value!r}") from exc
        if not isinstance(value, Decimal):
            raise FeelValueError(f"expected a number, got {kind(value)} {value!r}")
        return value
    if not isinstance(value, str):
        return value
    if type_ref == "date":
        return parse_date(value)
    if type_ref in {"dateTime", "date and time"}:
        return parse_datetime(value)
    if type_ref == "time":
        return parse_time(value)
    if type_ref in _DT_DURATION_TYPES | _YM_DURATION_TYPES:
        return parse_duration(value)
    return value


def _comparable(a: Any, b: Any) -> bool:
    ka, kb = kind(a), kind(b)
    if ka != kb or ka in {"null", "list", "context"}:
        return False
    if ka in {"date and time", "time"}:
        # Aware and naive values have no order between them.
        return (a.tzinfo is None) == (b.tzinfo is None)
    return True


def feel_equal(a: Any, b: Any) -> bool | None:
    """FEEL `=`: null equals only null; different kinds -> null."""
    if a is None or b is None:
        return a is None and b is None
    if kind(a) != kind(b):
        return None
    if kind(a) == "list":
        if len(a) != len(b):
            return False
        results = [feel_equal(x, y) for x, y in zip(a, b, strict=True)]
        return None if None in results else all(results)
    if kind(a) in {"date and time", "time"} and not _comparable(a, b):
        return None
    return a == b


def feel_compare(a: Any, b: Any) -> int | None:
    """-1/0/1 for ordered values of one kind; None (FEEL null) otherwise."""
    if kind(a) == "boolean" or not _comparable(a, b):
        return None
    return (a > b) - (a < b)


def to_json(value: Any) -> Any:
    """FEEL value -> JSON-safe Python value (dates and durations as ISO strings)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return format_timedelta(value)
    if isinstance(value, YearsMonthsDuration):
        return value.iso()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    return value


def render(value: Any) -> str:
    """A FEEL value as FEEL source text, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Decimal):
        return str(to_json(value))
    if isinstance(value, dt.datetime):
        return f'date and time("{value.isoformat()}")'
    if isinstance(value, dt.date):
        return f'date("{value.isoformat()}")'
    if isinstance(value, dt.time):
        return f'time("{value.isoformat()}")'
    if isinstance(value, dt.timedelta | YearsMonthsDuration):
        return f'duration("{to_json(value)}")'
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return repr(value)
