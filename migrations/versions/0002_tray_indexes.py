"""work trays: partial indexes on transfer for overdue-flagged and other rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:30:00

A tray lists an authority's transfers in deadline order (next_deadline_at, then
transfer_id). The overdue tray is read as two parts, flagged rows and unflagged rows
whose next deadline has passed, each an ordered range of one of these indexes. The
flagged index also carries the teams (PostgreSQL INCLUDE) so that a team's overdue
count can be an index-only scan once the table is vacuumed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRAY_ORDER = ["authority", "next_deadline_at", "transfer_id"]


def upgrade() -> None:
    op.create_index(
        "ix_transfer_tray_flagged", "transfer", TRAY_ORDER,
        postgresql_include=["from_team", "to_team", "responsible_team"],
        postgresql_where=sa.text("overdue IS true"), sqlite_where=sa.text("overdue IS 1"),
    )
    op.create_index(
        "ix_transfer_tray_unflagged", "transfer", TRAY_ORDER,
        postgresql_where=sa.text("overdue IS false"), sqlite_where=sa.text("overdue IS 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_transfer_tray_unflagged", table_name="transfer")
    op.drop_index("ix_transfer_tray_flagged", table_name="transfer")
