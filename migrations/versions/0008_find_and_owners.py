"""finding a case, and cases have owners

Revision ID: 0008
Revises: 0007

`mvp cases find` finds a case by keyed hashes of its referral id and of its referring police officer's id
(`cases.referral_id_key`, `cases.officer_key`; the crime reference already has `cases.crime_ref_key`).
Computing them needs the identity key and the keyring, so it cannot happen inside a migration: the worker
keys the cases written before this revision from their sealed referrals when it starts
(`CaseStore.key_cases_for_finding`).

`cases.case_officer` is the actor label of the IE officer who owns the case. Until a supervisor reassigns
a case that is the officer who opened it, the actor of the case record's first entry: existing rows are
filled from there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("referral_id_key", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("officer_key", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("case_officer", sa.String(), nullable=True))
    op.create_index("ix_cases_referral_id_key", "cases", ["referral_id_key"])
    op.create_index("ix_cases_officer_key", "cases", ["officer_key"])
    op.create_index("ix_cases_case_officer", "cases", ["case_officer"])
    op.execute(
        "UPDATE cases SET case_officer = r.actor FROM case_record r "
        "WHERE r.case_id = cases.case_id AND r.seq = 1 AND cases.case_officer IS NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_cases_case_officer", table_name="cases")
    op.drop_index("ix_cases_officer_key", table_name="cases")
    op.drop_index("ix_cases_referral_id_key", table_name="cases")
    op.drop_column("cases", "case_officer")
    op.drop_column("cases", "officer_key")
    op.drop_column("cases", "referral_id_key")
