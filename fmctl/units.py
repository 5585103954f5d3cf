"""Sizes and durations as the spec writes them ("4GiB", "7d"), parsed once.

The spec keeps the human form; everything downstream (templates, roles,
stacks) gets plain integers: bytes for sizes, milliseconds for durations.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
_DURATION_UNITS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")


def parse_size(value: object) -> int:
    """Return bytes for 512MiB, 4GiB, 1GB (SI) or a plain integer of bytes."""
    if isinstance(value, bool):
        raise ValueError("a size is a string such as '512MiB' or '4GiB'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if not isinstance(value, str):
        raise ValueError("a size is a string such as '512MiB' or '4GiB'")
    match = _SIZE_RE.match(value)
    unit = match.group(2).upper() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise ValueError(
            f"'{value}' is not a size: use a number and one of "
            "B, KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal)"
        )
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def parse_duration(value: object) -> int:
    """Return milliseconds for 500ms, 30s, 5m, 12h, 7d, 2w."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("a duration is a string such as '30s' or '7d'")
    if isinstance(value, int):
        raise ValueError(f"{value} has no unit: write e.g. '{value}s' or '{value}ms'")
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(
            f"'{value}' is not a duration: use a whole number and one of ms, s, m, h, d, w"
        )
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def format_size(n: int) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        factor = _SIZE_UNITS[unit.upper()]
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


# Bytes / milliseconds after validation; the JSON dump keeps the integer so
# Jinja2 templates and Ansible need no unit parsing of their own.
Size = Annotated[
    int,
    BeforeValidator(parse_size),
    PlainSerializer(int, return_type=int),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?\s*([KMGT]i?B|B)?$"}),
]
Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(int, return_type=int),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(ms|s|m|h|d|w)$"}),
]
