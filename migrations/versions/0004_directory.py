"""directory: sign-in by identity provider subject, leavers, demo rows, API tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 13:10:00

Tokens move from a column of the staff row to a table of their own, so that a
system may hold several, each with an expiry, and each may be revoked. Existing
tokens (the demo directory's) are carried over without an expiry.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apitoken",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index("ix_apitoken_staff_id", "apitoken", ["staff_id"])
    op.execute(
        "INSERT INTO apitoken (id, staff_id, sha256, label, created_at) "
        "SELECT 'legacy-' || id, id, token_sha256, 'carried over', CURRENT_TIMESTAMP FROM staff")
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("idp_subject", sa.String(), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(), nullable=False,
                                   server_default="person"))
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_unique_constraint("uq_staff_idp_subject", ["idp_subject"])
    # A row whose token is the demo directory's ("demo-" + its id) is a demo row.
    conn = op.get_bind()
    staff = sa.table("staff", sa.column("id", sa.String()), sa.column("token_sha256", sa.String()),
                     sa.column("demo", sa.Boolean()))
    for staff_id, digest in conn.execute(sa.select(staff.c.id, staff.c.token_sha256)).all():
        if digest == hashlib.sha256(f"demo-{staff_id}".encode()).hexdigest():
            conn.execute(staff.update().where(staff.c.id == staff_id).values(demo=True))
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("token_sha256")


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("token_sha256", sa.String(), nullable=True))
        batch.drop_constraint("uq_staff_idp_subject", type_="unique")
        batch.drop_column("demo")
        batch.drop_column("active")
        batch.drop_column("kind")
        batch.drop_column("idp_subject")
    op.drop_index("ix_apitoken_staff_id", table_name="apitoken")
    op.drop_table("apitoken")
