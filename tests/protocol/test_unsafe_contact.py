"""A contact attempt that finds it unsafe for the person to talk holds every notice to them: nothing more goes
to the channel that was unsafe until a contact reaches them or the officer sets a new safe arrangement. Each held
notice becomes the case officer's task (the person is still told, by a means the officer judges safe)."""

from __future__ import annotations

from datetime import timedelta

from models.case import Amend, ContactRecord, ContactResult, InvestigationStatus, NoticeKind, Recipient
from models.referral import ContactChannel
from protocol import lifecycle
from protocol.notices import SUPPRESSED, route, undeliverable
from tests.protocol.test_lifecycle import OFFICER, POLICY, T0, do, in_engagement, police, protected

LATER = T0 + timedelta(days=3)


def attempt(result: ContactResult) -> ContactRecord:
    return ContactRecord(actor=OFFICER, result=result)


def test_an_unsafe_contact_holds_notices_to_the_person_and_records_it() -> None:
    step = do(protected(), attempt(ContactResult.unsafe_to_talk))

    assert step.state.referral.safe_contact.held_since == T0
    assert step.referral_amended  # notices still waiting to go are routed again when the step is stored
    assert [r.action for r in step.records] == ["contact_recorded", "person_notices_held"]
    assert "notices to the person are held" in step.accepted


def test_a_notice_to_the_person_after_an_unsafe_contact_becomes_the_officers_task() -> None:
    held = do(in_engagement(), attempt(ContactResult.unsafe_to_talk)).state

    step = do(held, police(InvestigationStatus.under_investigation), LATER)  # protection resumes: she is told
    [notice] = [n for n in step.notices if n.recipient is Recipient.person]
    routing = route(notice.recipient, step.state.referral)

    assert notice.kind is NoticeKind.protection_resumed
    assert routing.channel == SUPPRESSED and routing.address is None
    assert (
        routing.suppressed_reason is not None and "unsafe for the person to talk" in routing.suppressed_reason
    )
    task = undeliverable(notice, routing)
    assert task is not None and task.recipient is Recipient.case_officer
    assert task.kind is NoticeKind.deliver_by_hand and task.facts["undelivered"] == "protection_resumed"


def test_a_contact_that_reaches_the_person_lets_notices_go_again() -> None:
    held = do(protected(), attempt(ContactResult.unsafe_to_talk)).state

    step = do(held, attempt(ContactResult.reached), LATER)

    assert step.state.referral.safe_contact.held_since is None
    assert step.referral_amended
    assert "person_notices_resumed" in [r.action for r in step.records]
    assert route(Recipient.person, step.state.referral).channel == "phone"


def test_unanswered_and_repeated_unsafe_attempts_keep_the_first_hold() -> None:
    held = do(protected(), attempt(ContactResult.unsafe_to_talk)).state

    for result in (ContactResult.no_answer, ContactResult.unsafe_to_talk):
        step = do(held, attempt(result), LATER)
        assert step.state.referral.safe_contact.held_since == T0
        assert [r.action for r in step.records] == ["contact_recorded"]
        held = step.state


def test_a_new_safe_phone_ends_the_hold_but_a_new_language_does_not() -> None:
    held = do(protected(), attempt(ContactResult.unsafe_to_talk)).state

    language = do(held, Amend(actor=OFFICER, language="pl"), LATER)
    assert language.state.referral.safe_contact.held_since == T0

    phone = do(held, Amend(actor=OFFICER, channel=ContactChannel.phone, phone="07700 900999"), LATER)
    assert phone.state.referral.safe_contact.held_since is None
    assert "person_notices_resumed" in [r.action for r in phone.records]


def test_notices_to_police_and_supervisors_are_not_held() -> None:
    held = do(protected(), attempt(ContactResult.unsafe_to_talk)).state

    assert route(Recipient.referring_officer, held.referral).channel in ("email", "phone")
    assert route(Recipient.supervisors, held.referral).channel != SUPPRESSED
    assert lifecycle.view(held, LATER, POLICY).hold.active


def test_workflows_recorded_before_the_rule_replay_an_unsafe_contact_as_they_ran() -> None:
    """Replaying a history from before the rule must give the step it gave then (one record entry, nothing held),
    or the case's record numbering would run ahead of what was stored."""
    before = lifecycle.Revisions(unsafe_contact_holds_notices=False)

    step = lifecycle.apply_command(protected(), attempt(ContactResult.unsafe_to_talk), T0, POLICY, before)

    assert step.state.referral.safe_contact.held_since is None and not step.referral_amended
    assert [r.action for r in step.records] == ["contact_recorded"]
