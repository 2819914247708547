"""Screening at referral (PROTOCOL.md §4): secure status and exclusion indicators."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.case import ExclusionIndicator as EI
from models.records import (
    Conviction,
    CriminalRecord,
    ImmigrationStatus,
    ImmigrationStatusRecord,
    RecordsFile,
)
from protocol.policy import policy
from protocol.screening import RULES_VERSION, exclusion_indicators, is_secure, screen

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
NOW = datetime(2026, 11, 3, 9, 40, tzinfo=UTC)
TODAY = NOW.date()
WINDOW_START = date(2016, 11, 3)  # persistent_offender_years (10) before NOW
KNOWN_MARKERS = {"persistent_offender", "deportation_order", "national_security"}

AMINA, DARIUSZ, MARCO = "HO-7781203", "HO-5550912", "HO-3301877"


def _records() -> RecordsFile:
    return RecordsFile.model_validate_json((EXAMPLES / "records.json").read_text())


def status_of(ref: str) -> ImmigrationStatusRecord | None:
    return next((r for r in _records().immigration_status if r.home_office_ref == ref), None)


def criminality_of(ref: str) -> CriminalRecord | None:
    return next((r for r in _records().criminal_records if r.home_office_ref == ref), None)


def conviction(
    months: int = 0, *, custodial: bool = True, on: date = date(2012, 5, 1), harm: bool = False
) -> Conviction:
    return Conviction(
        offence="offence", convicted_on=on, custodial=custodial, sentence_months=months, serious_harm=harm
    )


def record(*convictions: Conviction, markers: list[str] | None = None) -> CriminalRecord:
    return CriminalRecord(
        home_office_ref="HO-TEST",
        given_names="Test",
        family_name="Person",
        date_of_birth=date(1990, 1, 1),
        convictions=list(convictions),
        markers=markers or [],
    )


def status_record(
    status: ImmigrationStatus, last_leave: str | None = None, leave_expires: date | None = None
) -> ImmigrationStatusRecord:
    return ImmigrationStatusRecord(
        home_office_ref="HO-TEST",
        given_names="Test",
        family_name="Person",
        date_of_birth=date(1990, 1, 1),
        status=status,
        last_leave=last_leave,
        leave_expires=leave_expires,
    )


def indicators(*convictions: Conviction, markers: list[str] | None = None) -> list[EI]:
    return exclusion_indicators(record(*convictions, markers=markers), NOW, POLICY)


# --- exclusion indicators: the three people in examples/records.json ------------------------------


def test_no_criminal_record_means_no_indicators() -> None:
    assert criminality_of(AMINA) is None
    assert exclusion_indicators(None, NOW, POLICY) == []


def test_record_without_convictions_or_markers_means_no_indicators() -> None:
    assert exclusion_indicators(criminality_of(DARIUSZ), NOW, POLICY) == []


def test_marco_vidal_flags_both_custodial_bands_serious_harm_and_deportation_order() -> None:
    assert exclusion_indicators(criminality_of(MARCO), NOW, POLICY) == [
        EI.custodial_12_months,
        EI.serious_harm,
        EI.custodial_4_years,
        EI.deportation_order,
    ]


# --- custodial bands -------------------------------------------------------------------------------


def test_custodial_sentence_of_exactly_twelve_months_flags_the_twelve_month_band() -> None:
    assert indicators(conviction(12)) == [EI.custodial_12_months]


def test_custodial_sentence_of_eleven_months_flags_nothing() -> None:
    assert indicators(conviction(11)) == []


def test_sentences_for_different_offences_are_never_added_together() -> None:
    assert indicators(conviction(6), conviction(6, on=date(2013, 1, 1))) == []


def test_non_custodial_sentence_never_counts() -> None:
    assert indicators(conviction(60, custodial=False)) == []


def test_four_year_sentence_flags_both_custodial_bands() -> None:
    assert indicators(conviction(48)) == [EI.custodial_12_months, EI.custodial_4_years]


def test_sentence_one_month_short_of_four_years_flags_only_the_twelve_month_band() -> None:
    assert indicators(conviction(47)) == [EI.custodial_12_months]


def test_thresholds_come_from_the_policy() -> None:
    stricter = dataclasses.replace(POLICY, custodial_months_threshold=6, most_serious_months_threshold=24)
    assert exclusion_indicators(record(conviction(24)), NOW, stricter) == [
        EI.custodial_12_months,
        EI.custodial_4_years,
    ]


# --- serious harm ----------------------------------------------------------------------------------


def test_serious_harm_flags_even_without_custody() -> None:
    assert indicators(conviction(0, custodial=False, harm=True)) == [EI.serious_harm]


# --- persistent offender ---------------------------------------------------------------------------


def test_three_convictions_within_ten_years_flag_a_persistent_offender() -> None:
    recent = [conviction(custodial=False, on=date(2020 + n, 3, 1)) for n in range(3)]
    assert indicators(*recent) == [EI.persistent_offender]


def test_two_convictions_within_ten_years_are_not_persistent() -> None:
    recent = [conviction(custodial=False, on=date(2020 + n, 3, 1)) for n in range(2)]
    assert indicators(*recent) == []


def test_conviction_on_the_first_day_of_the_window_counts() -> None:
    recent = [conviction(custodial=False, on=d) for d in (WINDOW_START, date(2020, 1, 1), TODAY)]
    assert indicators(*recent) == [EI.persistent_offender]


def test_conviction_a_day_before_the_window_does_not_count() -> None:
    day_before = WINDOW_START - timedelta(days=1)
    recent = [conviction(custodial=False, on=d) for d in (day_before, date(2020, 1, 1), TODAY)]
    assert indicators(*recent) == []


def test_conviction_dated_after_screening_does_not_count() -> None:
    dates = (date(2019, 1, 1), date(2020, 1, 1), TODAY + timedelta(days=1))
    assert indicators(*(conviction(custodial=False, on=d) for d in dates)) == []


def test_window_from_29_february_starts_on_28_february() -> None:
    leap_day = datetime(2028, 2, 29, 12, tzinfo=UTC)
    dates = (date(2018, 2, 28), date(2020, 1, 1), date(2024, 1, 1))
    convictions = record(*(conviction(custodial=False, on=d) for d in dates))
    assert exclusion_indicators(convictions, leap_day, POLICY) == [EI.persistent_offender]
    earlier = record(*(conviction(custodial=False, on=d) for d in (date(2018, 2, 27), *dates[1:])))
    assert exclusion_indicators(earlier, leap_day, POLICY) == []


def test_persistent_offender_marker_flags_without_convictions() -> None:
    assert indicators(markers=["persistent_offender"]) == [EI.persistent_offender]


# --- markers ---------------------------------------------------------------------------------------


def test_deportation_order_and_national_security_markers_are_flagged() -> None:
    assert indicators(markers=["national_security", "deportation_order"]) == [
        EI.deportation_order,
        EI.national_security,
    ]


def test_unknown_markers_are_ignored() -> None:
    assert indicators(markers=["gang_matrix", "overstayer", ""]) == []


def test_markers_match_whatever_their_case_and_surrounding_spaces() -> None:
    assert indicators(markers=[" Deportation_Order ", "NATIONAL_SECURITY"]) == [
        EI.deportation_order,
        EI.national_security,
    ]


def test_indicators_are_deduplicated_and_in_declaration_order() -> None:
    many = [conviction(60, on=date(2018 + n, 1, 1), harm=True) for n in range(4)]
    assert indicators(*many, markers=["national_security", "deportation_order", "national_security"]) == list(
        EI
    )


# --- properties ------------------------------------------------------------------------------------

_any_conviction = st.builds(
    Conviction,
    offence=st.just("offence"),
    convicted_on=st.dates(date(1990, 1, 1), date(2030, 12, 31)),
    custodial=st.booleans(),
    sentence_months=st.integers(0, 240),
    serious_harm=st.booleans(),
)
# any marker the records file can carry: printable text (control characters are refused at intake)
_any_marker = st.sampled_from(sorted(KNOWN_MARKERS) + [" Deportation_Order", "unknown"]) | st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=20
)


@given(convictions=st.lists(_any_conviction, max_size=12), markers=st.lists(_any_marker, max_size=6))
def test_indicators_are_always_in_declaration_order_without_duplicates(
    convictions: list[Conviction], markers: list[str]
) -> None:
    found = indicators(*convictions, markers=markers)
    assert found == [i for i in EI if i in found]


def _minor(on: st.SearchStrategy[date]) -> st.SearchStrategy[Conviction]:
    return st.builds(
        Conviction,
        offence=st.just("offence"),
        convicted_on=on,
        custodial=st.just(False),
        sentence_months=st.integers(0, 240),
        serious_harm=st.just(False),
    )


@given(
    in_window=st.lists(
        _minor(st.dates(WINDOW_START, TODAY)), max_size=POLICY.persistent_offender_convictions - 1
    ),
    outside=st.lists(
        _minor(st.dates(date(1970, 1, 1), WINDOW_START - timedelta(days=1)))
        | _minor(st.dates(TODAY + timedelta(days=1), date(2035, 1, 1))),
        max_size=10,
    ),
    markers=st.lists(
        st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=20).filter(
            lambda m: m.strip().lower() not in KNOWN_MARKERS
        ),
        max_size=10,
    ),
)
def test_minor_non_custodial_convictions_below_the_persistent_threshold_flag_nothing(
    in_window: list[Conviction], outside: list[Conviction], markers: list[str]
) -> None:
    assert indicators(*in_window, *outside, markers=markers) == []


# --- secure status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [ImmigrationStatus.british_citizen, ImmigrationStatus.settled, ImmigrationStatus.eu_settlement_scheme],
)
def test_british_settled_and_eu_settlement_scheme_are_secure(status: ImmigrationStatus) -> None:
    assert is_secure(status_record(status), NOW, POLICY)


@pytest.mark.parametrize(
    "status",
    [
        ImmigrationStatus.pending_application,
        ImmigrationStatus.asylum_claimant,
        ImmigrationStatus.asylum_dependant,
        ImmigrationStatus.no_status,
        ImmigrationStatus.unknown,
    ],
)
def test_other_statuses_are_not_secure(status: ImmigrationStatus) -> None:
    record = status_record(status, last_leave="skilled_worker", leave_expires=date(2035, 1, 1))
    assert not is_secure(record, NOW, POLICY)


def test_no_status_record_is_not_secure() -> None:
    assert not is_secure(None, NOW, POLICY)


def test_dariusz_kowal_skilled_worker_leave_with_months_left_is_secure() -> None:
    assert is_secure(status_of(DARIUSZ), NOW, POLICY)


def test_amina_rahman_with_no_status_after_partner_leave_is_not_secure() -> None:
    assert not is_secure(status_of(AMINA), NOW, POLICY)


@pytest.mark.parametrize(
    "last_leave",
    [
        "partner_of_settled_person",
        "partner_of_british_citizen",
        "spouse",
        "Spouse_Visa",
        "unmarried_partner",
        "fiance",
        "skilled_worker_dependant",
        "student_dependent",
    ],
)
def test_partner_leave_is_not_secure_even_when_unexpired(last_leave: str) -> None:
    leave = status_record(ImmigrationStatus.leave_to_remain, last_leave, date(2030, 1, 1))
    assert not is_secure(leave, NOW, POLICY)


def test_leave_with_exactly_the_minimum_remaining_is_secure() -> None:
    expires = TODAY + POLICY.secure_leave_min_remaining
    assert is_secure(status_record(ImmigrationStatus.leave_to_remain, "skilled_worker", expires), NOW, POLICY)


def test_leave_a_day_short_of_the_minimum_remaining_is_not_secure() -> None:
    expires = TODAY + POLICY.secure_leave_min_remaining - timedelta(days=1)
    leave = status_record(ImmigrationStatus.leave_to_remain, "skilled_worker", expires)
    assert not is_secure(leave, NOW, POLICY)


def test_expired_leave_is_not_secure() -> None:
    leave = status_record(ImmigrationStatus.leave_to_remain, "skilled_worker", date(2026, 1, 1))
    assert not is_secure(leave, NOW, POLICY)


def test_leave_without_an_expiry_date_is_not_secure() -> None:
    assert not is_secure(status_record(ImmigrationStatus.leave_to_remain, "skilled_worker"), NOW, POLICY)


def test_leave_whose_basis_is_not_recorded_is_not_secure() -> None:
    """It cannot be shown not to be tied to a partner who could withdraw sponsorship."""
    leave = status_record(ImmigrationStatus.leave_to_remain, None, date(2030, 1, 1))
    assert not is_secure(leave, NOW, POLICY)


def test_settled_person_whose_last_leave_was_as_a_partner_is_secure() -> None:
    settled = status_record(ImmigrationStatus.settled, "partner_of_british_citizen")
    assert is_secure(settled, NOW, POLICY)


# --- screen ----------------------------------------------------------------------------------------


def test_screening_amina_rahman_records_her_status_and_the_rules_version() -> None:
    screening = screen(status_of(AMINA), criminality_of(AMINA), NOW, POLICY)
    assert screening.record_found
    assert screening.status is ImmigrationStatus.no_status
    assert screening.last_leave == "partner_of_settled_person"
    assert screening.leave_expires == date(2026, 9, 30)
    assert not screening.secure
    assert screening.indicators == []
    assert screening.rules_version == RULES_VERSION
    assert screening.screened_at == NOW
    assert screening.trigger == "referral"


def test_screening_dariusz_kowal_is_secure() -> None:
    screening = screen(status_of(DARIUSZ), criminality_of(DARIUSZ), NOW, POLICY)
    assert screening.secure
    assert screening.status is ImmigrationStatus.leave_to_remain
    assert screening.indicators == []


def test_screening_marco_vidal_is_not_secure_and_carries_his_indicators() -> None:
    screening = screen(status_of(MARCO), criminality_of(MARCO), NOW, POLICY)
    assert not screening.secure
    assert screening.indicators == [
        EI.custodial_12_months,
        EI.serious_harm,
        EI.custodial_4_years,
        EI.deportation_order,
    ]


def test_screening_without_a_status_record_says_unknown_and_not_found() -> None:
    screening = screen(None, None, NOW, POLICY)
    assert not screening.record_found
    assert screening.status is ImmigrationStatus.unknown
    assert screening.last_leave is None
    assert screening.leave_expires is None
    assert not screening.secure


def test_criminal_record_without_a_status_record_still_gives_indicators() -> None:
    screening = screen(None, record(conviction(12)), NOW, POLICY)
    assert not screening.record_found
    assert screening.indicators == [EI.custodial_12_months]


def test_british_citizen_is_secure_even_with_indicators() -> None:
    """A British citizen cannot be removed: the indicators are recorded, the case still needs no hold."""
    screening = screen(status_record(ImmigrationStatus.british_citizen), record(conviction(60)), NOW, POLICY)
    assert screening.secure
    assert screening.indicators == [EI.custodial_12_months, EI.custodial_4_years]


@pytest.mark.parametrize(
    "status",
    [
        status_record(ImmigrationStatus.settled),
        status_record(ImmigrationStatus.eu_settlement_scheme),
        status_record(ImmigrationStatus.leave_to_remain, "skilled_worker", date(2030, 1, 1)),
    ],
)
def test_secure_status_with_indicators_is_not_screened_secure(status: ImmigrationStatusRecord) -> None:
    """A foreign national offender with status is still liable to deportation: a supervisor decides."""
    screening = screen(status, record(markers=["deportation_order"]), NOW, POLICY)
    assert is_secure(status, NOW, POLICY)
    assert not screening.secure
    assert screening.indicators == [EI.deportation_order]


def test_screening_records_what_triggered_it() -> None:
    screening = screen(status_of(MARCO), criminality_of(MARCO), NOW, POLICY, trigger="charged")
    assert screening.trigger == "charged"
