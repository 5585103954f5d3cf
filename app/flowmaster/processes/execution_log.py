"""Per-instance execution log: one structured event per step, filterable, exportable.

Every event is a flat JSON-safe dict:
    seq, timestamp (ISO 8601, UTC), instance, process, event, task_id, task_name, task_type,
    task_instance, from_state, to_state, data_delta ({"set": {...}, "removed": [...]}),
    and, where they apply, decision (the rules that decided), error, actor, data (final variables).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Clock = Callable[[], dt.datetime]

EVENT_FIELDS = (
    "seq",
    "timestamp",
    "instance",
    "process",
    "event",
    "task_id",
    "task_name",
    "task_type",
    "task_instance",
    "from_state",
    "to_state",
    "data_delta",
    "decision",
    "error",
    "actor",
    "data",
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def json_safe(value: Any) -> Any:
    """Task data may hold anything a script produced; the log keeps a JSON view of it."""
    return json.loads(json.dumps(value, default=str))


def data_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What a step changed: variables set (new or different) and variables removed."""
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    return {"set": json_safe(changed), "removed": sorted(k for k in before if k not in after)}


@dataclass
class ExecutionLog:
    instance: str
    clock: Clock = utc_now
    events: list[dict[str, Any]] = field(default_factory=list)

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": len(self.events) + 1,
            "timestamp": self.clock().isoformat(),
            "instance": self.instance,
            "event": event,
        }
        entry.update({k: v for k, v in fields.items() if v is not None})
        self.events.append(entry)
        return entry

    def filter(
        self,
        *,
        event: str | Iterable[str] | None = None,
        task_id: str | None = None,
        task_type: str | None = None,
        process: str | None = None,
        after_seq: int = 0,
    ) -> list[dict[str, Any]]:
        kinds = {event} if isinstance(event, str) else set(event) if event is not None else None
        return [
            e
            for e in self.events
            if e["seq"] > after_seq
            and (kinds is None or e["event"] in kinds)
            and (task_id is None or e.get("task_id") == task_id)
            and (task_type is None or e.get("task_type") == task_type)
            and (process is None or e.get("process") == process)
        ]

    def to_jsonl(self, events: Iterable[Mapping[str, Any]] | None = None) -> str:
        return "".join(json.dumps(e, sort_keys=True) + "\n" for e in (self.events if events is None else events))

    def to_csv(self, events: Iterable[Mapping[str, Any]] | None = None) -> str:
        """CSV with a fixed header; nested values (data_delta, decision) as JSON text."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=EVENT_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for e in self.events if events is None else events:
            writer.writerow({k: json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for k, v in e.items()})
        return out.getvalue()
