"""ProtocolCaseWorkflow: one durable workflow per referred person, from referral to closure.

It is deliberately thin. `protocol.lifecycle` decides every change (a pure function of the state, the
command and the clock); this workflow feeds it commands and timers and carries each step out through
activities: one transactional write to Postgres, notices included (an outbox the worker's delivery
dispatcher drains apart from the workflow: no command waits on a provider, and a closed case ends).

Commands are Updates with validators (an impossible command is refused before it touches history);
a command from someone whose role does not allow it is accepted only to be recorded and refused.

A closed case's run stays open for the policy's reopen window, so that a supervisor can reopen a case
closed by mistake; then it completes. Changes that would break the histories of cases already running are
guarded with `workflow.patched` (see the patch ids below and the README, "Changing the workflow safely").
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimedOut

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from activities.store import CaseStore
    from models import search_attributes as attrs
    from models.case import (
        Amend,
        ApplicationEvent,
        AwaitOpened,
        CaseCommand,
        CaseState,
        CaseView,
        CommandResult,
        ContactRecord,
        DepartureRecord,
        EnforcementCheckNotice,
        ExclusionDecision,
        FactReported,
        FactVerified,
        OpenCase,
        Phase,
        PoliceCorrection,
        PoliceNote,
        PoliceUpdate,
        Reassign,
        ReleaseDecision,
        Reopen,
        RouteStarted,
        TrainingAdvance,
        Withdrawal,
    )
    from models.messages import DeliverNotices, LookUpPerson
    from protocol import authority, lifecycle, training
    from protocol.policy import Policy, policy
    from protocol.screening import screen, unavailable
    from protocol.signposting import signposting

# Writes to Postgres and record look-ups must land: retried without limit, backing off to a minute.
UNTIL_DONE = RetryPolicy(maximum_interval=timedelta(minutes=1))
# Delivery now runs apart (activities.delivery). Histories recorded before still deliver from the workflow.
DELIVERY_APART = "delivery-apart-from-the-workflow"
A_FEW_TIMES = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
REDELIVER_AFTER = timedelta(hours=1)
# Records that cannot be read within this long leave the status unknown for now; screening is retried hourly.
LOOK_UP_WITHIN = timedelta(minutes=2)
RESCREEN_AFTER = timedelta(hours=1)

# Patches (workflow.patched): each id marks a change that histories recorded before it must not see.
# A closed case waits for the reopen window before its run completes (before: it completed at once).
PATCH_REOPEN_WINDOW = "reopen-window"
# A retried screening keeps the trigger of the screening it retries (before: every retry was "retry").
PATCH_RETRY_KEEPS_TRIGGER = "retry-keeps-trigger"
# A secure status of the person no longer closes a case with dependants (before: it closed, lifting their hold).
PATCH_DEPENDANTS_KEEP_HOLD = "dependants-keep-hold"
# The hot path (issue 14), one patch for three changes (each patch id costs a marker and an upsert in every
# history): steps are written and records looked up by local activities (short, idempotent, retried safely), so a
# referral is opened, held, screened and acknowledged in one workflow task and no case view is copied into the
# history as an activity input (before: an activity task and a workflow task each); search attributes are
# upserted only when one changes (before: all of them after every step); the wake-up timer is restarted only when
# the wake-up moves (before: a new timer after every command).
PATCH_HOT_PATH = "hot-path-local-steps"
# Rules changed for running cases (lifecycle.Revisions): an unsafe-to-talk contact holds notices to the person;
# legal advice, support and the consulate are refused as applications (before: neither).
PATCH_UNSAFE_CONTACT_HOLDS = "unsafe-contact-holds-notices"
PATCH_HELP_NOT_APPLICATION = "help-is-not-an-application"
# An amend that gives a phone or email the case lists as never to be used is refused, as intake refuses one (before:
# accepted, and every notice to the person then suppressed).
PATCH_AMEND_REFUSES_LISTED = "amend-refuses-listed-detail"
# Every patch above is asked once, when the run starts, before any local activity (before: each where it was
# first needed). A local step's result can be recorded in one workflow task while the code after it runs in the
# next (a starved worker); a patch first asked there has its marker in the later task, but on replay the code runs
# straight on from the step, asks before that marker is known, takes the old path and fails as nondeterministic
# (found by bench/soak.py). Histories from before this patch replay as they ran, asking where they did.
PATCH_ASKED_FIRST = "patches-asked-first"
ASKED_FIRST = (
    PATCH_HOT_PATH,
    DELIVERY_APART,
    PATCH_REOPEN_WINDOW,
    PATCH_RETRY_KEEPS_TRIGGER,
    PATCH_DEPENDANTS_KEEP_HOLD,
)
# The rule patches too are asked when the run starts (before: when the first command took the case's lock, which can
# be after a local step resolved: the same exposure as above). Runs recorded between the two ask the rule patches
# where they did.
PATCH_RULES_ASKED_FIRST = "rule-patches-asked-first"
RULES_ASKED_FIRST = (PATCH_UNSAFE_CONTACT_HOLDS, PATCH_HELP_NOT_APPLICATION, PATCH_AMEND_REFUSES_LISTED)
# Local activities: each retry runs in the worker (backing off by a timer past a minute), never scheduled again.
STEP_WITHIN = timedelta(seconds=30)


@workflow.defn
class ProtocolCaseWorkflow:
    @workflow.init
    def __init__(self, start: OpenCase) -> None:
        self._state: CaseState | None = start.state
        self._lock = asyncio.Lock()
        self._poke = False
        # A run continued from an earlier one retries whatever that run left undelivered in the outbox.
        self._undelivered = start.state is not None
        # Training mode only (`training_advance`): how far a supervisor has moved this case's clock; zero otherwise.
        self._training = start.training
        self._clock_offset = start.clock_offset
        self._wake_at: datetime | None = None
        self._timer: asyncio.Task[None] | None = None
        self._patches: dict[str, bool] = {}
        if workflow.patched(PATCH_RULES_ASKED_FIRST):
            self._patches = {patch: workflow.patched(patch) for patch in ASKED_FIRST + RULES_ASKED_FIRST}
        elif workflow.patched(PATCH_ASKED_FIRST):
            self._patches = {patch: workflow.patched(patch) for patch in ASKED_FIRST}

    # --- the run ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: OpenCase) -> CaseView:
        if self._state is None:
            assert start.referral is not None and start.opened_by is not None
            async with self._lock:
                # Since PATCH_HOT_PATH the case opens at the workflow's start, not at its first task: the time is
                # the same in every attempt of that task, so that an opening retried before its task completed
                # (a local activity's result is recorded only then) is the same opening, not "an earlier case".
                opening_at = workflow.info().workflow_start_time if self._patched(PATCH_HOT_PATH) else None
                step = lifecycle.open_case(
                    start.case_id,
                    start.referral,
                    start.opened_by,
                    opening_at or self._now(),  # a new case's clock is not moved: it is the workflow's
                    policy(start.policy_version),
                    possible_duplicate_of=start.possible_duplicate_of,
                    override_reason=start.duplicate_override_reason,
                    calendar=start.calendar,
                )
                await self._carry_out(step, opening=True)
                await self._screen("referral")
        elif self._undelivered:
            async with self._lock:
                await self._deliver()
        while True:
            await self._live_until_closed()
            # the outcome notices must reach the person and police, however long that takes
            while self._undelivered:
                await workflow.sleep(REDELIVER_AFTER)
                async with self._lock:
                    await self._deliver()
            if not self._patched(PATCH_REOPEN_WINDOW) or not await self._reopened_within_window():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _live_until_closed(self) -> None:
        while self._case.phase is not Phase.closed:
            await self._sleep_until_something_happens()
            async with self._lock:
                if self._undelivered:
                    await self._deliver()
                if self._screening_incomplete:
                    await self._retry_screening()
                ticked = lifecycle.tick(self._case, self._now(), self._policy)
                if ticked is not None:
                    await self._carry_out(ticked)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    OpenCase(
                        case_id=self._case.case_id,
                        state=self._case,
                        training=self._training,
                        clock_offset=self._clock_offset,
                    )
                )

    async def _reopened_within_window(self) -> bool:
        """Wait, closed, until a supervisor reopens the case or the reopen window ends."""
        closure = self._case.closure
        assert closure is not None
        remaining = closure.at + self._policy.reopen_window - self._now()
        if remaining <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(lambda: self._case.phase is not Phase.closed, timeout=remaining)
        except TimeoutError:
            return False
        return True

    async def _retry_screening(self) -> None:
        screening = self._case.screening
        assert screening is not None
        trigger = screening.trigger if self._patched(PATCH_RETRY_KEEPS_TRIGGER) else lifecycle.LEGACY_RETRY
        await self._screen(trigger, retry=True)

    @property
    def _screening_incomplete(self) -> bool:
        return self._case.screening is not None and not self._case.screening.complete

    async def _sleep_until_something_happens(self) -> None:
        now = self._now()
        wake = lifecycle.next_wakeup(self._case, now, self._policy)
        timeouts = [wake - now] if wake is not None else []
        if self._undelivered:
            timeouts.append(REDELIVER_AFTER)
        if self._screening_incomplete:
            timeouts.append(RESCREEN_AFTER)
        self._poke = False
        if self._patched(PATCH_HOT_PATH):
            # the timer runs on the workflow's clock (the case's, less any training offset)
            self._keep_timer(workflow.now() + min(timeouts) if timeouts else None)
            await workflow.wait_condition(
                lambda: self._poke or (self._timer is not None and self._timer.done())
            )
            return
        try:
            await workflow.wait_condition(lambda: self._poke, timeout=min(timeouts) if timeouts else None)
        except TimeoutError:
            pass

    def _keep_timer(self, wake_at: datetime | None) -> None:
        """One timer for the next wake-up, restarted only when the wake-up moves or the timer has fired."""
        if self._timer is not None and not self._timer.done() and wake_at == self._wake_at:
            return
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._wake_at = wake_at
        self._timer = None
        if wake_at is not None:
            self._timer = asyncio.create_task(
                workflow.sleep(max(wake_at - workflow.now(), timedelta(milliseconds=1)))
            )

    # --- queries, updates, signals ---------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseView:
        return self._view()

    @workflow.update
    async def acknowledge(self, request: AwaitOpened) -> CaseView:
        """The case's acknowledgement, once it is open and screened: sent with the start (Update-with-Start), so
        the API receives it in the same call instead of polling."""
        await workflow.wait_condition(
            lambda: self._state is not None and self._state.phase is not Phase.screening
        )
        return self._view()

    @workflow.update
    async def police_update(self, command: PoliceUpdate) -> CommandResult:
        return await self._command(command)

    @police_update.validator
    def _check_police_update(self, command: PoliceUpdate) -> None:
        self._validate(command)

    # Handlers added for issue 12 (registering a handler does not change the history of a case that never used it).
    @workflow.update
    async def correct_police_status(self, command: PoliceCorrection) -> CommandResult:
        return await self._command(command)

    @correct_police_status.validator
    def _check_correct_police_status(self, command: PoliceCorrection) -> None:
        self._validate(command)

    @workflow.update
    async def add_police_note(self, command: PoliceNote) -> CommandResult:
        return await self._command(command)

    @add_police_note.validator
    def _check_add_police_note(self, command: PoliceNote) -> None:
        self._validate(command)

    @workflow.update
    async def withdraw(self, command: Withdrawal) -> CommandResult:
        return await self._command(command)

    @withdraw.validator
    def _check_withdraw(self, command: Withdrawal) -> None:
        self._validate(command)

    @workflow.update
    async def record_contact(self, command: ContactRecord) -> CommandResult:
        return await self._command(command)

    @record_contact.validator
    def _check_record_contact(self, command: ContactRecord) -> None:
        self._validate(command)

    @workflow.update
    async def record_application(self, command: ApplicationEvent) -> CommandResult:
        return await self._command(command)

    @record_application.validator
    def _check_record_application(self, command: ApplicationEvent) -> None:
        self._validate(command)

    @workflow.update
    async def start_route(self, command: RouteStarted) -> CommandResult:
        return await self._command(command)

    @start_route.validator
    def _check_start_route(self, command: RouteStarted) -> None:
        self._validate(command)

    @workflow.update
    async def record_departure(self, command: DepartureRecord) -> CommandResult:
        return await self._command(command)

    @record_departure.validator
    def _check_record_departure(self, command: DepartureRecord) -> None:
        self._validate(command)

    @workflow.update
    async def decide_exclusion(self, command: ExclusionDecision) -> CommandResult:
        return await self._command(command)

    @decide_exclusion.validator
    def _check_decide_exclusion(self, command: ExclusionDecision) -> None:
        self._validate(command)

    @workflow.update
    async def authorise_release(self, command: ReleaseDecision) -> CommandResult:
        return await self._command(command)

    @authorise_release.validator
    def _check_authorise_release(self, command: ReleaseDecision) -> None:
        self._validate(command)

    @workflow.update
    async def report_fact(self, command: FactReported) -> CommandResult:
        return await self._command(command)

    @report_fact.validator
    def _check_report_fact(self, command: FactReported) -> None:
        self._validate(command)

    @workflow.update
    async def verify_fact(self, command: FactVerified) -> CommandResult:
        return await self._command(command)

    @verify_fact.validator
    def _check_verify_fact(self, command: FactVerified) -> None:
        self._validate(command)

    @workflow.update
    async def reopen(self, command: Reopen) -> CommandResult:
        return await self._command(command)

    @reopen.validator
    def _check_reopen(self, command: Reopen) -> None:
        self._validate(command)

    @workflow.update
    async def reassign(self, command: Reassign) -> CommandResult:
        return await self._command(command)

    @reassign.validator
    def _check_reassign(self, command: Reassign) -> None:
        self._validate(command)

    @workflow.update
    async def amend(self, command: Amend) -> CommandResult:
        return await self._command(command)

    @amend.validator
    def _check_amend(self, command: Amend) -> None:
        self._validate(command)

    @workflow.update
    async def training_advance(self, request: TrainingAdvance) -> CommandResult:
        """Training mode only: move this case's clock forward, record it, and let the time bring what it brings
        (an overdue contact escalated, the engagement notice period over) at once."""
        async with self._lock:
            reason = training.refusal(self._case, request.actor, self._training, request.by)
            if reason is not None:  # the case may have moved since validation
                raise ApplicationError(reason, type="Refused", non_retryable=True)
            self._clock_offset += request.by
            step = training.advanced(self._case, request.actor, request.by, self._now())
            await self._carry_out(step)
            ticked = lifecycle.tick(self._case, self._now(), self._policy)
            if ticked is not None:
                await self._carry_out(ticked)
            self._poke = True  # the run's timers were set on the old clock
            return CommandResult(case_id=self._case.case_id, accepted=step.accepted, view=self._view())

    @training_advance.validator
    def _check_training_advance(self, request: TrainingAdvance) -> None:
        if self._state is None:
            raise ApplicationError("the case is still opening; try again in a moment", type="Refused")
        reason = training.refusal(self._state, request.actor, self._training, request.by)
        if reason is not None:
            raise ApplicationError(reason, type="Refused")

    @workflow.signal
    async def enforcement_check_refused(self, notice: EnforcementCheckNotice) -> None:
        async with self._lock:
            if self._state is not None and self._state.phase is not Phase.closed:
                await self._carry_out(lifecycle.apply_command(self._state, notice, self._now(), self._policy))

    def _validate(self, command: CaseCommand) -> None:
        """Refuse an impossible command before it touches history. (A command the actor's role does
        not allow passes here so that the handler can record the refusal.)"""
        if self._state is None:
            raise ApplicationError("the case is still opening; try again in a moment", type="Refused")
        if authority.not_permitted(self._state, command) is None:
            reason = lifecycle.refusal(self._state, command, self._now())
            if reason is not None:
                raise ApplicationError(reason, type="Refused")

    async def _command(self, command: CaseCommand) -> CommandResult:
        async with self._lock:
            now = self._now()
            denied = authority.not_permitted(self._case, command)
            if denied is not None:
                await self._carry_out(lifecycle.refused(self._case, command, denied, now, self._policy))
                raise ApplicationError(denied, type="NotPermitted", non_retryable=True)
            revisions = self._revisions()
            # the case may have moved since validation
            reason = lifecycle.refusal(self._case, command, now, revisions)
            if reason is not None:
                raise ApplicationError(reason, type="Refused", non_retryable=True)
            step = lifecycle.apply_command(self._case, command, now, self._policy, revisions)
            await self._carry_out(step)
            if step.rescreen:
                await self._screen("person_became_suspect_or_charged")
            self._poke = True
            return CommandResult(case_id=self._case.case_id, accepted=step.accepted, view=self._view())

    # --- carrying steps out ----------------------------------------------------------------------

    async def _screen(self, trigger: str, retry: bool = False) -> None:
        """Screen the person. Records that cannot be read within a few minutes never hold the case up: the
        status stays unknown (the hold stays), contact runs, and screening is retried every hour, keeping
        the trigger of the screening it retries."""
        person = self._case.referral.person
        asked = LookUpPerson(
            home_office_ref=person.home_office_ref,
            family_name=person.family_name,
            given_names=person.given_names,
            date_of_birth=person.date_of_birth,
        )
        try:
            if self._patched(PATCH_HOT_PATH):
                found = await workflow.execute_local_activity_method(
                    RecordsActivities.look_up_person,
                    asked,
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=LOOK_UP_WITHIN,
                    retry_policy=UNTIL_DONE,
                )
            else:
                found = await workflow.execute_activity_method(
                    RecordsActivities.look_up_person,
                    asked,
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=LOOK_UP_WITHIN,
                    retry_policy=UNTIL_DONE,
                )
        # a local activity's failure reaches the workflow as the failure itself, not wrapped in ActivityError
        except (ActivityError, ApplicationError, ActivityTimedOut):
            workflow.logger.warning("case %s: Home Office records could not be read", self._case.case_id)
            if retry:
                return  # still unavailable: already said, tried again later
            now = self._now()
            await self._carry_out(
                lifecycle.screened(self._case, unavailable(now, trigger), [], now, self._policy)
            )
            return
        now = self._now()
        result = screen(
            found.immigration_status,
            found.criminal_record,
            now,
            self._policy,
            trigger=trigger,
            reference_mismatch=found.reference_mismatch,
        )
        routes = signposting(self._case.referral, result, now, self._policy)
        matched = found.immigration_status.home_office_ref if found.immigration_status else None
        # a run from before PATCH_ASKED_FIRST asks this patch here, and only where it matters (each ask after a
        # local step risks the replay defect that patch mends); later runs asked it when they started
        keep = bool(result.secure and self._case.referral.dependants) and self._patched(
            PATCH_DEPENDANTS_KEEP_HOLD
        )
        await self._carry_out(
            lifecycle.screened(self._case, result, routes, now, self._policy, dependants_keep_hold=keep),
            matched_ref=matched,
        )

    async def _carry_out(
        self, step: lifecycle.Step, opening: bool = False, matched_ref: str | None = None
    ) -> None:
        now = self._now()
        written = lifecycle.written(step, now, opening=opening, matched_ref=matched_ref)
        if self._patched(PATCH_HOT_PATH):
            await workflow.execute_local_activity_method(
                CaseStore.persist_step, written, start_to_close_timeout=STEP_WITHIN, retry_policy=UNTIL_DONE
            )
        else:
            await workflow.execute_activity_method(
                CaseStore.persist_step, written, start_to_close_timeout=STEP_WITHIN, retry_policy=UNTIL_DONE
            )
        self._state = step.state
        self._upsert_search_attributes(written.view)
        if step.notices or self._undelivered:
            await self._deliver()

    async def _deliver(self) -> None:
        if self._patched(DELIVERY_APART):
            self._undelivered = False
            return
        try:
            await workflow.execute_activity(
                "deliver_notices",
                DeliverNotices(case_id=self._case.case_id),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=A_FEW_TIMES,
            )
            self._undelivered = False
        except ActivityError:
            workflow.logger.warning("notice delivery failed for case %s; will retry", self._case.case_id)
            self._undelivered = True

    def _upsert_search_attributes(self, view: CaseView) -> None:
        """The case's codes and dates as search attributes: since PATCH_HOT_PATH, only those that changed."""
        updates: list[SearchAttributeUpdate[Any]] = [
            attrs.PHASE.value_set(view.phase.value),
            attrs.HOLD_ACTIVE.value_set(view.hold.active),
            attrs.CONTACT_OVERDUE.value_set(view.contact_overdue),
            attrs.DECISION_PENDING.value_set(bool(view.pending_decisions)),
            attrs.FORCE.value_set(view.force_code),
            attrs.CRIME_TYPE.value_set(view.crime_type),
            attrs.NEXT_CONTACT_DUE.value_set(view.next_contact_due)
            if view.next_contact_due
            else attrs.NEXT_CONTACT_DUE.value_unset(),
        ]
        if self._patched(PATCH_HOT_PATH):
            current = workflow.info().typed_search_attributes
            updates = [u for u in updates if current.get(u.key) != u.value]
            if not updates:
                return
        workflow.upsert_search_attributes(updates)

    # --- helpers ---------------------------------------------------------------------------------

    def _revisions(self) -> lifecycle.Revisions:
        """The rules this run applies: today's, or those a history recorded before a change ran under."""
        return lifecycle.Revisions(
            unsafe_contact_holds_notices=self._patched(PATCH_UNSAFE_CONTACT_HOLDS),
            help_is_not_an_application=self._patched(PATCH_HELP_NOT_APPLICATION),
            amend_refuses_listed_detail=self._patched(PATCH_AMEND_REFUSES_LISTED),
        )

    def _patched(self, patch: str) -> bool:
        """Whether this run takes the change a patch marks: as asked when the run started (PATCH_ASKED_FIRST), else
        asked now, as runs recorded before it did."""
        asked = self._patches.get(patch)
        return asked if asked is not None else workflow.patched(patch)

    def _now(self) -> datetime:
        """The case's time: the workflow's clock, moved forward only in training mode (`training_advance`)."""
        return workflow.now() + self._clock_offset

    @property
    def _case(self) -> CaseState:
        assert self._state is not None
        return self._state

    @property
    def _policy(self) -> Policy:
        return policy(self._case.policy_version)

    def _view(self) -> CaseView:
        if self._state is None:
            raise ApplicationError("the case is still opening", type="Refused")
        return lifecycle.view(self._state, self._now(), self._policy)
