"""Versions: drafts, publish with approvals, immutability, bumps, diff, rollback."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from flowmaster.processes import (
    Approval,
    ApprovalMatrix,
    Bump,
    Link,
    LinkGraph,
    ProcessContent,
    ProcessHistory,
    PublishRejected,
    SemVer,
    VersioningError,
    diff_processes,
    migration_blockers,
)

from . import bpmn_builder as b
from .dmn_builder import EXAMPLES, table

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
MATRIX = ApprovalMatrix.from_dict(
    {
        "rules": [
            {"legal_entity": "*", "min_risk": "low", "roles": ["process-owner"]},
            {"legal_entity": "*", "min_risk": "high", "roles": ["risk-officer"]},
        ]
    }
)
EXAMPLE = ProcessContent.of(
    (EXAMPLES / "order_approval.bpmn").read_text(), {"order_approval.dmn": (EXAMPLES / "order_approval.dmn").read_text()}
)


def approvals_for(content: ProcessContent, *roles_people: tuple[str, str]) -> list[Approval]:
    return [Approval(role, who, content.digest) for role, who in roles_people]


def owner_ok(content: ProcessContent) -> list[Approval]:
    return approvals_for(content, ("process-owner", "olga"))


def history(risk: str = "low") -> ProcessHistory:
    return ProcessHistory("order_approval", "FM-DE", risk)


def publish(h: ProcessHistory, content: ProcessContent, bump: Bump = Bump.MINOR, editor: str = "alice"):
    h.save_draft(content, editor, NOW)
    return h.publish(bump=bump, publisher="alice", approvals=owner_ok(content), matrix=MATRIX, now=NOW)


def renamed(content: ProcessContent, old: str, new: str) -> ProcessContent:
    return ProcessContent.of(content.bpmn.replace(old, new), content.dmn_files)


def test_semver_parse_bump_order() -> None:
    v = SemVer.parse("1.4.2")
    assert (str(v.bump("major")), str(v.bump(Bump.MINOR)), str(v.bump("patch"))) == ("2.0.0", "1.5.0", "1.4.3")
    assert SemVer.parse("1.10.0") > SemVer.parse("1.9.9")
    for bad in ("1.0", "v1.0.0", "01.0.0", "1.0.0-rc1"):
        with pytest.raises(ValueError, match="not a semantic version"):
            SemVer.parse(bad)


def test_first_publish_and_bumps() -> None:
    h = history()
    assert str(publish(h, EXAMPLE, Bump.MAJOR).version) == "1.0.0"
    assert str(publish(h, renamed(EXAMPLE, "Review order", "Check order"), Bump.PATCH).version) == "1.0.1"
    assert str(publish(h, renamed(EXAMPLE, "Review order", "Approve order"), Bump.MINOR).version) == "1.1.0"
    assert str(publish(h, EXAMPLE, Bump.MAJOR).version) == "2.0.0"
    assert [str(v.version) for v in h.published] == ["1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    assert h.draft is None
    assert h.version("1.0.1").based_on == SemVer(1, 0, 0)


def test_published_versions_are_immutable() -> None:
    h = history()
    v1 = publish(h, EXAMPLE, Bump.MAJOR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v1.content = renamed(EXAMPLE, "Review", "Hack")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v1.content.bpmn = "<x/>"  # type: ignore[misc]
    # Editing after publishing goes to a draft; the published version does not change.
    h.start_draft("bob", NOW)
    h.save_draft(renamed(EXAMPLE, "Review order", "Changed"), "bob", NOW)
    assert h.version("1.0.0").content == EXAMPLE
    assert h.draft is not None and h.draft.base == SemVer(1, 0, 0) and h.draft.authors == {"bob"}


def test_publish_needs_the_matrix_approvals_for_this_exact_content() -> None:
    h = history(risk="high")
    h.save_draft(EXAMPLE, "alice", NOW)
    with pytest.raises(PublishRejected, match="missing approvals for roles: risk-officer") as err:
        h.publish(bump="major", publisher="alice", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)
    assert err.value.check is not None and err.value.check.missing == {"risk-officer"}
    stale = approvals_for(renamed(EXAMPLE, "Review order", "Old"), ("risk-officer", "rita"))
    with pytest.raises(PublishRejected, match=r"risk-officer by rita \(given for other content\)"):
        h.publish(bump="major", publisher="alice", approvals=owner_ok(EXAMPLE) + stale, matrix=MATRIX, now=NOW)
    self_approved = approvals_for(EXAMPLE, ("risk-officer", "alice"))
    with pytest.raises(PublishRejected, match="author cannot approve"):
        h.publish(bump="major", publisher="alice", approvals=owner_ok(EXAMPLE) + self_approved, matrix=MATRIX, now=NOW)
    assert h.published == () and h.draft is not None  # nothing published, the draft is kept
    good = approvals_for(EXAMPLE, ("process-owner", "olga"), ("risk-officer", "rita"))
    v = h.publish(bump="major", publisher="alice", approvals=good + stale, matrix=MATRIX, now=NOW)
    assert {(a.role, a.approver) for a in v.approvals} == {("process-owner", "olga"), ("risk-officer", "rita")}


def test_every_draft_editor_is_an_author_for_four_eyes() -> None:
    h = history()
    h.save_draft(EXAMPLE, "alice", NOW)
    h.save_draft(EXAMPLE, "olga", NOW)
    with pytest.raises(PublishRejected, match="author cannot approve"):
        h.publish(bump="major", publisher="alice", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)


def test_publish_refuses_content_that_does_not_load_or_is_unchanged() -> None:
    h = history()
    broken = ProcessContent.of(EXAMPLE.bpmn)  # the rule task's decision table is missing
    h.save_draft(broken, "alice", NOW)
    with pytest.raises(PublishRejected, match="does not load: .*calls decision 'approvalLevel'"):
        h.publish(bump="major", publisher="alice", approvals=owner_ok(broken), matrix=MATRIX, now=NOW)
    h.discard_draft()
    publish(h, EXAMPLE, Bump.MAJOR)
    h.save_draft(EXAMPLE, "alice", NOW)
    with pytest.raises(VersioningError, match="same as the latest version 1.0.0"):
        h.publish(bump="minor", publisher="alice", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)
    other = ProcessHistory("something_else", "FM-DE", "low")
    other.save_draft(EXAMPLE, "alice", NOW)
    with pytest.raises(PublishRejected, match="process id is 'order_approval', this history is 'something_else'"):
        other.publish(bump="major", publisher="alice", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)


def test_publish_rejects_a_link_cycle_and_names_it() -> None:
    content = ProcessContent.of(b.linear("C", b.call("call_a", "A")))
    h = ProcessHistory("C", "FM-DE", "low")
    h.save_draft(content, "alice", NOW)
    links = LinkGraph.of([Link("A", "B"), Link("B", "C")])
    with pytest.raises(PublishRejected, match="process links form a cycle: A -> B -> C -> A"):
        h.publish(bump="major", publisher="alice", approvals=owner_ok(content), matrix=MATRIX, now=NOW, links=links)
    fine = LinkGraph.of([Link("B", "C")])
    assert (
        str(h.publish(bump="major", publisher="alice", approvals=owner_ok(content), matrix=MATRIX, now=NOW, links=fine).version)
        == "1.0.0"
    )


def test_rollback_republishes_old_content_as_a_new_version() -> None:
    h = history()
    publish(h, EXAMPLE, Bump.MAJOR)
    changed = renamed(EXAMPLE, "Review order", "Second look")
    publish(h, changed, Bump.MINOR)
    h.save_draft(renamed(EXAMPLE, "Review order", "Work in progress"), "bob", NOW)
    with pytest.raises(PublishRejected, match="author cannot approve"):
        h.rollback("1.0.0", publisher="olga", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)
    v = h.rollback("1.0.0", publisher="alice", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)
    assert str(v.version) == "1.2.0"
    assert v.content == EXAMPLE
    assert v.note == "rollback to 1.0.0" and v.based_on == SemVer(1, 0, 0)
    assert [str(p.version) for p in h.published] == ["1.0.0", "1.1.0", "1.2.0"]
    assert h.draft is not None  # an open draft is not touched by a rollback
    with pytest.raises(VersioningError, match="same as the latest version 1.2.0"):
        h.rollback("1.0.0", publisher="alice", approvals=owner_ok(EXAMPLE), matrix=MATRIX, now=NOW)
    with pytest.raises(VersioningError, match="has no version 9.9.9; published: 1.0.0, 1.1.0, 1.2.0"):
        h.rollback("9.9.9", publisher="alice", approvals=[], matrix=MATRIX, now=NOW)


def test_draft_lifecycle_errors() -> None:
    h = history()
    with pytest.raises(VersioningError, match="no published version to start from"):
        h.start_draft("alice", NOW)
    with pytest.raises(VersioningError, match="no draft to publish"):
        h.publish(bump="major", publisher="alice", approvals=[], matrix=MATRIX, now=NOW)
    publish(h, EXAMPLE, Bump.MAJOR)
    h.start_draft("alice", NOW, from_version="1.0.0")
    with pytest.raises(VersioningError, match="already has a draft"):
        h.start_draft("bob", NOW)


# Diff ------------------------------------------------------------------------------------------

V1 = b.linear("p", b.service("fetch", "fetch"), b.rule("decide", "d"), b.user("review", "Review"))
V2 = b.linear(
    "p", b.service("fetch", "fetch-v2"), b.rule("decide", "d"), b.user("review", "Review it"), b.script("notify", "sent = True")
).replace(
    '<bpmn:sequenceFlow id="p_f4" sourceRef="review" targetRef="notify"/>',
    '<bpmn:sequenceFlow id="p_f4" sourceRef="review" targetRef="notify">'
    "<bpmn:conditionExpression>approved</bpmn:conditionExpression></bpmn:sequenceFlow>",
)


def test_diff_structure_and_properties() -> None:
    d = diff_processes(V1, V2)
    assert d.added_nodes == ({"id": "notify", "type": "scriptTask", "name": "notify"},)
    assert d.removed_nodes == ()
    assert d.added_flows == ({"id": "p_f5", "sourceRef": "notify", "targetRef": "p_end"},)
    assert d.removed_flows == ()
    changes = {(c.element, c.property): (c.old, c.new) for c in d.changes}
    assert changes[("fetch", "camunda:topic")] == ("fetch", "fetch-v2")
    assert changes[("review", "name")] == ("Review", "Review it")
    assert changes[("p_f4", "targetRef")] == ("p_end", "notify")
    assert changes[("p_f4", "condition")] == (None, "approved")
    assert ("decide", "camunda:decisionRef") not in changes
    reverse = diff_processes(V2, V1)
    assert [n["id"] for n in reverse.removed_nodes] == ["notify"]
    assert diff_processes(V1, V1).empty


def test_diff_type_change_and_json_shape() -> None:
    v3 = V1.replace('<bpmn:userTask id="review" name="Review"/>', '<bpmn:manualTask id="review" name="Review"/>')
    d = diff_processes(V1, v3)
    assert [(c.element, c.property, c.old, c.new) for c in d.changes] == [("review", "type", "userTask", "manualTask")]
    out = d.to_json()
    assert set(out) == {"structure", "properties", "decisions"}
    assert out["properties"][0] == {
        "element": "review",
        "kind": "node",
        "property": "type",
        "old": "userTask",
        "new": "manualTask",
    }


def test_diff_of_decision_tables() -> None:
    old = table(rules=[(["< 10"], ['"a"']), ([">= 10"], ['"b"'])])
    new = table("FIRST", rules=[(["< 20"], ['"a"']), ([">= 10"], ['"b"']), (["-"], ['"c"'])])
    d = diff_processes(V1, V1, {"rules.dmn": old}, {"rules.dmn": new})
    changes = {(c.element, c.property): (c.old, c.new) for c in d.decision_changes}
    assert changes[("d", "hitPolicy")] == ("UNIQUE", "FIRST")
    assert changes[("d/r1", "when")] == ("< 10", "< 20")
    assert changes[("d/r3", "rule")] == (None, {"when": "-", "then": '"c"', "position": 3})
    assert ("d/r2", "when") not in changes
    added = diff_processes(V1, V1, {}, {"rules.dmn": old})
    assert added.added_decisions == ("d",) and added.decision_changes == ()


def test_history_diff_between_versions_and_the_draft() -> None:
    h = history()
    publish(h, EXAMPLE, Bump.MAJOR)
    h.start_draft("bob", NOW)
    h.save_draft(renamed(EXAMPLE, 'name="Review order"', 'name="Final review"'), "bob", NOW)
    d = h.diff("1.0.0", "draft")
    assert [(c.element, c.property, c.new) for c in d.changes] == [("review_order", "name", "Final review")]


def test_migration_blockers() -> None:
    assert migration_blockers(V1, V2, {"review"}) == []
    without_review = b.linear("p", b.service("fetch", "fetch"), b.rule("decide", "d"))
    assert migration_blockers(V1, without_review, {"review"}) == [
        "task 'review' where instances wait is removed in the new version"
    ]
    manual = V1.replace("userTask", "manualTask")
    assert migration_blockers(V1, manual, {"review"}) == ["task 'review' changes type userTask -> manualTask"]
