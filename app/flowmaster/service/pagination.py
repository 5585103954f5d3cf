"""Cursor pagination for every list, with per-user preferences for page size and columns.

A list answers {"items", "next_cursor", "limit", "columns"}. The cursor is opaque: the last
sort key, the list's name and a fingerprint of its filters, signed with the service's secret
key (a cursor from another list or other filters is refused, naming query.cursor). Page size:
?limit=, else the user's saved preference for this list, else settings.page_size; never more
than settings.max_page_size. Columns likewise: ?columns=a,b, else the preference, else the
list's defaults; `id` is always included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import Session

from .errors import bad_request
from .models import UserPreference


@dataclass(frozen=True)
class ListSpec:
    name: str
    columns: tuple[str, ...]
    default: tuple[str, ...]


def _spec(name: str, columns: str, default: str | None = None) -> ListSpec:
    cols = tuple(columns.split())
    return ListSpec(name, cols, tuple(default.split()) if default else cols)


LISTS: dict[str, ListSpec] = {
    s.name: s
    for s in (
        _spec(
            "processes",
            "id key name legal_entity risk_class latest_version has_draft template_id created_by created_at updated_at",
            "id key name legal_entity risk_class latest_version has_draft updated_at",
        ),
        _spec(
            "versions",
            "id version digest published_by published_at based_on note approvals links",
            "id version digest published_by published_at based_on note",
        ),
        _spec("approvals", "id content_digest role approver comment used_by_version_id created_at"),
        _spec(
            "templates",
            "id name description process_key legal_entity created_by created_at",
            "id name description process_key legal_entity",
        ),
        _spec(
            "instances",
            "id process_id process_key version legal_entity status error user_tasks data started_by created_at "
            "updated_at completed_at",
            "id process_id process_key version status user_tasks started_by created_at updated_at",
        ),
        _spec("user_tasks", "id bpmn_id name lane process data", "id bpmn_id name lane process"),
        _spec(
            "log",
            "id seq timestamp instance process event task_id task_name task_type task_instance from_state to_state "
            "data_delta decision error actor data",
            "id seq timestamp event task_id task_type from_state to_state actor",
        ),
        _spec(
            "decisions",
            "id decision_id name hit_policy dmn_file inputs outputs rules required",
            "id decision_id name hit_policy dmn_file",
        ),
        _spec("legal_entities", "id name"),
        _spec("preferences", "id list_name page_size columns updated_at"),
    )
}


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int
    columns: list[str]


@dataclass(frozen=True)
class PageParams:
    limit: int | None
    cursor: str | None
    columns: str | None


def page_params(
    limit: Annotated[
        int | None, Query(ge=1, description="page size (default: your preference, else the service default)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=4096, description="next_cursor of the previous page")] = None,
    columns: Annotated[
        str | None, Query(max_length=1024, description="comma-separated columns (default: your preference)")
    ] = None,
) -> PageParams:
    return PageParams(limit, cursor, columns)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    def __init__(self, secret: str) -> None:
        self.key = hashlib.sha256(b"flowmaster-cursor:" + secret.encode()).digest()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest()[:16])

    def encode(self, list_name: str, filters: str, last: Any) -> str:
        body = _b64(json.dumps({"l": list_name, "f": filters, "k": last}, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def decode(self, list_name: str, filters: str, cursor: str) -> Any:
        body, _, sig = cursor.partition(".")
        if not body or not hmac.compare_digest(sig.encode(), self._sign(body).encode()):
            raise bad_request("query.cursor", "not a cursor this service issued (use next_cursor of the previous page)")
        data = json.loads(_unb64(body))
        if data.get("l") != list_name:
            raise bad_request("query.cursor", f"issued for the list '{data.get('l')}', not '{list_name}'")
        if data.get("f") != filters:
            raise bad_request("query.cursor", "issued for other filters; keep the filters of the first page")
        return data["k"]


@dataclass(frozen=True)
class Limits:
    default: int
    maximum: int


def _filters_fingerprint(filters: Mapping[str, Any]) -> str:
    text = json.dumps({k: v for k, v in filters.items() if v is not None}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preference(db: Session, user_id: Any, list_name: str) -> UserPreference | None:
    return db.get(UserPreference, (user_id, list_name))


def parse_columns(spec: ListSpec, text: str, field: str) -> list[str]:
    wanted = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in spec.columns]
    if unknown:
        raise bad_request(field, f"unknown column(s) {', '.join(unknown)}; this list has: {', '.join(spec.columns)}")
    if not wanted:
        raise bad_request(field, "name at least one column")
    return wanted


def validate_columns(spec: ListSpec, columns: Sequence[str], field: str) -> list[str]:
    return parse_columns(spec, ",".join(columns), field)


Fetch = Callable[[Any, int], Sequence[Any]]
"""fetch(last_key or None, n): up to n rows after the last key, in list order."""


def sql_fetch(db: Session, stmt: Select[Any], key: Any, *, descending: bool = False) -> Fetch:
    def fetch(last: Any, n: int) -> Sequence[Any]:
        q = stmt if last is None else stmt.where(key < last if descending else key > last)
        return db.execute(q.order_by(key.desc() if descending else key.asc()).limit(n)).all()

    return fetch


def list_fetch(values: Sequence[dict[str, Any]]) -> Fetch:
    """In-memory lists (user tasks of an instance, decisions of a version): each value has an increasing "_key"."""
    ordered = sorted(values, key=lambda v: v["_key"])

    def fetch(last: Any, n: int) -> Sequence[Any]:
        return [v for v in ordered if last is None or v["_key"] > last][:n]

    return fetch


def paginate(
    db: Session,
    *,
    list_name: str,
    fetch: Fetch,
    params: PageParams,
    user_id: Any,
    limits: Limits,
    cursors: Cursors,
    to_item: Callable[[Any], dict[str, Any]] = dict,
    filters: Mapping[str, Any] | None = None,
) -> Page:
    """One page; to_item turns a row into a dict holding every column and "_key" (its sort key)."""
    spec = LISTS[list_name]
    pref = preference(db, user_id, list_name) if params.limit is None or params.columns is None else None
    limit = params.limit or (pref.page_size if pref and pref.page_size else None) or limits.default
    if limit > limits.maximum:
        raise bad_request("query.limit", f"at most {limits.maximum} items per page")
    if params.columns is not None:
        columns = parse_columns(spec, params.columns, "query.columns")
    elif pref and pref.columns:
        columns = [c for c in pref.columns if c in spec.columns] or list(spec.default)
    else:
        columns = list(spec.default)
    if "id" not in columns:
        columns.insert(0, "id")
    fingerprint = _filters_fingerprint(filters or {})
    last = cursors.decode(list_name, fingerprint, params.cursor) if params.cursor else None
    rows = fetch(last, limit + 1)
    more = len(rows) > limit
    items = []
    last_key = None
    for row in rows[:limit]:
        full = to_item(row)
        last_key = full.pop("_key")
        items.append({c: full.get(c) for c in columns})
    next_cursor = cursors.encode(list_name, fingerprint, last_key) if more else None
    return Page(items=items, next_cursor=next_cursor, limit=limit, columns=columns)


PageDep = Annotated[PageParams, Depends(page_params)]
