"""The approval matrix: which approver roles a publish needs, and whether the approvals given suffice.

A matrix is a list of rules "for legal entity E (or * for any), from risk class R upwards, roles
X and Y must approve". The required roles of a process are the union of every rule that covers
its legal entity and risk class, so a wildcard rule sets a floor that entity rules add to.
A legal entity and risk class that no rule covers cannot be published: a gap in the matrix is
not a licence to skip approval.

An approval counts only if it is for the exact content being published (its digest), if the
approver did not author the change (four eyes), if the approver holds the role (when a role
directory is given) and -- unless the matrix allows it -- if each role has its own person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

ANY_ENTITY = "*"


class RiskClass(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str | int | RiskClass) -> RiskClass:
        if isinstance(value, RiskClass):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError as exc:
            raise ValueError(f"unknown risk class {value!r}; one of {', '.join(c.name.lower() for c in cls)}") from exc


@dataclass(frozen=True)
class MatrixRule:
    legal_entity: str
    min_risk: RiskClass
    roles: frozenset[str]

    def covers(self, legal_entity: str, risk: RiskClass) -> bool:
        return self.legal_entity in {ANY_ENTITY, legal_entity} and risk >= self.min_risk


@dataclass(frozen=True)
class ApprovalMatrix:
    rules: tuple[MatrixRule, ...]
    distinct_approvers: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalMatrix:
        """{"distinct_approvers": true, "rules": [{"legal_entity": "*", "min_risk": "low", "roles": ["owner"]}]}"""
        rules = []
        for i, raw in enumerate(data.get("rules", []), start=1):
            try:
                roles = frozenset(raw["roles"])
                rules.append(MatrixRule(str(raw.get("legal_entity", ANY_ENTITY)), RiskClass.parse(raw["min_risk"]), roles))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"approval matrix rule {i}: {exc}") from exc
        return cls(tuple(rules), bool(data.get("distinct_approvers", True)))

    def covered(self, legal_entity: str, risk: RiskClass | str) -> bool:
        return any(rule.covers(legal_entity, RiskClass.parse(risk)) for rule in self.rules)

    def required_roles(self, legal_entity: str, risk: RiskClass | str) -> frozenset[str]:
        risk = RiskClass.parse(risk)
        return frozenset().union(*(rule.roles for rule in self.rules if rule.covers(legal_entity, risk)))


@dataclass(frozen=True)
class Approval:
    role: str
    approver: str
    content_digest: str
    approved_at: dt.datetime | None = None


@dataclass(frozen=True)
class ApprovalCheck:
    legal_entity: str
    risk: RiskClass
    required: frozenset[str]
    satisfied: dict[str, str]  # role -> approver whose approval counts for it
    rejected: tuple[tuple[Approval, str], ...] = ()  # approvals that do not count, and why
    uncovered: bool = False  # no matrix rule covers this legal entity and risk class
    missing: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "missing", self.required - self.satisfied.keys())

    @property
    def allowed(self) -> bool:
        return not self.uncovered and not self.missing

    def explain(self) -> str:
        if self.uncovered:
            return (
                f"no approval rule covers legal entity '{self.legal_entity}' at risk {self.risk.name.lower()}; "
                "add one to the approval matrix"
            )
        if not self.missing:
            return "all required approvals present: " + ", ".join(f"{r} by {a}" for r, a in sorted(self.satisfied.items()))
        text = f"missing approvals for roles: {', '.join(sorted(self.missing))}"
        if self.rejected:
            text += "; not counted: " + "; ".join(f"{a.role} by {a.approver} ({why})" for a, why in self.rejected)
        return text


def check_approvals(
    matrix: ApprovalMatrix,
    legal_entity: str,
    risk: RiskClass | str,
    approvals: Iterable[Approval],
    *,
    content_digest: str,
    authors: Iterable[str],
    role_holders: Mapping[str, Iterable[str]] | None = None,
) -> ApprovalCheck:
    """Decide whether `approvals` satisfy the matrix for publishing `content_digest`.

    role_holders: role -> the people who hold it; when given, an approval from someone outside
    the role does not count.
    """
    risk = RiskClass.parse(risk)
    required = matrix.required_roles(legal_entity, risk)
    authors = set(authors)
    holders = {role: set(people) for role, people in (role_holders or {}).items()}
    valid: list[Approval] = []
    rejected: list[tuple[Approval, str]] = []
    for approval in approvals:
        if approval.content_digest != content_digest:
            rejected.append((approval, "given for other content"))
        elif approval.approver in authors:
            rejected.append((approval, "the author cannot approve their own change"))
        elif approval.role not in required:
            rejected.append((approval, "role not required by the matrix"))
        elif role_holders is not None and approval.approver not in holders.get(approval.role, set()):
            rejected.append((approval, f"{approval.approver} does not hold role {approval.role}"))
        else:
            valid.append(approval)
    satisfied = _assign(valid, matrix.distinct_approvers)
    return ApprovalCheck(
        legal_entity, risk, required, satisfied, tuple(rejected), uncovered=not matrix.covered(legal_entity, risk)
    )


def _assign(approvals: list[Approval], distinct: bool) -> dict[str, str]:
    """Role -> approver; with distinct approvers a maximum matching (one role per person)."""
    candidates: dict[str, list[str]] = {}
    for a in approvals:
        candidates.setdefault(a.role, [])
        if a.approver not in candidates[a.role]:
            candidates[a.role].append(a.approver)
    if not distinct:
        return {role: people[0] for role, people in candidates.items()}
    person_role: dict[str, str] = {}

    def augment(role: str, seen: set[str]) -> bool:
        for person in candidates[role]:
            if person in seen:
                continue
            seen.add(person)
            if person not in person_role or augment(person_role[person], seen):
                person_role[person] = role
                return True
        return False

    for role in sorted(candidates):
        augment(role, set())
    return {role: person for person, role in person_role.items()}
