"""The process engine facade on SpiffWorkflow: run, wait, complete, fail, log, snapshot."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json

import pytest
from flowmaster.processes import (
    InstanceStateError,
    InstanceStatus,
    ProcessDefinitionError,
    ProcessEngine,
    ProcessExecutionError,
    load_process,
)

from . import bpmn_builder as b
from .dmn_builder import EXAMPLES, table

EXAMPLE_BPMN = (EXAMPLES / "order_approval.bpmn").read_text()
EXAMPLE_DMN = (EXAMPLES / "order_approval.dmn").read_text()


def score(data: dict) -> dict:
    return {"customerTier": "gold" if data["customerId"].startswith("vip") else "standard"}


class FakeClock:
    """Deterministic timestamps: one second per reading."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def __call__(self) -> dt.datetime:
        return dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=next(self.ticks))


@pytest.fixture
def engine() -> ProcessEngine:
    ids = (f"inst-{n}" for n in itertools.count(1))
    return ProcessEngine({"score-customer": score}, clock=FakeClock(), new_id=lambda: next(ids))


@pytest.fixture(scope="module")
def order_process():
    return load_process([EXAMPLE_BPMN], [EXAMPLE_DMN])


def steps(instance) -> list[tuple[str, str | None]]:
    return [(e["event"], e.get("task_id")) for e in instance.log.events]


def test_example_runs_service_and_rule_task_then_waits_for_a_person(engine, order_process) -> None:
    instance = engine.start(order_process, {"amount": 5000, "customerId": "c-1"})
    assert instance.id == "inst-1"
    assert instance.status is InstanceStatus.WAITING
    assert steps(instance) == [
        ("instance_started", None),
        ("task_completed", "order_received"),
        ("task_completed", "score_customer"),
        ("task_completed", "decide_approval"),
        ("task_ready", "review_order"),
    ]
    [task] = instance.user_tasks()
    assert (task.bpmn_id, task.name, task.process) == ("review_order", "Review order", "order_approval")
    assert task.data["approvalLevel"] == "team-lead"

    instance.complete_user_task("review_order", {"approved": True}, actor="alice")
    assert instance.status is InstanceStatus.COMPLETED
    assert instance.data == {
        "amount": 5000,
        "customerId": "c-1",
        "customerTier": "standard",
        "approvalLevel": "team-lead",
        "approversNeeded": 1,
        "approved": True,
    }
    assert steps(instance)[-3:] == [
        ("task_completed", "review_order"),
        ("task_completed", "order_decided"),
        ("instance_completed", None),
    ]


def test_log_events_carry_type_state_change_data_delta_and_decision(engine, order_process) -> None:
    instance = engine.start(order_process, {"amount": 500000, "customerId": "vip-7"})
    events = {e.get("task_id"): e for e in instance.log.events}
    service = events["score_customer"]
    assert service["task_type"] == "Service Task"
    assert (service["from_state"], service["to_state"]) == ("READY", "COMPLETED")
    assert service["data_delta"] == {"set": {"customerTier": "gold"}, "removed": []}
    assert service["process"] == "order_approval"
    assert service["instance"] == instance.id
    rule_event = events["decide_approval"]
    assert rule_event["task_type"] == "Business Rule Task"
    assert rule_event["data_delta"]["set"] == {"approvalLevel": "board", "approversNeeded": 2}
    assert rule_event["decision"]["selectedRules"] == ["huge"]
    assert events["review_order"]["task_type"] == "User Task"
    # The fake clock makes timestamps exact: one second per event, in order.
    assert [e["timestamp"] for e in instance.log.events[:2]] == ["2024-01-01T00:00:00+00:00", "2024-01-01T00:00:01+00:00"]
    assert [e["seq"] for e in instance.log.events] == list(range(1, len(instance.log.events) + 1))
    instance.complete_user_task("review_order", {"approved": False}, actor="bob")
    user_done = instance.log.filter(event="task_completed", task_id="review_order")[0]
    assert user_done["actor"] == "bob"
    assert user_done["data_delta"] == {"set": {"approved": False}, "removed": []}


def test_log_filter_and_exports(engine, order_process) -> None:
    instance = engine.start(order_process, {"amount": 10, "customerId": "c"})
    instance.complete_user_task("review_order", {"approved": True})
    log = instance.log
    assert [e["task_id"] for e in log.filter(task_type="Service Task")] == ["score_customer"]
    assert len(log.filter(event=["instance_started", "instance_completed"])) == 2
    assert log.filter(after_seq=len(log.events) - 1) == [log.events[-1]]
    lines = log.to_jsonl().splitlines()
    assert [json.loads(line) for line in lines] == log.events
    rows = list(csv.DictReader(io.StringIO(log.to_csv())))
    assert len(rows) == len(log.events)
    service_row = next(r for r in rows if r["task_id"] == "score_customer")
    assert json.loads(service_row["data_delta"]) == {"removed": [], "set": {"customerTier": "standard"}}


