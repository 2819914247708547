"""The statistics (PROTOCOL.md §9; Review paras 60–61): each figure, its boundaries, and grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.case import ApplicationStage, Outcome
from models.records import ImmigrationStatus
from protocol.policy import policy
from protocol.statistics import (
    FIGURE_NAMES,
    LABELS,
    SUPPRESSED,
    ApplicationFact,
    CaseFacts,
    Disclosure,
    EnforcementFact,
    EnforcementKind,
    Figures,
    Grouping,
    StatusGroup,
    StatusRow,
    applicant_stage,
    figures,
    report,
    status_group,
    status_row,
)

START = datetime(2020, 4, 1, tzinfo=UTC)
END = datetime(2021, 4, 1, tzinfo=UTC)
WITHIN = policy().application_within
REFERRED = datetime(2020, 6, 1, 10, 0, tzinfo=UTC)


def case(n: int = 1, **kwargs: object) -> CaseFacts:
    values: dict[str, object] = {
        "case_id": f"MVP-{n:05d}",
        "referred_at": REFERRED,
        "status_at_referral": ImmigrationStatus.no_status,
        "hold_active": True,
        "force": "WMP",
        "crime_type": "domestic_abuse",
    }
    values.update(kwargs)
    return CaseFacts(**values)  # type: ignore[arg-type]


def app(stage: ApplicationStage, after: timedelta = timedelta(days=40), number: int = 1) -> ApplicationFact:
    return ApplicationFact(number=number, submitted_at=REFERRED + after, stage=stage)


def count(*cases: CaseFacts, enforcement: tuple[EnforcementFact, ...] = ()) -> Figures:
    return figures(cases, enforcement, start=START, end=END, within=WITHIN)


# --- the cohort ------------------------------------------------------------------------------------


def test_the_cohort_is_referred_on_or_after_from_and_before_to() -> None:
    second = timedelta(seconds=1)
    cases = [
        case(1, referred_at=START - second),
        case(2, referred_at=START),
        case(3, referred_at=END - second),
        case(4, referred_at=END),
    ]
    assert count(*cases).referrals == 2


def test_an_empty_period_has_every_figure_zero() -> None:
    assert count() == Figures()
    assert set(Figures().as_dict().values()) == {0}


def test_every_figure_has_a_label() -> None:
    assert set(LABELS) == set(FIGURE_NAMES)


# --- status at referral ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "group"),
    [
        (ImmigrationStatus.leave_to_remain, StatusGroup.leave_to_remain),
        (ImmigrationStatus.settled, StatusGroup.leave_to_remain),
        (ImmigrationStatus.eu_settlement_scheme, StatusGroup.eu_eea),
        (ImmigrationStatus.british_citizen, StatusGroup.british_citizen),
        (ImmigrationStatus.no_status, StatusGroup.no_status),
        (ImmigrationStatus.unknown, StatusGroup.no_status),
        (ImmigrationStatus.pending_application, StatusGroup.no_status),
        (ImmigrationStatus.asylum_claimant, StatusGroup.no_status),
        (ImmigrationStatus.asylum_dependant, StatusGroup.no_status),
        (None, StatusGroup.no_status),
    ],
)
def test_status_at_referral_falls_in_one_of_the_reviews_four_groups(
    status: ImmigrationStatus | None, group: StatusGroup
) -> None:
    assert status_group(status) is group


@pytest.mark.parametrize(
    ("status", "row"),
    [
        (ImmigrationStatus.no_status, StatusRow.no_status),
        (ImmigrationStatus.pending_application, StatusRow.no_status),
        (ImmigrationStatus.asylum_claimant, StatusRow.no_status),
        (ImmigrationStatus.asylum_dependant, StatusRow.no_status),
        (ImmigrationStatus.unknown, StatusRow.no_record),
        (None, StatusRow.not_screened),
        (ImmigrationStatus.settled, StatusRow.leave_to_remain),
        (ImmigrationStatus.british_citizen, StatusRow.british_citizen),
    ],
)
def test_no_status_no_record_found_and_not_yet_screened_are_separate_rows(
    status: ImmigrationStatus | None, row: StatusRow
) -> None:
    assert status_row(status) is row


def test_the_status_rows_add_up_to_the_referrals_and_split_the_reviews_no_status_group() -> None:
    statuses = [*ImmigrationStatus, None]
    result = count(*(case(n, status_at_referral=s) for n, s in enumerate(statuses)))
    assert result.referrals == len(statuses)
    assert result.status_leave_to_remain == 2  # leave to remain, settled
    assert result.status_eu_eea == 1
    assert result.status_british_citizen == 1
    assert result.status_no_status == 4  # no status, pending application, asylum claimant or dependant
    assert result.status_no_record == 1  # unknown: no Home Office record matched
    assert result.status_not_screened == 1
    reviews_no_status = sum(1 for s in statuses if status_group(s) is StatusGroup.no_status)
    assert result.status_no_status + result.status_no_record + result.status_not_screened == reviews_no_status
    assert (
        result.status_leave_to_remain
        + result.status_eu_eea
        + result.status_british_citizen
        + reviews_no_status
        == result.referrals
    )


# --- applications ----------------------------------------------------------------------------------


def test_applications_made_counts_people_not_applications() -> None:
    twice = case(
        1,
        applications=(
            app(ApplicationStage.rejected, timedelta(days=5), number=1),
            app(ApplicationStage.submitted, timedelta(days=50), number=2),
        ),
    )
    once = case(2, applications=(app(ApplicationStage.submitted),))
    result = count(twice, once, case(3))
    assert result.applications_made == 2
    assert result.awaiting_decision == 2
    assert result.rejected == 0


def test_within_one_month_is_the_first_application_no_later_than_the_policy_allows() -> None:
    minute = timedelta(minutes=1)
    on_the_boundary = case(1, applications=(app(ApplicationStage.submitted, WITHIN),))
    a_minute_late = case(2, applications=(app(ApplicationStage.submitted, WITHIN + minute),))
    same_day = case(3, applications=(app(ApplicationStage.submitted, timedelta(0)),))
    late_first_then_more = case(
        4,
        applications=(
            app(ApplicationStage.rejected, WITHIN + minute, number=1),
            app(ApplicationStage.submitted, WITHIN * 2, number=2),
        ),
    )
    result = count(on_the_boundary, a_minute_late, same_day, late_first_then_more)
    assert WITHIN == timedelta(days=31)
    assert result.applications_made == 4
    assert result.applications_within_one_month == 2


@pytest.mark.parametrize(
    ("stage", "figure"),
    [
        (ApplicationStage.submitted, "awaiting_decision"),
        (ApplicationStage.review_lodged, "awaiting_decision"),
        (ApplicationStage.appeal_lodged, "awaiting_decision"),
        (ApplicationStage.granted, "granted"),
        (ApplicationStage.refused, "refused"),
        (ApplicationStage.rejected, "rejected"),
        (ApplicationStage.withdrawn, "applications_withdrawn"),
    ],
)
def test_each_applicant_counts_once_by_where_their_application_stands(
    stage: ApplicationStage, figure: str
) -> None:
    result = count(case(applications=(app(stage),))).as_dict()
    assert result[figure] == 1
    decided = (
        "granted",
        "awaiting_decision",
        "refused",
        "rejected",
        "applications_withdrawn",
        "closed_undecided",
    )
    assert sum(result[name] for name in decided) == result["applications_made"] == 1


def test_a_grant_wins_over_a_pending_or_refused_application() -> None:
    applications = (
        app(ApplicationStage.refused, number=1),
        app(ApplicationStage.granted, number=2),
        app(ApplicationStage.submitted, number=3),
    )
    assert applicant_stage(applications) is ApplicationStage.granted


def test_a_pending_application_wins_over_a_later_refusal() -> None:
    applications = (app(ApplicationStage.appeal_lodged, number=1), app(ApplicationStage.rejected, number=2))
    assert count(case(applications=applications)).awaiting_decision == 1


def test_otherwise_the_latest_application_decides() -> None:
    applications = (app(ApplicationStage.rejected, number=1), app(ApplicationStage.refused, number=2))
    result = count(case(applications=applications))
    assert (result.refused, result.rejected) == (1, 0)


# --- yet to apply ----------------------------------------------------------------------------------


def test_yet_to_apply_is_an_open_case_with_no_status_or_leave_and_no_application() -> None:
    result = count(
        case(1, status_at_referral=ImmigrationStatus.no_status),
        case(2, status_at_referral=ImmigrationStatus.leave_to_remain),
        case(3, status_at_referral=ImmigrationStatus.unknown),
        case(4, status_at_referral=ImmigrationStatus.asylum_claimant),
    )
    assert result.yet_to_apply == 4


def test_british_and_eu_people_are_never_yet_to_apply() -> None:
    result = count(
        case(1, status_at_referral=ImmigrationStatus.british_citizen),
        case(2, status_at_referral=ImmigrationStatus.eu_settlement_scheme),
    )
    assert result.yet_to_apply == 0


def test_applicants_are_not_yet_to_apply() -> None:
    assert count(case(applications=(app(ApplicationStage.refused),))).yet_to_apply == 0


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_closed_case_is_not_yet_to_apply_and_departed_counts_as_a_voluntary_departure(
    outcome: Outcome,
) -> None:
    result = count(case(outcome=outcome, hold_active=False))
    assert result.yet_to_apply == 0
    assert result.voluntary_departures == (1 if outcome is Outcome.departed else 0)
    assert result.exclusions_confirmed == (1 if outcome is Outcome.excluded else 0)


def test_a_departure_after_applying_counts_as_a_departure_and_an_application() -> None:
    result = count(
        case(outcome=Outcome.departed, hold_active=False, applications=(app(ApplicationStage.withdrawn),))
    )
    assert (result.voluntary_departures, result.applications_made, result.applications_withdrawn) == (1, 1, 1)
    assert result.referrals_withdrawn == 0


# --- beyond the Review -----------------------------------------------------------------------------


def test_holds_contacts_and_exclusions_are_counted_per_case() -> None:
    result = count(
        case(1, hold_active=True, contact_overdue=True),
        case(2, hold_active=True, exclusion_overridden=True),
        case(3, hold_active=False, outcome=Outcome.excluded, exclusion_overridden=True),
        case(4, hold_active=False, outcome=Outcome.regularised),
    )
    assert result.holds_in_force == 2
    assert result.contacts_overdue == 1
    assert result.exclusions_confirmed == 1
    assert result.exclusions_overridden == 2


def test_enforcement_counts_refused_checks_and_people_detained_or_removed_since_referral() -> None:
    before = REFERRED - timedelta(days=1)
    after = REFERRED + timedelta(days=3)
    enforcement = (
        EnforcementFact("MVP-00001", EnforcementKind.check_refused, after),
        EnforcementFact("MVP-00001", EnforcementKind.check_refused, after),
        EnforcementFact("MVP-00001", EnforcementKind.detained, after),
        EnforcementFact("MVP-00001", EnforcementKind.detained, after + timedelta(days=1)),  # the same person
        EnforcementFact("MVP-00002", EnforcementKind.detained, before),  # before the referral
        EnforcementFact("MVP-00002", EnforcementKind.removed, None),  # no time given: counts
        EnforcementFact("MVP-00099", EnforcementKind.removed, after),  # not in the cohort
    )
    result = count(case(1), case(2), case(3, referred_at=END), enforcement=enforcement)
    assert result.enforcement_checks_refused == 2
    assert result.detained == 1
    assert result.removed == 1


# --- grouping --------------------------------------------------------------------------------------


def test_groups_by_force_add_up_to_the_total() -> None:
    cases = [
        case(1, force="WMP", applications=(app(ApplicationStage.granted, timedelta(days=3)),)),
        case(2, force="WMP", outcome=Outcome.departed, hold_active=False),
        case(3, force="MPS", status_at_referral=ImmigrationStatus.british_citizen, hold_active=False),
        case(4, force="GMP", contact_overdue=True),
        case(5, force="KNT", referred_at=END),  # outside the period: no column
    ]
    enforcement = [EnforcementFact("MVP-00004", EnforcementKind.check_refused, REFERRED + timedelta(days=1))]
    result = report(cases, enforcement, start=START, end=END, within=WITHIN, by=Grouping.force)
    assert list(result.groups) == ["GMP", "MPS", "WMP"]
    assert result.groups["WMP"].referrals == 2
    assert result.groups["GMP"].enforcement_checks_refused == 1
    for name in FIGURE_NAMES:
        assert sum(getattr(g, name) for g in result.groups.values()) == getattr(result.total, name), name


def test_groups_by_crime_type() -> None:
    cases = [
        case(1, crime_type="domestic_abuse"),
        case(2, crime_type="modern_slavery"),
        case(3, crime_type="modern_slavery", applications=(app(ApplicationStage.submitted),)),
    ]
    result = report(cases, start=START, end=END, within=WITHIN, by=Grouping.crime_type)
    assert {name: f.referrals for name, f in result.groups.items()} == {
        "domestic_abuse": 1,
        "modern_slavery": 2,
    }
    assert result.groups["modern_slavery"].applications_made == 1
    assert result.total.referrals == 3


def test_without_grouping_there_are_no_groups() -> None:
    assert report([case()], start=START, end=END, within=WITHIN).groups == {}


@pytest.mark.parametrize("outcome", [Outcome.excluded, Outcome.departed])
def test_an_application_pending_when_its_case_closed_is_not_awaiting_a_decision_for_ever(
    outcome: Outcome,
) -> None:
    result = count(case(applications=(app(ApplicationStage.submitted),), outcome=outcome, hold_active=False))
    assert (result.awaiting_decision, result.closed_undecided, result.applications_made) == (0, 1, 1)


def test_an_application_pending_on_an_open_case_is_awaiting_a_decision() -> None:
    result = count(case(applications=(app(ApplicationStage.appeal_lodged),)))
    assert (result.awaiting_decision, result.closed_undecided) == (1, 0)


# --- withdrawn referrals, outcomes, closures in the period --------------------------------------------


def test_a_withdrawn_referral_is_not_a_withdrawn_application() -> None:
    police_withdrew_hold_stays = case(
        1, referral_withdrawn=True, applications=(app(ApplicationStage.submitted),)
    )
    made_in_error = case(2, referral_withdrawn=True, outcome=Outcome.withdrawn, hold_active=False)
    person_withdrew_application = case(3, applications=(app(ApplicationStage.withdrawn),))
    result = count(police_withdrew_hold_stays, made_in_error, person_withdrew_application)
    assert result.referrals_withdrawn == 2
    assert result.outcome_withdrawn == 1
    assert result.applications_withdrawn == 1
    assert result.awaiting_decision == 1


def test_every_cohort_case_has_exactly_one_outcome_row() -> None:
    cases = [case(0), *(case(n, outcome=o, hold_active=False) for n, o in enumerate(Outcome, start=1))]
    result = count(*cases).as_dict()
    rows = ["outcome_open", *(f"outcome_{o.value}" for o in Outcome)]
    assert {name: result[name] for name in rows} == dict.fromkeys(rows, 1)
    assert sum(result[name] for name in rows) == result["referrals"] == len(cases)


def test_closures_count_the_cases_closed_in_the_period_whenever_they_were_referred() -> None:
    second = timedelta(seconds=1)
    cases = [
        # referred before the period, closed in it: a closure, not a referral
        case(1, referred_at=START - timedelta(days=200), outcome=Outcome.regularised, closed_at=START),
        # referred in the period, closed after it: a referral with its outcome, not a closure
        case(2, outcome=Outcome.hold_released, closed_at=END),
        # referred and closed in the period
        case(3, outcome=Outcome.departed, closed_at=END - second),
        case(4, outcome=Outcome.departed, closed_at=REFERRED + timedelta(days=1)),
        # referred before, closed before
        case(5, referred_at=START - timedelta(days=9), outcome=Outcome.excluded, closed_at=START - second),
        case(6),  # open
    ]
    result = count(*cases)
    assert result.referrals == 4
    assert result.closed_in_period == 3
    assert (result.closed_regularised, result.closed_departed, result.closed_hold_released) == (1, 2, 0)
    assert (result.outcome_regularised, result.outcome_hold_released, result.outcome_departed) == (0, 1, 2)
    by_outcome = sum(getattr(result, f"closed_{o.value}") for o in Outcome)
    assert by_outcome == result.closed_in_period


def test_a_force_with_only_closures_in_the_period_has_a_column_and_the_columns_add_up() -> None:
    cases = [
        case(1, force="WMP"),
        case(
            2,
            force="KNT",
            referred_at=START - timedelta(days=40),
            outcome=Outcome.departed,
            closed_at=REFERRED,
            hold_active=False,
        ),
    ]
    result = report(cases, start=START, end=END, within=WITHIN, by=Grouping.force)
    assert list(result.groups) == ["KNT", "WMP"]
    assert (result.groups["KNT"].referrals, result.groups["KNT"].closed_departed) == (0, 1)
    for name in FIGURE_NAMES:
        assert sum(getattr(g, name) for g in result.groups.values()) == getattr(result.total, name), name


# --- publishing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, 0), (1, SUPPRESSED), (4, SUPPRESSED), (5, 5), (7, 5), (8, 10), (12, 10), (13, 15), (211, 210)],
)
def test_publishing_suppresses_counts_below_the_threshold_and_rounds_the_rest(
    value: int, shown: int | str
) -> None:
    assert Disclosure(threshold=5, rounding=5).count(value) == shown


def test_the_published_figures_come_from_the_policy_and_mark_every_small_count() -> None:
    rules = policy()
    disclosure = Disclosure(threshold=rules.disclosure_threshold, rounding=rules.disclosure_rounding)
    published = disclosure.figures(count(case(1), case(2, outcome=Outcome.departed, hold_active=False)))
    assert published["referrals"] == SUPPRESSED
    assert published["voluntary_departures"] == SUPPRESSED
    assert published["detained"] == 0
    assert set(published) == set(FIGURE_NAMES)
    assert f"1 to {rules.disclosure_threshold - 1}" in disclosure.note()
    assert SUPPRESSED in disclosure.note()
