"""Where a notice may go (PROTOCOL.md §5): the person only through their own safe channel, in their
language, never by post to an unsafe address and never via anyone they must not be contacted through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.case import Notice, NoticeKind, Recipient
from models.referral import ContactChannel, Referral

INTERNAL = "internal"  # an IE work queue: supervisors, the case officer
SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Routing:
    channel: str  # phone, email, post, internal, or suppressed
    address: str | None
    language: str
    suppressed_reason: str | None = None


def undeliverable(notice: Notice, routing: Routing) -> Notice | None:
    """A notice to the person that no safe channel can carry becomes a task for the case officer: the
    person is still told, by a safe means the officer chooses, and never through an unsafe one."""
    if routing.channel != SUPPRESSED or notice.recipient is not Recipient.person:
        return None
    return Notice(
        key=f"{notice.key}/by-hand",
        recipient=Recipient.case_officer,
        kind=NoticeKind.deliver_by_hand,
        facts={
            "case_id": notice.facts.get("case_id", ""),
            "undelivered": notice.kind.value,
            "why": routing.suppressed_reason or "no safe channel",
        },
    )


def route(recipient: Recipient, referral: Referral) -> Routing:
    if recipient in (Recipient.supervisors, Recipient.case_officer):
        return Routing(INTERNAL, None, "en")
    if recipient is Recipient.referring_officer:
        officer = referral.referring_officer
        if officer.email:
            return Routing("email", officer.email, "en")
        if officer.phone:
            return Routing("phone", officer.phone, "en")
        return Routing(SUPPRESSED, None, "en", "the referring officer has no email or phone on the referral")
    return _route_to_person(referral)


NOT_TO_BE_TOLD = (
    "police said the person is not to be told that their information was shared (NPCC §9): the case officer "
    "decides when and how telling them is safe"
)
HELD_AFTER_UNSAFE_CONTACT = (
    "the contact attempt of {since} found it unsafe for the person to talk: notices to them are held until a "
    "contact reaches them or the safe contact is amended"
)
LISTED_NEVER = "the safe channel's detail is one the referral says must never be used (never contact via)"


def listed_as_never(detail: str | None, never: list[str]) -> bool:
    """Whether a contact detail (a phone, an email, an address) is among those never to be used: phones by
    their digits, the rest without regard to case and spacing."""
    if not detail:
        return False
    digits = "".join(c for c in detail if c.isdigit())
    text = " ".join(detail.casefold().split())
    for entry in never:
        entry_digits = "".join(c for c in entry if c.isdigit())
        if (
            len(digits) >= 6
            and len(entry_digits) >= 6
            and (digits[-9:] in entry_digits or entry_digits[-9:] in digits)
        ):
            return True
        if len(text) >= 6 and text in " ".join(entry.casefold().split()):
            return True
    return False


def _route_to_person(referral: Referral) -> Routing:
    safe = referral.safe_contact
    language = safe.language
    informed = referral.person_informed
    if not informed.intended and not informed.done:
        return Routing(SUPPRESSED, None, language, NOT_TO_BE_TOLD)
    if safe.held_since is not None:
        since = safe.held_since.date().isoformat()
        return Routing(SUPPRESSED, None, language, HELD_AFTER_UNSAFE_CONTACT.format(since=since))
    routing = _safe_channel(referral)
    if routing.address is not None and listed_as_never(routing.address, safe.never_contact_via):
        return Routing(SUPPRESSED, None, language, LISTED_NEVER)
    return routing


def _safe_channel(referral: Referral) -> Routing:
    safe = referral.safe_contact
    language = safe.language
    match safe.channel:
        case ContactChannel.phone if safe.phone:
            return Routing("phone", safe.phone, language)
        case ContactChannel.email if safe.email:
            return Routing("email", safe.email, language)
        case ContactChannel.post if safe.post_is_safe and referral.person.address:
            return Routing("post", referral.person.address, language)
        case ContactChannel.post:
            return Routing(SUPPRESSED, None, language, "post to the person's address is not marked safe")
        case ContactChannel.via_support_worker:
            return Routing(
                INTERNAL, None, language
            )  # the case officer passes it on through the support worker
    return Routing(SUPPRESSED, None, language, f"no {safe.channel.value} detail given for the safe channel")


TEMPLATES: dict[str, str] = {
    "acknowledgement": "Case {case_id} received. Immigration status: {status}. Enforcement hold: {hold}. "
    "Signposting given: {signposting}.",
    "status": "Case {case_id}: Home Office records show immigration status {status}.",
    "signposting": "Case {case_id}: routes that may help you: {signposting}. You can get free independent "
    "advice.",
    "protocol_notice": "Police shared your details with the Home Office so that you can be protected and helped. "
    "No immigration enforcement action will be taken while the police investigation is live or while you are "
    "getting support to apply to stay. Your contact officer will call you. Routes that may help you: "
    "{signposting}. You can get free independent advice, and complain if we get this wrong. Case {case_id}.",
    "engagement_notice": "Case {case_id}: we are not aware of anything that still needs the hold on "
    "enforcement. Tell us by {respond_by} if you are still being investigated for, applying, or getting support.",
    "protection_resumed": "Case {case_id}: the hold on enforcement is in force again ({grounds}).",
    "contact_overdue": "Case {case_id}: contact due {due} has not been made. Supervisor action needed.",
    "decision_required": "Case {case_id}: a supervisor's {decision} decision is needed.",
    "outcome": "Case {case_id} has closed: {outcome}.",
    "enforcement_check_refused": "Case {case_id}: enforcement check {check_id} was refused because the case is "
    "protected.",
    "enforcement_check_possible_match": "Case {case_id}: enforcement check {check_id} was refused as a possible "
    "match: the person checked may be the one this case protects. Find out from the enforcement team who they "
    "asked about, and record whether it is this person.",
    "deliver_by_hand": "Case {case_id}: the {undelivered} notice to the person was not sent because {why}. "
    "Give it to them by a safe means and record the contact.",
    "case_reassigned": "Case {case_id}: the case officer is now {new_officer} (it was {previous_officer}); "
    "reassigned by {reassigned_by}. Open tasks on the case went to the new officer.",
    "case_reopened": "Case {case_id} was reopened by {reopened_by}: it had closed as {previous_outcome} by mistake, "
    "and the hold is in force again. Contact the person as soon as it is safe, and check what changed while it "
    "was closed.",
    "reference_mismatch": "Case {case_id}: the Home Office record found by the referral's reference disagrees "
    "with the person on the referral ({disagreed}). Their status is recorded as unknown and the hold stays; "
    "check the reference with the referring officer.",
    "dependants_status": "Case {case_id}: Home Office records confirm the person's status ({status}), but not "
    "that of their {dependants} dependant(s). The case stays open and the hold stays on them: find out each "
    "dependant's status (and any route of their own); a supervisor releases the hold when none needs it.",
    "fact_to_verify": "Case {case_id}: fact {fact_number} ({fact_kind}, from the {source}) is unverified and "
    "changes nothing until an officer verifies or rejects it.",
    "police_correction": "Case {case_id}: police corrected the investigation status (record entry {entry}, "
    "correcting {corrects}): it was reported as {previous} and is {corrected}. The hold's grounds follow the "
    "correction; check the case and, if no ground is left, the pre-decision engagement.",
    "police_note": "Case {case_id}: {added_by} added a note (record entry {entry}). Read it with "
    "`mvp case show {case_id}`.",
}


SUPERVISORS_TEAM = "supervisors"

# How soon a task must be done, from when it was raised; a kind not named here is due within two days.
TASK_DUE = {
    "language_missing": timedelta(days=1),
    "enforcement_check_refused": timedelta(days=1),
    "contact_overdue": timedelta(0),
    "deliver_by_hand": timedelta(days=1),
    "notice_failed": timedelta(days=1),
    "decision_required": timedelta(days=5),
    "fact_to_verify": timedelta(days=5),
    "workflow_lost": timedelta(0),  # a case no longer runs: its supervisors must act today
}


# A notice to the case officer that names the officer it is for (a reassignment tells both officers).
ADDRESSEE = "officer"


def task_owner(recipient: Recipient, case_officer: str | None, facts: dict[str, str] | None = None) -> str:
    """Who a task belongs to: the supervisors' team, the officer the notice names (`ADDRESSEE`), or the
    current case officer (the one a supervisor last gave the case to, else the one who opened it). A case
    whose officer is unknown falls to the supervisors, so that nothing is left unowned."""
    if recipient is Recipient.supervisors:
        return SUPERVISORS_TEAM
    officer = (facts or {}).get(ADDRESSEE) or case_officer
    return officer or SUPERVISORS_TEAM


def check_task_key(check_id: str, case_id: str) -> str:
    """One task per refused enforcement check and case, whichever writes it first: the check itself (so that
    the enforcement user is told the truth) or the case's own step."""
    return f"check/{check_id}/{case_id}"


