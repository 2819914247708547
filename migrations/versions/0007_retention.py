"""retention: identity hashes of enforcement checks kept apart so that they can be purged; retention runs

Revision ID: 0007_retention
Revises: 0006

`enforcement_checks` and `enforcement_actions` are append-only (0002), so the keyed hash of the person a
check asked about could never be removed there. It moves to `enforcement_subjects` (one row per check, not
append-only), which the retention purge deletes with the cases the check names. The old columns stay,
nullable and emptied (the append-only triggers are paused for that one statement, as the owner), so that
nothing written before reads differently. An action's subject is its check's.

`retention_runs` records what each run of the retention workflow did; append-only.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_retention"
down_revision = "0007"
branch_labels = None
depends_on = None

LOGS = ("enforcement_checks", "enforcement_actions")


def upgrade() -> None:
    op.create_table(
        "enforcement_subjects",
        sa.Column("check_id", sa.String(), sa.ForeignKey("enforcement_checks.check_id"), primary_key=True),
        sa.Column("subject_key", sa.String(), nullable=False),
    )
    op.create_index("ix_enforcement_subjects_subject_key", "enforcement_subjects", ["subject_key"])
    op.execute(
        "INSERT INTO enforcement_subjects (check_id, subject_key) "
        "SELECT check_id, subject_key FROM enforcement_checks WHERE subject_key IS NOT NULL"
    )
    for table in LOGS:
        op.alter_column(table, "subject_key", existing_type=sa.String(), nullable=True)
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        op.execute(f"UPDATE {table} SET subject_key = NULL")
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")

    op.create_table(
        "retention_runs",
        sa.Column("run_id", sa.String(), primary_key=True),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.Integer(), nullable=False),
        sa.Column("purged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("cases", JSONB(), nullable=False),
    )
    # what retention did is itself a record: append-only, like the case record
    op.execute(
        """
        CREATE FUNCTION retention_runs_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'retention_runs is append-only: % refused', TG_OP;
        END $$;
        CREATE TRIGGER retention_runs_append_only BEFORE UPDATE OR DELETE ON retention_runs
            FOR EACH ROW EXECUTE FUNCTION retention_runs_are_append_only();
        CREATE TRIGGER retention_runs_no_truncate BEFORE TRUNCATE ON retention_runs
            FOR EACH STATEMENT EXECUTE FUNCTION retention_runs_are_append_only();
        """
    )


def downgrade() -> None:
    op.drop_table("retention_runs")  # its triggers go with it
    op.execute("DROP FUNCTION retention_runs_are_append_only()")
    # the hashes of purged cases are gone for good; the others go back where they were
    op.execute("ALTER TABLE enforcement_checks DISABLE TRIGGER enforcement_checks_append_only")
    op.execute(
        "UPDATE enforcement_checks c SET subject_key = s.subject_key FROM enforcement_subjects s "
        "WHERE s.check_id = c.check_id"
    )
    op.execute("UPDATE enforcement_checks SET subject_key = '(purged)' WHERE subject_key IS NULL")
    op.execute("ALTER TABLE enforcement_checks ENABLE TRIGGER enforcement_checks_append_only")
    op.execute("ALTER TABLE enforcement_actions DISABLE TRIGGER enforcement_actions_append_only")
    op.execute(
        "UPDATE enforcement_actions a SET subject_key = coalesce(c.subject_key, '(purged)') "
        "FROM enforcement_checks c WHERE c.check_id = a.check_id"
    )
    op.execute("ALTER TABLE enforcement_actions ENABLE TRIGGER enforcement_actions_append_only")
    for table in LOGS:
        op.alter_column(table, "subject_key", existing_type=sa.String(), nullable=False)
    op.drop_index("ix_enforcement_subjects_subject_key", table_name="enforcement_subjects")
    op.drop_table("enforcement_subjects")