def test_snapshot_is_json_and_restores_to_continue(engine, order_process) -> None:
    instance = engine.start(order_process, {"amount": 2000, "customerId": "vip-1"})
    stored = json.loads(json.dumps(instance.snapshot()))
    stored_log = json.loads(json.dumps(instance.log.events))
    restored = engine.restore(order_process, stored, stored_log)
    assert restored.status is InstanceStatus.WAITING
    assert [t.bpmn_id for t in restored.user_tasks()] == ["review_order"]
    restored.complete_user_task("review_order", {"approved": True})
    assert restored.status is InstanceStatus.COMPLETED
    assert restored.data["approvalLevel"] == "auto"
    # The restored log continues the stored one without repeating what was already logged.
    assert restored.log.events[: len(stored_log)] == stored_log
    assert [(e["event"], e.get("task_id")) for e in restored.log.events[len(stored_log) :]] == [
        ("task_completed", "review_order"),
        ("task_completed", "order_decided"),
        ("instance_completed", None),
    ]


def test_restore_refuses_another_process(engine, order_process) -> None:
    other = load_process([b.linear("other", b.user("u"))])
    snap = engine.start(other).snapshot()
    with pytest.raises(InstanceStateError, match="snapshot is of process 'other'"):
        engine.restore(order_process, snap)


def test_service_failure_fails_the_instance_and_names_the_task(order_process) -> None:
    def broken(data: dict) -> dict:
        raise ConnectionError("scoring service unreachable")

    engine = ProcessEngine({"score-customer": broken})
    with pytest.raises(ProcessExecutionError, match="task score_customer failed: .*scoring service unreachable") as err:
        engine.start(order_process, {"amount": 1, "customerId": "c"}, instance_id="i-broken")
    assert err.value.instance == "i-broken"


def test_missing_handler_names_the_topic() -> None:
    process = load_process([b.linear("p", b.service("s", "missing"), b.user("u"))])
    with pytest.raises(ProcessExecutionError, match="no handler registered for service topic 'missing'; registered: other"):
        ProcessEngine({"other": lambda d: None}).start(process, instance_id="i-2")


def test_failure_log_and_status_via_a_later_step() -> None:
    calls = {"n": 0}

    def flaky(data: dict) -> dict:
        calls["n"] += 1
        raise RuntimeError("boom")

    process = load_process([b.linear("p", b.user("first"), b.service("s", "flaky"), b.user("second"))])
    engine = ProcessEngine({"flaky": flaky})
    instance = engine.start(process, {"x": 1})
    assert instance.status is InstanceStatus.WAITING
    with pytest.raises(ProcessExecutionError, match="RuntimeError: boom|boom"):
        instance.complete_user_task("first", {"y": 2})
    assert instance.status is InstanceStatus.FAILED
    assert "boom" in (instance.error or "")
    failed = instance.log.filter(event="task_failed")
    assert [e["task_id"] for e in failed] == ["s"]
    assert failed[0]["to_state"] == "ERROR"
    assert instance.log.events[-1]["event"] == "instance_failed"
    with pytest.raises(InstanceStateError, match="is failed"):
        instance.complete_user_task("second")
    assert calls["n"] == 1


def test_hit_policy_violation_in_a_rule_task_fails_the_instance() -> None:
    dmn = table(rules=[(["< 10"], ['"a"']), (["< 20"], ['"b"'])])
    process = load_process([b.linear("p", b.rule("decide", "d"))], [dmn])
    with pytest.raises(
        ProcessExecutionError, match=r"task decide failed: .*hit policy UNIQUE violated by rules rule 1 \(r1\), rule 2"
    ):
        ProcessEngine().start(process, {"x": 5})


def test_rule_task_result_variable_and_multi_hit() -> None:
    dmn = table("COLLECT", rules=[(["> 0"], ['"a"']), (["> 1"], ['"b"'])])
    one = load_process([b.linear("p", b.rule("decide", "d", result_variable="codes"))], [dmn])
    assert ProcessEngine().start(one, {"x": 5}).data["codes"] == ["a", "b"]
    two = load_process([b.linear("p", b.rule("decide", "d"))], [dmn])
    assert ProcessEngine().start(two, {"x": 5}).data["d"] == ["a", "b"]


def test_unknown_user_task_lists_the_waiting_ones(engine, order_process) -> None:
    instance = engine.start(order_process, {"amount": 1, "customerId": "c"})
    with pytest.raises(InstanceStateError, match=r"no waiting user task 'approve'; waiting: review_order \("):
        instance.complete_user_task("approve")
    task_id = instance.user_tasks()[0].id
    instance.complete_user_task(task_id, {"ok": 1})  # by task instance id as well
    with pytest.raises(InstanceStateError, match="is completed"):
        instance.complete_user_task(task_id)


