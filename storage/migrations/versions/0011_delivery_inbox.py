"""the inbox: a delivery's payload kept with its claim until it is answered

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("processed_deliveries") as table:
        table.add_column(sa.Column("payload", JSON, nullable=True))
        table.add_column(sa.Column("replies", JSON, nullable=True))
        table.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        table.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        table.create_index(op.f("ix_processed_deliveries_lease_until"), ["lease_until"])


def downgrade() -> None:
    with op.batch_alter_table("processed_deliveries") as table:
        table.drop_index(op.f("ix_processed_deliveries_lease_until"))
        table.drop_column("answered_at")
        table.drop_column("lease_until")
        table.drop_column("attempts")
        table.drop_column("replies")
        table.drop_column("payload")
