"""what the report counts of each case, kept in its row

Revision ID: 0010
Revises: 0009

`mvp report` read each case's applications out of its view (the generated `cases.applications` of 0009,
kept out of line) and classified them in SQL, a second copy of `protocol.statistics`' rules. The store now
writes what a case's own facts decide for the report (`protocol.statistics.Tally`) into four narrow columns
with every step: `report_status` (its row for status at referral), `report_may_apply` (whether its person
may still need to apply), `report_stage` (the figure its applications count under; null: none) and
`first_applied_at`. The report adds them up. `cases.applications` is no longer read and is dropped.

Existing rows are filled here by the rules as they stand at this revision, written out below as they were
in the report's SQL (copied, not imported, so that this revision stays what it was when the code moves on);
every later step of a case rewrites them from `protocol.statistics`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STATUS_ROW = (
    "CASE status_at_referral WHEN 'asylum_claimant' THEN 'no_status' WHEN 'asylum_dependant' THEN 'no_status'"
    " WHEN 'british_citizen' THEN 'british_citizen' WHEN 'eu_settlement_scheme' THEN 'eu_eea'"
    " WHEN 'leave_to_remain' THEN 'leave_to_remain' WHEN 'no_status' THEN 'no_status'"
    " WHEN 'pending_application' THEN 'no_status' WHEN 'settled' THEN 'leave_to_remain'"
    " WHEN 'unknown' THEN 'no_record' ELSE 'not_screened' END"
)
MAY_APPLY = (
    "COALESCE(status_at_referral IN ('settled', 'leave_to_remain', 'pending_application', 'asylum_claimant',"
    " 'asylum_dependant', 'no_status', 'unknown'), true)"
)
STAGE_FIGURE = (
    "CASE CASE WHEN a.any_granted THEN 'granted' WHEN a.any_pending THEN 'submitted' ELSE a.latest_stage END"
    " WHEN 'appeal_lodged' THEN 'awaiting_decision' WHEN 'granted' THEN 'granted' WHEN 'refused' THEN 'refused'"
    " WHEN 'rejected' THEN 'rejected' WHEN 'review_lodged' THEN 'awaiting_decision'"
    " WHEN 'submitted' THEN 'awaiting_decision' WHEN 'withdrawn' THEN 'applications_withdrawn' END"
)
BACKFILL = f"""
WITH apps AS (
    SELECT c.case_id,
           min((e.a ->> 'submitted_at')::timestamptz) AS first_submitted,
           bool_or(e.a ->> 'stage' = 'granted') AS any_granted,
           bool_or(e.a ->> 'stage' IN ('appeal_lodged', 'review_lodged', 'submitted')) AS any_pending,
           (array_agg(e.a ->> 'stage' ORDER BY COALESCE((e.a ->> 'number')::int, 0) DESC,
                      (e.a ->> 'submitted_at')::timestamptz DESC, e.n))[1] AS latest_stage
    FROM cases c CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(c.view -> 'applications') = 'array' THEN c.view -> 'applications'
             ELSE '[]'::jsonb END
    ) WITH ORDINALITY AS e(a, n)
    GROUP BY c.case_id
)
UPDATE cases SET report_stage = {STAGE_FIGURE}, first_applied_at = a.first_submitted
FROM apps a WHERE a.case_id = cases.case_id
"""


def upgrade() -> None:
    op.add_column("cases", sa.Column("report_status", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("report_may_apply", sa.Boolean(), nullable=True))
    op.add_column("cases", sa.Column("report_stage", sa.String(), nullable=True))
    op.add_column("cases", sa.Column("first_applied_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE cases SET report_status = {STATUS_ROW}, report_may_apply = {MAY_APPLY}")
    op.execute(BACKFILL)
    op.alter_column("cases", "report_status", nullable=False)
    op.alter_column("cases", "report_may_apply", nullable=False)
    op.drop_column("cases", "applications")
    op.execute("ANALYZE cases")


def downgrade() -> None:
    op.execute(
        "ALTER TABLE cases ADD COLUMN applications jsonb GENERATED ALWAYS AS (view -> 'applications') STORED"
    )
    for column in ("first_applied_at", "report_stage", "report_may_apply", "report_status"):
        op.drop_column("cases", column)
