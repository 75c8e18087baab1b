"""conversation events, handoffs and their relay outbox; misses with a reason; lead cards

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
HANDOFF_OPEN = sa.text("status IN ('waiting', 'held')")


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("intent_id", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("catalog", sa.String(length=64), nullable=True),
        sa.Column("answer_key", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('turn', 'feedback', 'handoff', 'lead')",
            name=op.f("ck_conversation_events_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_events")),
    )
    op.create_index(
        op.f("ix_conversation_events_answer_key"), "conversation_events", ["answer_key"]
    )
    op.create_index(
        "ix_conversation_events_conversation",
        "conversation_events",
        ["channel", "conversation_id", "at"],
    )
    op.create_index("ix_conversation_events_kind_at", "conversation_events", ["kind", "at"])
    op.create_index(op.f("ix_conversation_events_user_id"), "conversation_events", ["user_id"])

    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("rep_name", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_rep_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("thread_channel", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'held', 'closed')", name=op.f("ck_handoffs_status")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_handoffs_lead_id_leads"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index("ix_handoffs_conversation", "handoffs", ["channel", "conversation_id", "id"])
    op.create_index(op.f("ix_handoffs_lead_id"), "handoffs", ["lead_id"])
    # One open handoff per conversation at most, however many replicas ask at once.
    op.create_index(
        "ix_handoffs_open",
        "handoffs",
        ["channel", "conversation_id"],
        unique=True,
        sqlite_where=HANDOFF_OPEN,
        postgresql_where=HANDOFF_OPEN,
    )
    op.create_index("ix_handoffs_person", "handoffs", ["channel", "user_id"])
    op.create_index("ix_handoffs_status", "handoffs", ["status", "requested_at"])
    op.create_index("ix_handoffs_thread", "handoffs", ["thread_channel", "thread_ts"])

    op.create_table(
        "relay_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("notice", sa.String(length=64), nullable=True),
        sa.Column("params", JSON, nullable=False),
        sa.Column("target_ts", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("posted_ts", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "direction IN ('to_thread', 'to_prospect')", name=op.f("ck_relay_items_direction")
        ),
        sa.CheckConstraint(
            "kind IN ('open', 'text', 'notice', 'delete')", name=op.f("ck_relay_items_kind")
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_relay_items_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_items")),
    )
    op.create_index(
        "ix_relay_items_due", "relay_items", ["sent_at", "failed_at", "next_attempt_at"]
    )
    op.create_index("ix_relay_items_queue", "relay_items", ["handoff_id", "direction", "id"])

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("card_ts", sa.String(length=32), nullable=True))

    # Every miss recorded before was a question no intent answered: a fallback.
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(length=16), server_default="fallback", nullable=False)
        )
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=True))


def downgrade() -> None:
    # The misses that were not fallbacks did not exist before: they go.
    op.execute("DELETE FROM unanswered_questions WHERE reason <> 'fallback'")
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("reason")

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("card_ts")
        batch_op.drop_column("card_channel")

    op.drop_index("ix_relay_items_queue", table_name="relay_items")
    op.drop_index("ix_relay_items_due", table_name="relay_items")
    op.drop_table("relay_items")

    op.drop_index("ix_handoffs_thread", table_name="handoffs")
    op.drop_index("ix_handoffs_status", table_name="handoffs")
    op.drop_index("ix_handoffs_person", table_name="handoffs")
    op.drop_index("ix_handoffs_open", table_name="handoffs")
    op.drop_index(op.f("ix_handoffs_lead_id"), table_name="handoffs")
    op.drop_index("ix_handoffs_conversation", table_name="handoffs")
    op.drop_table("handoffs")

    op.drop_index(op.f("ix_conversation_events_user_id"), table_name="conversation_events")
    op.drop_index("ix_conversation_events_kind_at", table_name="conversation_events")
    op.drop_index("ix_conversation_events_conversation", table_name="conversation_events")
    op.drop_index(op.f("ix_conversation_events_answer_key"), table_name="conversation_events")
    op.drop_table("conversation_events")
