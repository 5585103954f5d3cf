"""The whole life of a process through the API, and its events on Kafka.

Create a draft from the example's BPMN + DMN upload, approve it (four eyes), publish 1.0.0, run the
3-step process (service task, decision table, user task), read and export its execution log,
evaluate its decision table and run the stored test cases; change it, publish 1.1.0, diff,
roll back to 1.0.0's content as 1.2.0. Every state change arrives on the spec's topics.
"""

from __future__ import annotations

import csv
import io
import json

import psycopg
import pytest

from fmctl.verify.report import Context

from .conftest import Api, Org, example_bpmn, example_files
from .kafka_events import Event, collect, end_offsets

pytestmark = pytest.mark.live


def outbox_events(ctx: Context, keys: list[str]) -> dict[str, dict]:
    """event id -> payload of the outbox rows with these keys (the source of truth)."""
    p = ctx.spec.postgresql
    db = ctx.spec.app.process_database
    owner = p.databases[db].owner
    with psycopg.connect(host=ctx.address(p.pgbouncer.host), port=p.pgbouncer.port, dbname=db, user=owner,
                         password=ctx.secret(p.role_passwords[owner]), prepare_threshold=None, autocommit=True) as conn:
        rows = conn.execute("SELECT event_id::text, topic, payload FROM outbox WHERE key = ANY(%s)", (keys,)).fetchall()
    return {r[0]: {"topic": r[1], **r[2]} for r in rows}


