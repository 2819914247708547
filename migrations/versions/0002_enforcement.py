"""enforcement checks and actions, append-only; the reasons for checks, sealed and purgeable

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 09:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule, so mypy sees sqlmodel.sql.sqltypes.AutoString
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("enforcement_checks", "enforcement_actions")


def upgrade() -> None:
    op.create_table(
        "enforcement_checks",
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("verdict_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("case_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("officers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subject_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("check_id"),
    )
    op.create_index(op.f("ix_enforcement_checks_case_id"), "enforcement_checks", ["case_id"], unique=False)
    op.create_index(op.f("ix_enforcement_checks_verdict"), "enforcement_checks", ["verdict"], unique=False)
    op.create_index(
        op.f("ix_enforcement_checks_subject_key"), "enforcement_checks", ["subject_key"], unique=False
    )
    # Why enforcement asked: free text, sealed, and purged at retention, so not in the append-only log.
    op.create_table(
        "enforcement_check_reasons",
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason_sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["check_id"], ["enforcement_checks.check_id"]),
        sa.PrimaryKeyConstraint("check_id"),
    )
    op.create_table(
        "enforcement_actions",
        sa.Column("action_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["check_id"], ["enforcement_checks.check_id"]),
        sa.PrimaryKeyConstraint("action_id"),
        sa.UniqueConstraint("check_id", "action", name="uq_enforcement_actions_check_action"),
    )
    op.create_index(op.f("ix_enforcement_actions_action"), "enforcement_actions", ["action"], unique=False)
    op.create_index(op.f("ix_enforcement_actions_case_id"), "enforcement_actions", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_enforcement_actions_check_id"), "enforcement_actions", ["check_id"], unique=False
    )
    op.create_index(
        op.f("ix_enforcement_actions_subject_key"), "enforcement_actions", ["subject_key"], unique=False
    )
    # Like the case record, both are append-only: no UPDATE, no DELETE, no TRUNCATE, whoever asks.
    op.execute(
        """
        CREATE FUNCTION enforcement_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
        END $$;
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION enforcement_log_is_append_only();
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION enforcement_log_is_append_only();
            """
        )


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION enforcement_log_is_append_only()")
    op.drop_index(op.f("ix_enforcement_actions_subject_key"), table_name="enforcement_actions")
    op.drop_index(op.f("ix_enforcement_actions_check_id"), table_name="enforcement_actions")
    op.drop_index(op.f("ix_enforcement_actions_case_id"), table_name="enforcement_actions")
    op.drop_index(op.f("ix_enforcement_actions_action"), table_name="enforcement_actions")
    op.drop_table("enforcement_actions")
    op.drop_table("enforcement_check_reasons")
    op.drop_index(op.f("ix_enforcement_checks_subject_key"), table_name="enforcement_checks")
    op.drop_index(op.f("ix_enforcement_checks_verdict"), table_name="enforcement_checks")
    op.drop_index(op.f("ix_enforcement_checks_case_id"), table_name="enforcement_checks")
    op.drop_table("enforcement_checks")
