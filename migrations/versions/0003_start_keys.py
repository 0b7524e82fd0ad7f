"""start keys: the Idempotency-Key of each start and the case it was sent for

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00

A start's Update id is derived from its Idempotency-Key on the workflow of its case, so
Temporal alone cannot tell that a key was already used to start another case. The API
registers the key here (one row per authority and key) before it starts the transfer,
and refuses the key when it comes back for a different case.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "startkey",
        sa.Column("authority", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("authority", "key"),
    )


def downgrade() -> None:
    op.drop_table("startkey")