def test_create_version_approve_publish_run_and_see_the_events(platform: Context, author: Api, approver: Api,
                                                               org: Org) -> None:
    start = end_offsets(platform, sorted(platform.spec.kafka.topics))
    # 1. create: a process with its first draft, from the uploaded BPMN, DMN and test cases
    r = author.post("/api/v1/processes", data={"legal_entity": org.le_a, "risk_class": "medium"}, files=example_files())
    assert r.status_code == 201, r.text
    process = r.json()
    pid = process["id"]
    assert (process["key"], process["legal_entity"], process["latest_version"], process["has_draft"]) == (
        "order_approval", org.le_a, None, True)

    # 2. the draft needs a process-owner approval (matrix, medium risk); the author cannot give it
    draft = author.get(f"/api/v1/processes/{pid}/draft").json()
    assert draft["approval_status"]["missing"] == ["process-owner"]
    assert sorted(draft["dmn"]) == ["order_approval.dmn"]
    r = author.post(f"/api/v1/processes/{pid}/versions", json={"bump": "major"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "approvals", r.text
    r = author.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner"})
    assert r.status_code == 422 and "author cannot approve" in r.json()["errors"][0]["reason"]
    r = approver.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner", "comment": "looks right"})
    assert r.status_code == 201, r.text
    assert r.json()["content_digest"] == draft["digest"]
    assert author.get(f"/api/v1/processes/{pid}").json()["draft"]["approval_status"]["allowed"] is True

    # 3. publish 1.0.0: immutable, the draft is gone
    r = author.post(f"/api/v1/processes/{pid}/versions", json={"bump": "major", "note": "first release"})
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["version"], v1["digest"], v1["approvals"][0]["approver"]) == ("1.0.0", draft["digest"], approver.user.name)
    assert author.get(f"/api/v1/processes/{pid}").json()["has_draft"] is False
    full = author.get(f"/api/v1/processes/{pid}/versions/1.0.0").json()
    assert full["bpmn"] == example_bpmn().decode() and full["rule_cases"]

    # 4. run the 3-step process: service task, decision table, then it waits for a person
    r = author.post("/api/v1/instances", json={"process_id": pid, "data": {"amount": 25000, "customerId": "c-42"}})
    assert r.status_code == 201, r.text
    inst = r.json()
    iid = inst["id"]
    assert inst["status"] == "waiting" and inst["version"] == "1.0.0"
    assert inst["data"]["approvalLevel"] == "manager" and inst["data"]["approversNeeded"] == 1
    assert [t["bpmn_id"] for t in inst["user_tasks"]] == ["review_order"]
    tasks = author.get(f"/api/v1/instances/{iid}/user-tasks").json()["items"]
    assert [t["bpmn_id"] for t in tasks] == ["review_order"]
    r = approver.post(f"/api/v1/instances/{iid}/user-tasks/{tasks[0]['id']}/complete", json={"data": {"approved": True}})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "completed" and done["data"]["approved"] is True and done["data"]["amount"] == 25000
    r = approver.post(f"/api/v1/instances/{iid}/user-tasks/review_order/complete", json={"data": {}})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "path.instance_id"

    # 5. the execution log: filter, page, export
    log = author.get(f"/api/v1/instances/{iid}/log", params={"columns": "event,task_id,task_type,actor,decision"}).json()
    steps = [(e["event"], e["task_id"]) for e in log["items"]]
    assert steps == [
        ("instance_started", None), ("task_completed", "order_received"), ("task_completed", "score_customer"),
        ("task_completed", "decide_approval"), ("task_ready", "review_order"), ("task_completed", "review_order"),
        ("task_completed", "order_decided"), ("instance_completed", None),
    ]
    rule = next(e for e in log["items"] if e["task_id"] == "decide_approval")
    assert rule["decision"]["selectedRules"] == ["large"]
    assert next(e for e in log["items"] if e["task_id"] == "review_order" and e["event"] == "task_completed")["actor"] == (
        approver.user.name)
    services = author.get(f"/api/v1/instances/{iid}/log", params={"task_type": "Service Task"}).json()["items"]
    assert [e["task_id"] for e in services] == ["score_customer"]
    jsonl = author.get(f"/api/v1/instances/{iid}/log/export", params={"format": "jsonl", "event": "task_completed"})
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line)["task_id"] for line in jsonl.text.splitlines()] == [
        "order_received", "score_customer", "decide_approval", "review_order", "order_decided"]
    rows = list(csv.DictReader(io.StringIO(author.get(f"/api/v1/instances/{iid}/log/export", params={"format": "csv"}).text)))
    assert len(rows) == 8 and rows[2]["task_id"] == "score_customer"
    assert json.loads(rows[2]["data_delta"])["set"]["customerTier"] in {"standard", "gold", "platinum"}

    # 6. the decision table: list, evaluate, stored test cases
    decisions = author.get("/api/v1/decisions", params={"process_id": pid}).json()["items"]
    assert {d["decision_id"]: d["hit_policy"] for d in decisions}["approvalLevel"] == "UNIQUE"
    r = author.post("/api/v1/decisions/approvalLevel/evaluate",
                    json={"process_id": pid, "version": "1.0.0", "inputs": {"amount": 5000, "customerTier": "gold"}})
    assert r.status_code == 200 and r.json()["result"] == {"approvalLevel": "auto", "approversNeeded": 0}, r.text
    r = author.post("/api/v1/decisions/approvalLevel/evaluate",
                    json={"process_id": pid, "inputs": {"amount": 5000, "customerTier": "bronze"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.inputs"
    run = author.post("/api/v1/decisions/test-runs", json={"process_id": pid}).json()
    assert run["failed"] == 0 and run["passed"] == 13

    # 7. a new version: draft from 1.0.0, change a rule, approve, publish 1.1.0, diff
    assert author.post(f"/api/v1/processes/{pid}/draft", json={}).status_code == 201
    dmn = example_files()[1][1][1].replace(b"&lt; 1000", b"&lt; 2000").replace(b"[1000..10000[", b"[2000..10000[")
    files = [("bpmn", ("order_approval.bpmn", example_bpmn(), "application/xml")),
             ("dmn", ("order_approval.dmn", dmn, "application/xml"))]
    r = author.put(f"/api/v1/processes/{pid}/draft", files=files)
    assert r.status_code == 200, r.text
    diff = author.get(f"/api/v1/processes/{pid}/diff", params={"from": "1.0.0", "to": "draft"}).json()
    assert "small" in json.dumps(diff) and diff["process_id"] == pid
    assert approver.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner"}).status_code == 201
    r = author.post(f"/api/v1/processes/{pid}/versions", json={"bump": "minor"})
    assert r.status_code == 201 and r.json()["version"] == "1.1.0", r.text
    r = author.post("/api/v1/decisions/approvalLevel/evaluate",
                    json={"process_id": pid, "inputs": {"amount": 1500, "customerTier": "standard"}})
    assert r.json()["result"]["approvalLevel"] == "auto" and r.json()["version"] == "1.1.0"

    # 8. rollback: 1.0.0's content, approved again, republished as 1.2.0
    r = author.post(f"/api/v1/processes/{pid}/rollbacks", json={"to_version": "1.0.0"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "approvals"
    r = approver.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner", "version": "1.0.0"})
    assert r.status_code == 201, r.text
    r = author.post(f"/api/v1/processes/{pid}/rollbacks", json={"to_version": "1.0.0"})
    assert r.status_code == 201, r.text
    v3 = r.json()
    assert (v3["version"], v3["based_on"], v3["digest"]) == ("1.2.0", "1.0.0", v1["digest"])
    versions = author.get(f"/api/v1/processes/{pid}/versions").json()["items"]
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0", "1.2.0"]

    # 9. every state change is on Kafka: the process's and the instance's events, each exactly
    #    the outbox row written with the change (event id in payload and header)
    expected = outbox_events(platform, [pid, iid])
    assert {p["event_type"] for p in expected.values()} >= {
        "process.created", "draft.saved", "approval.recorded", "version.published", "version.rolled_back",
        "instance.started", "instance.completed", "execution.task_completed", "human_task.ready", "human_task.completed",
        "agent_task.completed",
    }
    seen = collect(platform, start, lambda evs: expected.keys() <= {e.id for e in evs}, keys={pid, iid})
    missing = expected.keys() - {e.id for e in seen}
    assert not missing, f"{len(missing)} events never arrived: {[expected[m]['event_type'] for m in missing]}"
    for e in seen:
        assert e.headers["event_id"] == e.id and e.topic == expected[e.id]["topic"]
    # keyed by instance: one partition, so the instance's execution events arrive in log order
    execution = [e for e in _dedupe(seen) if e.topic == "execution_events"]
    assert len({e.partition for e in execution}) == 1
    assert [e.payload["data"]["seq"] for e in sorted(execution, key=lambda e: e.offset)] == list(range(1, 9))


def _dedupe(events: list[Event]) -> list[Event]:
    """What a consumer does: keep the first record of each event id."""
    out, ids = [], set()
    for e in events:
        if e.id not in ids:
            ids.add(e.id)
            out.append(e)
    return out


def test_templates_library_creates_processes(author: Api, outsider: Api, org: Org) -> None:
    files = example_files()
    body = {"name": f"Order approval {org.run}", "description": "three steps", "bpmn": files[0][1][1].decode(),
            "dmn": {"order_approval.dmn": files[1][1][1].decode()},
            "tests": {"order_approval.tests.json": json.loads(files[2][1][1])}, "legal_entity": org.le_a}
    r = author.post("/api/v1/templates", json=body)
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert tid in [t["id"] for t in author.get("/api/v1/templates", params={"legal_entity": org.le_a}).json()["items"]]
    r = author.post("/api/v1/processes/from-template",
                    json={"template_id": tid, "legal_entity": org.le_a, "risk_class": "low", "key": "order_from_template"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["key"], created["template_id"], created["has_draft"]) == ("order_from_template", tid, True)
    draft = author.get(f"/api/v1/processes/{created['id']}/draft").json()
    assert 'id="order_from_template"' in draft["bpmn"] and draft["rule_cases"]
    # another legal entity's template is not visible, nor usable
    assert outsider.get(f"/api/v1/templates/{tid}").status_code == 403
    r = outsider.post("/api/v1/processes/from-template", json={"template_id": tid, "legal_entity": org.le_b, "risk_class": "low"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "body.template_id"


def test_running_instances_keep_their_version_and_migrate_where_compatible(author: Api, approver: Api, org: Org) -> None:
    key = f"order_migration_{org.run}"
    files = example_files(key)
    r = author.post("/api/v1/processes", data={"legal_entity": org.le_a, "risk_class": "low"}, files=files)
    pid = r.json()["id"]
    approver.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner"})
    assert author.post(f"/api/v1/processes/{pid}/versions", json={"bump": "major"}).status_code == 201
    data = {"amount": 1500, "customerId": "c-1", "customerTier": "standard"}
    iid = author.post("/api/v1/instances", json={"process_id": pid, "data": data}).json()["id"]

    def publish(bpmn: bytes, dmn: bytes, bump: str) -> str:
        assert author.post(f"/api/v1/processes/{pid}/draft", json={}).status_code == 201
        upload = [("bpmn", ("p.bpmn", bpmn, "application/xml")), ("dmn", ("p.dmn", dmn, "application/xml"))]
        assert author.put(f"/api/v1/processes/{pid}/draft", files=upload).status_code == 200
        assert approver.post(f"/api/v1/processes/{pid}/approvals", json={"role": "process-owner"}).status_code == 201
        r = author.post(f"/api/v1/processes/{pid}/versions", json={"bump": bump})
        assert r.status_code == 201, r.text
        return r.json()["version"]

    bpmn, dmn = files[0][1][1], files[1][1][1]
    v11 = publish(bpmn, dmn.replace(b"[1000..10000[", b"[1200..10000["), "minor")
    # the user task is renamed in 2.0.0: an instance waiting there cannot move
    v2 = publish(bpmn.replace(b'review_order"', b'review_order_v2"'), dmn, "major")
    assert author.get(f"/api/v1/instances/{iid}").json()["version"] == "1.0.0"  # publishing moves nobody
    r = author.post(f"/api/v1/instances/{iid}/migrations", json={"to_version": v2})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "body.to_version"
    assert "review_order" in r.json()["message"]
    r = author.post(f"/api/v1/instances/{iid}/migrations", json={"to_version": v11})
    assert r.status_code == 200 and r.json()["version"] == "1.1.0" and r.json()["status"] == "waiting", r.text
    done = approver.post(f"/api/v1/instances/{iid}/user-tasks/review_order/complete", json={"data": {"approved": True}}).json()
    assert done["status"] == "completed" and done["version"] == "1.1.0"
    events = [e["event"] for e in author.get(f"/api/v1/instances/{iid}/log").json()["items"]]
    assert "instance_migrated" in events and events[-1] == "instance_completed"
