"""indexes for the read side: the case list in urgency order, overdue, by force and by officer; the report

Revision ID: 0009
Revises: 0008

`GET /cases` pages by keyset in the urgency order of `usecases.readmodel.URGENCY_KEY_SQL`. Each index below
has that order as its key, expression for expression (Postgres matches an index to an ORDER BY and to a row
comparison by its expressions), so a page is a short range scan, however deep and whatever the table's size:

- `ix_cases_urgency`: the default list;
- `ix_cases_overdue_urgency`: the same, partial on `contact_overdue` (`--overdue`, `--overdue-for`): a few
  thousand entries at most, where a full scan read every case;
- `ix_cases_force_urgency`, `ix_cases_officer_urgency`: `--force` and `--mine`, the equality first.

`mvp report` counts the cases referred or closed in a period: `ix_cases_referred_at` and `ix_cases_closed_at`
let a short period read only its own cases (a long one is a scan either way). The two facts it needs from a
case's view (its applications, whether an exclusion was overridden) become stored generated columns,
`cases.applications` and `cases.exclusion_overridden`: Postgres keeps them with every write of the view, and
the report reads a few bytes a case instead of decompressing each view. And a case row keeps its large values
(the view, the sealed referral: kilobytes) out of line in its TOAST table (`toast_tuple_target`): the report
has to read the period's rows whole, and a row of a few hundred bytes reads several times faster than one of
1.6 KB. This applies to each row as it is next written (every step of a case writes its row).

The expressions are copied here, not imported, so that this revision stays what it was when the code moves on.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

URGENCY = (
    "CASE WHEN phase <> 'closed' AND engine_alert IS NOT NULL THEN 0"
    " WHEN contact_overdue AND pending_decisions <> '[]'::jsonb THEN 1"
    " WHEN contact_overdue THEN 2"
    " WHEN pending_decisions <> '[]'::jsonb THEN 3"
    " WHEN phase <> 'closed' THEN 4 ELSE 5 END"
)
KEY = (
    f"({URGENCY}), COALESCE(overdue_since, 'infinity'::timestamptz), "
    "COALESCE(next_contact_due, 'infinity'::timestamptz), referred_at, case_id"
)


def upgrade() -> None:
    op.execute("ALTER TABLE cases SET (toast_tuple_target = 256)")
    op.execute(
        "ALTER TABLE cases ADD COLUMN applications jsonb GENERATED ALWAYS AS (view -> 'applications') STORED"
    )
    op.execute(
        "ALTER TABLE cases ADD COLUMN exclusion_overridden boolean GENERATED ALWAYS AS "
        "(COALESCE(view -> 'exclusion_overridden' = 'true'::jsonb, false)) STORED"
    )
    op.execute(f"CREATE INDEX ix_cases_urgency ON cases ({KEY})")
    op.execute(f"CREATE INDEX ix_cases_overdue_urgency ON cases ({KEY}) WHERE contact_overdue")
    op.execute(f"CREATE INDEX ix_cases_force_urgency ON cases (force_code, {KEY})")
    op.execute(f"CREATE INDEX ix_cases_officer_urgency ON cases (case_officer, {KEY})")
    op.create_index("ix_cases_referred_at", "cases", ["referred_at"])
    op.create_index("ix_cases_closed_at", "cases", ["closed_at"])
    op.execute("ANALYZE cases")


def downgrade() -> None:
    for name in (
        "ix_cases_closed_at",
        "ix_cases_referred_at",
        "ix_cases_officer_urgency",
        "ix_cases_force_urgency",
        "ix_cases_overdue_urgency",
        "ix_cases_urgency",
    ):
        op.drop_index(name, table_name="cases")
    op.execute("ALTER TABLE cases RESET (toast_tuple_target)")
    op.drop_column("cases", "exclusion_overridden")
    op.drop_column("cases", "applications")
