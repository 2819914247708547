"""`mvp officer amend` as a rule (issue 12): what changed goes into the referral, the record says which fields
changed and never their values, a change police tell IE of is a sharing, and a new dependant is held at once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from models.case import Amend, Recipient
from models.referral import ContactChannel, Dependant
from protocol import authority, lifecycle
from protocol.notices import route
from tests.protocol.test_lifecycle import (
    ENFORCER,
    OFFICER,
    POLICE,
    SUPERVISOR,
    T0,
    do,
    mistakenly_withdrawn,
    protected,
)

NEW_PHONE = "+44 7700 900999"
BABY = Dependant(
    family_name="Rahman", given_names="Noor", date_of_birth=date(2026, 10, 1), relationship="child"
)


def test_an_amend_changes_only_the_fields_given_and_the_record_names_them_without_their_values() -> None:
    state = protected()
    before = state.referral

    step = do(state, Amend(actor=OFFICER, phone=NEW_PHONE, location="a refuge", note="moved to a refuge"))

    after = step.state.referral
    assert after.safe_contact.phone == NEW_PHONE and after.person.location == "a refuge"
    assert after.safe_contact.language == before.safe_contact.language
    assert after.safe_contact.never_contact_via == before.safe_contact.never_contact_via
    assert after.person.address == before.person.address
    [entry] = step.records
    assert (entry.action, entry.summary, entry.note) == (
        "details_amended",
        "amended: phone, location",
        "moved to a refuge",
    )
    assert entry.shared_with is None
    assert NEW_PHONE not in entry.model_dump_json() and "refuge" not in entry.summary


def test_notices_to_the_person_route_to_the_new_safe_channel_and_language() -> None:
    step = do(
        protected(),
        Amend(actor=OFFICER, channel=ContactChannel.email, email="safe@example.org", language="pl"),
    )
    routing = route(Recipient.person, step.state.referral)
    assert (routing.channel, routing.address, routing.language) == ("email", "safe@example.org", "pl")


def test_a_new_dependant_is_added_after_the_others_and_the_hold_placed_on_them_is_recorded() -> None:
    state = protected()
    step = do(state, Amend(actor=OFFICER, add_dependants=[BABY]))
    assert step.state.referral.dependants == [*state.referral.dependants, BABY]
    assert step.referral_amended
    placed = [e for e in step.records if e.action == "hold_placed"]
    assert [(e.summary, e.shared_with) for e in placed] == [
        ("hold placed on 1 new dependant(s)", lifecycle.ENFORCEMENT)
    ]
    assert all("Noor" not in e.model_dump_json() for e in step.records)


def test_a_change_police_tell_ie_of_is_recorded_as_a_sharing() -> None:
    step = do(protected(), Amend(actor=OFFICER, address="1 New Street", told_by_police=True))
    [entry] = step.records
    assert entry.shared_what == ["address"]
    assert entry.shared_with is not None and entry.shared_with.startswith(lifecycle.IE)
    assert "1 New Street" not in entry.model_dump_json()


def test_a_mistaken_amend_is_corrected_by_another_amend_and_both_stay_in_the_record() -> None:
    state = protected()
    wrong = do(state, Amend(actor=OFFICER, phone="+44 7700 900000")).state
    right = do(wrong, Amend(actor=OFFICER, phone=NEW_PHONE, note="correction: the last digits were wrong"))
    assert right.state.referral.safe_contact.phone == NEW_PHONE
    assert right.state.record_seq == state.record_seq + 2


def test_the_never_contact_via_list_given_replaces_the_old_one_and_an_empty_list_clears_it() -> None:
    state = protected()
    assert do(
        state, Amend(actor=OFFICER, never_contact_via=["landlord"])
    ).state.referral.safe_contact.never_contact_via == ["landlord"]
    assert (
        do(state, Amend(actor=OFFICER, never_contact_via=[])).state.referral.safe_contact.never_contact_via
        == []
    )


def test_an_amend_that_changes_nothing_is_refused() -> None:
    reason = lifecycle.refusal(protected(), Amend(actor=OFFICER), T0)
    assert reason is not None and reason.startswith("the amend changes nothing")


def test_a_safe_channel_without_its_detail_is_refused_naming_each_problem() -> None:
    state = protected()
    no_email = lifecycle.refusal(state, Amend(actor=OFFICER, channel=ContactChannel.email), T0)
    assert no_email == "the safe channel is email but the case has no safe email: give --email"
    post = lifecycle.refusal(state, Amend(actor=OFFICER, channel=ContactChannel.post), T0)
    assert post is not None and "post to the address is not marked safe" in post


def test_a_phone_or_email_the_case_lists_as_never_to_be_used_is_refused_as_intake_refuses_it() -> None:
    state = protected()
    unsafe = Amend(actor=OFFICER, phone=NEW_PHONE, never_contact_via=[NEW_PHONE, "abuser@example.org"])

    assert lifecycle.refusal(state, unsafe, T0) == (
        "the phone given is listed as never to be used (never-contact-via), so it is not a safe way to reach "
        "the person: give a safe phone"
    )
    email = Amend(actor=OFFICER, channel=ContactChannel.email, email="Abuser@Example.org ")
    assert lifecycle.refusal(
        state.model_copy(
            update={
                "referral": lifecycle.amended(
                    state.referral, Amend(actor=OFFICER, never_contact_via=["abuser@example.org"])
                )
            }
        ),
        email,
        T0,
    ) == (
        "the email given is listed as never to be used (never-contact-via), so it is not a safe way to reach "
        "the person: give a safe email"
    )
    # the rule as it ran before the change (a history recorded then replays as it ran): accepted
    before = lifecycle.Revisions(amend_refuses_listed_detail=False)
    assert lifecycle.refusal(state, unsafe, T0, before) is None


def test_listing_the_current_safe_phone_as_never_to_be_used_is_accepted_and_says_notices_are_suppressed() -> (
    None
):
    """What an officer learns first (the abuser has the phone) is always recorded; the officer is told that
    nothing goes to the person until a safe channel is given."""
    state = protected()
    phone = state.referral.safe_contact.phone
    assert phone and state.referral.safe_contact.channel is ContactChannel.phone

    step = do(state, Amend(actor=OFFICER, never_contact_via=[phone]))

    assert route(Recipient.person, step.state.referral).channel == "suppressed"
    assert step.accepted.endswith(
        "notices to the person are suppressed: the safe channel's detail is now listed as never to be used; "
        "give a safe one"
    )
    fixed = do(step.state, Amend(actor=OFFICER, phone=NEW_PHONE))
    assert "suppressed" not in fixed.accepted
    assert route(Recipient.person, fixed.state.referral).address == NEW_PHONE


def test_a_dependant_already_on_the_case_or_born_in_the_future_is_refused() -> None:
    state = protected()
    [known] = state.referral.dependants
    unborn = BABY.model_copy(update={"date_of_birth": (T0 + timedelta(days=2)).date()})
    reason = lifecycle.refusal(state, Amend(actor=OFFICER, add_dependants=[known, unborn]), T0)
    assert reason == (
        "new dependant 1 is already a dependant on this case (same name and date of birth); "
        "new dependant 2: the date of birth is in the future"
    )


def test_a_closed_case_is_not_amended() -> None:
    reason = lifecycle.refusal(mistakenly_withdrawn(), Amend(actor=OFFICER, phone=NEW_PHONE), T0)
    assert reason is not None and "closed" in reason


@pytest.mark.parametrize("actor", [SUPERVISOR, POLICE, ENFORCER])
def test_only_an_officer_amends_a_case(actor: object) -> None:
    denied = authority.not_permitted(protected(), Amend.model_validate({"actor": actor, "phone": NEW_PHONE}))
    assert denied is not None and denied.startswith("only officer may do this")


def test_a_dependant_without_a_name_or_a_language_of_one_letter_is_bad_input() -> None:
    with pytest.raises(ValidationError):
        Amend.model_validate(
            {
                "actor": OFFICER,
                "add_dependants": [
                    {
                        "family_name": "",
                        "given_names": "A",
                        "date_of_birth": "2020-01-01",
                        "relationship": "child",
                    }
                ],
            }
        )
    with pytest.raises(ValidationError):
        Amend(actor=OFFICER, language="x")
