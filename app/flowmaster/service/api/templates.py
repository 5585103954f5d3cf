"""The templates library: reusable process definitions to start a process from."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from ..context import CallerDep, DbDep, SvcDep, dump, list_page
from ..errors import ERROR_RESPONSES, ApiError, not_found
from ..events import emit_one
from ..idempotency import IdemDep, claim_post
from ..models import Template
from ..pagination import Page, PageDep, sql_fetch
from .content import check_content

router = APIRouter(prefix="/api/v1/templates", tags=["templates"], responses=ERROR_RESPONSES)

SHARED_TEMPLATE_ROLE = "template-admin"  # may add templates every legal entity sees


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    description: str = Field("", max_length=5000)
    bpmn: str = Field(min_length=1, description="BPMN 2.0 XML")
    dmn: dict[str, str] = Field(default_factory=dict, description="DMN file name -> XML")
    tests: dict[str, dict[str, Any]] = Field(default_factory=dict, description="test case file name -> case document")
    legal_entity: str | None = Field(None, max_length=64, description="owner; none: shared with every legal entity")


def template_out(t: Template, *, content: bool) -> dict[str, Any]:
    out = dump(
        {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "process_key": t.process_key,
            "legal_entity": t.legal_entity_id,
            "created_by": t.created_by,
            "created_at": t.created_at,
        }
    )
    if content:
        out.update({"bpmn": t.bpmn, "dmn": t.dmn, "rule_cases": t.rule_cases})
    return out


@router.post("", status_code=201, summary="Add a template (BPMN + DMN + decision test cases)")
def create_template(
    body: TemplateIn,
    request: Request,
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    if body.legal_entity is not None:
        caller.require_entity(body.legal_entity, "body.legal_entity")
    elif SHARED_TEMPLATE_ROLE not in caller.roles:
        reason = f"a shared template (no legal_entity) needs the role '{SHARED_TEMPLATE_ROLE}'"
        raise ApiError(403, "forbidden", reason, [("body.legal_entity", reason)])
    content = check_content(body.bpmn, body.dmn, body.tests, fields=("body.bpmn", "body.dmn", "body.tests"))
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    t = Template(
        id=uuid.uuid4(),
        name=body.name,
        description=body.description,
        process_key=content.key,
        bpmn=content.bpmn,
        dmn=content.dmn,
        rule_cases=content.rule_cases,
        legal_entity_id=body.legal_entity,
        created_by=caller.username,
    )
    db.add(t)
    db.flush()
    db.refresh(t)
    out = template_out(t, content=False)
    emit_one(db, "process_events", "template.created", str(t.id), out, actor=caller.username, legal_entity=body.legal_entity)
    return idem.finish(201, out)


@router.get("", response_model=Page, summary="Templates of your legal entities and shared ones")
def list_templates(
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    legal_entity: Annotated[
        str | None, Query(max_length=64, description="only this legal entity's (not the shared ones)")
    ] = None,
) -> Any:
    if legal_entity is not None:
        caller.require_entity(legal_entity, "query.legal_entity")
        where = Template.legal_entity_id == legal_entity
    else:
        where = or_(Template.legal_entity_id.is_(None), Template.legal_entity_id.in_(sorted(caller.legal_entities)))
    stmt = select(Template).where(where)
    return list_page(
        db, svc, caller, params,
        list_name="templates",
        fetch=sql_fetch(db, stmt, Template.seq),
        to_item=lambda r: {"_key": r[0].seq, **template_out(r[0], content=False)},
        filters={"legal_entity": legal_entity},
    )


@router.get("/{template_id}", summary="A template with its content")
def read_template(
    template_id: Annotated[uuid.UUID, Path()],
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    cache_key = f"template:{template_id}"
    cached = svc.cache.get(cache_key)
    if cached is None:
        t = db.get(Template, template_id)
        if t is None:
            raise not_found("template", "path.template_id")
        cached = template_out(t, content=True)
        svc.cache.put(cache_key, cached)
    if cached["legal_entity"] is not None:  # templates never change: checking the cached owner is enough
        caller.require_entity(cached["legal_entity"], "path.template_id")
    return cached
