"""The words of the notices: every notice to the person in their language, with plain dates, routes in
words, their contact officer, independent help and how to complain; nothing a programmer wrote leaks through."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib import resources

import pytest

from models.case import NoticeKind, Outcome, Recipient, Route
from models.records import ImmigrationStatus
from models.referral import CrimeType
from protocol.wording import (
    ContactDetails,
    WordingError,
    format_date,
    has_language,
    languages,
    personalisation,
    problems_in,
    render_notice,
)

CONTACT = ContactDetails(officer_id="NCCU-0042", team_phone="0300 123 4567", team_email="nccu@example.gov.uk")
CASE = "MVP-AB12C-DE34F"
ALL_ROUTES = ",".join(route.value for route in Route)

# Facts for each kind, shaped as protocol/lifecycle.py queues them.
FACTS: dict[NoticeKind, dict[str, str]] = {
    NoticeKind.acknowledgement: {
        "status": "no_status",
        "record_found": "true",
        "hold": "in force",
        "signposting": ALL_ROUTES,
    },
    NoticeKind.status: {"status": "british_citizen"},
    NoticeKind.hold_placed: {},
    NoticeKind.signposting: {"signposting": ALL_ROUTES},
    NoticeKind.protocol_notice: {"signposting": ALL_ROUTES, "hold": "in force"},
    NoticeKind.engagement_notice: {"respond_by": "2026-12-28T13:01:44.721376+00:00"},
    NoticeKind.protection_resumed: {"grounds": "investigation_live,application_pending"},
    NoticeKind.outcome: {"outcome": "hold_released", "decided_by": "supervisor:SUP-7", "reason_given": "yes"},
    NoticeKind.contact_overdue: {"due": "2026-12-28T13:01:44.721376+00:00"},
    NoticeKind.decision_required: {
        "decision": "exclusion",
        "indicators": "custodial_12_months,deportation_order",
    },
    NoticeKind.enforcement_check_refused: {"check_id": "check-b437302b-2de2-4fbd-959f-0deb719ce352"},
    NoticeKind.fact_to_verify: {"fact_number": "2", "fact_kind": "person_left_uk", "source": "perpetrator"},
    NoticeKind.deliver_by_hand: {
        "undelivered": "protocol_notice",
        "why": "no phone detail given for the safe channel",
    },
}

# Who each kind goes to (protocol/lifecycle.py, protocol/notices.py).
AUDIENCE: dict[Recipient, list[NoticeKind]] = {
    Recipient.person: [
        NoticeKind.status,
        NoticeKind.hold_placed,
        NoticeKind.signposting,
        NoticeKind.protocol_notice,
        NoticeKind.engagement_notice,
        NoticeKind.protection_resumed,
        NoticeKind.outcome,
    ],
    Recipient.referring_officer: [NoticeKind.acknowledgement, NoticeKind.status, NoticeKind.outcome],
    Recipient.supervisors: [NoticeKind.contact_overdue, NoticeKind.decision_required],
    Recipient.case_officer: [
        NoticeKind.enforcement_check_refused,
        NoticeKind.fact_to_verify,
        NoticeKind.deliver_by_hand,
    ],
}

PLACEHOLDER = re.compile(r"\{[^}]*\}|\(\([^)]*\)\)")
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PERSON_LANGUAGES = languages()
EVERY_NOTICE = [
    (recipient, kind, language)
    for recipient, kinds in AUDIENCE.items()
    for kind in kinds
    for language in (PERSON_LANGUAGES if recipient is Recipient.person else ["en"])
]


def _render(kind: NoticeKind, language: str, **facts: str) -> str:
    rendered = render_notice(kind, {"case_id": CASE, **FACTS[kind], **facts}, language, CONTACT)
    return rendered.text


def test_english_bengali_and_ukrainian_have_words() -> None:
    assert {"en", "bn", "uk"} <= set(PERSON_LANGUAGES)
    assert has_language("bn") and has_language("uk") and has_language("BN-gb") and has_language("uk_UA")


@pytest.mark.parametrize(("recipient", "kind", "language"), EVERY_NOTICE)
def test_no_placeholder_code_or_timestamp_leaks_into_any_notice(
    recipient: Recipient, kind: NoticeKind, language: str
) -> None:
    rendered = render_notice(
        kind,
        {"case_id": CASE, **FACTS[kind]},
        language,
        CONTACT,
        recipient=recipient,
        crime_type=CrimeType.domestic_abuse,
    )
    for text in (rendered.subject, rendered.text):
        assert text.strip(), f"{kind.value} in {language} is empty"
        assert not PLACEHOLDER.findall(text), PLACEHOLDER.findall(text)
        assert not SNAKE_CASE.findall(text), SNAKE_CASE.findall(text)
        assert not ISO_DATE.findall(text), ISO_DATE.findall(text)
    assert "\n" not in rendered.subject
    assert (rendered.language, rendered.fallback) == (language, False)


@pytest.mark.parametrize("kind", AUDIENCE[Recipient.person])
@pytest.mark.parametrize("language", PERSON_LANGUAGES)
def test_every_notice_to_the_person_names_their_officer_independent_help_and_how_to_complain(
    kind: NoticeKind, language: str
) -> None:
    text = _render(kind, language)
    assert "NCCU-0042" in text and "0300 123 4567" in text and "nccu@example.gov.uk" in text
    assert "https://find-legal-advice.justice.gov.uk" in text and "Victim Support" in text
    assert "https://www.gov.uk/government/organisations/home-office/about/complaints-procedure" in text


@pytest.mark.parametrize(
    ("language", "written"),
    [("en", "28 December 2026"), ("bn", "২৮ ডিসেম্বর ২০২৬"), ("uk", "28 грудня 2026 року")],
)
def test_the_date_to_respond_by_is_written_as_people_write_dates_in_that_language(
    language: str, written: str
) -> None:
    rendered = render_notice(
        NoticeKind.engagement_notice,
        {"case_id": CASE, **FACTS[NoticeKind.engagement_notice]},
        language,
        CONTACT,
    )
    assert written in rendered.text and written in rendered.subject


def test_a_deadline_is_the_date_it_falls_on_in_the_uk() -> None:
    """23:30 UTC on 30 June is already 1 July in London (summer time); in winter the two agree."""
    assert format_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "1 July 2026"
    assert format_date(datetime(2026, 12, 30, 23, 30, tzinfo=UTC)) == "30 December 2026"
    assert format_date(date(2027, 3, 3), "uk") == "3 березня 2027 року"


def test_a_language_without_words_falls_back_to_english_and_says_so() -> None:
    rendered = render_notice(
        NoticeKind.engagement_notice, {"case_id": CASE, **FACTS[NoticeKind.engagement_notice]}, "xx", CONTACT
    )
    assert (rendered.language, rendered.fallback) == ("en", True)
    assert "28 December 2026" in rendered.text
    assert not has_language("xx")


def test_the_referring_officer_and_staff_are_written_to_in_english_whatever_the_persons_language() -> None:
    rendered = render_notice(
        NoticeKind.outcome,
        {"case_id": CASE, **FACTS[NoticeKind.outcome]},
        "bn",
        CONTACT,
        recipient=Recipient.referring_officer,
    )
    assert (rendered.language, rendered.fallback) == ("en", False)
    assert "hold released" in rendered.text and "supervisor SUP-7" in rendered.text


def test_routes_are_named_in_words_with_their_periods() -> None:
    text = _render(
        NoticeKind.signposting, "en", signposting="domestic_abuse_concession,national_referral_mechanism"
    )
    assert "Migrant Victims of Domestic Abuse Concession: 3 months' permission to stay" in text
    assert "National Referral Mechanism" in text and "at least 30 days" in text
    assert "domestic_abuse_concession" not in text


def test_an_unknown_route_code_is_never_shown_to_the_person() -> None:
    text = _render(NoticeKind.signposting, "en", signposting="some_new_route")
    assert "some_new_route" not in text and "Your contact officer will explain." in text


def test_no_routes_says_the_officer_will_talk_about_options() -> None:
    text = _render(NoticeKind.protocol_notice, "uk", signposting="")
    assert "Ваш контактний офіцер розповість" in text


@pytest.mark.parametrize("language", PERSON_LANGUAGES)
def test_the_engagement_notice_says_the_police_investigation_ended_not_that_the_person_is_investigated(
    language: str,
) -> None:
    text = _render(NoticeKind.engagement_notice, language)
    if language == "en":
        assert "the police investigation of the crime you reported has ended" in text
        assert "support or advice to apply to stay" in text and "applied, or plan to apply" in text
        assert not re.search(
            r"you are (still )?(being|under) investigat|investigated for", text, re.IGNORECASE
        )
    assert "NCCU-0042" in text


@pytest.mark.parametrize(
    ("crime", "named"),
    [
        (
            CrimeType.domestic_abuse,
            ["National Domestic Abuse Helpline", "Southall Black Sisters", "Rights of Women"],
        ),
        (CrimeType.honour_based_abuse, ["Karma Nirvana", "Southall Black Sisters"]),
        (CrimeType.modern_slavery, ["Modern Slavery & Exploitation Helpline"]),
        (CrimeType.labour_exploitation, ["Modern Slavery & Exploitation Helpline"]),
        (CrimeType.sexual_offence, ["Rape Crisis England & Wales"]),
        (CrimeType.stalking_harassment, ["National Stalking Helpline"]),
    ],
)
def test_specialist_support_suits_the_crime(crime: CrimeType, named: list[str]) -> None:
    rendered = render_notice(
        NoticeKind.protocol_notice,
        {"case_id": CASE, **FACTS[NoticeKind.protocol_notice]},
        "bn",
        CONTACT,
        crime_type=crime,
    )
    for name in named:
        assert name in rendered.text
    assert "Victim Support" in rendered.text
    if crime is not CrimeType.modern_slavery and crime is not CrimeType.labour_exploitation:
        assert "Modern Slavery" not in rendered.text


@pytest.mark.parametrize("language", PERSON_LANGUAGES)
def test_every_status_and_outcome_has_its_own_words(language: str) -> None:
    """No code shows through, and no two statuses (or outcomes) read the same."""
    statuses = {_render(NoticeKind.status, language, status=status.value) for status in ImmigrationStatus}
    outcomes = {_render(NoticeKind.outcome, language, outcome=outcome.value) for outcome in Outcome}
    assert len(statuses) == len(ImmigrationStatus) and len(outcomes) == len(Outcome)
    for text in statuses | outcomes:
        assert not SNAKE_CASE.findall(text), SNAKE_CASE.findall(text)


def test_bengali_dates_use_bengali_digits_but_phone_numbers_stay_dialable() -> None:
    text = _render(NoticeKind.engagement_notice, "bn")
    assert "২০২৬" in text and "0300 123 4567" in text and "08 08 16 89 111" in text


def test_a_missing_fact_is_named_in_a_sentence_without_any_value() -> None:
    with pytest.raises(WordingError, match=r"engagement_notice notice needs the fact\(s\) respond_by"):
        render_notice(NoticeKind.engagement_notice, {"case_id": CASE}, "bn", CONTACT)


def test_a_malformed_date_is_refused_with_a_sentence() -> None:
    with pytest.raises(WordingError, match="respond_by is not an ISO date"):
        render_notice(
            NoticeKind.engagement_notice, {"case_id": CASE, "respond_by": "next week"}, "en", CONTACT
        )


def test_notify_gets_the_subject_and_body_as_its_only_personalisation() -> None:
    rendered = render_notice(NoticeKind.status, {"case_id": CASE, "status": "settled"}, "uk", CONTACT)
    fields = personalisation(rendered)
    assert fields == {"subject": rendered.subject, "body": rendered.text}
    assert "NCCU-0042" in fields["body"]


def test_every_shipped_language_file_has_no_problems() -> None:
    folder = resources.files("protocol").joinpath("notice_templates")
    for code in PERSON_LANGUAGES:
        assert problems_in(code, folder.joinpath(f"{code}.toml").read_text(encoding="utf-8")) == []


def test_a_translation_with_gaps_is_refused_naming_each_problem() -> None:
    text = resources.files("protocol").joinpath("notice_templates", "uk.toml").read_text(encoding="utf-8")
    broken = text.replace("{respond_by}", "{respond_date}", 1).replace('withdrawn = "', 'withdrawn_ = "', 1)
    problems = problems_in("uk", broken)
    assert any(
        "[person.engagement_notice] subject: unknown placeholder(s) respond_date" in p for p in problems
    )
    assert any("[outcomes]: `withdrawn` is missing" in p for p in problems)
    syntax = problems_in("uk", 'name = "Українська')
    assert len(syntax) == 1 and "uk.toml is not valid TOML" in syntax[0]
