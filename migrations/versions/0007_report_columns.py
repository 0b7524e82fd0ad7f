"""report columns: the timeliness report's facts on the transfer's current row

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 14:40:00

`anchor_at`, `transferred_at`, `breached` and `transfer_late` (models/report_facts) are
written by the case store with each change; here they are filled for the rows already
there, from their views, in batches (both SQLite and PostgreSQL, by the same Python code
the case store uses, so the report reads the same facts either way). The index
(authority, started_at) is the report's range.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.report_facts import facts_of_json

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def _fill_existing_rows() -> None:
    conn = op.get_bind()
    rows = sa.table("transfer", sa.column("run_id", sa.String()), sa.column("view", sa.JSON()),
                    sa.column("anchor_at", sa.DateTime(timezone=True)),
                    sa.column("transferred_at", sa.DateTime(timezone=True)),
                    sa.column("breached", sa.String()),
                    sa.column("transfer_late", sa.Boolean()))
    update = (rows.update().where(rows.c.run_id == sa.bindparam("key"))
              .values(anchor_at=sa.bindparam("anchor_at"),
                      transferred_at=sa.bindparam("transferred_at"),
                      breached=sa.bindparam("breached"),
                      transfer_late=sa.bindparam("transfer_late")))
    after = ""
    while True:  # by key ranges: a hundred thousand views are never in memory at once
        batch = conn.execute(sa.select(rows.c.run_id, rows.c.view)
                             .where(rows.c.run_id > after).order_by(rows.c.run_id)
                             .limit(BATCH)).all()
        if not batch:
            return
        conn.execute(update, [{"key": run_id} | facts_of_json(view) for run_id, view in batch])
        after = batch[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        batch.add_column(sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("transferred_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("breached", sa.String(), nullable=True))
        batch.add_column(sa.Column("transfer_late", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    _fill_existing_rows()
    op.create_index("ix_transfer_report", "transfer", ["authority", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_transfer_report", table_name="transfer")
    with op.batch_alter_table("transfer") as batch:
        batch.drop_column("transfer_late")
        batch.drop_column("breached")
        batch.drop_column("transferred_at")
        batch.drop_column("anchor_at")
