"""lead owner and claimed events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('created', 'updated', 'status')"
NEW_KINDS = "kind IN ('created', 'updated', 'status', 'claimed')"


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=128), nullable=True))
    with op.batch_alter_table("lead_events") as batch:
        batch.drop_constraint(op.f("ck_lead_events_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_lead_events_kind"), NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM lead_events WHERE kind = 'claimed'")
    with op.batch_alter_table("lead_events") as batch:
        batch.drop_constraint(op.f("ck_lead_events_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_lead_events_kind"), OLD_KINDS)
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("owner")
