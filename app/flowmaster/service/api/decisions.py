"""Decision tables of a process version: list, evaluate, run the stored test cases."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...rules import DecisionModel, DmnError, evaluate_decision, parse_cases, run_cases
from ...rules.rule_cases import RuleCase
from ..context import Caller, CallerDep, DbDep, Services, SvcDep, list_page
from ..errors import ERROR_RESPONSES, ApiError, bad_request
from ..pagination import Page, PageDep, list_fetch
from .instances import _no_nul
from .processes import get_draft, get_process, get_version

router = APIRouter(prefix="/api/v1/decisions", tags=["decisions"], responses=ERROR_RESPONSES)

VersionQuery = Query(max_length=32, description="MAJOR.MINOR.PATCH, or 'draft' (default: the latest version)")


def _models(
    db: Session, svc: Services, caller: Caller, process_id: uuid.UUID, version: str | None, field: str
) -> tuple[dict[str, DecisionModel], dict[str, Any], str]:
    """(DMN file -> model, stored test case documents, the version's name) of a version or the draft."""
    process = get_process(db, caller, process_id, field=field.replace("version", "process_id"))
    if version == "draft":
        d = get_draft(db, process)
        return svc.runtime.decision_models(None, d.dmn), d.rule_cases, "draft"
    v = get_version(db, process, version, field)
    return svc.runtime.decision_models(v.id, v.dmn), v.rule_cases, v.version


def _find(models: dict[str, DecisionModel], decision_id: str) -> DecisionModel:
    for model in models.values():
        if decision_id in model.decisions:
            return model
    known = sorted(d for m in models.values() for d in m.decisions)
    raise ApiError(
        404,
        "not_found",
        f"no decision '{decision_id}'",
        [("path.decision_id", f"no decision '{decision_id}'; this version has: {', '.join(known) or 'none'}")],
    )


@router.get("", response_model=Page, summary="Decision tables of a process version")
def list_decisions(
    process_id: Annotated[uuid.UUID, Query()],
    params: PageDep,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
    version: Annotated[str | None, VersionQuery] = None,
) -> Any:
    models, _, _ = _models(db, svc, caller, process_id, version, "query.version")
    values = []
    for file_name, model in models.items():
        for d in model.decisions.values():
            t = d.table
            values.append(
                {
                    "_key": f"{file_name}\x1f{d.id}",
                    "id": d.id,
                    "decision_id": d.id,
                    "name": d.name,
                    "hit_policy": t.policy_name,
                    "dmn_file": file_name,
                    "required": list(d.required),
                    "inputs": [{"label": c.label, "expression": c.text, "type": c.type_ref} for c in t.inputs],
                    "outputs": [{"label": c.label, "name": c.name, "type": c.type_ref} for c in t.outputs],
                    "rules": len(t.rules),
                }
            )
    return list_page(
        db, svc, caller, params,
        list_name="decisions",
        fetch=list_fetch(values),
        filters={"process_id": process_id, "version": version},
    )


class EvaluateIn(BaseModel):
    process_id: uuid.UUID
    version: str | None = Field(None, max_length=32, description="MAJOR.MINOR.PATCH or 'draft' (default: the latest)")
    inputs: dict[str, Any] = Field(default_factory=dict, description="input data, by name")


@router.post("/{decision_id}/evaluate", summary="Evaluate one decision against inputs (nothing is stored)")
def evaluate(
    body: EvaluateIn,
    decision_id: Annotated[str, Path(max_length=255)],
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    _no_nul(body.inputs, "body.inputs")
    models, _, version = _models(db, svc, caller, body.process_id, body.version, "body.version")
    model = _find(models, decision_id)
    try:
        result = evaluate_decision(model, decision_id, body.inputs)
    except DmnError as exc:
        raise bad_request("body.inputs", str(exc)) from exc
    return {"version": version, **result.to_json()}


class TestRunIn(BaseModel):
    process_id: uuid.UUID
    version: str | None = Field(None, max_length=32, description="MAJOR.MINOR.PATCH or 'draft' (default: the latest)")
    decision_id: str | None = Field(None, max_length=255, description="only the cases of this decision")


@router.post("/test-runs", summary="Run the stored test cases of a version's decision tables")
def run_tests(
    body: TestRunIn,
    caller: CallerDep,
    svc: SvcDep,
    db: DbDep,
) -> dict[str, Any]:
    models, documents, version = _models(db, svc, caller, body.process_id, body.version, "body.version")
    if not documents:
        raise bad_request("body.version", f"version {version} has no stored test cases (upload FILE.tests.json with the DMN)")
    outcomes = []
    for file_name, document in sorted(documents.items()):
        cases: list[RuleCase] = parse_cases(document)
        for case in cases:
            if body.decision_id is not None and case.decision != body.decision_id:
                continue
            try:
                model = _find(models, case.decision) if case.decision else next(iter(models.values()))
            except (ApiError, StopIteration):
                outcomes.append(
                    {
                        "file": file_name,
                        "decision": case.decision,
                        "name": case.name,
                        "passed": False,
                        "actual": None,
                        "error": f"no decision '{case.decision}' in this version",
                    }
                )
                continue
            for outcome in run_cases(model, [case]):
                outcomes.append({"file": file_name, "decision": case.decision, **outcome.to_json(), "message": outcome.message})
    failed = sum(1 for o in outcomes if not o["passed"])
    return {"version": version, "passed": len(outcomes) - failed, "failed": failed, "outcomes": outcomes}
