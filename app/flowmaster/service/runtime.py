"""Glue between stored versions and the engine: parsed processes cached per version, handlers."""

from __future__ import annotations

import contextlib
import importlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from ..processes import LoadedProcess, ProcessEngine, ProcessExecutionError, ProcessInstance, load_process
from ..processes.bpmn_diff import migration_blockers
from ..processes.spiff_tasks import FlowmasterScriptEngine, Handler, make_serializer
from ..rules import DecisionModel, parse_dmn


def import_handler(ref: str) -> Handler:
    module, _, name = ref.partition(":")
    if not module or not name:
        raise ValueError(f"service handler {ref!r}: expected 'module:function'")
    handler = getattr(importlib.import_module(module), name)
    if not callable(handler):
        raise ValueError(f"service handler {ref!r} is not callable")
    return handler


class Runtime:
    """Parsing BPMN and DMN costs far more than running a step: published versions are immutable,
    so each is parsed once per process and kept (LRU)."""

    def __init__(self, handlers: Mapping[str, str], capacity: int = 256) -> None:
        self.engine = ProcessEngine({topic: import_handler(ref) for topic, ref in handlers.items()})
        self.capacity = capacity
        self._processes: OrderedDict[Any, LoadedProcess] = OrderedDict()
        self._decisions: OrderedDict[Any, dict[str, DecisionModel]] = OrderedDict()
        self._lock = threading.Lock()

    def _cached(self, cache: OrderedDict[Any, Any], key: Any, build: Any) -> Any:
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = build()
        with self._lock:
            cache[key] = value
            while len(cache) > self.capacity:
                cache.popitem(last=False)
        return value

    def cached_process(self, version_id: uuid.UUID) -> LoadedProcess | None:
        with self._lock:
            return self._processes.get(version_id)

    def process(self, version_id: uuid.UUID, bpmn: str, dmn: Mapping[str, str]) -> LoadedProcess:
        return self._cached(self._processes, version_id, lambda: load_process([bpmn], list(dmn.values()), require_linked=False))

    def decision_models(self, cache_key: Any, dmn: Mapping[str, str]) -> dict[str, DecisionModel]:
        """DMN file name -> parsed model; cache_key None parses without caching (drafts change)."""

        def build() -> dict[str, DecisionModel]:
            return {name: parse_dmn(xml, source=name) for name, xml in sorted(dmn.items())}

        return build() if cache_key is None else self._cached(self._decisions, cache_key, build)


def start_instance(engine: ProcessEngine, process: LoadedProcess, data: Mapping[str, Any], instance_id: str) -> ProcessInstance:
    """engine.start, keeping the instance when a task fails (engine.start raises and drops it):
    a failed instance is stored with its log like any other."""
    instance = engine.create(process, data, instance_id=instance_id)
    with contextlib.suppress(ProcessExecutionError):  # the instance records the failure itself
        instance.advance()
    return instance


class MigrationBlocked(Exception):
    def __init__(self, blockers: list[str]) -> None:
        self.blockers = blockers
        super().__init__("; ".join(blockers))


def migrate_instance(
    engine: ProcessEngine, inst: ProcessInstance, old_bpmn: str, new: LoadedProcess, new_bpmn: str, versions: tuple[str, str]
) -> None:
    """Move a running instance onto another version of its process, where compatible: every task
    it has (waiting or done) must still exist with the same type. Then it runs on (a changed
    decision table or script applies from here)."""
    waiting = {t.bpmn_id for t in inst.user_tasks()}
    blockers = migration_blockers(old_bpmn, new_bpmn, waiting)
    top, subs = diff_workflow(make_serializer().registry, inst.workflow, new.spec, new.subprocess_specs)
    for task in top.removed:
        name = task.task_spec.bpmn_id or task.task_spec.name
        blockers.append(f"task '{name}' ({TaskState.get_name(task.state)}) has no counterpart in version {versions[1]}")
    for sp_id, sub in subs.items():
        if sub is None or sub.removed:
            blockers.append(f"the running linked process {inst.workflow.subprocesses[sp_id].spec.name} cannot move")
    if blockers:
        raise MigrationBlocked(sorted(set(blockers)))
    workflow = inst.workflow
    migrate_workflow(top, workflow, new.spec)
    for sp_id, sub in subs.items():
        sp = workflow.subprocesses[sp_id]
        migrate_workflow(sub, sp, new.subprocess_specs[sp.spec.name])
    workflow.subprocess_specs = new.subprocess_specs
    workflow.script_engine = FlowmasterScriptEngine(new.decisions, engine.handlers)
    inst.process = new
    inst.log.record("instance_migrated", process=new.process_id, from_version=versions[0], to_version=versions[1])
    with contextlib.suppress(ProcessExecutionError):
        inst.advance()
