"""Signposting at referral (PROTOCOL.md §5): routes chosen from the person's circumstances."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from models.case import Route, Screening, Signpost
from models.records import ImmigrationStatus, RecordsFile
from models.referral import AdditionalInformation, CrimeType, Dependant, PersonRole, Referral
from protocol.policy import policy
from protocol.screening import RULES_VERSION, screen
from protocol.signposting import signposting

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
NOW = datetime(2026, 11, 3, 9, 40, tzinfo=UTC)

AMINA = Referral.model_validate_json((EXAMPLES / "referral-domestic-abuse.json").read_text())
DARIUSZ = Referral.model_validate_json((EXAMPLES / "referral-trafficking.json").read_text())
RECORDS = RecordsFile.model_validate_json((EXAMPLES / "records.json").read_text())

IMMIGRATION_ROUTES = {
    Route.domestic_abuse_concession,
    Route.appendix_victim_of_domestic_abuse,
    Route.national_referral_mechanism,
    Route.foreign_witness,
    Route.split_dependant_claim,
    Route.legal_advice,
}


def screened(referral: Referral) -> Screening:
    """Screen an example referral's person against examples/records.json, matched as the README says."""
    p = referral.person

    def matches(r: Any) -> bool:
        if p.home_office_ref:
            return bool(r.home_office_ref == p.home_office_ref)
        return bool(
            (r.family_name, r.given_names, r.date_of_birth) == (p.family_name, p.given_names, p.date_of_birth)
        )

    status = next((r for r in RECORDS.immigration_status if matches(r)), None)
    criminality = next((r for r in RECORDS.criminal_records if matches(r)), None)
    return screen(status, criminality, referral.received_at, POLICY)


def screening(
    status: ImmigrationStatus = ImmigrationStatus.no_status,
    last_leave: str | None = None,
    leave_expires: date | None = None,
    secure: bool = False,
) -> Screening:
    return Screening(
        screened_at=NOW,
        record_found=status is not ImmigrationStatus.unknown,
        status=status,
        last_leave=last_leave,
        leave_expires=leave_expires,
        secure=secure,
        rules_version=RULES_VERSION,
    )


def referral(
    crime: CrimeType = CrimeType.other,
    *,
    role: PersonRole = PersonRole.victim,
    reason: str = "Unsure of status.",
    allegation: str | None = None,
    assisting: str | None = None,
    dependants: int = 0,
) -> Referral:
    info = None
    if allegation is not None or assisting is not None:
        info = AdditionalInformation(
            allegation=allegation, assisting_investigation=assisting, person_views="Content to share."
        )
    children = [
        Dependant(
            given_names="Child", family_name="Test", date_of_birth=date(2020, 1, 1), relationship="child"
        )
    ] * dependants
    return AMINA.model_copy(
        update={
            "crime_type": crime,
            "role": role,
            "suspected_offence_reason": reason,
            "additional_information": info,
            "dependants": children,
        }
    )


def routes(signposts: list[Signpost]) -> list[Route]:
    return [s.route for s in signposts]


def route_of(signposts: list[Signpost], route: Route) -> Signpost:
    return next(s for s in signposts if s.route is route)


# --- the example referrals -------------------------------------------------------------------------


def test_amina_rahman_is_signposted_to_the_concession_and_settlement_as_a_victim_of_domestic_abuse() -> None:
    """Last leave as a partner; willing to give evidence; her passport withheld by her spouse."""
    given = signposting(AMINA, screened(AMINA), NOW, POLICY)
    assert routes(given) == [
        Route.domestic_abuse_concession,
        Route.appendix_victim_of_domestic_abuse,
        Route.foreign_witness,
        Route.legal_advice,
        Route.specialist_support,
        Route.consulate,
    ]


def test_concession_carries_no_deadline_and_says_it_gives_three_months_with_public_funds() -> None:
    concession = route_of(signposting(AMINA, screened(AMINA), NOW, POLICY), Route.domestic_abuse_concession)
    assert concession.deadline is None
    assert "3 months' leave with access to public funds" in concession.why


