"""Sizes and durations: written for people in the spec, plain integers downstream."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from fmctl.units import Duration, Size, format_size, parse_duration, parse_size

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(("text", "size"), [
    ("4GiB", 4 * GiB),
    ("512MiB", 512 * MiB),
    ("64KiB", 64 * KiB),
    ("2TiB", 2 * TiB),
    ("1GB", 10**9),  # decimal units are decimal
    ("500MB", 500 * 10**6),
    ("1.5GiB", 3 * GiB // 2),
    ("4 GiB", 4 * GiB),
    ("4gib", 4 * GiB),
    ("100B", 100),
    ("100", 100),
    (2048, 2048),  # integers are bytes (the JSON dump reads back)
    (0, 0),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(("value", "phrase"), [
    ("4 gigs", "is not a size"),
    ("4G", "is not a size"),  # ambiguous: say GiB or GB
    ("GiB", "is not a size"),
    ("-1GiB", "is not a size"),
    (-5, "cannot be negative"),
    (True, "a size is a string"),
    (None, "a size is a string"),
    (4.5, "a size is a string"),
])
def test_bad_sizes_say_why(value, phrase):
    with pytest.raises(ValueError, match=phrase):
        parse_size(value)


@pytest.mark.parametrize(("text", "ms"), [
    ("500ms", 500),
    ("30s", 30_000),
    ("5m", 300_000),
    ("12h", 43_200_000),
    ("7d", 604_800_000),
    ("2w", 1_209_600_000),
    (" 15s ", 15_000),
])
def test_parse_duration(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize(("value", "phrase"), [
    (2000, "has no unit"),  # never guess seconds or milliseconds
    ("1.5h", "is not a duration"),
    ("7 days", "is not a duration"),
    ("10", "is not a duration"),
    ("5M", "is not a duration"),  # months? minutes? units are lower case
    (True, "a duration is a string"),
    (None, "a duration is a string"),
])
def test_bad_durations_say_why(value, phrase):
    with pytest.raises(ValueError, match=phrase):
        parse_duration(value)


@pytest.mark.parametrize(("n", "text"), [
    (4 * GiB, "4GiB"), (512 * MiB, "512MiB"), (3 * TiB, "3TiB"), (KiB, "1KiB"),
    (1536, "1536B"), (10**9, "1000000000B"), (0, "0B"), (1536 * MiB, "1536MiB"),
])
def test_format_size(n, text):
    assert format_size(n) == text
    assert parse_size(text) == n  # what it prints reads back


class _Model(BaseModel):
    size: Size
    wait: Duration


def test_model_fields_hold_integers_and_dump_them():
    m = _Model(size="256MiB", wait="2s")
    assert (m.size, m.wait) == (256 * MiB, 2000)
    assert m.model_dump(mode="json") == {"size": 256 * MiB, "wait": 2000}


def test_model_error_names_the_field():
    with pytest.raises(ValidationError) as info:
        _Model(size="lots", wait="soon")
    errors = {e["loc"][0]: e["msg"] for e in info.value.errors()}
    assert "'lots' is not a size" in errors["size"]
    assert "'soon' is not a duration" in errors["wait"]


def test_json_schema_documents_the_written_form():
    props = _Model.model_json_schema()["properties"]
    assert props["size"]["type"] == props["wait"]["type"] == "string"
    assert "GiB" not in props["wait"]["pattern"] and "ms" in props["wait"]["pattern"]
