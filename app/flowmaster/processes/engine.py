"""The process engine facade: load BPMN (+ DMN), start instances, run, wait, complete, log.

    process = load_process([bpmn_xml], [dmn_xml])
    engine = ProcessEngine(handlers={"score-customer": score})
    instance = engine.start(process, {"amount": 5000})      # runs until a person is needed
    instance.user_tasks()                                      # [UserTask(bpmn_id="review_order", ...)]
    instance.complete_user_task("review_order", {"approved": True}, actor="alice")
    instance.status, instance.data, instance.log.events

Script tasks and sequence-flow conditions are Python expressions (SpiffWorkflow's script engine):
they run trusted, published process definitions, not user input.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.spec_description import SPEC_DESCRIPTIONS
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..rules import DecisionModel, DmnError, parse_dmn
from .execution_log import Clock, ExecutionLog, data_delta, json_safe, utc_now
from .spiff_tasks import FlowmasterBpmnParser, FlowmasterScriptEngine, Handler, make_serializer


class ProcessError(Exception):
    """Base class of process engine errors."""


class ProcessDefinitionError(ProcessError):
    """The BPMN/DMN content cannot be loaded."""


class ProcessExecutionError(ProcessError):
    """A task failed while an instance ran; the instance is marked failed."""

    def __init__(self, instance: str, task_id: str | None, message: str) -> None:
        self.instance = instance
        self.task_id = task_id
        super().__init__(f"instance {instance}: task {task_id or '?'} failed: {message}")


class InstanceStateError(ProcessError):
    """The operation does not fit the instance's state (no such user task, already completed...)."""


class InstanceStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"  # for a person (user task) or an event
    COMPLETED = "completed"
    FAILED = "failed"


_DESCRIPTIONS = {**SPEC_DESCRIPTIONS, full_tag("businessRuleTask"): "Business Rule Task"}
# States worth a log line; predicted states (MAYBE, LIKELY, FUTURE) are Spiff's planning.
_LOGGED_STATES = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.FINISHED_MASK
_EVENT_FOR_STATE = {
    TaskState.WAITING: "task_waiting",
    TaskState.READY: "task_ready",
    TaskState.STARTED: "task_started",
    TaskState.COMPLETED: "task_completed",
    TaskState.ERROR: "task_failed",
    TaskState.CANCELLED: "task_cancelled",
}


@cache
def _bpmn_validator() -> BpmnValidator:
    return BpmnValidator()