def test_dariusz_kowal_with_secure_leave_gets_only_specialist_support_and_the_consulate() -> None:
    """Review para 27: status confirmed, and the consulate for the visa and passport his brother took."""
    given = signposting(DARIUSZ, screened(DARIUSZ), NOW, POLICY)
    assert routes(given) == [Route.specialist_support, Route.consulate]


def test_secure_trafficking_victim_is_told_nrm_support_is_open_to_them() -> None:
    support = route_of(signposting(DARIUSZ, screened(DARIUSZ), NOW, POLICY), Route.specialist_support)
    assert "National Referral Mechanism" in support.why


def test_trafficking_victim_without_a_record_is_signposted_to_the_nrm_with_its_recovery_period() -> None:
    given = signposting(DARIUSZ, screening(ImmigrationStatus.unknown), NOW, POLICY)
    assert routes(given) == [
        Route.national_referral_mechanism,
        Route.legal_advice,
        Route.specialist_support,
        Route.consulate,
    ]
    nrm = route_of(given, Route.national_referral_mechanism)
    assert "at least 30 days" in nrm.why
    assert nrm.deadline is None


@pytest.mark.parametrize("example", [AMINA, DARIUSZ], ids=["amina", "dariusz"])
def test_signposts_are_given_now_and_carry_no_personal_data(example: Referral) -> None:
    given = signposting(example, screened(example), NOW, POLICY)
    person = example.person
    personal = [
        person.given_names,
        person.family_name,
        person.date_of_birth.isoformat(),
        person.home_office_ref,
        person.address,
        person.location,
        example.referring_officer.name,
        *(d.given_names for d in example.dependants),
        *example.safe_contact.never_contact_via,
    ]
    for signpost in given:
        assert signpost.given_at == NOW
        assert signpost.why
        for value in filter(None, personal):
            assert value.lower() not in signpost.why.lower()


# --- domestic abuse: the concession and Appendix Victim of Domestic Abuse -------------------------


@pytest.mark.parametrize("crime", [CrimeType.domestic_abuse, CrimeType.honour_based_abuse])
@pytest.mark.parametrize(
    ("status", "last_leave"),
    [
        (ImmigrationStatus.no_status, "partner_of_settled_person"),
        (ImmigrationStatus.leave_to_remain, "spouse_of_british_citizen"),
        (ImmigrationStatus.pending_application, "unmarried_partner"),
    ],
)
def test_abuse_after_partner_leave_is_signposted_to_the_concession_and_settlement(
    crime: CrimeType, status: ImmigrationStatus, last_leave: str
) -> None:
    given = routes(signposting(referral(crime), screening(status, last_leave), NOW, POLICY))
    assert given[:2] == [Route.domestic_abuse_concession, Route.appendix_victim_of_domestic_abuse]


def test_domestic_abuse_without_partner_leave_gets_no_concession() -> None:
    given = routes(
        signposting(referral(CrimeType.domestic_abuse), screening(last_leave="visitor"), NOW, POLICY)
    )
    assert given == [Route.legal_advice, Route.specialist_support]


def test_partner_leave_without_domestic_abuse_gets_no_concession() -> None:
    crime = CrimeType.stalking_harassment
    given = routes(
        signposting(referral(crime), screening(last_leave="partner_of_settled_person"), NOW, POLICY)
    )
    assert given == [Route.legal_advice, Route.specialist_support]


# --- exploitation: the National Referral Mechanism -------------------------------------------------


@pytest.mark.parametrize("crime", [CrimeType.modern_slavery, CrimeType.labour_exploitation])
def test_exploitation_is_signposted_to_the_national_referral_mechanism(crime: CrimeType) -> None:
    given = routes(signposting(referral(crime), screening(), NOW, POLICY))
    assert given == [Route.national_referral_mechanism, Route.legal_advice, Route.specialist_support]


# --- witnesses: the foreign witness route ----------------------------------------------------------


def test_witness_is_signposted_to_the_foreign_witness_route() -> None:
    given = signposting(referral(role=PersonRole.witness), screening(), NOW, POLICY)
    assert routes(given) == [Route.foreign_witness, Route.legal_advice]
    assert "defer removal or extend stay" in route_of(given, Route.foreign_witness).why


