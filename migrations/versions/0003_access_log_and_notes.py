"""access log of reads, and officers' free-text notes kept sealed

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    )
    op.create_index("ix_access_log_case", "access_log", ["case_id"])
    op.execute(
        """
        CREATE FUNCTION access_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP;
        END $$;
        CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
            FOR EACH ROW EXECUTE FUNCTION access_log_is_append_only();
        CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
            FOR EACH STATEMENT EXECUTE FUNCTION access_log_is_append_only();
        """
    )
    # Notes are personal data: kept sealed, beside the record (which is append-only), so that the
    # retention purge can remove them.
    op.add_column("case_record", sa.Column("note_digest", sa.String(), nullable=True))
    op.create_table(
        "case_notes",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("note_sealed", sa.String(), nullable=False),
    )
    # a note is never rewritten; it is only removed with the rest of the case's personal data at retention
    op.execute(
        """
        CREATE FUNCTION case_notes_are_never_rewritten() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'case_notes are never rewritten: UPDATE refused';
        END $$;
        CREATE TRIGGER case_notes_no_update BEFORE UPDATE ON case_notes
            FOR EACH ROW EXECUTE FUNCTION case_notes_are_never_rewritten();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER case_notes_no_update ON case_notes")
    op.execute("DROP FUNCTION case_notes_are_never_rewritten()")
    op.drop_table("case_notes")
    op.drop_column("case_record", "note_digest")
    op.execute("DROP TRIGGER access_log_no_truncate ON access_log")
    op.execute("DROP TRIGGER access_log_append_only ON access_log")
    op.execute("DROP FUNCTION access_log_is_append_only()")
    op.drop_index("ix_access_log_case", table_name="access_log")
    op.drop_table("access_log")
