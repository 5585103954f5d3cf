"""Tables of the process-management service (the process_management database).

Migrations in flowmaster/migrations/ create exactly these; a live test compares the two.
Listable tables carry `seq` (an identity column): the stable sort key of cursor pagination.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _seq() -> Any:
    return mapped_column(BigInteger, Identity(always=True), unique=True, nullable=False)


class LegalEntity(Base):
    __tablename__ = "legal_entities"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _now()


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[Any]] = mapped_column(default=list)  # approver roles the user holds
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class UserLegalEntity(Base):
    __tablename__ = "user_legal_entities"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(ForeignKey("legal_entities.id"), primary_key=True)


class UserPreference(Base):
    __tablename__ = "user_preferences"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    list_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    page_size: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[list[Any] | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = _now()


class Process(Base):
    __tablename__ = "processes"
    __table_args__ = (UniqueConstraint("legal_entity_id", "key", name="uq_processes_legal_entity_key"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = _seq()
    key: Mapped[str] = mapped_column(String(255))  # the BPMN process id
    name: Mapped[str] = mapped_column(Text)
    legal_entity_id: Mapped[str] = mapped_column(ForeignKey("legal_entities.id"), index=True)
    risk_class: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("templates.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class ProcessDraft(Base):
    __tablename__ = "process_drafts"
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), primary_key=True)
    bpmn: Mapped[str] = mapped_column(Text)
    dmn: Mapped[dict[str, Any]] = mapped_column()  # file name -> DMN XML
    rule_cases: Mapped[dict[str, Any]] = mapped_column()  # DMN file name -> stored test case document
    digest: Mapped[str] = mapped_column(String(80))
    base_version: Mapped[str | None] = mapped_column(String(32))
    authors: Mapped[list[Any]] = mapped_column()
    updated_at: Mapped[dt.datetime] = _now()


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_versions_process_version"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = _seq()
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    patch: Mapped[int] = mapped_column(Integer)
    # The content is loaded when used: running instances take parsed versions from a cache.
    bpmn: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="content")
    dmn: Mapped[dict[str, Any]] = mapped_column(deferred=True, deferred_group="content")
    rule_cases: Mapped[dict[str, Any]] = mapped_column(deferred=True, deferred_group="content")
    digest: Mapped[str] = mapped_column(String(80))
    links: Mapped[list[Any]] = mapped_column()  # call activities: [{"caller", "callee", "policy", "element"}]
    approvals: Mapped[list[Any]] = mapped_column()  # the approvals that counted
    based_on: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[dt.datetime] = _now()


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (
        # One open approval per person, role and content; once a publish used it, the same content
        # (a rollback to it) needs a fresh one.
        Index(
            "uq_approvals_open",
            "process_id",
            "content_digest",
            "role",
            "approver",
            unique=True,
            postgresql_where=text("used_by_version_id IS NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = _seq()
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), index=True)
    content_digest: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text, default="")
    used_by_version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("process_versions.id"))  # the publish it allowed
    created_at: Mapped[dt.datetime] = _now()


class Template(Base):
    __tablename__ = "templates"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = _seq()
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    process_key: Mapped[str] = mapped_column(String(255))
    bpmn: Mapped[str] = mapped_column(Text)
    dmn: Mapped[dict[str, Any]] = mapped_column()
    rule_cases: Mapped[dict[str, Any]] = mapped_column()
    legal_entity_id: Mapped[str | None] = mapped_column(ForeignKey("legal_entities.id"))  # none: every entity
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = _now()


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_process_seq", "process_id", "seq"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = _seq()
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_versions.id"))
    version: Mapped[str] = mapped_column(String(32))
    legal_entity_id: Mapped[str] = mapped_column(ForeignKey("legal_entities.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column()
    user_tasks: Mapped[list[Any]] = mapped_column()  # waiting user tasks (summary)
    # The engine's serialized workflow. json, not jsonb: SpiffWorkflow rebuilds task data by
    # replaying per-task deltas in the stored key order, which jsonb does not keep.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)  # loaded only to run the instance
    log_count: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LogEntry(Base):
    __tablename__ = "execution_log"
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(255))
    task_type: Mapped[str | None] = mapped_column(String(64))
    process: Mapped[str | None] = mapped_column(String(255))
    entry: Mapped[dict[str, Any]] = mapped_column()


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The relay reads only unsent rows, oldest first: keep that scan small.
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        Index("ix_outbox_sent_at", "sent_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    topic: Mapped[str] = mapped_column(String(64))  # the logical stream (settings.kafka_topics maps it)
    key: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = _now()
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)  # method and path
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the request's parsed content
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
