"""initial: staff, transfer, transferevent, notification, actionnote

Revision ID: 0001
Revises:
Create Date: 2026-11-22 08:20:24

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("authority", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("token_sha256", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_staff_authority", "staff", ["authority"])
    op.create_index("ix_staff_team", "staff", ["team"])

    op.create_table(
        "transfer",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("authority", sa.String(), nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("from_team", sa.String(), nullable=False),
        sa.Column("to_team", sa.String(), nullable=False),
        sa.Column("responsible_team", sa.String(), nullable=False),
        sa.Column("next_deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index("ix_transfer_transfer_id", "transfer", ["transfer_id"])
    op.create_index("ix_transfer_case_id", "transfer", ["case_id"])
    op.create_index("ix_transfer_stage", "transfer", ["stage"])
    op.create_index("ix_transfer_responsible_team", "transfer", ["responsible_team"])
    op.create_index("ix_transfer_next_deadline_at", "transfer", ["next_deadline_at"])
    op.create_index("ix_transfer_overdue", "transfer", ["overdue"])

    op.create_table(
        "transferevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("actor_role", sa.String(), nullable=True),
        sa.Column("actor_team", sa.String(), nullable=True),
        sa.Column("note_ref", sa.String(), nullable=True),
        sa.Column("stage", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq", name="uq_event_run_seq"),
    )
    op.create_index("ix_transferevent_run_id", "transferevent", ["run_id"])
    op.create_index("ix_transferevent_transfer_id", "transferevent", ["transfer_id"])

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=False),
        sa.Column("recipient_id", sa.String(), nullable=False),
        sa.Column("recipient_role", sa.String(), nullable=False),
        sa.Column("recipient_team", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notification_run_id", "notification", ["run_id"])
    op.create_index("ix_notification_transfer_id", "notification", ["transfer_id"])
    op.create_index("ix_notification_recipient_id", "notification", ["recipient_id"])

    op.create_table(
        "actionnote",
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("transfer_id", sa.String(), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref"),
    )
    op.create_index("ix_action_note_transfer", "actionnote", ["transfer_id"])


def downgrade() -> None:
    op.drop_table("actionnote")
    op.drop_table("notification")
    op.drop_table("transferevent")
    op.drop_table("transfer")
    op.drop_table("staff")
