"""Events into the transactional outbox: written in the same transaction as the change they tell.

Payload (JSON, also what consumers see on Kafka):
    {"event_id": uuid, "event_type": "instance.started", "occurred_at": ISO 8601 UTC,
     "source": "flowmaster.process-management", "key": <process or instance id>,
     "actor": user name | null, "legal_entity": id | null, "data": {...}}
The Kafka record carries the same event_id as a header; consumers drop duplicates by it.

Streams (the spec's topics):
- process_events: definitions (process, draft, approval, version, template) and instance lifecycle
- execution_events: every execution log entry of an instance
- human_task_events: a user task became ready / was completed
- agent_task_events: a service task (run by a handler/agent) completed or failed
- system_events: users, preferences
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import OutboxEvent

SOURCE = "flowmaster.process-management"


def make_event(
    topic: str,
    event_type: str,
    key: str,
    data: Mapping[str, Any],
    *,
    actor: str | None = None,
    legal_entity: str | None = None,
) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    payload = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        "source": SOURCE,
        "key": key,
        "actor": actor,
        "legal_entity": legal_entity,
        "data": dict(data),
    }
    return {"event_id": uuid.UUID(event_id), "topic": topic, "key": key, "event_type": event_type, "payload": payload}


def emit(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    if rows:
        session.execute(insert(OutboxEvent), rows)
        session.info["outbox_written"] = True  # wakes the in-process relay after commit
    return len(rows)


def emit_one(session: Session, topic: str, event_type: str, key: str, data: Mapping[str, Any], **kw: Any) -> None:
    emit(session, [make_event(topic, event_type, key, data, **kw)])


_INSTANCE_EVENTS = {
    "instance_started": "instance.started",
    "instance_completed": "instance.completed",
    "instance_failed": "instance.failed",
    "instance_migrated": "instance.migrated",
}


def instance_events(
    instance_id: str, process_id: str, entries: Iterable[Mapping[str, Any]], *, actor: str | None, legal_entity: str
) -> list[dict[str, Any]]:
    """Outbox rows for new execution log entries of one instance (keyed by the instance id)."""
    rows = []
    common = {"actor": actor, "legal_entity": legal_entity}
    for entry in entries:
        data = {"process_id": process_id, "instance_id": instance_id, **entry}
        rows.append(make_event("execution_events", f"execution.{entry['event']}", instance_id, data, **common))
        kind, task_type = entry["event"], entry.get("task_type")
        if kind in _INSTANCE_EVENTS:
            rows.append(make_event("process_events", _INSTANCE_EVENTS[kind], instance_id, data, **common))
        elif task_type == "User Task" and kind in {"task_ready", "task_completed", "task_cancelled"}:
            rows.append(make_event("human_task_events", f"human_task.{kind.removeprefix('task_')}", instance_id, data, **common))
        elif task_type == "Service Task" and kind in {"task_completed", "task_failed"}:
            rows.append(make_event("agent_task_events", f"agent_task.{kind.removeprefix('task_')}", instance_id, data, **common))
    return rows