def test_script_tasks_and_gateway_conditions() -> None:
    xml = (
        b.HEADER + '<bpmn:process id="g" isExecutable="true">'
        '<bpmn:startEvent id="s"/>'
        + b.script("compute", "total = price * qty")
        + '<bpmn:exclusiveGateway id="big" default="small_flow"/>'
        + b.user("review")
        + b.script("auto", "approved = True")
        + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="a" sourceRef="s" targetRef="compute"/>'
        '<bpmn:sequenceFlow id="c" sourceRef="compute" targetRef="big"/>'
        '<bpmn:sequenceFlow id="big_flow" sourceRef="big" targetRef="review">'
        "<bpmn:conditionExpression>total &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="small_flow" sourceRef="big" targetRef="auto"/>'
        '<bpmn:sequenceFlow id="r" sourceRef="review" targetRef="e1"/>'
        '<bpmn:sequenceFlow id="x" sourceRef="auto" targetRef="e2"/>'
        "</bpmn:process></bpmn:definitions>"
    )
    process = load_process([xml])
    small = ProcessEngine().start(process, {"price": 10, "qty": 2})
    assert small.status is InstanceStatus.COMPLETED
    assert small.data == {"price": 10, "qty": 2, "total": 20, "approved": True}
    assert ("task_completed", "big") in steps(small)
    big = ProcessEngine().start(process, {"price": 100, "qty": 2})
    assert [t.bpmn_id for t in big.user_tasks()] == ["review"]


def test_call_activity_runs_the_linked_process_and_logs_its_steps() -> None:
    parent = b.process("parent", b.service("prepare", "prepare"), b.call("run_child", "child"), b.user("wrap_up"))
    child = b.process("child", b.user("child_review"), b.service("child_work", "work"))
    process = load_process([b.document(parent, child)])
    engine = ProcessEngine({"prepare": lambda d: {"prepared": True}, "work": lambda d: {"worked": d["prepared"]}})
    instance = engine.start(process, {})
    assert [(t.bpmn_id, t.process) for t in instance.user_tasks()] == [("child_review", "child")]
    started = instance.log.filter(task_id="run_child")
    assert [(e["event"], e["to_state"]) for e in started] == [("task_started", "STARTED")]
    instance.complete_user_task("child_review", {"reviewed": True})
    assert [t.bpmn_id for t in instance.user_tasks()] == ["wrap_up"]
    done = instance.log.filter(event="task_completed", task_id="run_child")
    assert len(done) == 1
    assert done[0]["data_delta"]["set"] == {"reviewed": True, "worked": True}
    assert instance.log.filter(task_id="child_work")[0]["process"] == "child"
    instance.complete_user_task("wrap_up")
    assert instance.status is InstanceStatus.COMPLETED
    assert instance.data == {"prepared": True, "reviewed": True, "worked": True}


def test_zeebe_style_task_definitions() -> None:
    xml = b.linear(
        "z",
        '<bpmn:serviceTask id="svc"><bpmn:extensionElements><zeebe:taskDefinition type="enrich"/>'
        "</bpmn:extensionElements></bpmn:serviceTask>",
        '<bpmn:businessRuleTask id="brt"><bpmn:extensionElements>'
        '<zeebe:calledDecision decisionId="d" resultVariable="verdict"/></bpmn:extensionElements></bpmn:businessRuleTask>',
    )
    dmn = table(rules=[(["-"], ['"ok"'])])
    instance = ProcessEngine({"enrich": lambda d: {"x": 3}}).start(load_process([xml], [dmn]))
    assert instance.data == {"x": 3, "verdict": "ok"}


@pytest.mark.parametrize(
    ("bpmn", "dmn", "fragment"),
    [
        (b.linear("p", b.rule("r", "nope")), [], "calls decision 'nope', which no attached DMN file defines"),
        (b.linear("p", '<bpmn:serviceTask id="s"/>'), [], "service task names no handler"),
        (b.linear("p", '<bpmn:businessRuleTask id="r"/>'), [], "business rule task names no decision"),
        ("<bpmn:definitions", [], "not well-formed XML"),
        (
            b.linear("p", b.user("u")).replace("<bpmn:userTask", "<bpmn:userTsk").replace("</bpmn:process>", "</bpmn:process>"),
            [],
            "BPMN",
        ),
        (b.linear("p", b.call("c", "missing_process")), [], "missing_process"),
        (b.linear("p", b.user("u")), [table(), table()], "defined by more than one DMN document"),
        (b.linear("p", b.user("u")), ["<definitions/>"], "expected a DMN <definitions>"),
    ],
)
def test_definition_errors(bpmn: str, dmn: list[str], fragment: str) -> None:
    with pytest.raises(ProcessDefinitionError, match=fragment):
        load_process([bpmn], dmn)


def test_call_activity_target_may_be_left_out_for_a_standalone_check() -> None:
    process = load_process([b.linear("p", b.call("c", "elsewhere"))], require_linked=False)
    assert process.process_id == "p"
