"""need to know: the teams each transfer has involved, and a record of every read

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 13:30:00

`transferteam` holds every team a transfer has involved in any of its runs (sending,
receiving, responsible, a party, a team a dispute redirected it to); the API lets team
staff read only those transfers (api/need_to_know). It is filled here from the current
rows' three team columns; the parties and redirections of transfers already running are
added by their next change. `readrecord` keeps who read which transfer, trail, tray or
notifications (whose mail), and when; refused attempts too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transferteam",
        sa.Column("authority", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("authority", "team", "transfer_id"),
    )
    op.execute(
        "INSERT INTO transferteam (authority, team, transfer_id) "
        "SELECT authority, from_team, transfer_id FROM transfer "
        "UNION SELECT authority, to_team, transfer_id FROM transfer "
        "UNION SELECT authority, responsible_team, transfer_id FROM transfer"
    )
    op.create_table(
        "readrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("authority", sa.String(), nullable=False),
        sa.Column("what", sa.String(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=True),
        sa.Column("recipient", sa.String(), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_read_record_transfer", "readrecord", ["transfer_id", "at"])
    op.create_index("ix_read_record_staff", "readrecord", ["staff_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_read_record_staff", table_name="readrecord")
    op.drop_index("ix_read_record_transfer", table_name="readrecord")
    op.drop_table("readrecord")
    op.drop_table("transferteam")
