"""the misses inbox: groups of open misses and the group each joined

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_groups")),
    )
    op.create_index(op.f("ix_question_groups_model"), "question_groups", ["model"])
    op.create_table(
        "question_groupings",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["unanswered_questions.id"],
            name=op.f("fk_question_groupings_question_id_unanswered_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["question_groups.id"],
            name=op.f("fk_question_groupings_group_id_question_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "model", name=op.f("pk_question_groupings")),
    )
    op.create_index(
        "ix_question_groupings_group", "question_groupings", ["group_id", "question_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_question_groupings_group", table_name="question_groupings")
    op.drop_table("question_groupings")
    op.drop_index(op.f("ix_question_groups_model"), table_name="question_groups")
    op.drop_table("question_groups")
