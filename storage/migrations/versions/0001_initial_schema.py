"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("notice_version", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        op.f("ix_consent_records_user_id"), "consent_records", ["user_id"], unique=False
    )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("language_chosen", sa.Boolean(), nullable=False),
        sa.Column("form", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "channel", "conversation_id", name=op.f("uq_conversations_channel_conversation_id")
        ),
    )
    op.create_index(op.f("ix_conversations_user_id"), "conversations", ["user_id"], unique=False)

    op.create_table(
        "processed_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_deliveries")),
        sa.UniqueConstraint(
            "channel", "delivery_id", name=op.f("uq_processed_deliveries_channel_delivery_id")
        ),
    )
    op.create_index(
        op.f("ix_processed_deliveries_processed_at"),
        "processed_deliveries",
        ["processed_at"],
        unique=False,
    )

    op.create_table(
        "transcript_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent_id", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('in', 'out')", name=op.f("ck_transcript_messages_direction")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_messages")),
    )
    op.create_index(op.f("ix_transcript_messages_at"), "transcript_messages", ["at"], unique=False)
    op.create_index(
        "ix_transcript_messages_conversation",
        "transcript_messages",
        ["channel", "conversation_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_transcript_messages_user_id"), "transcript_messages", ["user_id"], unique=False
    )

    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("best_intent", sa.String(length=64), nullable=True),
        sa.Column("best_score", sa.Double(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_questions")),
    )
    op.create_index(
        op.f("ix_unanswered_questions_at"), "unanswered_questions", ["at"], unique=False
    )
    op.create_index(
        op.f("ix_unanswered_questions_user_id"), "unanswered_questions", ["user_id"], unique=False
    )

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=64), nullable=True),
        sa.Column("interest", sa.String(length=64), nullable=True),
        sa.Column("timeline", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "answers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'contacted', 'qualified', 'won', 'lost')",
            name=op.f("ck_leads_status"),
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consent_records.id"], name=op.f("fk_leads_consent_id_consent_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index("ix_leads_channel_user", "leads", ["channel", "user_id"], unique=False)
    op.create_index(op.f("ix_leads_created_at"), "leads", ["created_at"], unique=False)
    op.create_index(op.f("ix_leads_email"), "leads", ["email"], unique=False)
    op.create_index(op.f("ix_leads_status"), "leads", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_leads_status"), table_name="leads")
    op.drop_index(op.f("ix_leads_email"), table_name="leads")
    op.drop_index(op.f("ix_leads_created_at"), table_name="leads")
    op.drop_index("ix_leads_channel_user", table_name="leads")

    op.drop_table("leads")
    op.drop_index(op.f("ix_unanswered_questions_user_id"), table_name="unanswered_questions")
    op.drop_index(op.f("ix_unanswered_questions_at"), table_name="unanswered_questions")

    op.drop_table("unanswered_questions")
    op.drop_index(op.f("ix_transcript_messages_user_id"), table_name="transcript_messages")
    op.drop_index("ix_transcript_messages_conversation", table_name="transcript_messages")
    op.drop_index(op.f("ix_transcript_messages_at"), table_name="transcript_messages")

    op.drop_table("transcript_messages")
    op.drop_index(op.f("ix_processed_deliveries_processed_at"), table_name="processed_deliveries")

    op.drop_table("processed_deliveries")
    op.drop_index(op.f("ix_conversations_user_id"), table_name="conversations")

    op.drop_table("conversations")
    op.drop_index(op.f("ix_consent_records_user_id"), table_name="consent_records")

    op.drop_table("consent_records")
