"""Process versions: one open draft, immutable published versions with semantic version numbers.

- A draft is edited freely; publishing it creates the next version (bump major, minor or patch)
  once the content loads, its links keep the process graph acyclic and the approval matrix is
  satisfied for exactly this content (approvals name the content digest).
- Published versions are frozen and only ever appended; nothing changes or removes one.
- Rollback republishes an older version's content as a new, higher version (the same checks
  apply: it is a publish like any other, requested by the person rolling back).
- Drafts and versions diff against each other (structure, properties, decision tables).

This is the pure domain: the service persists ProcessHistory and supplies time and identity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .approvals import Approval, ApprovalCheck, ApprovalMatrix, RiskClass, check_approvals
from .bpmn_diff import ProcessDiff, diff_processes
from .engine import ProcessDefinitionError, load_process
from .linking import LinkError, LinkGraph, links_from_bpmn


class VersioningError(Exception):
    """A versioning operation that does not fit the history's state."""


class PublishRejected(VersioningError):
    def __init__(self, message: str, check: ApprovalCheck | None = None) -> None:
        self.check = check
        super().__init__(message)


class Bump(StrEnum):
    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True, order=True)
class SemVer:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str | SemVer) -> SemVer:
        if isinstance(text, SemVer):
            return text
        m = _SEMVER.match(text.strip())
        if not m:
            raise ValueError(f"not a semantic version: {text!r} (expected MAJOR.MINOR.PATCH, e.g. 1.4.0)")
        return cls(*(int(g) for g in m.groups()))

    def bump(self, part: Bump | str) -> SemVer:
        part = Bump(part)
        if part is Bump.MAJOR:
            return SemVer(self.major + 1, 0, 0)
        if part is Bump.MINOR:
            return SemVer(self.major, self.minor + 1, 0)
        return SemVer(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


ZERO = SemVer(0, 0, 0)


@dataclass(frozen=True)
class ProcessContent:
    """What a version is: the BPMN document and its decision tables (DMN file name -> XML)."""

    bpmn: str
    dmn: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, bpmn: str, dmn: Mapping[str, str] | None = None) -> ProcessContent:
        return cls(bpmn, tuple(sorted((dmn or {}).items())))

    @property
    def dmn_files(self) -> dict[str, str]:
        return dict(self.dmn)

    @property
    def digest(self) -> str:
        canonical = json.dumps({"bpmn": self.bpmn, "dmn": self.dmn}, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class PublishedVersion:
    version: SemVer
    content: ProcessContent
    published_by: str
    published_at: dt.datetime
    approvals: tuple[Approval, ...] = ()
    based_on: SemVer | None = None  # the version the draft started from
    note: str = ""


@dataclass(frozen=True)
class Draft:
    content: ProcessContent
    base: SemVer | None
    authors: frozenset[str]
    updated_at: dt.datetime


def validate_content(content: ProcessContent) -> str:
    """Load the definition on its own (linked processes are versioned separately); its process id."""
    try:
        process = load_process([content.bpmn], list(content.dmn_files.values()), require_linked=False)
    except ProcessDefinitionError as exc:
        raise PublishRejected(f"the definition does not load: {exc}") from exc
    return process.process_id


@dataclass
class ProcessHistory:
    """All versions of one process (keyed by its BPMN process id), with its approval scope."""

    key: str
    legal_entity: str
    risk: RiskClass
    published: tuple[PublishedVersion, ...] = ()
    draft: Draft | None = None
    _versions: dict[SemVer, PublishedVersion] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.risk = RiskClass.parse(self.risk)
        self._versions = {v.version: v for v in self.published}

    # reading ---------------------------------------------------------------------------------

    @property
    def latest(self) -> PublishedVersion | None:
        return self.published[-1] if self.published else None

    def version(self, version: SemVer | str) -> PublishedVersion:
        v = SemVer.parse(version)
        if v not in self._versions:
            known = ", ".join(str(p.version) for p in self.published) or "none"
            raise VersioningError(f"process '{self.key}' has no version {v}; published: {known}")
        return self._versions[v]

    def next_version(self, bump: Bump | str) -> SemVer:
        return (self.latest.version if self.latest else ZERO).bump(bump)

    def content_of(self, ref: SemVer | str) -> ProcessContent:
        """A version's content, or the draft's for ref 'draft'."""
        if ref == "draft":
            if self.draft is None:
                raise VersioningError(f"process '{self.key}' has no draft")
            return self.draft.content
        return self.version(ref).content

    def diff(self, old: SemVer | str, new: SemVer | str) -> ProcessDiff:
        a, b = self.content_of(old), self.content_of(new)
        return diff_processes(a.bpmn, b.bpmn, a.dmn_files, b.dmn_files)

    # drafting --------------------------------------------------------------------------------

    def start_draft(self, editor: str, now: dt.datetime, from_version: SemVer | str | None = None) -> Draft:
        """Open a draft from a published version (default: the latest)."""
        if self.draft is not None:
            raise VersioningError(f"process '{self.key}' already has a draft (based on {self.draft.base or 'nothing'})")
        source = self.version(from_version) if from_version is not None else self.latest
        if source is None:
            raise VersioningError(f"process '{self.key}' has no published version to start from; save content instead")
        self.draft = Draft(source.content, source.version, frozenset({editor}), now)
        return self.draft

    def save_draft(self, content: ProcessContent, editor: str, now: dt.datetime) -> Draft:
        """Create or replace the draft's content; every editor becomes an author."""
        base = self.draft.base if self.draft else (self.latest.version if self.latest else None)
        authors = (self.draft.authors if self.draft else frozenset()) | {editor}
        self.draft = Draft(content, base, authors, now)
        return self.draft

    def discard_draft(self) -> None:
        self.draft = None

    # publishing ------------------------------------------------------------------------------

    def publish(
        self,
        *,
        bump: Bump | str,
        publisher: str,
        approvals: Iterable[Approval],
        matrix: ApprovalMatrix,
        now: dt.datetime,
        role_holders: Mapping[str, Iterable[str]] | None = None,
        links: LinkGraph | None = None,
        note: str = "",
    ) -> PublishedVersion:
        """Publish the draft as the next version; raises PublishRejected naming what is missing."""
        if self.draft is None:
            raise VersioningError(f"process '{self.key}' has no draft to publish")
        draft = self.draft
        published = self._publish(
            draft.content, draft.authors, bump, publisher, approvals, matrix, now, role_holders, links, draft.base, note
        )
        self.draft = None
        return published

    def rollback(
        self,
        to: SemVer | str,
        *,
        publisher: str,
        approvals: Iterable[Approval],
        matrix: ApprovalMatrix,
        now: dt.datetime,
        bump: Bump | str = Bump.MINOR,
        role_holders: Mapping[str, Iterable[str]] | None = None,
        links: LinkGraph | None = None,
    ) -> PublishedVersion:
        """Republish an older version's content as a new version (a draft, if any, stays open)."""
        old = self.version(to)
        return self._publish(
            old.content,
            {publisher},
            bump,
            publisher,
            approvals,
            matrix,
            now,
            role_holders,
            links,
            old.version,
            f"rollback to {old.version}",
        )

    def _publish(
        self,
        content: ProcessContent,
        authors: Iterable[str],
        bump: Bump | str,
        publisher: str,
        approvals: Iterable[Approval],
        matrix: ApprovalMatrix,
        now: dt.datetime,
        role_holders: Mapping[str, Iterable[str]] | None,
        links: LinkGraph | None,
        based_on: SemVer | None,
        note: str,
    ) -> PublishedVersion:
        if self.latest is not None and self.latest.content.digest == content.digest:
            raise VersioningError(f"the content is the same as the latest version {self.latest.version}; nothing to publish")
        process_id = validate_content(content)
        if process_id != self.key:
            raise PublishRejected(f"the definition's process id is '{process_id}', this history is '{self.key}'")
        if links is not None:
            try:
                links.replace_links_of(self.key, links_from_bpmn(content.bpmn)).check_acyclic()
            except LinkError as exc:
                raise PublishRejected(str(exc)) from exc
        approvals = tuple(approvals)
        check = check_approvals(
            matrix,
            self.legal_entity,
            self.risk,
            approvals,
            content_digest=content.digest,
            authors=authors,
            role_holders=role_holders,
        )
        if not check.allowed:
            raise PublishRejected(f"cannot publish '{self.key}': {check.explain()}", check)
        counted = tuple(a for a in approvals if check.satisfied.get(a.role) == a.approver and a.content_digest == content.digest)
        version = PublishedVersion(self.next_version(bump), content, publisher, now, counted, based_on, note)
        self.published = (*self.published, version)
        self._versions[version.version] = version
        return version