def task_key(notice: Notice, case_id: str) -> str:
    if notice.kind is NoticeKind.enforcement_check_refused and notice.facts.get("check_id"):
        return check_task_key(notice.facts["check_id"], case_id)
    return notice.key


def task_text(notice: Notice, language: str, pass_on: Notice | None = None) -> str:
    """A task's full text. A notice to the person that the officer passes on (through the support worker,
    or by hand when no safe channel could carry it) is there whole, in the person's language."""
    text = render(notice.kind.value, notice.facts)
    if notice.recipient is Recipient.person:
        return (
            f"Pass this notice to the person through their support worker (language: {language}), and record "
            f"the contact:\n\n{text}"
        )
    if pass_on is not None:
        text += f"\n\nThe notice to pass on (language: {language}):\n\n" + render(
            pass_on.kind.value, pass_on.facts
        )
    return text


def task_due(kind: str, raised_at: datetime) -> datetime:
    return raised_at + TASK_DUE.get(kind, timedelta(days=2))


def render(kind: str, facts: dict[str, str]) -> str:
    """The notice text (English; the channel adapter asks for the person's language by template)."""

    class _Missing(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "-"

    if kind == "enforcement_check_refused" and facts.get("match") == "possible":
        kind = "enforcement_check_possible_match"
    return TEMPLATES.get(kind, "Case {case_id}: " + kind).format_map(_Missing(facts))
