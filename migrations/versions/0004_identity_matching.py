"""identity matching: holds found by the keyed hash of a date of birth and scored on a sealed normalised
name; cases found as duplicates by the keyed hash of their crime reference; checks refused on a possible
match marked so

Revision ID: 0004
Revises: 0003

Rows written before this revision keep their old keys (the old normalisation) and have no birth key or
sealed name: they are still found by an exact key, never by a possible match, until they are re-keyed
(which needs the identity key and the keyring, so it cannot happen inside a migration).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("holds", sa.Column("birth_key", sa.String(), nullable=True))
    op.add_column("holds", sa.Column("name_sealed", sa.String(), nullable=True))
    op.create_index("ix_holds_birth_key", "holds", ["birth_key"])
    op.add_column("cases", sa.Column("crime_ref_key", sa.String(), nullable=True))
    op.create_index("ix_cases_crime_ref_key", "cases", ["crime_ref_key"])
    op.add_column(
        "enforcement_checks",
        sa.Column("possible_match", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("enforcement_checks", "possible_match")
    op.drop_index("ix_cases_crime_ref_key", table_name="cases")
    op.drop_column("cases", "crime_ref_key")
    op.drop_index("ix_holds_birth_key", table_name="holds")
    op.drop_column("holds", "name_sealed")
    op.drop_column("holds", "birth_key")
