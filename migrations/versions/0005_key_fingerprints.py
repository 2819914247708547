"""key fingerprints: the identity key and every keyring key this database has seen

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_fingerprints",
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("key_id", sa.String(), primary_key=True),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    # a fingerprint once recorded is never changed: that is what makes a swapped key show
    op.execute(
        """
        CREATE FUNCTION key_fingerprints_are_never_rewritten() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'key_fingerprints are never rewritten: % refused', TG_OP;
        END $$;
        CREATE TRIGGER key_fingerprints_no_update BEFORE UPDATE ON key_fingerprints
            FOR EACH ROW EXECUTE FUNCTION key_fingerprints_are_never_rewritten();
        """
    )


def downgrade() -> None:
    op.drop_table("key_fingerprints")
    op.execute("DROP FUNCTION key_fingerprints_are_never_rewritten()")
