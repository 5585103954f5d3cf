"""Log in (a session token in Redis), who am I, log out; the caller's legal entities; preferences."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..context import (
    Caller,
    CallerDep,
    DbDep,
    SvcDep,
    client_address,
    dump,
    enforce_rate_limit,
    list_page,
    session_data,
)
from ..errors import ERROR_RESPONSES, ApiError, bad_request, not_found
from ..events import emit_one
from ..models import LegalEntity, User, UserLegalEntity, UserPreference
from ..pagination import LISTS, Page, PageDep, list_fetch, sql_fetch, validate_columns
from ..security import DUMMY_HASH, new_token, verify_password

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: str
    username: str
    legal_entities: list[str]
    roles: list[str]


class SessionOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class CurrentOut(BaseModel):
    expires_in: int
    user: UserOut


@router.post("/sessions", status_code=201, response_model=SessionOut, tags=["sessions"], summary="Log in: a bearer session token")
def login(
    body: LoginIn,
    request: Request,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    enforce_rate_limit(svc, f"login:{client_address(request)}", svc.settings.login_rate_limit)
    user = db.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
    ok = verify_password(body.password, user.password_hash if user else DUMMY_HASH)
    if user is None or not ok:
        reason = "unknown user or wrong password"
        raise ApiError(401, "unauthenticated", reason, [("body.password", reason)])
    entities = list(db.execute(select(UserLegalEntity.legal_entity_id).where(UserLegalEntity.user_id == user.id)).scalars())
    token = new_token()
    data = session_data(user.id, user.username, entities, list(user.roles))
    svc.sessions.create(token, data)
    out = UserOut(id=str(user.id), username=user.username, legal_entities=list(data.legal_entities), roles=list(data.roles))
    return SessionOut(token=token, expires_in=int(svc.settings.session_ttl), user=out)


def _user_out(caller: Caller) -> UserOut:
    return UserOut(
        id=str(caller.id), username=caller.username, legal_entities=sorted(caller.legal_entities), roles=sorted(caller.roles)
    )


@router.get("/sessions/current", response_model=CurrentOut, tags=["sessions"], summary="The caller's session")
def current(
    caller: CallerDep,
) -> Any:
    return CurrentOut(expires_in=caller.expires_in, user=_user_out(caller))


@router.delete("/sessions/current", status_code=204, tags=["sessions"], summary="Log out")
def logout(
    caller: CallerDep,
    svc: SvcDep,
) -> Response:
    svc.sessions.delete(caller.token)
    return Response(status_code=204)


@router.get("/legal-entities", response_model=Page, tags=["sessions"], summary="The caller's legal entities")
def legal_entities(
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    stmt = select(LegalEntity).where(LegalEntity.id.in_(sorted(caller.legal_entities)))
    return list_page(
        db, svc, caller, params,
        list_name="legal_entities",
        fetch=sql_fetch(db, stmt, LegalEntity.id),
        to_item=lambda r: {"_key": r[0].id, "id": r[0].id, "name": r[0].name},
    )


# preferences ---------------------------------------------------------------------------------


class PreferenceIn(BaseModel):
    page_size: int | None = Field(None, ge=1, description="page size of this list when a request names none")
    columns: list[str] | None = Field(None, max_length=64, description="columns of this list when a request names none")


def _pref_out(list_name: str, pref: UserPreference | None) -> dict[str, Any]:
    return {
        "id": list_name,
        "list_name": list_name,
        "page_size": pref.page_size if pref else None,
        "columns": pref.columns if pref else None,
        "updated_at": dump(pref.updated_at) if pref else None,
    }


ListName = Path(description="a list: " + ", ".join(LISTS), max_length=64)


@router.get("/preferences", response_model=Page, tags=["preferences"], summary="The caller's saved list preferences")
def list_preferences(
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    saved = {p.list_name: p for p in db.execute(select(UserPreference).where(UserPreference.user_id == caller.id)).scalars()}
    values = [{"_key": name, **_pref_out(name, saved.get(name))} for name in LISTS]
    return list_page(
        db, svc, caller, params,
        list_name="preferences",
        fetch=list_fetch(values),
    )


def _list_name(list_name: str) -> str:
    if list_name not in LISTS:
        raise not_found("list", "path.list_name")
    return list_name


@router.get("/preferences/{list_name}", tags=["preferences"], summary="The caller's preference for one list")
def get_preference(
    list_name: Annotated[str, ListName],
    caller: CallerDep,
    db: DbDep,
) -> dict[str, Any]:
    name = _list_name(list_name)
    return _pref_out(name, db.get(UserPreference, (caller.id, name)))


@router.put("/preferences/{list_name}", tags=["preferences"], summary="Save page size and columns for one list")
def put_preference(
    body: PreferenceIn,
    list_name: Annotated[str, ListName],
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    name = _list_name(list_name)
    if body.page_size is not None and body.page_size > svc.settings.max_page_size:
        raise bad_request("body.page_size", f"at most {svc.settings.max_page_size}")
    columns = validate_columns(LISTS[name], body.columns, "body.columns") if body.columns is not None else None
    pref = db.get(UserPreference, (caller.id, name))
    if pref is None:
        pref = UserPreference(user_id=caller.id, list_name=name)
        db.add(pref)
    pref.page_size, pref.columns = body.page_size, columns
    pref.updated_at = dt.datetime.now(dt.UTC)
    db.flush()
    db.refresh(pref)
    out = _pref_out(name, pref)
    emit_one(db, "system_events", "preferences.saved", str(caller.id), out, actor=caller.username)
    db.commit()
    return out
