"""delivery apart from commands (outbox leases, provider reference and status) and the task queue

Revision ID: 0006
Revises: 0005

Touches only the `outbox` table of 0001 and adds `tasks`, so that it does not depend on 0004 or 0005.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        # an opaque id per notice, sent to the provider as its `reference` (no personal data)
        outbox.add_column(sa.Column("reference", sa.String(), nullable=True))
        outbox.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        outbox.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        outbox.add_column(sa.Column("last_error", sa.String(), nullable=True))
        outbox.add_column(sa.Column("failure_reason", sa.String(), nullable=True))
        outbox.add_column(sa.Column("delivery_status", sa.String(), nullable=True))
        outbox.add_column(sa.Column("status_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox SET reference = md5(key || clock_timestamp()::text) WHERE reference IS NULL")
    op.create_index("ux_outbox_reference", "outbox", ["reference"], unique=True)
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False, unique=True),  # the notice (or event) it came from
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column(
            "owner", sa.String(), nullable=False
        ),  # an officer's actor label, or the team "supervisors"
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),  # open | done
        sa.Column("done_by", sa.String(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_sealed", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
    )
    op.create_index("ix_tasks_case", "tasks", ["case_id"])
    op.create_index("ix_tasks_owner_state", "tasks", ["owner", "state", "due_at"])


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_index("ux_outbox_reference", table_name="outbox")
    with op.batch_alter_table("outbox") as outbox:
        for column in (
            "status_checked_at",
            "delivery_status",
            "failure_reason",
            "last_error",
            "next_attempt_at",
            "lease_until",
            "reference",
        ):
            outbox.drop_column(column)
