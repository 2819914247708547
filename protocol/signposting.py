"""Signposting at referral (PROTOCOL.md §5; Review paras 27, 39, 40, 59, 79): where the person can turn.

Pure rules: the referral, the screening, `now` and the policy come in as arguments.

Every `why` is a sentence of codes and facts that can go to the person, the referring officer and the case
record alike: it never quotes the referral's free text and never holds a name, a date of birth or an address.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from models.case import Route, Screening, Signpost
from models.records import ImmigrationStatus
from models.referral import CrimeType, PersonRole, Referral
from protocol.policy import Policy
from protocol.screening import is_dependant_leave, is_partner_leave

_DOMESTIC_ABUSE = frozenset({CrimeType.domestic_abuse, CrimeType.honour_based_abuse})
_EXPLOITATION = frozenset({CrimeType.modern_slavery, CrimeType.labour_exploitation})
_ASYLUM = frozenset({ImmigrationStatus.asylum_claimant, ImmigrationStatus.asylum_dependant})

# Crimes for which specialist support organisations exist (everything but `other`), as the `why` names them.
_SPECIALIST: dict[CrimeType, str] = {
    CrimeType.domestic_abuse: "Domestic abuse",
    CrimeType.modern_slavery: "Modern slavery or trafficking",
    CrimeType.sexual_offence: "A sexual offence",
    CrimeType.honour_based_abuse: "Honour-based abuse",
    CrimeType.stalking_harassment: "Stalking or harassment",
    CrimeType.labour_exploitation: "Labour exploitation",
}

# Documents withheld or taken (Review para 27: "his brother who had taken his visa and passport"). A sentence
# must name a document *and* say it was kept from the person: "her spouse visa was curtailed" is not enough.
_DOCUMENT = re.compile(r"passport|\bvisas?\b|document|identity card|id card|\bbrp\b|residence permit")
_KEPT_FROM = re.compile(
    r"\btook\b|\btake[ns]?\b|\btaking\b|withh[eo]ld|\bkept\b|\bkeep(s|ing)?\b|\bheld by\b|"
    r"confiscat|\bstole|\bstolen\b|\blost\b|destroy|\bseiz|\bretain|\bhid"
)

# A statement about giving evidence that says the person will not (NPCC §6.2 "assisting the investigation").
_UNWILLING = re.compile(
    r"unwilling|not willing|not prepared|refus|declin|will not|won't|does not want|"
    r"doesn't want|no longer willing"
)
_CLAUSE = re.compile(r"[.;,!?\n]|\bbut\b")


def signposting(referral: Referral, screening: Screening, now: datetime, policy: Policy) -> list[Signpost]:
    """The routes to signpost, in `Route` order, each at most once, each with why and any deadline.

    - Domestic or honour-based abuse with last leave as a partner or spouse: the domestic abuse concession
      (`policy.concession_leave` of leave with public funds) and settlement under Appendix Victim of
      Domestic Abuse.
    - Modern slavery or labour exploitation: the National Referral Mechanism.
    - A witness, or a person whose help with the investigation includes giving evidence: the foreign witness
      route (para 79).
    - Dependant on someone's asylum claim; or, with domestic abuse, dependant on someone's visa, or an asylum
      claimant with dependants: splitting the claim (para 39).
    - Not secure: independent legal advice and legal aid. While leave to remain is still running its
      deadline is the last day of that leave: an application made in time keeps the leave while it is
      decided.
    - Any crime but `other`: specialist support.
    - Documents withheld or taken: the consulate (para 27), except for asylum claimants and dependants, who
      must not be sent to the authorities of the country they may be seeking protection from.

    A secure person needs no immigration route: they get only specialist support and the consulate.
    """
    routes: dict[Route, tuple[str, datetime | None]] = {}
    crime = referral.crime_type
    abuse = crime in _DOMESTIC_ABUSE
    status = screening.status

    if not screening.secure:
        if abuse and is_partner_leave(screening.last_leave):
            routes[Route.domestic_abuse_concession] = (
                "Domestic abuse reported and last leave was as a partner: the Migrant Victims of Domestic "
                f"Abuse Concession gives {_months(policy.concession_leave)} leave with access to public "
                "funds, in which to apply for settlement or another route.",
                None,
            )
            routes[Route.appendix_victim_of_domestic_abuse] = (
                "Domestic abuse reported and last leave was as a partner: settlement can be applied for as a "
                "victim of domestic abuse (Appendix Victim of Domestic Abuse).",
                None,
            )
        if crime in _EXPLOITATION:
            routes[Route.national_referral_mechanism] = (
                f"{_SPECIALIST[crime]} reported: the National Referral Mechanism gives a recovery "
                f"period of at least {policy.nrm_min_recovery.days} days after a positive reasonable "
                "grounds decision, then a conclusive grounds decision and temporary permission to stay "
                "for victims of trafficking.",
                None,
            )
        if referral.role is PersonRole.witness or _willing_to_give_evidence(referral):
            who = "A witness" if referral.role is PersonRole.witness else "Willing to give evidence"
            routes[Route.foreign_witness] = (
                f"{who}: the police can ask the Home Office to defer removal or extend stay so that evidence "
                "can be given (Review para 79).",
                None,
            )
        split = _split_reason(referral, screening)
        if split is not None:
            routes[Route.split_dependant_claim] = (split, None)
        routes[Route.legal_advice] = _legal_advice(screening, now)

    if crime in _SPECIALIST:
        routes[Route.specialist_support] = (_specialist_why(crime, screening.secure), None)

    if status not in _ASYLUM and _documents_withheld(referral):
        routes[Route.consulate] = (
            "Identity or travel documents were reported withheld or taken: the consulate can arrange "
            "replacements (Review para 27).",
            None,
        )

    return [
        Signpost(route=route, why=routes[route][0], deadline=routes[route][1], given_at=now)
        for route in Route
        if route in routes
    ]


def _split_reason(referral: Referral, screening: Screening) -> str | None:
    abuse = referral.crime_type in _DOMESTIC_ABUSE
    if screening.status is ImmigrationStatus.asylum_dependant:
        return (
            "Dependant on another person's asylum claim: the claim can be split so that an application and "
            "support are in the person's own right (Review para 39)."
        )
    if abuse and screening.status is ImmigrationStatus.asylum_claimant and referral.dependants:
        return (
            "Domestic abuse reported by an asylum claimant with dependants: the family's claims can be split "
            "from the perpetrator's so that each is decided and supported in its own right (Review para 39)."
        )
    if abuse and is_dependant_leave(screening.last_leave):
        return (
            "Domestic abuse reported and last leave was as a dependant: the application can be split from "
            "the perpetrator's so that the person applies in their own right (Review para 39)."
        )
    return None


def _legal_advice(screening: Screening, now: datetime) -> tuple[str, datetime | None]:
    if screening.status is ImmigrationStatus.unknown:
        found = "No Home Office record was matched"
    else:
        found = f"Status at screening is {screening.status.value}"
    why = f"{found}: independent immigration advice, with legal aid where eligible, before any application."
    expires = screening.leave_expires
    if (
        screening.status is ImmigrationStatus.leave_to_remain
        and expires is not None
        and expires >= now.date()
    ):
        why += " Leave is still running: an application made before it expires keeps it while it is decided."
        return why, _end_of_leave(expires)
    return why, None


def _specialist_why(crime: CrimeType, secure: bool) -> str:
    why = f"{_SPECIALIST[crime]} reported: specialist support organisations can help with safety and support."
    if secure and crime in _EXPLOITATION:
        why += " The National Referral Mechanism's support is open whatever a person's immigration status."
    return why


def _willing_to_give_evidence(referral: Referral) -> bool:
    info = referral.additional_information
    text = (info.assisting_investigation or "") if info is not None else ""
    return any(
        "evidence" in clause and _UNWILLING.search(clause) is None for clause in _CLAUSE.split(text.lower())
    )


def _documents_withheld(referral: Referral) -> bool:
    info = referral.additional_information
    texts = [referral.suspected_offence_reason, (info.allegation or "") if info is not None else ""]
    sentences = (s for text in texts for s in re.split(r"[.;!?\n]", text.lower()))
    return any(_DOCUMENT.search(s) and _KEPT_FROM.search(s) for s in sentences)


def _months(span: timedelta) -> str:
    """A span of leave as the rules state it: 91 days is "3 months'"."""
    months = round(span.days / (365.25 / 12))
    return f"{months} month's" if months == 1 else f"{months} months'"


def _end_of_leave(expires: date) -> datetime:
    """The last day of leave ends at 23:00 UTC: midnight in UK summer time, an hour early in winter."""
    return datetime.combine(expires, time(23, 0), tzinfo=UTC)
