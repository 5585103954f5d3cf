"""Process links: DAG checks that name the cycle, execution order, failure propagation."""

from __future__ import annotations

import pytest
from flowmaster.processes import (
    FailurePolicy,
    Link,
    LinkCycleError,
    LinkGraph,
    Outcome,
    links_from_bpmn,
    propagate_failure,
)
from flowmaster.processes.linking import LinkError

from . import bpmn_builder as b

FAIL, COMPENSATE, CONTINUE = FailurePolicy.FAIL, FailurePolicy.COMPENSATE, FailurePolicy.CONTINUE


def graph(*edges: tuple[str, str] | tuple[str, str, FailurePolicy]) -> LinkGraph:
    return LinkGraph.of(Link(e[0], e[1], e[2] if len(e) > 2 else FAIL) for e in edges)


def test_links_are_read_from_call_activities_with_their_policy() -> None:
    xml = b.document(
        b.process("order", b.call("pay", "payment", "compensate"), b.call("ship", "shipping")),
        b.process("payment", b.call("fraud", "fraud_check", "continue")),
    )
    assert links_from_bpmn(xml) == [
        Link("order", "payment", COMPENSATE, "pay"),
        Link("order", "shipping", FAIL, "ship"),
        Link("payment", "fraud_check", CONTINUE, "fraud"),
    ]


def test_zeebe_properties_and_bad_policies() -> None:
    zeebe = b.linear(
        "p",
        '<bpmn:callActivity id="c" calledElement="q"><bpmn:extensionElements><zeebe:properties>'
        '<zeebe:property name="linkFailurePolicy" value="Continue"/></zeebe:properties></bpmn:extensionElements>'
        "</bpmn:callActivity>",
    )
    assert links_from_bpmn(zeebe)[0].policy is CONTINUE
    with pytest.raises(
        LinkError, match="call activity 'c' in process 'p': linkFailurePolicy 'retry' is not one of fail, compensate, continue"
    ):
        links_from_bpmn(b.linear("p", b.call("c", "q", "retry")))
    with pytest.raises(LinkError, match="has no calledElement"):
        links_from_bpmn(b.linear("p", '<bpmn:callActivity id="c"/>'))


def test_cycle_is_named() -> None:
    g = graph(("A", "B"), ("B", "C"), ("C", "A"), ("A", "D"))
    assert g.find_cycle() == ["A", "B", "C", "A"]
    with pytest.raises(LinkCycleError, match="process links form a cycle: A -> B -> C -> A") as err:
        g.check_acyclic()
    assert err.value.cycle == ["A", "B", "C", "A"]


def test_cycle_not_through_the_first_node_and_self_calls() -> None:
    assert graph(("A", "B"), ("B", "C"), ("C", "B")).find_cycle() == ["B", "C", "B"]
    assert graph(("A", "A")).find_cycle() == ["A", "A"]
    assert graph(("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")).find_cycle() is None  # a diamond is a DAG


def test_execution_order_follows_the_dag() -> None:
    g = graph(("order", "payment"), ("order", "shipping"), ("payment", "fraud"), ("shipping", "fraud"), ("audit", "fraud"))
    order = g.execution_order()
    assert order == ["audit", "order", "payment", "shipping", "fraud"]
    for link in g.links:
        assert order.index(link.caller) < order.index(link.callee)
    assert g.dependency_order() == list(reversed(order))
    with pytest.raises(LinkCycleError):
        graph(("x", "y"), ("y", "x")).execution_order()


def test_replacing_a_process_links_detects_a_cycle_a_publish_would_create() -> None:
    published = graph(("A", "B"), ("B", "C"))
    published.replace_links_of("C", [Link("C", "D")]).check_acyclic()
    with pytest.raises(LinkCycleError, match="A -> B -> C -> A"):
        published.replace_links_of("C", [Link("C", "A")]).check_acyclic()


def test_fail_propagates_to_the_root() -> None:
    result = propagate_failure(graph(("A", "B"), ("B", "C")), "C")
    assert result.outcomes == {"C": Outcome.FAILED, "B": Outcome.FAILED, "A": Outcome.FAILED}
    assert result.compensation_order == ()


def test_continue_stops_propagation() -> None:
    result = propagate_failure(graph(("A", "B"), ("B", "C", CONTINUE)), "C")
    assert result.outcomes == {"C": Outcome.FAILED, "B": Outcome.CONTINUED}
    assert result.outcome("A") is None
    assert result.continued == ["B"]


def test_compensate_undoes_innermost_first_and_still_fails_upwards() -> None:
    result = propagate_failure(graph(("A", "B", COMPENSATE), ("B", "C", COMPENSATE)), "C")
    assert result.outcomes == {"C": Outcome.FAILED, "B": Outcome.COMPENSATED, "A": Outcome.COMPENSATED}
    assert result.compensation_order == ("C", "B", "A")
    # A caller that continues after a compensated callee carries on.
    result = propagate_failure(graph(("A", "B", CONTINUE), ("B", "C", COMPENSATE)), "C")
    assert result.outcomes == {"C": Outcome.FAILED, "B": Outcome.COMPENSATED, "A": Outcome.CONTINUED}
    assert result.compensation_order == ("C", "B")


def test_without_a_call_path_every_caller_is_affected_with_its_own_policy() -> None:
    g = graph(("order", "payment", COMPENSATE), ("subscription", "payment", CONTINUE), ("portal", "order"))
    result = propagate_failure(g, "payment")
    assert result.outcomes == {
        "payment": Outcome.FAILED,
        "order": Outcome.COMPENSATED,
        "subscription": Outcome.CONTINUED,
        "portal": Outcome.FAILED,
    }
    assert [link.callee for link in result.causes["portal"]] == ["order"]


def test_call_path_limits_propagation_to_the_running_chain() -> None:
    g = graph(("order", "payment", COMPENSATE), ("subscription", "payment", FAIL))
    result = propagate_failure(g, "payment", call_path=["subscription", "payment"])
    assert result.outcomes == {"payment": Outcome.FAILED, "subscription": Outcome.FAILED}
    with pytest.raises(LinkError, match="call path step order -> shipping is not a link"):
        propagate_failure(g, "payment", call_path=["order", "shipping", "payment"])
    with pytest.raises(LinkError, match="must end with the failed process"):
        propagate_failure(g, "payment", call_path=["order"])


def test_strongest_policy_wins_for_a_caller_of_two_failed_processes() -> None:
    g = graph(("A", "B", CONTINUE), ("A", "C", COMPENSATE), ("B", "D"), ("C", "D"))
    result = propagate_failure(g, "D")
    assert result.outcomes["A"] is Outcome.COMPENSATED
    assert result.compensation_order == ("C", "A")
    assert [link.callee for link in result.causes["A"]] == ["B", "C"]
