"""Processes, drafts, approvals, versions (publish, list, get, diff, rollback)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...processes import (
    Approval,
    ApprovalCheck,
    Draft,
    Link,
    LinkGraph,
    ProcessHistory,
    PublishedVersion,
    PublishRejected,
    RiskClass,
    SemVer,
    VersioningError,
    check_approvals,
    diff_processes,
)
from ...processes.linking import FailurePolicy
from ...processes.versioning import ProcessContent
from ..context import Caller, CallerDep, DbDep, Services, SvcDep, dump, list_page
from ..errors import ERROR_RESPONSES, ApiError, bad_request, not_found
from ..events import emit_one
from ..idempotency import IdemDep, claim_post
from ..models import ApprovalRow, LegalEntity, Process, ProcessDraft, ProcessVersion, Template, User
from ..pagination import Page, PageDep, sql_fetch
from .content import Content, check_content, content_from_uploads, links_json, rekey_bpmn

router = APIRouter(prefix="/api/v1/processes", tags=["processes"], responses=ERROR_RESPONSES)

Risk = Literal["low", "medium", "high", "critical"]
ProcessId = Path(description="the process's id (uuid)")
VersionRef = Path(description="a published version, MAJOR.MINOR.PATCH", max_length=32)


# reading helpers -----------------------------------------------------------------------------


def get_process(
    db: Session, caller: Caller, process_id: uuid.UUID, *, lock: bool = False, field: str = "path.process_id"
) -> Process:
    stmt = select(Process).where(Process.id == process_id)
    if lock:
        stmt = stmt.with_for_update()
    process = db.execute(stmt).scalar_one_or_none()
    if process is None:
        raise not_found("process", field)
    caller.require_entity(process.legal_entity_id, field)
    return process


def parse_version(text: str, field: str) -> SemVer:
    try:
        return SemVer.parse(text)
    except ValueError as exc:
        raise bad_request(field, str(exc)) from exc


def get_version(db: Session, process: Process, version: str | None, field: str) -> ProcessVersion:
    """A published version, or the latest when version is None."""
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == process.id)
    if version is None:
        row = db.execute(stmt.order_by(ProcessVersion.seq.desc()).limit(1)).scalar_one_or_none()
        if row is None:
            raise ApiError(
                409,
                "not_published",
                f"process '{process.key}' has no published version",
                [(field, f"process '{process.key}' has no published version yet")],
            )
        return row
    v = parse_version(version, field)
    row = db.execute(stmt.where(ProcessVersion.version == str(v))).scalar_one_or_none()
    if row is None:
        raise ApiError(404, "not_found", f"process '{process.key}' has no version {v}", [(field, f"no version {v}")])
    return row


def latest_version_of(db: Session, process_id: uuid.UUID) -> ProcessVersion | None:
    return db.execute(
        select(ProcessVersion).where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.seq.desc()).limit(1)
    ).scalar_one_or_none()


def version_summary(v: ProcessVersion) -> dict[str, Any]:
    return dump(
        {
            "id": v.id,
            "process_id": v.process_id,
            "version": v.version,
            "digest": v.digest,
            "published_by": v.published_by,
            "published_at": v.published_at,
            "based_on": v.based_on,
            "note": v.note,
            "approvals": v.approvals,
            "links": v.links,
        }
    )


def version_full(v: ProcessVersion) -> dict[str, Any]:
    return {**version_summary(v), "bpmn": v.bpmn, "dmn": v.dmn, "rule_cases": v.rule_cases}


def published(v: ProcessVersion) -> PublishedVersion:
    approvals = tuple(Approval(a["role"], a["approver"], a["content_digest"]) for a in v.approvals)
    return PublishedVersion(
        SemVer(v.major, v.minor, v.patch),
        ProcessContent.of(v.bpmn, v.dmn),
        v.published_by,
        v.published_at,
        approvals,
        SemVer.parse(v.based_on) if v.based_on else None,
        v.note,
    )


def approvals_for(db: Session, process: Process, digest: str) -> list[Approval]:
    """Open approvals of this content: each publish consumes the approvals it was given."""
    rows = db.execute(
        select(ApprovalRow)
        .where(
            ApprovalRow.process_id == process.id,
            ApprovalRow.content_digest == digest,
            ApprovalRow.used_by_version_id.is_(None),
        )
        .order_by(ApprovalRow.seq)
    ).scalars()
    return [Approval(r.role, r.approver, r.content_digest, r.created_at) for r in rows]


def role_holders(db: Session, approvals: list[Approval]) -> dict[str, set[str]]:
    """Who holds each approver role now (among the approvers): a revoked role no longer counts."""
    names = {a.approver for a in approvals}
    holders: dict[str, set[str]] = {}
    if names:
        for username, roles in db.execute(select(User.username, User.roles).where(User.username.in_(names))):
            for role in roles:
                holders.setdefault(role, set()).add(username)
    return holders


def check_json(check: ApprovalCheck) -> dict[str, Any]:
    return {
        "allowed": check.allowed,
        "required": sorted(check.required),
        "satisfied": dict(sorted(check.satisfied.items())),
        "missing": sorted(check.missing),
        "not_counted": [{"role": a.role, "approver": a.approver, "reason": why} for a, why in check.rejected],
        "explanation": check.explain(),
    }


def approval_status(db: Session, svc: Services, process: Process, digest: str, authors: list[str]) -> dict[str, Any]:
    approvals = approvals_for(db, process, digest)
    check = check_approvals(
        svc.matrix,
        process.legal_entity_id,
        process.risk_class,
        approvals,
        content_digest=digest,
        authors=authors,
        role_holders=role_holders(db, approvals),
    )
    return check_json(check)


def draft_summary(d: ProcessDraft | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return dump({"digest": d.digest, "base_version": d.base_version, "authors": d.authors, "updated_at": d.updated_at})


def process_out(db: Session, p: Process) -> dict[str, Any]:
    latest = latest_version_of(db, p.id)
    draft = db.get(ProcessDraft, p.id)
    return dump(
        {
            "id": p.id,
            "key": p.key,
            "name": p.name,
            "legal_entity": p.legal_entity_id,
            "risk_class": p.risk_class,
            "template_id": p.template_id,
            "created_by": p.created_by,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "latest_version": latest.version if latest else None,
            "has_draft": draft is not None,
            "draft": draft_summary(draft),
        }
    )


def touch(db: Session, process: Process) -> None:
    process.updated_at = dt.datetime.now(dt.UTC)


def _event(db: Session, caller: Caller, process: Process, event_type: str, data: dict[str, Any]) -> None:
    emit_one(
        db,
        "process_events",
        event_type,
        str(process.id),
        {"process_id": str(process.id), "process_key": process.key, **data},
        actor=caller.username,
        legal_entity=process.legal_entity_id,
    )


# processes -----------------------------------------------------------------------------------


def create_process_from(
    db: Session,
    caller: Caller,
    content: Content,
    legal_entity: str,
    risk: str,
    name: str | None,
    template_id: uuid.UUID | None = None,
) -> Process:
    if db.get(LegalEntity, legal_entity) is None:
        raise bad_request("legal_entity", f"no legal entity '{legal_entity}'")
    clash = db.execute(select(Process.id).where(Process.legal_entity_id == legal_entity, Process.key == content.key)).first()
    if clash is not None:
        raise ApiError(
            409,
            "exists",
            f"process '{content.key}' already exists in legal entity '{legal_entity}'",
            [
                (
                    "bpmn",
                    f"process id '{content.key}' exists in '{legal_entity}' as {clash[0]}; save a draft of that process instead",
                )
            ],
        )
    process = Process(
        id=uuid.uuid4(),
        key=content.key,
        name=name or content.name,
        legal_entity_id=legal_entity,
        risk_class=risk,
        template_id=template_id,
        created_by=caller.username,
    )
    db.add(process)
    db.add(
        ProcessDraft(
            process_id=process.id,
            bpmn=content.bpmn,
            dmn=content.dmn,
            rule_cases=content.rule_cases,
            digest=content.digest,
            base_version=None,
            authors=[caller.username],
        )
    )
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent create of the same process id won the race
        raise ApiError(
            409,
            "exists",
            f"process '{content.key}' already exists in legal entity '{legal_entity}'",
            [("bpmn", f"process id '{content.key}' exists in '{legal_entity}'")],
        ) from exc
    _event(
        db,
        caller,
        process,
        "process.created",
        {"name": process.name, "risk_class": risk, "template_id": str(template_id) if template_id else None},
    )
    _event(db, caller, process, "draft.saved", {"digest": content.digest, "base_version": None})
    return process


@router.post(
    "",
    status_code=201,
    summary="Create a process with its first draft from uploaded BPMN and DMN files",
    responses={201: {"description": "the process, with its draft"}},
)
def create_process(
    request: Request,
    legal_entity: Annotated[str, Form(max_length=64, description="the legal entity the process belongs to")],
    risk_class: Annotated[Risk, Form(description="risk class: which approvals publishing needs")],
    bpmn: Annotated[UploadFile, File(description="BPMN 2.0 XML (one executable process)")],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    dmn: Annotated[list[UploadFile] | None, File(description="DMN files with the decisions the rule tasks call")] = None,
    tests: Annotated[list[UploadFile] | None, File(description="stored decision test cases (JSON, FILE.tests.json)")] = None,
    name: Annotated[str | None, Form(max_length=500, description="display name (default: the BPMN process name)")] = None,
) -> Any:
    caller.require_entity(legal_entity, "form.legal_entity")
    content = content_from_uploads(bpmn, dmn, tests)
    fields = {"legal_entity": legal_entity, "risk_class": risk_class, "name": name, **content.fingerprint()}
    idem = claim_post(db, request, caller.id, idempotency_key, fields, svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    process = create_process_from(db, caller, content, legal_entity, risk_class, name)
    db.flush()
    db.refresh(process)
    return idem.finish(201, process_out(db, process))


class FromTemplateIn(BaseModel):
    template_id: uuid.UUID
    legal_entity: str = Field(max_length=64)
    risk_class: Risk
    key: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$", description="process id of the new process (default: the template's)"
    )
    name: str | None = Field(None, max_length=500)


@router.post("/from-template", status_code=201, summary="Create a process (with a draft) from a template")
def create_from_template(
    body: FromTemplateIn,
    request: Request,
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    caller.require_entity(body.legal_entity, "body.legal_entity")
    template = db.get(Template, body.template_id)
    if template is None:
        raise not_found("template", "body.template_id")
    if template.legal_entity_id is not None:
        caller.require_entity(template.legal_entity_id, "body.template_id")
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(mode="json"), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    bpmn = template.bpmn
    if body.key and body.key != template.process_key:
        bpmn = rekey_bpmn(bpmn, template.process_key, body.key)
    content = check_content(bpmn, template.dmn, template.rule_cases, fields=("body.key", "body.template_id", "body.template_id"))
    process = create_process_from(
        db, caller, content, body.legal_entity, body.risk_class, body.name or template.name, template.id
    )
    db.flush()
    db.refresh(process)
    return idem.finish(201, process_out(db, process))


@router.get("", response_model=Page, summary="List processes of your legal entities")
def list_processes(
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    legal_entity: Annotated[str | None, Query(max_length=64, description="only this legal entity")] = None,
    key: Annotated[str | None, Query(max_length=255, description="only this BPMN process id")] = None,
) -> Any:
    if legal_entity is not None:
        caller.require_entity(legal_entity, "query.legal_entity")
    entities = [legal_entity] if legal_entity else sorted(caller.legal_entities)
    latest = (
        select(ProcessVersion.version)
        .where(ProcessVersion.process_id == Process.id)
        .order_by(ProcessVersion.seq.desc())
        .limit(1)
        .correlate(Process)
        .scalar_subquery()
    )
    has_draft = exists().where(ProcessDraft.process_id == Process.id)
    stmt = select(Process, latest.label("latest"), has_draft.label("has_draft")).where(Process.legal_entity_id.in_(entities))
    if key is not None:
        stmt = stmt.where(Process.key == key)

    def item(row: Any) -> dict[str, Any]:
        p = row[0]
        return dump(
            {
                "_key": p.seq,
                "id": p.id,
                "key": p.key,
                "name": p.name,
                "legal_entity": p.legal_entity_id,
                "risk_class": p.risk_class,
                "latest_version": row[1],
                "has_draft": row[2],
                "template_id": p.template_id,
                "created_by": p.created_by,
                "created_at": p.created_at,
                "updated_at": p.updated_at,
            }
        )

    return list_page(
        db, svc, caller, params,
        list_name="processes",
        fetch=sql_fetch(db, stmt, Process.seq, descending=True),
        to_item=item,
        filters={"legal_entity": legal_entity, "key": key},
    )


@router.get("/{process_id}", summary="A process, its latest version and its draft with approval status")
def get_process_endpoint(
    process_id: Annotated[uuid.UUID, ProcessId],
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    process = get_process(db, caller, process_id)
    out = process_out(db, process)
    draft = db.get(ProcessDraft, process.id)
    if draft is not None:
        out["draft"]["approval_status"] = approval_status(db, svc, process, draft.digest, draft.authors)
    return out


# drafts --------------------------------------------------------------------------------------


def get_draft(db: Session, process: Process, *, lock: bool = False) -> ProcessDraft:
    stmt = select(ProcessDraft).where(ProcessDraft.process_id == process.id)
    draft = db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if draft is None:
        raise ApiError(
            404,
            "no_draft",
            f"process '{process.key}' has no draft",
            [("path.process_id", "no draft; start one with POST .../draft or PUT new content")],
        )
    return draft


@router.get("/{process_id}/draft", summary="The draft's content and approval status")
def read_draft(
    process_id: Annotated[uuid.UUID, ProcessId],
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    process = get_process(db, caller, process_id)
    draft = get_draft(db, process)
    return {
        **draft_summary(draft),  # type: ignore[dict-item]
        "process_id": str(process.id),
        "bpmn": draft.bpmn,
        "dmn": draft.dmn,
        "rule_cases": draft.rule_cases,
        "approval_status": approval_status(db, svc, process, draft.digest, draft.authors),
    }


@router.put("/{process_id}/draft", summary="Save new draft content (upload); every editor becomes an author")
def save_draft(
    process_id: Annotated[uuid.UUID, ProcessId],
    bpmn: Annotated[UploadFile, File(description="BPMN 2.0 XML; its process id must stay the process's key")],
    caller: CallerDep,
    db: DbDep,
    dmn: Annotated[list[UploadFile] | None, File()] = None,
    tests: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    process = get_process(db, caller, process_id, lock=True)
    content = content_from_uploads(bpmn, dmn, tests)
    if content.key != process.key:
        raise bad_request("form.bpmn", f"the BPMN process id is '{content.key}'; this process is '{process.key}'")
    draft = db.get(ProcessDraft, process.id)
    latest = latest_version_of(db, process.id)
    if draft is None:
        draft = ProcessDraft(process_id=process.id, authors=[], base_version=latest.version if latest else None)
        db.add(draft)
    draft.bpmn, draft.dmn, draft.rule_cases, draft.digest = content.bpmn, content.dmn, content.rule_cases, content.digest
    draft.authors = sorted({*draft.authors, caller.username})
    draft.updated_at = dt.datetime.now(dt.UTC)
    touch(db, process)
    _event(db, caller, process, "draft.saved", {"digest": content.digest, "base_version": draft.base_version})
    db.commit()
    return {**draft_summary(draft), "process_id": str(process.id)}  # type: ignore[dict-item]


class StartDraftIn(BaseModel):
    from_version: str | None = Field(None, max_length=32, description="a published version (default: the latest)")


@router.post("/{process_id}/draft", status_code=201, summary="Start a draft from a published version")
def start_draft(
    body: StartDraftIn,
    request: Request,
    process_id: Annotated[uuid.UUID, ProcessId],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    process = get_process(db, caller, process_id, lock=True)
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    if db.get(ProcessDraft, process.id) is not None:
        raise ApiError(
            409,
            "draft_exists",
            f"process '{process.key}' already has a draft",
            [("path.process_id", "already has a draft; save to it or discard it first")],
        )
    source = get_version(db, process, body.from_version, "body.from_version")
    draft = ProcessDraft(
        process_id=process.id,
        bpmn=source.bpmn,
        dmn=source.dmn,
        rule_cases=source.rule_cases,
        digest=source.digest,
        base_version=source.version,
        authors=[caller.username],
    )
    db.add(draft)
    touch(db, process)
    _event(db, caller, process, "draft.saved", {"digest": source.digest, "base_version": source.version})
    db.flush()
    return idem.finish(201, {**draft_summary(draft), "process_id": str(process.id)})  # type: ignore[dict-item]


@router.delete("/{process_id}/draft", status_code=204, summary="Discard the draft")
def discard_draft(
    process_id: Annotated[uuid.UUID, ProcessId],
    caller: CallerDep,
    db: DbDep,
) -> Response:
    process = get_process(db, caller, process_id, lock=True)
    draft = get_draft(db, process)
    db.delete(draft)
    touch(db, process)
    _event(db, caller, process, "draft.discarded", {"digest": draft.digest})
    db.commit()
    return Response(status_code=204)


# approvals -----------------------------------------------------------------------------------


class ApprovalIn(BaseModel):
    role: str = Field(min_length=1, max_length=64, description="the approver role you approve as")
    content_digest: str | None = Field(None, max_length=80, description="content approved (default: the draft's)")
    version: str | None = Field(None, max_length=32, description="approve a published version's content (for a rollback)")
    comment: str = Field("", max_length=2000)


def approval_out(a: ApprovalRow) -> dict[str, Any]:
    return dump(
        {
            "id": a.id,
            "process_id": a.process_id,
            "content_digest": a.content_digest,
            "role": a.role,
            "approver": a.approver,
            "comment": a.comment,
            "used_by_version_id": a.used_by_version_id,
            "created_at": a.created_at,
        }
    )


@router.post(
    "/{process_id}/approvals",
    status_code=201,
    tags=["approvals"],
    summary="Approve the draft's (or a version's) content in one of your approver roles",
)
def approve(
    body: ApprovalIn,
    request: Request,
    process_id: Annotated[uuid.UUID, ProcessId],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    process = get_process(db, caller, process_id)
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    if body.content_digest is not None and body.version is not None:
        raise bad_request("body.version", "give content_digest or version, not both")
    draft = db.get(ProcessDraft, process.id)
    if body.version is not None:
        digest = get_version(db, process, body.version, "body.version").digest
    elif body.content_digest is not None:
        digest = body.content_digest
        known = (draft is not None and draft.digest == digest) or db.execute(
            select(ProcessVersion.id).where(ProcessVersion.process_id == process.id, ProcessVersion.digest == digest)
        ).first() is not None
        if not known:
            raise bad_request("body.content_digest", "neither the draft nor a version of this process has this digest")
    else:
        if draft is None:
            raise bad_request("body.content_digest", "the process has no draft; name a version or a content digest")
        digest = draft.digest
    if body.role not in caller.roles:
        reason = f"you do not hold the approver role '{body.role}'"
        raise ApiError(403, "forbidden", reason, [("body.role", reason)])
    required = svc.matrix.required_roles(process.legal_entity_id, process.risk_class)
    if body.role not in required:
        raise bad_request(
            "body.role",
            f"not required for legal entity '{process.legal_entity_id}' at risk "
            f"{process.risk_class}; required: {', '.join(sorted(required)) or 'none'}",
        )
    if draft is not None and draft.digest == digest and caller.username in draft.authors:
        raise bad_request("body.role", "you authored this draft; the author cannot approve their own change")
    row = ApprovalRow(
        id=uuid.uuid4(),
        process_id=process.id,
        content_digest=digest,
        role=body.role,
        approver=caller.username,
        comment=body.comment,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:
        raise ApiError(
            409,
            "already_approved",
            "you already approved this content in this role",
            [("body.role", f"already approved by {caller.username} as {body.role}")],
        ) from exc
    db.refresh(row)
    out = approval_out(row)
    _event(db, caller, process, "approval.recorded", out)
    return idem.finish(201, out)


@router.get("/{process_id}/approvals", response_model=Page, tags=["approvals"], summary="Approvals given for a process")
def list_approvals(
    process_id: Annotated[uuid.UUID, ProcessId],
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    content_digest: Annotated[str | None, Query(max_length=80)] = None,
) -> Any:
    process = get_process(db, caller, process_id)
    stmt = select(ApprovalRow).where(ApprovalRow.process_id == process.id)
    if content_digest is not None:
        stmt = stmt.where(ApprovalRow.content_digest == content_digest)
    return list_page(
        db, svc, caller, params,
        list_name="approvals",
        fetch=sql_fetch(db, stmt, ApprovalRow.seq),
        to_item=lambda r: {"_key": r[0].seq, **approval_out(r[0])},
        filters={"process": str(process_id), "content_digest": content_digest},
    )


# versions ------------------------------------------------------------------------------------


class PublishIn(BaseModel):
    bump: Literal["major", "minor", "patch"] = Field("minor", description="which part of the version goes up")
    note: str = Field("", max_length=2000)


class RollbackIn(BaseModel):
    to_version: str = Field(max_length=32, description="the version whose content is republished")
    bump: Literal["major", "minor", "patch"] = "minor"


def link_graph(db: Session, legal_entity: str) -> LinkGraph:
    """Links of every process's latest version in the legal entity (call activities name process ids)."""
    latest = (
        select(Process.key, ProcessVersion.links)
        .join(ProcessVersion, ProcessVersion.process_id == Process.id)
        .where(Process.legal_entity_id == legal_entity)
        .order_by(Process.id, ProcessVersion.seq.desc())
        .distinct(Process.id)
    )
    links, keys = [], set()
    for key, version_links in db.execute(latest):
        keys.add(key)
        links += [Link(lk["caller"], lk["callee"], FailurePolicy(lk["policy"]), lk.get("activity")) for lk in version_links]
    return LinkGraph.of(links, keys)