def test_victim_willing_to_give_evidence_is_signposted_to_the_foreign_witness_route() -> None:
    willing = referral(assisting="Provided a statement; will give evidence at trial.")
    assert Route.foreign_witness in routes(signposting(willing, screening(), NOW, POLICY))


@pytest.mark.parametrize(
    "assisting",
    [
        "Unwilling to give evidence.",
        "Provided a statement but does not want to give evidence.",
        "Declined to give evidence; statement only.",
        "Provided a statement.",
    ],
)
def test_victim_not_giving_evidence_gets_no_foreign_witness_route(assisting: str) -> None:
    given = routes(signposting(referral(assisting=assisting), screening(), NOW, POLICY))
    assert Route.foreign_witness not in given


def test_victim_without_additional_information_gets_no_foreign_witness_route() -> None:
    assert Route.foreign_witness not in routes(signposting(referral(), screening(), NOW, POLICY))


# --- splitting a dependant's claim (Review para 39) ------------------------------------------------


def test_asylum_dependant_is_signposted_to_split_the_claim_whatever_the_crime() -> None:
    given = routes(signposting(referral(), screening(ImmigrationStatus.asylum_dependant), NOW, POLICY))
    assert given == [Route.split_dependant_claim, Route.legal_advice]


def test_asylum_claimant_with_dependants_reporting_domestic_abuse_is_signposted_to_split_the_claim() -> None:
    abuse = referral(CrimeType.domestic_abuse, dependants=2)
    given = routes(signposting(abuse, screening(ImmigrationStatus.asylum_claimant), NOW, POLICY))
    assert given == [Route.split_dependant_claim, Route.legal_advice, Route.specialist_support]


def test_asylum_claimant_without_dependants_is_not_signposted_to_split_a_claim() -> None:
    abuse = referral(CrimeType.domestic_abuse)
    given = routes(signposting(abuse, screening(ImmigrationStatus.asylum_claimant), NOW, POLICY))
    assert Route.split_dependant_claim not in given


def test_asylum_claimant_with_dependants_reporting_another_crime_is_not_signposted_to_split() -> None:
    other = referral(CrimeType.sexual_offence, dependants=1)
    given = routes(signposting(other, screening(ImmigrationStatus.asylum_claimant), NOW, POLICY))
    assert Route.split_dependant_claim not in given


def test_visa_dependant_reporting_domestic_abuse_is_signposted_to_split_the_application() -> None:
    dependant = screening(ImmigrationStatus.pending_application, "skilled_worker_dependant")
    given = routes(signposting(referral(CrimeType.domestic_abuse), dependant, NOW, POLICY))
    assert given == [Route.split_dependant_claim, Route.legal_advice, Route.specialist_support]


# --- legal advice ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(ImmigrationStatus))
def test_everyone_not_secure_is_signposted_to_legal_advice(status: ImmigrationStatus) -> None:
    given = signposting(referral(), screening(status), NOW, POLICY)
    assert Route.legal_advice in routes(given)


def test_person_without_a_record_is_told_none_was_matched() -> None:
    advice = route_of(
        signposting(referral(), screening(ImmigrationStatus.unknown), NOW, POLICY), Route.legal_advice
    )
    assert advice.why.startswith("No Home Office record was matched")


def test_legal_advice_deadline_is_the_last_day_of_leave_still_running() -> None:
    """An application made in time keeps the leave while it is decided."""
    leave = screening(ImmigrationStatus.leave_to_remain, "partner_of_settled_person", date(2027, 1, 31))
    advice = route_of(signposting(referral(CrimeType.domestic_abuse), leave, NOW, POLICY), Route.legal_advice)
    assert advice.deadline == datetime(2027, 1, 31, 23, tzinfo=UTC)
    assert "before it expires" in advice.why


def test_leave_expiring_on_the_day_of_referral_still_carries_a_deadline() -> None:
    leave = screening(ImmigrationStatus.leave_to_remain, "skilled_worker", NOW.date())
    advice = route_of(signposting(referral(), leave, NOW, POLICY), Route.legal_advice)
    assert advice.deadline == datetime(2026, 11, 3, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expires"),
    [
        (ImmigrationStatus.leave_to_remain, date(2026, 11, 2)),
        (ImmigrationStatus.no_status, date(2027, 1, 31)),
        (ImmigrationStatus.leave_to_remain, None),
    ],
)
def test_no_deadline_without_leave_still_running(status: ImmigrationStatus, expires: date | None) -> None:
    advice = route_of(
        signposting(referral(), screening(status, "visitor", expires), NOW, POLICY), Route.legal_advice
    )
    assert advice.deadline is None


