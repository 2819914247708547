"""Where notices may go: the person only through their own safe channel, never by unsafe post."""

from __future__ import annotations

from models.case import Notice, NoticeKind, Recipient
from models.referral import ContactChannel
from protocol.notices import INTERNAL, SUPPRESSED, route, undeliverable
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