def _history(db: Session, process: Process, *extra: ProcessVersion, draft: ProcessDraft | None = None) -> ProcessHistory:
    latest = latest_version_of(db, process.id)
    rows = {v.id: v for v in (latest, *extra) if v is not None}
    versions = tuple(published(v) for v in sorted(rows.values(), key=lambda v: (v.major, v.minor, v.patch)))
    d = None
    if draft is not None:
        d = Draft(
            ProcessContent.of(draft.bpmn, draft.dmn),
            SemVer.parse(draft.base_version) if draft.base_version else None,
            frozenset(draft.authors),
            draft.updated_at,
        )
    return ProcessHistory(process.key, process.legal_entity_id, RiskClass.parse(process.risk_class), versions, d)


def _store_version(
    db: Session, caller: Caller, process: Process, v: PublishedVersion, rule_cases: dict[str, Any], event_type: str
) -> ProcessVersion:
    row = ProcessVersion(
        id=uuid.uuid4(),
        process_id=process.id,
        version=str(v.version),
        major=v.version.major,
        minor=v.version.minor,
        patch=v.version.patch,
        bpmn=v.content.bpmn,
        dmn=v.content.dmn_files,
        rule_cases=rule_cases,
        digest=v.content.digest,
        links=links_json(v.content.bpmn),
        approvals=[{"role": a.role, "approver": a.approver, "content_digest": a.content_digest} for a in v.approvals],
        based_on=str(v.based_on) if v.based_on else None,
        note=v.note,
        published_by=caller.username,
    )
    db.add(row)
    touch(db, process)
    db.flush()
    db.execute(
        update(ApprovalRow)
        .where(
            ApprovalRow.process_id == process.id,
            ApprovalRow.content_digest == row.digest,
            ApprovalRow.used_by_version_id.is_(None),
        )
        .values(used_by_version_id=row.id)
    )
    db.refresh(row)
    _event(db, caller, process, event_type, version_summary(row))
    return row


