"""Initial schema of the process-management service (generated from service/models.py, reviewed).

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:09:27.044470
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_entities",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_entities")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"], unique=False)
    op.create_index("ix_outbox_unsent", "outbox", ["id"], unique=False, postgresql_where=sa.text("sent_at IS NULL"))
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "templates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("process_key", sa.String(length=255), nullable=False),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("dmn", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rule_cases", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("legal_entity_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"], ["legal_entities.id"], name=op.f("fk_templates_legal_entity_id_legal_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("seq", name=op.f("uq_templates_seq")),
    )
    op.create_table(
        "user_legal_entities",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("legal_entity_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"], ["legal_entities.id"], name=op.f("fk_user_legal_entities_legal_entity_id_legal_entities")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_legal_entities_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "legal_entity_id", name=op.f("pk_user_legal_entities")),
    )
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=True),
        sa.Column("columns", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_preferences_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "list_name", name=op.f("pk_user_preferences")),
    )
    op.create_table(
        "processes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("legal_entity_id", sa.String(length=64), nullable=False),
        sa.Column("risk_class", sa.String(length=16), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"], ["legal_entities.id"], name=op.f("fk_processes_legal_entity_id_legal_entities")
        ),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"], name=op.f("fk_processes_template_id_templates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processes")),
        sa.UniqueConstraint("legal_entity_id", "key", name="uq_processes_legal_entity_key"),
        sa.UniqueConstraint("seq", name=op.f("uq_processes_seq")),
    )
    op.create_index(op.f("ix_processes_legal_entity_id"), "processes", ["legal_entity_id"], unique=False)
    op.create_table(
        "process_drafts",
        sa.Column("process_id", sa.UUID(), nullable=False),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("dmn", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rule_cases", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("base_version", sa.String(length=32), nullable=True),
        sa.Column("authors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_process_drafts_process_id_processes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_process_drafts")),
    )
    op.create_table(
        "process_versions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("process_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("dmn", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rule_cases", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("links", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approvals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("based_on", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_process_versions_process_id_processes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_versions")),
        sa.UniqueConstraint("process_id", "version", name="uq_process_versions_process_version"),
        sa.UniqueConstraint("seq", name=op.f("uq_process_versions_seq")),
    )
    op.create_index(op.f("ix_process_versions_process_id"), "process_versions", ["process_id"], unique=False)
    op.create_table(
        "approvals",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("process_id", sa.UUID(), nullable=False),
        sa.Column("content_digest", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=100), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("used_by_version_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_approvals_process_id_processes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["used_by_version_id"], ["process_versions.id"], name=op.f("fk_approvals_used_by_version_id_process_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("seq", name=op.f("uq_approvals_seq")),
    )
    op.create_index(op.f("ix_approvals_process_id"), "approvals", ["process_id"], unique=False)
    op.create_index(
        "uq_approvals_open",
        "approvals",
        ["process_id", "content_digest", "role", "approver"],
        unique=True,
        postgresql_where=sa.text("used_by_version_id IS NULL"),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("process_id", sa.UUID(), nullable=False),
        sa.Column("version_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("legal_entity_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("user_tasks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("snapshot", postgresql.JSON(astext_type=sa.Text()), nullable=False),  # json keeps key order
        sa.Column("log_count", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["legal_entity_id"], ["legal_entities.id"], name=op.f("fk_instances_legal_entity_id_legal_entities")
        ),
        sa.ForeignKeyConstraint(
            ["process_id"], ["processes.id"], name=op.f("fk_instances_process_id_processes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["version_id"], ["process_versions.id"], name=op.f("fk_instances_version_id_process_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("seq", name=op.f("uq_instances_seq")),
    )
    op.create_index(op.f("ix_instances_legal_entity_id"), "instances", ["legal_entity_id"], unique=False)
    op.create_index("ix_instances_process_seq", "instances", ["process_id", "seq"], unique=False)
    op.create_table(
        "execution_log",
        sa.Column("instance_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("task_type", sa.String(length=64), nullable=True),
        sa.Column("process", sa.String(length=255), nullable=True),
        sa.Column("entry", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["instances.id"], name=op.f("fk_execution_log_instance_id_instances"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("instance_id", "seq", name=op.f("pk_execution_log")),
    )


def downgrade() -> None:
    op.drop_table("execution_log")
    op.drop_index("ix_instances_process_seq", table_name="instances")
    op.drop_index(op.f("ix_instances_legal_entity_id"), table_name="instances")
    op.drop_table("instances")
    op.drop_index("uq_approvals_open", table_name="approvals", postgresql_where=sa.text("used_by_version_id IS NULL"))
    op.drop_index(op.f("ix_approvals_process_id"), table_name="approvals")
    op.drop_table("approvals")
    op.drop_index(op.f("ix_process_versions_process_id"), table_name="process_versions")
    op.drop_table("process_versions")
    op.drop_table("process_drafts")
    op.drop_index(op.f("ix_processes_legal_entity_id"), table_name="processes")
    op.drop_table("processes")
    op.drop_table("user_preferences")
    op.drop_table("user_legal_entities")
    op.drop_table("templates")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("users")
    op.drop_index("ix_outbox_unsent", table_name="outbox", postgresql_where=sa.text("sent_at IS NULL"))
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("legal_entities")
