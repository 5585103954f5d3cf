"""The approval matrix: required roles per legal entity and risk class, and which approvals count."""

from __future__ import annotations

import pytest
from flowmaster.processes import Approval, ApprovalMatrix, RiskClass, check_approvals

MATRIX = ApprovalMatrix.from_dict(
    {
        "rules": [
            {"legal_entity": "*", "min_risk": "low", "roles": ["process-owner"]},
            {"legal_entity": "*", "min_risk": "high", "roles": ["risk-officer"]},
            {"legal_entity": "FM-DE", "min_risk": "medium", "roles": ["works-council"]},
            {"legal_entity": "FM-US", "min_risk": "critical", "roles": ["legal", "cfo"]},
        ]
    }
)
DIGEST = "sha256:abc"


def approve(role: str, who: str, digest: str = DIGEST) -> Approval:
    return Approval(role, who, digest)


@pytest.mark.parametrize(
    ("entity", "risk", "roles"),
    [
        ("FM-DE", "low", {"process-owner"}),
        ("FM-DE", "medium", {"process-owner", "works-council"}),
        ("FM-DE", "critical", {"process-owner", "risk-officer", "works-council"}),
        ("FM-US", "high", {"process-owner", "risk-officer"}),
        ("FM-US", "critical", {"process-owner", "risk-officer", "legal", "cfo"}),
        ("FM-FR", RiskClass.MEDIUM, {"process-owner"}),
    ],
)
def test_required_roles(entity: str, risk, roles: set[str]) -> None:
    assert MATRIX.required_roles(entity, risk) == roles


def test_all_required_approvals_allow_publishing() -> None:
    check = check_approvals(
        MATRIX,
        "FM-DE",
        "medium",
        [approve("process-owner", "olga"), approve("works-council", "wim")],
        content_digest=DIGEST,
        authors={"alice"},
    )
    assert check.allowed
    assert check.satisfied == {"process-owner": "olga", "works-council": "wim"}
    assert "all required approvals present" in check.explain()


def test_missing_role_blocks_and_is_named() -> None:
    check = check_approvals(MATRIX, "FM-DE", "high", [approve("process-owner", "olga")], content_digest=DIGEST, authors={"alice"})
    assert not check.allowed
    assert check.missing == {"risk-officer", "works-council"}
    assert check.explain() == "missing approvals for roles: risk-officer, works-council"


@pytest.mark.parametrize(
    ("approval", "reason"),
    [
        (approve("process-owner", "olga", "sha256:old"), "given for other content"),
        (approve("process-owner", "alice"), "the author cannot approve their own change"),
        (approve("cfo", "carl"), "role not required by the matrix"),
        (approve("process-owner", "mallory"), "mallory does not hold role process-owner"),
    ],
)
def test_approvals_that_do_not_count(approval: Approval, reason: str) -> None:
    check = check_approvals(
        MATRIX,
        "FM-FR",
        "low",
        [approval],
        content_digest=DIGEST,
        authors={"alice"},
        role_holders={"process-owner": ["olga", "alice"], "cfo": ["carl"]},
    )
    assert not check.allowed
    assert check.rejected == ((approval, reason),)
    assert reason in check.explain()


def test_one_person_cannot_fill_two_roles_unless_the_matrix_allows_it() -> None:
    approvals = [approve("process-owner", "olga"), approve("works-council", "olga")]
    check = check_approvals(MATRIX, "FM-DE", "medium", approvals, content_digest=DIGEST, authors=set())
    assert not check.allowed
    assert len(check.missing) == 1
    lenient = ApprovalMatrix(MATRIX.rules, distinct_approvers=False)
    assert check_approvals(lenient, "FM-DE", "medium", approvals, content_digest=DIGEST, authors=set()).allowed


def test_distinct_approvers_are_matched_to_roles_optimally() -> None:
    # olga approved for both roles, wim only as process-owner: taking olga for process-owner first
    # (greedy) would leave works-council empty; the matching moves process-owner to wim.
    approvals = [approve("process-owner", "olga"), approve("process-owner", "wim"), approve("works-council", "olga")]
    check = check_approvals(MATRIX, "FM-DE", "medium", approvals, content_digest=DIGEST, authors=set())
    assert check.allowed
    assert check.satisfied == {"process-owner": "wim", "works-council": "olga"}


def test_a_gap_in_the_matrix_blocks_publishing() -> None:
    matrix = ApprovalMatrix.from_dict({"rules": [{"legal_entity": "FM-DE", "min_risk": "low", "roles": ["owner"]}]})
    check = check_approvals(matrix, "FM-XX", "low", [], content_digest=DIGEST, authors=set())
    assert check.required == frozenset()
    assert not check.allowed
    assert "no approval rule covers legal entity 'FM-XX' at risk low" in check.explain()


def test_matrix_input_errors() -> None:
    with pytest.raises(ValueError, match="approval matrix rule 1: unknown risk class 'severe'"):
        ApprovalMatrix.from_dict({"rules": [{"min_risk": "severe", "roles": ["x"]}]})
    with pytest.raises(ValueError, match="approval matrix rule 1: 'roles'"):
        ApprovalMatrix.from_dict({"rules": [{"min_risk": "low"}]})