def _rejected(exc: VersioningError) -> ApiError:
    if isinstance(exc, PublishRejected):
        field = "approvals" if exc.check is not None else "bpmn"
        return ApiError(422, "publish_rejected", str(exc), [(field, str(exc))])
    return ApiError(409, "versioning_conflict", str(exc), [("draft", str(exc))])


@router.post(
    "/{process_id}/versions",
    status_code=201,
    tags=["versions"],
    summary="Publish the draft as the next version (needs the approvals the matrix requires)",
)
def publish(
    body: PublishIn,
    request: Request,
    process_id: Annotated[uuid.UUID, ProcessId],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    process = get_process(db, caller, process_id, lock=True)  # one publish at a time per process
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    draft = get_draft(db, process)
    history = _history(db, process, draft=draft)
    approvals = approvals_for(db, process, draft.digest)
    try:
        version = history.publish(
            bump=body.bump,
            publisher=caller.username,
            approvals=approvals,
            matrix=svc.matrix,
            now=dt.datetime.now(dt.UTC),
            role_holders=role_holders(db, approvals),
            links=link_graph(db, process.legal_entity_id),
            note=body.note,
        )
    except VersioningError as exc:
        raise _rejected(exc) from exc
    row = _store_version(db, caller, process, version, draft.rule_cases, "version.published")
    db.delete(draft)
    return idem.finish(201, version_summary(row))


@router.post(
    "/{process_id}/rollbacks",
    status_code=201,
    tags=["versions"],
    summary="Republish an older version's content as a new version (approvals for that content needed)",
)
def rollback(
    body: RollbackIn,
    request: Request,
    process_id: Annotated[uuid.UUID, ProcessId],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    process = get_process(db, caller, process_id, lock=True)
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    target = get_version(db, process, body.to_version, "body.to_version")
    history = _history(db, process, target)
    approvals = approvals_for(db, process, target.digest)
    try:
        version = history.rollback(
            target.version,
            publisher=caller.username,
            approvals=approvals,
            matrix=svc.matrix,
            now=dt.datetime.now(dt.UTC),
            bump=body.bump,
            role_holders=role_holders(db, approvals),
            links=link_graph(db, process.legal_entity_id),
        )
    except VersioningError as exc:
        raise _rejected(exc) from exc
    row = _store_version(db, caller, process, version, target.rule_cases, "version.rolled_back")
    return idem.finish(201, version_summary(row))


@router.get("/{process_id}/versions", response_model=Page, tags=["versions"], summary="Published versions, oldest first")
def list_versions(
    process_id: Annotated[uuid.UUID, ProcessId],
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    process = get_process(db, caller, process_id)
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == process.id)
    return list_page(
        db, svc, caller, params,
        list_name="versions",
        fetch=sql_fetch(db, stmt, ProcessVersion.seq),
        to_item=lambda r: {"_key": r[0].seq, **version_summary(r[0])},
        filters={"process": str(process_id)},
    )


@router.get("/{process_id}/versions/{version}", tags=["versions"], summary="A published version with its content")
def read_version(
    process_id: Annotated[uuid.UUID, ProcessId],
    version: Annotated[str, VersionRef],
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    process = get_process(db, caller, process_id)  # permission first: the cache is shared by every caller
    v = parse_version(version, "path.version")
    cache_key = f"version:{process.id}:{v}"
    cached = svc.cache.get(cache_key)
    if cached is not None:
        return cached
    out = version_full(get_version(db, process, str(v), "path.version"))
    svc.cache.put(cache_key, out)
    return out


@router.get("/{process_id}/diff", tags=["versions"], summary="Differences between two versions (or a version and the draft)")
def diff(
    process_id: Annotated[uuid.UUID, ProcessId],
    from_ref: Annotated[str, Query(alias="from", max_length=32, description="MAJOR.MINOR.PATCH or 'draft'")],
    to_ref: Annotated[str, Query(alias="to", max_length=32, description="MAJOR.MINOR.PATCH or 'draft'")],
    caller: CallerDep,
    db: DbDep,
) -> dict[str, Any]:
    process = get_process(db, caller, process_id)

    def content(ref: str, field: str) -> tuple[str, dict[str, str]]:
        if ref == "draft":
            d = get_draft(db, process)
            return d.bpmn, d.dmn
        v = get_version(db, process, ref, field)
        return v.bpmn, v.dmn

    old_bpmn, old_dmn = content(from_ref, "query.from")
    new_bpmn, new_dmn = content(to_ref, "query.to")
    result = diff_processes(old_bpmn, new_bpmn, old_dmn, new_dmn).to_json()
    return {"process_id": str(process.id), "from": from_ref, "to": to_ref, **result}
