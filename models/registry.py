"""The case commands, each named once: its message kind, the workflow update that carries it, the API route
that takes it, the CLI command that sends it, and who may send it.

Plain data (no pydantic, no temporalio) so that the `mvp` client can read it without importing the server.
The message model of each kind is `models.case.COMMAND_MODELS[kind]`; `tests/test_registry.py` checks that
every entry has its model, its workflow update, its route and its CLI command.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaseCommandSpec:
    kind: str  # the message's `kind`
    update: str  # the workflow update name
    route: str  # POST /cases/{case_id}/{route}
    cli: tuple[str, str]  # (group, verb): `mvp GROUP VERB CASE_ID ...`
    roles: frozenset[str]  # who may send it (role codes)
    summary: str


def _spec(
    kind: str, update: str, route: str, group: str, verb: str, roles: str, summary: str
) -> CaseCommandSpec:
    return CaseCommandSpec(kind, update, route, (group, verb), frozenset(roles.split()), summary)


COMMANDS: dict[str, CaseCommandSpec] = {
    spec.kind: spec
    for spec in (
        _spec(
            "police_update",
            "police_update",
            "police-update",
            "police",
            "update",
            "police officer",
            "Report the investigation: status, protective measures, suspect or charged, trial date.",
        ),
        _spec(
            "police_correction",
            "correct_police_status",
            "police-correction",
            "police",
            "correct",
            "police",
            "Correct an investigation status reported wrongly, with a reason (recorded; the case officer is told).",
        ),
        _spec(
            "police_note",
            "add_police_note",
            "police-note",
            "police",
            "note",
            "police",
            "Add a note to the case (kept sealed; the case officer gets a task).",
        ),
        _spec(
            "withdrawal",
            "withdraw",
            "withdrawal",
            "police",
            "withdraw",
            "police officer supervisor",
            "Withdraw the referral: ends the police ground only, unless made in error with no other ground.",
        ),
        _spec(
            "contact",
            "record_contact",
            "contact",
            "officer",
            "contact",
            "officer",
            "Record a contact attempt and the person's support.",
        ),
        _spec(
            "application",
            "record_application",
            "application",
            "officer",
            "application",
            "officer",
            "Record an application's stage.",
        ),
        _spec(
            "route_started",
            "start_route",
            "route",
            "officer",
            "route",
            "officer",
            "Start a route clock that keeps the hold in force.",
        ),
        _spec(
            "departure",
            "record_departure",
            "departure",
            "officer",
            "departure",
            "officer",
            "Record a voluntary departure (the case closes as departed).",
        ),
        _spec(
            "exclusion_decision",
            "decide_exclusion",
            "exclusion-decision",
            "supervisor",
            "exclusion",
            "supervisor",
            "Confirm or override a pending exclusion, with a reason.",
        ),
        _spec(
            "release_decision",
            "authorise_release",
            "release-decision",
            "supervisor",
            "release",
            "supervisor",
            "Authorise release of the hold after pre-decision engagement.",
        ),
        _spec(
            "reopen",
            "reopen",
            "reopen",
            "supervisor",
            "reopen",
            "supervisor",
            "Reopen a case closed by mistake, within the reopen window, with a reason.",
        ),
        _spec(
            "reassign",
            "reassign",
            "reassign",
            "supervisor",
            "reassign",
            "supervisor",
            "Give the case to another case officer, with a reason (recorded; both officers get a task).",
        ),
        _spec(
            "amend",
            "amend",
            "amend",
            "officer",
            "amend",
            "officer",
            "Change what changed: safe contact, language, address, new dependants, never-contact-via.",
        ),
        _spec(
            "fact_reported",
            "report_fact",
            "fact",
            "officer",
            "fact",
            "officer police",
            "Record a fact told to the Home Office, with its source.",
        ),
        _spec(
            "fact_verified",
            "verify_fact",
            "fact-verification",
            "officer",
            "verify-fact",
            "officer",
            "Verify or reject a reported fact.",
        ),
    )
}

BY_ROUTE: dict[str, CaseCommandSpec] = {spec.route: spec for spec in COMMANDS.values()}
