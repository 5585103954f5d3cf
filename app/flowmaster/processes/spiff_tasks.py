"""SpiffWorkflow extensions: business rule tasks on our DMN engine, service tasks on handlers.

Task specs keep only names (decision id, handler topic), so instances serialize; the decisions
and handlers themselves live on the workflow's script engine, which the facade supplies.

How a BPMN file names them (what Camunda 7 and Camunda 8 modelers write):
- business rule task: `camunda:decisionRef` (+ optional `camunda:resultVariable`), or
  `<zeebe:calledDecision decisionId=".." resultVariable=".."/>` in extensionElements;
- service task: `camunda:topic` (implementation "External"), or `<zeebe:taskDefinition type=".."/>`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.mixins import BpmnSpecMixin

from ..rules import DecisionModel, DecisionResult, DmnError, evaluate_decision

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"

Handler = Callable[[dict[str, Any]], Mapping[str, Any] | None]
"""A service task handler: gets a copy of the task data, returns variables to set (or None)."""


class FlowmasterScriptEngine(PythonScriptEngine):
    """Spiff's Python engine (script tasks, gateway conditions) plus our decisions and handlers."""

    def __init__(self, decisions: Mapping[str, DecisionModel], handlers: Mapping[str, Handler]) -> None:
        super().__init__()
        self.decisions = decisions  # decision id -> the model that defines it
        self.handlers = handlers

    def decide(self, decision_ref: str, data: Mapping[str, Any]) -> DecisionResult:
        return evaluate_decision(self.decisions[decision_ref], decision_ref, data)

    def handle(self, topic: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
        if topic not in self.handlers:
            raise KeyError(f"no handler registered for service topic {topic!r}; registered: {', '.join(self.handlers) or 'none'}")
        return self.handlers[topic](dict(data)) or {}


class BusinessRuleTask(BpmnSpecMixin):
    def __init__(self, wf_spec: Any, bpmn_id: str, decision_ref: str, result_variable: str | None = None, **kwargs: Any):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.decision_ref = decision_ref
        self.result_variable = result_variable

    def _run_hook(self, my_task: Any) -> bool:
        try:
            result = my_task.workflow.script_engine.decide(self.decision_ref, my_task.data)
        except DmnError as exc:
            raise WorkflowTaskException(str(exc), task=my_task, exception=exc) from exc
        my_task.data.update(result.variables(self.result_variable))
        # Kept for the execution log: which rules decided.
        my_task._set_internal_data(decision=result.to_json())
        return True


class ServiceTask(BpmnSpecMixin):
    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str, **kwargs: Any):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic

    def _run_hook(self, my_task: Any) -> bool:
        try:
            updates = my_task.workflow.script_engine.handle(self.topic, my_task.data)
        except Exception as exc:  # a handler's failure is the task's failure, whatever it raised
            raise WorkflowTaskException(f"service task {self.topic!r} failed: {exc}", task=my_task, exception=exc) from exc
        my_task.data.update(updates)
        return True


def _extension(parser: TaskParser, ns: str, tag: str) -> Any:
    found = parser.node.find(f"{{{parser.nsmap.get('bpmn', '')}}}extensionElements/{{{ns}}}{tag}")
    return found


class BusinessRuleTaskParser(TaskParser):
    def create_task(self) -> BusinessRuleTask:
        ref = self.node.get(f"{{{CAMUNDA_NS}}}decisionRef")
        result_variable = self.node.get(f"{{{CAMUNDA_NS}}}resultVariable")
        called = _extension(self, ZEEBE_NS, "calledDecision")
        if ref is None and called is not None:
            ref, result_variable = called.get("decisionId"), called.get("resultVariable")
        if not ref:
            self.raise_validation_exception(
                "business rule task names no decision: set camunda:decisionRef or zeebe:calledDecision decisionId"
            )
        known = self.process_parser.parser.decisions
        if ref not in known:
            self.raise_validation_exception(
                f"business rule task calls decision {ref!r}, which no attached DMN file defines "
                f"(decisions: {', '.join(sorted(known)) or 'none'})"
            )
        return BusinessRuleTask(
            self.spec, self.bpmn_id, decision_ref=ref, result_variable=result_variable, **self.bpmn_attributes
        )


class ServiceTaskParser(TaskParser):
    def create_task(self) -> ServiceTask:
        topic = self.node.get(f"{{{CAMUNDA_NS}}}topic")
        definition = _extension(self, ZEEBE_NS, "taskDefinition")
        if topic is None and definition is not None:
            topic = definition.get("type")
        if not topic:
            self.raise_validation_exception(
                "service task names no handler: set camunda:topic (implementation External) or zeebe:taskDefinition type"
            )
        return ServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class FlowmasterBpmnParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        full_tag("businessRuleTask"): (BusinessRuleTaskParser, BusinessRuleTask),
        full_tag("serviceTask"): (ServiceTaskParser, ServiceTask),
    }

    def __init__(self, decisions: Mapping[str, DecisionModel], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.decisions = decisions


class BusinessRuleTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: BusinessRuleTask) -> dict[str, Any]:
        dct = self.get_default_attributes(spec)
        dct["decision_ref"] = spec.decision_ref
        dct["result_variable"] = spec.result_variable
        return dct


class ServiceTaskConverter(BpmnTaskSpecConverter):
    def to_dict(self, spec: ServiceTask) -> dict[str, Any]:
        dct = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct


def make_serializer() -> BpmnWorkflowSerializer:
    config = dict(DEFAULT_CONFIG)
    config[BusinessRuleTask] = BusinessRuleTaskConverter
    config[ServiceTask] = ServiceTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