@dataclass(frozen=True)
class LoadedProcess:
    """A parsed, executable process with the processes it calls and the decisions it uses."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    decisions: dict[str, DecisionModel]  # decision id -> model


def load_process(
    bpmn: Sequence[str | bytes],
    dmn: Sequence[str | bytes] = (),
    process_id: str | None = None,
    *,
    validate: bool = True,
    require_linked: bool = True,
) -> LoadedProcess:
    """Parse BPMN documents (the first holds the main process unless process_id says otherwise;
    the others hold processes it calls) and the DMN documents its rule tasks use.

    require_linked=False checks one definition on its own (e.g. before publishing it), when the
    processes its call activities name are versioned separately and not given here.
    """
    decisions: dict[str, DecisionModel] = {}
    for i, doc in enumerate(dmn):
        try:
            model = parse_dmn(doc, source=f"DMN document {i + 1}")
        except DmnError as exc:
            raise ProcessDefinitionError(str(exc)) from exc
        for decision_id in model.decisions:
            if decision_id in decisions:
                raise ProcessDefinitionError(f"decision '{decision_id}' is defined by more than one DMN document")
            decisions[decision_id] = model
    if not bpmn:
        raise ProcessDefinitionError("no BPMN document given")
    parser = FlowmasterBpmnParser(decisions, validator=_bpmn_validator() if validate else None, spec_descriptions=_DESCRIPTIONS)
    try:
        roots = []
        for i, doc in enumerate(bpmn):
            root = etree.fromstring(doc.encode() if isinstance(doc, str) else doc)
            roots.append(root)
            parser.add_bpmn_xml(root, filename=f"BPMN document {i + 1}")
        if process_id is None:
            executable = roots[0].xpath(
                ".//bpmn:process[not(@isExecutable='false')]/@id", namespaces={"bpmn": parser.namespaces["bpmn"]}
            )
            if not executable:
                raise ProcessDefinitionError("the first BPMN document has no executable process")
            process_id = str(executable[0])
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id, require_call_activity_specs=require_linked)
    except etree.XMLSyntaxError as exc:
        raise ProcessDefinitionError(f"BPMN is not well-formed XML: {exc}") from exc
    except ValidationException as exc:
        raise ProcessDefinitionError(f"BPMN does not load: {exc}") from exc
    return LoadedProcess(process_id, spec.description or process_id, spec, subprocess_specs, decisions)


@dataclass(frozen=True)
class UserTask:
    """A user task waiting for a person."""

    id: str  # this task instance (uuid)
    bpmn_id: str
    name: str | None
    lane: str | None
    process: str
    data: dict[str, Any]


@dataclass
class ProcessInstance:
    id: str
    process: LoadedProcess
    workflow: BpmnWorkflow
    log: ExecutionLog
    status: InstanceStatus = InstanceStatus.RUNNING
    error: str | None = None
    _known: dict[Any, int] = field(default_factory=dict, repr=False)  # task uuid -> last logged state
    _started_data: dict[Any, dict[str, Any]] = field(default_factory=dict, repr=False)
    _before: dict[str, Any] = field(default_factory=dict, repr=False)

    # reading ---------------------------------------------------------------------------------

    @property
    def data(self) -> dict[str, Any]:
        """Process variables: the final data once completed, else the latest step's."""
        if self.workflow.completed:
            return dict(self.workflow.data)
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def user_tasks(self) -> list[UserTask]:
        return [
            UserTask(
                id=str(t.id),
                bpmn_id=t.task_spec.bpmn_id,
                name=t.task_spec.bpmn_name,
                lane=t.task_spec.lane,
                process=t.workflow.spec.name,
                data=copy.deepcopy(t.data),
            )
            for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
        ]

    def snapshot(self) -> dict[str, Any]:
        """The instance's state as JSON-safe data, for storage; see ProcessEngine.restore."""
        return {
            "id": self.id,
            "process_id": self.process.process_id,
            "status": str(self.status),
            "error": self.error,
            "workflow": make_serializer().to_dict(self.workflow),
        }

    # acting ----------------------------------------------------------------------------------

    def complete_user_task(self, ref: str, data: Mapping[str, Any] | None = None, *, actor: str | None = None) -> None:
        """Complete a waiting user task (by task instance id or BPMN id) with the person's data."""
        if self.status in {InstanceStatus.COMPLETED, InstanceStatus.FAILED}:
            raise InstanceStateError(f"instance {self.id} is {self.status}; no user task can be completed")
        ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        matches = [t for t in ready if str(t.id) == ref or t.task_spec.bpmn_id == ref]
        if not matches:
            waiting = ", ".join(f"{t.task_spec.bpmn_id} ({t.id})" for t in ready) or "none"
            raise InstanceStateError(f"instance {self.id} has no waiting user task {ref!r}; waiting: {waiting}")
        if len(matches) > 1:
            raise InstanceStateError(f"{len(matches)} user tasks {ref!r} are waiting; name one by its task id")
        task = matches[0]
        self._will_run(task)
        task.data.update(dict(data or {}))
        try:
            task.run()
        except Exception as exc:
            self._failed(task, exc)
        self._did_run(task, actor=actor)
        self.advance()

    def advance(self) -> None:
        """Run every engine task that is ready (service, script, rule tasks, gateways, events)."""
        try:
            self.workflow.do_engine_steps(will_complete_task=self._will_run, did_complete_task=self._did_run)
        except Exception as exc:
            self._failed(self._before.get("task"), exc)
        self._scan()
        self._update_status()

    # logging ---------------------------------------------------------------------------------

    def _fields(self, task: Any) -> dict[str, Any]:
        spec = task.task_spec
        return {
            "process": task.workflow.spec.name,
            "task_id": spec.bpmn_id,
            "task_name": spec.bpmn_name,
            "task_type": spec.description,
            "task_instance": str(task.id),
        }

    def _will_run(self, task: Any) -> None:
        # Changes made between two task runs (a call activity starting its process) come first.
        self._scan()
        self._before = {"task": task, "state": task.state, "data": copy.deepcopy(task.data)}

    def _did_run(self, task: Any, actor: str | None = None) -> None:
        before = self._before
        self._known[task.id] = task.state
        if task.task_spec.bpmn_id is None:
            return  # Spiff's own bookkeeping tasks (Start, EndJoin, End)
        # A call activity's data changed while it was STARTED: diff against the data it started with.
        before_data = self._started_data.pop(task.id, before["data"])
        if task.state == TaskState.STARTED:
            self._started_data[task.id] = copy.deepcopy(task.data)
        self.log.record(
            _EVENT_FOR_STATE.get(task.state, "task_state"),
            **self._fields(task),
            from_state=TaskState.get_name(before["state"]),
            to_state=TaskState.get_name(task.state),
            data_delta=data_delta(before_data, task.data),
            decision=task.internal_data.get("decision"),
            actor=actor,
        )

    def _failed(self, task: Any, exc: Exception) -> None:
        message = _error_message(exc)
        task_id = task.task_spec.bpmn_id if task is not None else None
        if task is not None:
            self._known[task.id] = task.state
            self.log.record(
                "task_failed",
                **self._fields(task),
                from_state=TaskState.get_name(self._before.get("state", task.state)),
                to_state=TaskState.get_name(task.state),
                error=message,
            )
        self.status = InstanceStatus.FAILED
        self.error = message
        self.log.record("instance_failed", process=self.process.process_id, task_id=task_id, error=message)
        raise ProcessExecutionError(self.id, task_id, message) from exc

    def _scan(self) -> None:
        """Log state changes that happened outside a task run (user task ready, call activity done)."""
        for task in self.workflow.get_tasks(state=_LOGGED_STATES):
            if self._known.get(task.id) == task.state:
                continue
            if task.state == TaskState.READY and not task.task_spec.manual:
                continue  # about to run; its run is the event
            previous = self._known.get(task.id)
            self._known[task.id] = task.state
            if task.task_spec.bpmn_id is None:
                continue
            if task.state == TaskState.STARTED:
                self._started_data[task.id] = copy.deepcopy(task.data)
                started = None
            else:
                started = self._started_data.pop(task.id, None)
            self.log.record(
                _EVENT_FOR_STATE.get(task.state, "task_state"),
                **self._fields(task),
                from_state=TaskState.get_name(previous) if previous is not None else None,
                to_state=TaskState.get_name(task.state),
                data_delta=data_delta(started, task.data) if started is not None else None,
            )

    def _update_status(self) -> None:
        if self.workflow.completed:
            if self.status is not InstanceStatus.COMPLETED:
                self.status = InstanceStatus.COMPLETED
                self.log.record("instance_completed", process=self.process.process_id, data=json_safe(self.data))
        elif self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            self.status = InstanceStatus.WAITING
        else:
            self.status = InstanceStatus.RUNNING


