"""engine alerts: a case whose workflow was ended or deleted outside the service

Revision ID: 0007
Revises: 0006

`cases.engine_alert` is null while the case's workflow is fine; the worker's watcher (`activities.watch`)
sets it, with the moment it noticed, when the workflow was terminated, cancelled, timed out, failed or
deleted outside the service. The holds are left as they are: the person stays protected (fail closed).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as cases:
        cases.add_column(sa.Column("engine_alert", sa.String(), nullable=True))
        cases.add_column(sa.Column("engine_alert_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as cases:
        cases.drop_column("engine_alert_at")
        cases.drop_column("engine_alert")
