"""Where notices may go: the person only through their own safe channel, never by unsafe post."""

from __future__ import annotations

from models.case import Notice, NoticeKind, Recipient
from models.referral import ContactChannel
from protocol.notices import INTERNAL, SUPPRESSED, render, route, undeliverable
from tests.support.intake import example_referral

AMINA = example_referral("referral-domestic-abuse.json")


def test_the_person_is_reached_on_her_own_safe_phone_in_her_language() -> None:
    routing = route(Recipient.person, AMINA)
    assert (routing.channel, routing.address, routing.language) == ("phone", "+44 7700 900123", "bn")


def test_post_to_an_address_not_marked_safe_is_never_sent() -> None:
    contact = AMINA.safe_contact.model_copy(update={"channel": ContactChannel.post, "post_is_safe": False})
    routing = route(Recipient.person, AMINA.model_copy(update={"safe_contact": contact}))
    assert routing.channel == SUPPRESSED and routing.address is None
    assert "not marked safe" in (routing.suppressed_reason or "")


def test_a_notice_with_no_safe_channel_becomes_a_task_for_the_case_officer() -> None:
    contact = AMINA.safe_contact.model_copy(update={"channel": ContactChannel.email, "email": None})
    routing = route(Recipient.person, AMINA.model_copy(update={"safe_contact": contact}))
    notice = Notice(
        key="c/n2", recipient=Recipient.person, kind=NoticeKind.protocol_notice, facts={"case_id": "c"}
    )
    task = undeliverable(notice, routing)
    assert task is not None and task.recipient is Recipient.case_officer
    assert task.kind is NoticeKind.deliver_by_hand and task.facts["undelivered"] == "protocol_notice"
    assert route(task.recipient, AMINA).channel == INTERNAL


def test_a_deliverable_notice_needs_no_task() -> None:
    notice = Notice(key="c/n2", recipient=Recipient.person, kind=NoticeKind.protocol_notice, facts={})
    assert undeliverable(notice, route(Recipient.person, AMINA)) is None


def test_police_are_told_by_email_and_supervisors_through_the_ie_queue() -> None:
    assert route(Recipient.referring_officer, AMINA).channel == "email"
    assert route(Recipient.supervisors, AMINA).channel == INTERNAL


def test_every_kind_of_notice_has_words_for_a_task_so_no_code_reaches_an_officer() -> None:
    from protocol.notices import TEMPLATES

    unused = {NoticeKind.hold_placed}  # the hold's placing is in the record and the acknowledgement
    assert {kind.value for kind in NoticeKind if kind not in unused} <= set(TEMPLATES)


def test_a_safe_phone_the_referral_lists_as_never_to_be_used_is_never_used() -> None:
    """The review sent the first notice to the perpetrator's number: the one `never_contact_via` names."""
    contact = AMINA.safe_contact.model_copy(update={"never_contact_via": ["spouse: +44 (0)7700 900123"]})
    routing = route(Recipient.person, AMINA.model_copy(update={"safe_contact": contact}))
    assert routing.channel == SUPPRESSED and routing.address is None
    assert "never" in (routing.suppressed_reason or "")


def test_a_person_police_said_is_not_to_be_told_gets_no_notice_the_officer_decides() -> None:
    informed = AMINA.person_informed.model_copy(
        update={"intended": False, "done": False, "impracticable_reason": "Suspect reads her phone"}
    )
    routing = route(Recipient.person, AMINA.model_copy(update={"person_informed": informed}))
    assert routing.channel == SUPPRESSED and "not to be told" in (routing.suppressed_reason or "")
    notice = Notice(
        key="c/n2", recipient=Recipient.person, kind=NoticeKind.protocol_notice, facts={"case_id": "c"}
    )
    task = undeliverable(notice, routing)
    assert task is not None and task.recipient is Recipient.case_officer


def test_a_referral_whose_safe_phone_is_listed_as_never_to_be_used_is_refused() -> None:
    import json
    from datetime import UTC, datetime

    from protocol.intake import parse_referral
    from tests.conftest import EXAMPLES

    raw = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    raw["safe_contact"]["never_contact_via"] = ["spouse", "his phone 07700 900123"]
    referral, problems = parse_referral(raw, datetime.now(UTC))
    assert referral is None
    assert any(
        p.startswith("safe_contact.phone: is listed in safe_contact.never_contact_via") for p in problems
    )
    assert all("900123" not in p for p in problems)  # never echoed


def test_a_check_refused_as_a_possible_match_tells_the_officer_so() -> None:
    possible = render(
        "enforcement_check_refused", {"case_id": "MVP-1", "check_id": "check-1", "match": "possible"}
    )
    protected = render("enforcement_check_refused", {"case_id": "MVP-1", "check_id": "check-1"})
    assert "possible match" in possible and "because the case is protected" not in possible
    assert "because the case is protected" in protected