def _error_message(exc: Exception) -> str:
    if isinstance(exc, SpiffWorkflowException):
        notes = "; ".join(getattr(exc, "__notes__", []) or [])
        return f"{exc}" + (f" ({notes})" if notes else "")
    return f"{type(exc).__name__}: {exc}"


class ProcessEngine:
    """Starts and restores instances; service task handlers are registered by topic."""

    def __init__(
        self,
        handlers: Mapping[str, Handler] | None = None,
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.handlers = dict(handlers or {})
        self.clock = clock
        self.new_id = new_id

    def _workflow(self, process: LoadedProcess) -> BpmnWorkflow:
        engine = FlowmasterScriptEngine(process.decisions, self.handlers)
        return BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=engine)

    def create(
        self, process: LoadedProcess, data: Mapping[str, Any] | None = None, *, instance_id: str | None = None
    ) -> ProcessInstance:
        """An instance with its initial data and its `instance_started` log entry, not run yet."""
        workflow = self._workflow(process)
        instance_id = instance_id or self.new_id()
        instance = ProcessInstance(instance_id, process, workflow, ExecutionLog(instance_id, self.clock))
        initial = dict(data or {})
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(copy.deepcopy(initial))
        instance.log.record("instance_started", process=process.process_id, data_delta={"set": json_safe(initial), "removed": []})
        return instance

    def start(
        self, process: LoadedProcess, data: Mapping[str, Any] | None = None, *, instance_id: str | None = None
    ) -> ProcessInstance:
        """Create an instance with initial data and run it until it waits, completes or fails."""
        instance = self.create(process, data, instance_id=instance_id)
        instance.advance()
        return instance

    def restore(
        self, process: LoadedProcess, snapshot: Mapping[str, Any], log_events: Sequence[dict[str, Any]] = ()
    ) -> ProcessInstance:
        """Rebuild an instance from snapshot() (and its stored log) to continue it."""
        if snapshot["process_id"] != process.process_id:
            raise InstanceStateError(f"snapshot is of process {snapshot['process_id']!r}, not {process.process_id!r}")
        workflow = make_serializer().from_dict(copy.deepcopy(snapshot["workflow"]))
        workflow.script_engine = FlowmasterScriptEngine(process.decisions, self.handlers)
        log = ExecutionLog(snapshot["id"], self.clock, [dict(e) for e in log_events])
        instance = ProcessInstance(
            snapshot["id"], process, workflow, log, InstanceStatus(snapshot["status"]), snapshot.get("error")
        )
        # Everything already in the snapshot counts as logged; only later changes are new events.
        instance._known = {t.id: t.state for t in workflow.get_tasks(state=_LOGGED_STATES)}
        return instance
