"""audit chain, retention and subject access: event hashes, purged email bodies, exports

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 13:00:00

Each event gets `prev_hash` and `hash` (models/audit_chain). Events written before this
revision are chained here, in the order they were written: the chain shows changes made
after the upgrade, not before it. `notification.body_purged_at` marks an email whose body
the retention schedule removed; `subjectaccessexport` records each subject access export.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.audit_chain import event_hash

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_COLUMNS = ("id", "run_id", "transfer_id", "seq", "at", "kind", "summary", "actor_id",
                 "actor_role", "actor_team", "note_ref", "stage")


def _chain_existing_events() -> None:
    conn = op.get_bind()
    events = sa.table("transferevent",
                      *(sa.column(c, sa.DateTime(timezone=True)) if c == "at" else sa.column(c)
                        for c in EVENT_COLUMNS),
                      sa.column("prev_hash"), sa.column("hash"))
    rows = conn.execute(sa.select(*(events.c[c] for c in EVENT_COLUMNS))
                        .order_by(events.c.run_id, events.c.id)).mappings().all()
    last: dict[str, str] = {}
    for row in rows:
        prev = last.get(row["run_id"])
        digest = event_hash(row, prev)
        conn.execute(events.update().where(events.c.id == row["id"])
                     .values(prev_hash=prev, hash=digest))
        last[row["run_id"]] = digest


def upgrade() -> None:
    with op.batch_alter_table("transferevent") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table("transferevent") as batch:
        batch.alter_column("hash", existing_type=sa.String(), nullable=False)

    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("body_purged_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "subjectaccessexport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("authority", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subjectaccessexport_subject_id", "subjectaccessexport", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_subjectaccessexport_subject_id", table_name="subjectaccessexport")
    op.drop_table("subjectaccessexport")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("body_purged_at")
    with op.batch_alter_table("transferevent") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
