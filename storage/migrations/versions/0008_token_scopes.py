"""API token scopes: leads:read (every token made before) or catalog:admin

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPES = "scope IN ('leads:read', 'catalog:admin')"


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=32), server_default="leads:read", nullable=False)
        )
        batch.create_check_constraint(op.f("ck_api_tokens_scope"), SCOPES)


def downgrade() -> None:
    # Without its scope a catalog:admin token would read the leads: it goes.
    op.execute("DELETE FROM api_tokens WHERE scope <> 'leads:read'")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("ck_api_tokens_scope"), type_="check")
        batch.drop_column("scope")