# --- specialist support ----------------------------------------------------------------------------


@pytest.mark.parametrize("crime", [c for c in CrimeType if c is not CrimeType.other])
def test_every_named_crime_is_signposted_to_specialist_support(crime: CrimeType) -> None:
    assert Route.specialist_support in routes(signposting(referral(crime), screening(), NOW, POLICY))


def test_other_crime_gets_no_specialist_support() -> None:
    assert Route.specialist_support not in routes(signposting(referral(), screening(), NOW, POLICY))


# --- the consulate (Review para 27) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "allegation"),
    [
        ("States his brother took his visa and passport.", None),
        ("Unsure of status.", "Employer confiscated identity documents on arrival."),
        ("Her passport is held by her husband's family.", None),
        ("Has lost his passport and has no other documents.", None),
    ],
)
def test_documents_withheld_or_taken_are_signposted_to_the_consulate(
    reason: str, allegation: str | None
) -> None:
    given = routes(signposting(referral(reason=reason, allegation=allegation), screening(), NOW, POLICY))
    assert given[-1] is Route.consulate


@pytest.mark.parametrize(
    "reason",
    [
        "Victim states her spouse visa was curtailed after her husband withdrew sponsorship.",
        "She holds a passport from her country of birth.",
        "Overstayed a visitor visa.",
    ],
)
def test_mentioning_a_document_without_it_being_withheld_is_not_a_consulate_matter(reason: str) -> None:
    assert Route.consulate not in routes(signposting(referral(reason=reason), screening(), NOW, POLICY))


@pytest.mark.parametrize("status", [ImmigrationStatus.asylum_claimant, ImmigrationStatus.asylum_dependant])
def test_asylum_claimant_is_never_sent_to_the_consulate(status: ImmigrationStatus) -> None:
    """The consulate is the authority of the country they may be seeking protection from."""
    taken = referral(reason="Her husband took her passport.")
    assert Route.consulate not in routes(signposting(taken, screening(status), NOW, POLICY))


# --- secure status ---------------------------------------------------------------------------------


def test_secure_person_gets_no_immigration_route_even_where_one_would_apply() -> None:
    everything = referral(
        CrimeType.domestic_abuse,
        role=PersonRole.witness,
        reason="Her husband took her passport.",
        assisting="Willing to give evidence.",
        dependants=1,
    )
    settled = screening(ImmigrationStatus.settled, "partner_of_settled_person", secure=True)
    assert routes(signposting(everything, settled, NOW, POLICY)) == [
        Route.specialist_support,
        Route.consulate,
    ]


def test_secure_person_reporting_other_crime_without_documents_taken_gets_nothing() -> None:
    british = screening(ImmigrationStatus.british_citizen, secure=True)
    assert signposting(referral(), british, NOW, POLICY) == []


# --- shape -----------------------------------------------------------------------------------------


def test_every_combination_gives_routes_in_declaration_order_without_duplicates() -> None:
    order = list(Route)
    for crime, role, status, last_leave, secure, dependants in itertools.product(
        CrimeType,
        PersonRole,
        ImmigrationStatus,
        [None, "partner_of_settled_person", "skilled_worker_dependant", "visitor"],
        [False, True],
        [0, 1],
    ):
        person = referral(
            crime,
            role=role,
            reason="Took her passport.",
            assisting="Willing to give evidence.",
            dependants=dependants,
        )
        given = signposting(person, screening(status, last_leave, date(2027, 1, 31), secure), NOW, POLICY)
        indexes = [order.index(s.route) for s in given]
        assert indexes == sorted(set(indexes))
        assert Route.other not in routes(given)
        assert all(s.given_at == NOW for s in given)
        if secure:
            assert not IMMIGRATION_ROUTES & set(routes(given))
        else:
            assert Route.legal_advice in routes(given)
