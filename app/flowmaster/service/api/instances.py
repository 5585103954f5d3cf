"""Process instances: start, list, read, complete user tasks, execution logs (filter, export)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, undefer

from ...processes import InstanceStateError, InstanceStatus, ProcessExecutionError, ProcessInstance
from ...processes.execution_log import ExecutionLog, json_safe
from .. import metrics
from ..context import Caller, CallerDep, DbDep, SvcDep, dump, list_page
from ..errors import ERROR_RESPONSES, ApiError, bad_request, not_found
from ..events import emit, instance_events
from ..idempotency import IdemDep, claim_post
from ..models import Instance, LogEntry, Process, ProcessVersion
from ..pagination import Page, PageDep, list_fetch, sql_fetch
from ..runtime import MigrationBlocked, migrate_instance, start_instance
from .processes import get_process, get_version

router = APIRouter(prefix="/api/v1/instances", tags=["instances"], responses=ERROR_RESPONSES)
InstanceId = Path(description="the instance's id (uuid)")
Status = Literal["running", "waiting", "completed", "failed"]


class StartIn(BaseModel):
    process_id: uuid.UUID
    version: str | None = Field(None, max_length=32, description="a published version (default: the latest)")
    data: dict[str, Any] = Field(default_factory=dict, description="initial process variables")


class CompleteIn(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict, description="variables the person sets (e.g. approved: true)")


def _tasks(inst: ProcessInstance) -> list[dict[str, Any]]:
    return [{"id": t.id, "bpmn_id": t.bpmn_id, "name": t.name, "lane": t.lane, "process": t.process} for t in inst.user_tasks()]


def instance_out(row: Instance, process_key: str) -> dict[str, Any]:
    return dump(
        {
            "id": row.id,
            "process_id": row.process_id,
            "process_key": process_key,
            "version": row.version,
            "legal_entity": row.legal_entity_id,
            "status": row.status,
            "error": row.error,
            "data": row.data,
            "user_tasks": row.user_tasks,
            "log_count": row.log_count,
            "started_by": row.started_by,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "completed_at": row.completed_at,
        }
    )


def _no_nul(value: Any, field: str) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000: refuse it up front, naming the field."""
    if isinstance(value, str):
        if "\x00" in value:
            raise bad_request(field, "contains a NUL character")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k, field)
            _no_nul(v, f"{field}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_nul(v, f"{field}[{i}]")


def _store_run(db: Session, row: Instance, inst: ProcessInstance, caller: Caller, process: Process) -> None:
    """Persist the instance state, its new log entries and their events (one transaction)."""
    new_entries = inst.log.events[row.log_count :]
    row.status = str(inst.status)
    row.error = inst.error
    row.data = json_safe(inst.data)
    row.user_tasks = _tasks(inst)
    row.snapshot = inst.snapshot()
    row.log_count = len(inst.log.events)
    row.updated_at = dt.datetime.now(dt.UTC)
    if inst.status in {InstanceStatus.COMPLETED, InstanceStatus.FAILED}:
        row.completed_at = row.updated_at
    db.flush()
    if new_entries:
        db.execute(
            insert(LogEntry),
            [
                {
                    "instance_id": row.id,
                    "seq": e["seq"],
                    "ts": dt.datetime.fromisoformat(e["timestamp"]),
                    "event": e["event"],
                    "task_id": e.get("task_id"),
                    "task_type": e.get("task_type"),
                    "process": e.get("process"),
                    "entry": e,
                }
                for e in new_entries
            ],
        )
    emit(
        db,
        instance_events(str(row.id), str(process.id), new_entries, actor=caller.username, legal_entity=process.legal_entity_id),
    )
    for e in new_entries:
        if e["event"] in {"instance_started", "instance_completed", "instance_failed"}:
            metrics.INSTANCES.labels(e["event"].removeprefix("instance_")).inc()


@router.post("", status_code=201, summary="Start an instance of a published version; it runs until it waits or ends")
def start(
    body: StartIn,
    request: Request,
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    _no_nul(body.data, "body.data")
    process = get_process(db, caller, body.process_id, field="body.process_id")
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(mode="json"), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    version = get_version(db, process, body.version, "body.version")
    loaded = svc.runtime.cached_process(version.id) or svc.runtime.process(version.id, version.bpmn, version.dmn)
    instance_id = uuid.uuid4()
    inst = start_instance(svc.runtime.engine, loaded, body.data, str(instance_id))
    now = dt.datetime.now(dt.UTC)  # set here rather than by the server: no re-read after the insert
    row = Instance(
        id=instance_id,
        created_at=now,
        process_id=process.id,
        version_id=version.id,
        version=version.version,
        legal_entity_id=process.legal_entity_id,
        status=str(inst.status),
        data={},
        user_tasks=[],
        snapshot={},
        log_count=0,
        started_by=caller.username,
    )
    db.add(row)
    _store_run(db, row, inst, caller, process)
    return idem.finish(201, instance_out(row, process.key))


def get_instance(db: Session, caller: Caller, instance_id: uuid.UUID, *, lock: bool = False) -> tuple[Instance, Process]:
    """The instance and its process in one query; lock=True also loads the snapshot, to run it on."""
    stmt = select(Instance, Process).join(Process, Process.id == Instance.process_id).where(Instance.id == instance_id)
    if lock:
        stmt = stmt.options(undefer(Instance.snapshot)).with_for_update(of=Instance)
    found = db.execute(stmt).first()
    if found is None:
        raise not_found("instance", "path.instance_id")
    row, process = found
    caller.require_entity(row.legal_entity_id, "path.instance_id")
    return row, process


@router.get("", response_model=Page, summary="Instances of your legal entities, newest first")
def list_instances(
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    process_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    legal_entity: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    if legal_entity is not None:
        caller.require_entity(legal_entity, "query.legal_entity")
    entities = [legal_entity] if legal_entity else sorted(caller.legal_entities)
    stmt = (
        select(Instance, Process.key)
        .join(Process, Process.id == Instance.process_id)
        .where(Instance.legal_entity_id.in_(entities))
    )
    if process_id is not None:
        get_process(db, caller, process_id, field="query.process_id")
        stmt = stmt.where(Instance.process_id == process_id)
    if status is not None:
        stmt = stmt.where(Instance.status == status)
    return list_page(
        db, svc, caller, params,
        list_name="instances",
        fetch=sql_fetch(db, stmt, Instance.seq, descending=True),
        to_item=lambda r: {"_key": r[0].seq, **instance_out(r[0], r[1])},
        filters={"process_id": process_id, "status": status, "legal_entity": legal_entity},
    )


@router.get("/{instance_id}", summary="An instance: status, variables, waiting user tasks")
def read_instance(
    instance_id: Annotated[uuid.UUID, InstanceId],
    caller: CallerDep,
    db: DbDep,
) -> dict[str, Any]:
    row, process = get_instance(db, caller, instance_id)
    return instance_out(row, process.key)


@router.get("/{instance_id}/user-tasks", response_model=Page, summary="User tasks waiting for a person")
def list_user_tasks(
    instance_id: Annotated[uuid.UUID, InstanceId],
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    row, _ = get_instance(db, caller, instance_id)
    values = [{"_key": i, **t, "data": row.data} for i, t in enumerate(row.user_tasks)]
    return list_page(
        db, svc, caller, params,
        list_name="user_tasks",
        fetch=list_fetch(values),
        filters={"instance": str(instance_id)},
    )


@router.post("/{instance_id}/user-tasks/{task_ref}/complete", summary="Complete a waiting user task; the instance runs on")
def complete_user_task(
    body: CompleteIn,
    request: Request,
    instance_id: Annotated[uuid.UUID, InstanceId],
    task_ref: Annotated[str, Path(max_length=255, description="the task's id, or its BPMN id when only one such task waits")],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    _no_nul(body.data, "body.data")
    row, process = get_instance(db, caller, instance_id, lock=True)  # one change at a time per instance
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(mode="json"), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    if row.status != InstanceStatus.WAITING:
        raise ApiError(409, "not_waiting", f"instance is {row.status}", [("path.instance_id", f"instance is {row.status}")])
    loaded = svc.runtime.cached_process(row.version_id)
    if loaded is None:
        version = db.get(ProcessVersion, row.version_id)
        loaded = svc.runtime.process(version.id, version.bpmn, version.dmn)  # type: ignore[union-attr]
    # The restored log only numbers new entries after the stored ones (which stay in the table):
    # stand-ins of the stored count save reading them back.
    inst = svc.runtime.engine.restore(loaded, row.snapshot, [{"seq": n} for n in range(1, row.log_count + 1)])
    try:
        inst.complete_user_task(task_ref, body.data, actor=caller.username)
    except InstanceStateError as exc:
        raise ApiError(409, "no_such_task", str(exc), [("path.task_ref", str(exc))]) from exc
    except ProcessExecutionError:
        pass  # a later task failed: the instance is stored as failed, with the error in its log
    _store_run(db, row, inst, caller, process)
    return idem.finish(200, instance_out(row, process.key))


class MigrateIn(BaseModel):
    to_version: str = Field(max_length=32, description="a published version of the same process")


@router.post("/{instance_id}/migrations", summary="Move a running instance onto another version, where compatible")
def migrate(
    body: MigrateIn,
    request: Request,
    instance_id: Annotated[uuid.UUID, InstanceId],
    idempotency_key: IdemDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> Any:
    row, process = get_instance(db, caller, instance_id, lock=True)
    idem = claim_post(db, request, caller.id, idempotency_key, body.model_dump(mode="json"), svc.settings.idempotency_ttl)
    if idem.replay:
        return idem.replay
    if row.status in {InstanceStatus.COMPLETED, InstanceStatus.FAILED}:
        raise ApiError(409, "finished", f"instance is {row.status}", [("path.instance_id", f"instance is {row.status}")])
    target = get_version(db, process, body.to_version, "body.to_version")
    if target.id == row.version_id:
        raise bad_request("body.to_version", f"the instance already runs version {target.version}")
    current = db.get(ProcessVersion, row.version_id)
    old = svc.runtime.process(current.id, current.bpmn, current.dmn)  # type: ignore[union-attr]
    new = svc.runtime.process(target.id, target.bpmn, target.dmn)
    inst = svc.runtime.engine.restore(old, row.snapshot, [{"seq": n} for n in range(1, row.log_count + 1)])
    try:
        migrate_instance(svc.runtime.engine, inst, current.bpmn, new, target.bpmn, (row.version, target.version))  # type: ignore[union-attr]
    except MigrationBlocked as exc:
        reason = f"cannot move to {target.version}: {exc}"
        raise ApiError(409, "migration_blocked", reason, [("body.to_version", reason)]) from exc
    row.version_id, row.version = target.id, target.version
    _store_run(db, row, inst, caller, process)
    return idem.finish(200, instance_out(row, process.key))


# execution log -------------------------------------------------------------------------------


def _log_query(instance_id: uuid.UUID, event: str | None, task_id: str | None, task_type: str | None, process: str | None) -> Any:
    stmt = select(LogEntry).where(LogEntry.instance_id == instance_id)
    if event:
        stmt = stmt.where(LogEntry.event.in_([e.strip() for e in event.split(",") if e.strip()]))
    if task_id is not None:
        stmt = stmt.where(LogEntry.task_id == task_id)
    if task_type is not None:
        stmt = stmt.where(LogEntry.task_type == task_type)
    if process is not None:
        stmt = stmt.where(LogEntry.process == process)
    return stmt


EventFilter = Query(max_length=500, description="event kinds, comma-separated (e.g. task_completed,instance_failed)")
TaskFilter = Query(max_length=255, description="BPMN id of the task")
TypeFilter = Query(max_length=64, description="e.g. Service Task, Business Rule Task, User Task")
ProcessFilter = Query(max_length=255, description="BPMN process id (linked processes log their own)")


@router.get("/{instance_id}/log", response_model=Page, tags=["execution logs"], summary="The instance's execution log")
def read_log(
    instance_id: Annotated[uuid.UUID, InstanceId],
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    event: Annotated[str | None, EventFilter] = None,
    task_id: Annotated[str | None, TaskFilter] = None,
    task_type: Annotated[str | None, TypeFilter] = None,
    process: Annotated[str | None, ProcessFilter] = None,
) -> Any:
    get_instance(db, caller, instance_id)
    stmt = _log_query(instance_id, event, task_id, task_type, process)
    return list_page(
        db, svc, caller, params,
        list_name="log",
        fetch=sql_fetch(db, stmt, LogEntry.seq),
        to_item=lambda r: {"_key": r[0].seq, "id": r[0].seq, **r[0].entry},
        filters={"instance": str(instance_id), "event": event, "task_id": task_id, "task_type": task_type, "process": process},
    )


@router.get(
    "/{instance_id}/log/export",
    tags=["execution logs"],
    summary="Export the (filtered) execution log as JSON lines or CSV",
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export_log(
    instance_id: Annotated[uuid.UUID, InstanceId],
    caller: CallerDep,
    db: DbDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    event: Annotated[str | None, EventFilter] = None,
    task_id: Annotated[str | None, TaskFilter] = None,
    task_type: Annotated[str | None, TypeFilter] = None,
    process: Annotated[str | None, ProcessFilter] = None,
) -> Response:
    get_instance(db, caller, instance_id)
    stmt = _log_query(instance_id, event, task_id, task_type, process).order_by(LogEntry.seq)
    entries = [r.entry for r in db.execute(stmt).scalars()]
    log = ExecutionLog(str(instance_id), events=entries)
    if format == "csv":
        body, media = log.to_csv(), "text/csv"
    else:
        body, media = log.to_jsonl(), "application/x-ndjson"
    name = f"instance-{instance_id}-log.{format}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
