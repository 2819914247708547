"""The delivery dispatcher: a transactional outbox, drained apart from the commands that filled it.

A step of a case writes its notices to `outbox` in the step's own transaction (`activities.store`); no
command waits on a provider. The dispatcher runs in the worker process (a thread started by `worker.serve`;
several workers may run one each) and delivers each row on its own:

    pending ──claim (committed, leased)──▶ sending ──accepted──▶ sent ──status──▶ delivered
       ▲                                      │  │                               permanent-failure → task
       └── transient (5xx, 429): backoff ─────┘  └── rejected (4xx): failed, reason kept → task
    sending past its lease (a timeout, a crash): ask the provider by reference before any resend
    pending past the give-up period: failed → task

Rows are claimed with `FOR UPDATE SKIP LOCKED` and the claim is committed before the request goes out,
with a lease longer than the HTTP timeout: two dispatchers never hold the same row, and a row whose send
may have been accepted is never sent again without asking the provider first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, and_, or_, select, update
from sqlmodel import Session, col
from temporalio import activity

from activities.notify import NoticeChannel, OutcomeUnknown, Outgoing, Rejected, Transient
from activities.store import CaseStore
from infra.chain import address_binding
from infra.errors import SealedElsewhere
from infra.keys import Keys
from models.case import NoticeKind, Recipient
from models.messages import Delivered, DeliverNotices
from models.referral import CrimeType
from models.tables import CaseRow, OutboxRow
from protocol.notices import INTERNAL, render, task_owner
from protocol.wording import ContactDetails, Rendered, render_notice

log = logging.getLogger("mvp.delivery")

FINAL_STATUSES = {
    "delivered",
    "permanent-failure",
    "temporary-failure",
    "technical-failure",
    "validation-failed",
}


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the dispatcher tries. The lease must outlast the HTTP timeout by a margin, so that a send
    still in flight is never taken for a lost one."""

    lease: timedelta = timedelta(minutes=2)
    first_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=2)
    give_up_after: timedelta = timedelta(days=3)
    status_every: timedelta = timedelta(minutes=15)
    status_kept_for: timedelta = timedelta(days=7)  # Notify keeps a notification's status this long
    poll: timedelta = timedelta(seconds=1)
    batch: int = 20

    def backoff(self, attempts: int) -> timedelta:
        """5 s, 10 s, 20 s, ... never more than 2 minutes between tries."""
        backoff: timedelta = self.first_backoff * (2 ** max(attempts - 1, 0))
        return min(backoff, self.max_backoff)


@dataclass(frozen=True)
class TeamContact:
    """How the person reaches the NCCU team (settings: MVP_CONTACT_TEAM_PHONE, MVP_CONTACT_TEAM_EMAIL). The
    defaults are Ofcom's numbers reserved for drama and an example domain: never a real line."""

    phone: str = "01632 960000"
    email: str = "nccu@example.gov.uk"


@dataclass(frozen=True)
class _Claimed:
    key: str
    case_id: str
    recipient: str
    kind: str
    channel: str
    language: str
    facts: dict[str, str]
    address_sealed: str | None
    reference: str
    attempts: int  # including this one
    lease_until: datetime
    created_at: datetime


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        keys: Keys,
        channel: NoticeChannel,
        policy: DeliveryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        team: TeamContact | None = None,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.channel = channel
        self.policy = policy or DeliveryPolicy()
        self.clock = clock
        self.team = team or TeamContact()
        self._store = CaseStore(engine, keys)

    # --- the loop --------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set. A failure of one round (Postgres unreachable) is logged and the
        next round tries again."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the loop must outlive a database restart
                log.exception("delivery round failed; trying again")
                busy = False
            if not busy:
                stop.wait(self.policy.poll.total_seconds())

    def start(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="mvp-delivery", daemon=True)
        thread.start()
        return thread, stop

    def run_once(self) -> bool:
        """One round: deliver what is due (up to a batch), then fetch delivery statuses. True when there was
        work. Rows are claimed one at a time, just before their request: a lease never runs out while its
        row waits behind others."""
        delivered = 0
        while delivered < self.policy.batch:
            claimed = self._claim()
            if claimed is None:
                break
            self._deliver(claimed)
            delivered += 1
        checked = self._check_statuses()
        return delivered > 0 or checked > 0

    # --- delivering ------------------------------------------------------------------------------

    def _claim(self) -> _Claimed | None:
        now = self.clock()
        lease_until = now + self.policy.lease
        with Session(self.engine) as session, session.begin():
            row = session.execute(
                select(OutboxRow)
                .where(
                    or_(
                        and_(
                            col(OutboxRow.status) == "pending",
                            or_(
                                col(OutboxRow.next_attempt_at).is_(None),
                                col(OutboxRow.next_attempt_at) <= now,
                            ),
                        ),
                        and_(col(OutboxRow.status) == "sending", col(OutboxRow.lease_until) < now),
                    )
                )
                .order_by(col(OutboxRow.created_at), col(OutboxRow.key))
                .with_for_update(skip_locked=True)
                .limit(1)
            ).scalar_one_or_none()
            if row is None:
                return None
            row.status, row.attempts, row.lease_until = "sending", row.attempts + 1, lease_until
            return _Claimed(
                key=row.key,
                case_id=row.case_id,
                recipient=row.recipient,
                kind=row.kind,
                channel=row.channel,
                language=row.language,
                facts=dict(row.facts),
                address_sealed=row.address_sealed,
                reference=row.reference or row.key,
                attempts=row.attempts,
                lease_until=lease_until,
                created_at=row.created_at,
            )

    def _deliver(self, row: _Claimed) -> None:
        if row.channel == INTERNAL:  # queued before internal notices became tasks: make it one now
            self._to_task(row)
            return
        try:
            provider_id = None
            if row.attempts > 1:  # an earlier try may have been accepted: ask before any resend
                provider_id = self.channel.find(row.reference)
            if provider_id is None:
                provider_id = self.channel.send(self._outgoing(row))
        except Rejected as err:
            self._fail(row, str(err))
        except Transient as err:
            self._retry_later(row, str(err))
        except OutcomeUnknown as err:
            # left `sending` with its lease: once the lease ends, the provider is asked by reference
            log.warning("notice %s of case %s: outcome unknown (%s)", row.key, row.case_id, err)
            self._finish(row, last_error=str(err))
        else:
            now = self.clock()
            self._finish(
                row,
                status="sent",
                provider_ref=provider_id,
                sent_at=now,
                delivery_status="created",
                last_error=None,
            )

    def _to_task(self, row: _Claimed) -> None:
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(OutboxRow)
                .where(
                    col(OutboxRow.key) == row.key,
                    col(OutboxRow.status) == "sending",
                    col(OutboxRow.lease_until) == row.lease_until,
                )
                .values(status="task")
            )
            if result.rowcount:  # type: ignore[attr-defined]
                recipient = Recipient(row.recipient)
                self._store.raise_task(
                    session,
                    key=row.key,
                    case_id=row.case_id,
                    kind=row.kind,
                    owner=task_owner(recipient, CaseStore.case_officer(session, row.case_id)),
                    text=render(row.kind, row.facts),
                    language=row.language,
                    at=self.clock(),
                )

    def _outgoing(self, row: _Claimed) -> Outgoing:
        address = ""
        if row.address_sealed:
            try:
                address = self.keys.sealer.open_text(
                    row.case_id, row.address_sealed, address_binding(row.key)
                )
            except (InvalidTag, SealedElsewhere):  # moved here from another row: never send to that address
                raise Rejected(
                    "the sealed address does not open for this notice (it was moved from another row): "
                    "not sent; check the record with `mvp audit verify`"
                ) from None
        words = self._words(row)
        return Outgoing(
            reference=row.reference,
            case_id=row.case_id,
            channel=row.channel,
            address=address,
            language=words.language,
            kind=row.kind,
            text=words.text,
            subject=words.subject,
        )

    def _words(self, row: _Claimed) -> Rendered:
        """The notice in its reader's words (`protocol/wording.py`): the person's language (English when it has
        no template, with a task for the case officer to pass it on in theirs), the contact officer, the
        support for the crime reported."""
        recipient = Recipient(row.recipient)
        with Session(self.engine) as session:
            case = session.get(CaseRow, row.case_id)
            officer = CaseStore.case_officer(session, row.case_id) or ""
        contact = ContactDetails(
            officer_id=officer.split(":")[1] if officer.count(":") >= 1 else officer or "the duty officer",
            team_phone=self.team.phone,
            team_email=self.team.email,
        )
        known = {c.value for c in CrimeType}
        crime = CrimeType(case.crime_type) if case is not None and case.crime_type in known else None
        words = render_notice(
            NoticeKind(row.kind),
            dict(row.facts),
            row.language,
            contact,
            recipient=recipient,
            crime_type=crime,
        )
        if words.fallback and recipient is Recipient.person:
            with Session(self.engine) as session, session.begin():
                self._store.raise_task(
                    session,
                    key=f"{row.key}/language",
                    case_id=row.case_id,
                    kind="language_missing",
                    owner=task_owner(Recipient.case_officer, CaseStore.case_officer(session, row.case_id)),
                    text=(
                        f"The {row.kind.replace('_', ' ')} notice to the person was sent in English: there are no "
                        f"notice templates in their language ({row.language}). Pass it on in their language "
                        "(with an interpreter) and record the contact. It reads:\n\n" + words.text
                    ),
                    language=row.language,
                    at=self.clock(),
                )
        return words

    def _finish(self, row: _Claimed, **values: object) -> bool:
        """Write the outcome, only while this dispatcher still holds the row's lease."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(OutboxRow)
                .where(
                    col(OutboxRow.key) == row.key,
                    col(OutboxRow.status) == "sending",
                    col(OutboxRow.lease_until) == row.lease_until,
                )
                .values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _retry_later(self, row: _Claimed, reason: str) -> None:
        now = self.clock()
        if now - row.created_at >= self.policy.give_up_after:
            self._fail(row, f"gave up after {row.attempts} attempts; last: {reason}")
            return
        log.info("notice %s of case %s: not accepted (%s); retrying", row.key, row.case_id, reason)
        self._finish(
            row, status="pending", next_attempt_at=now + self.policy.backoff(row.attempts), last_error=reason
        )

    def _fail(self, row: _Claimed, reason: str) -> None:
        """Not delivered, for good: kept with the reason, and a task for the case officer."""
        log.warning("notice %s of case %s failed: %s", row.key, row.case_id, reason)
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(OutboxRow)
                .where(
                    col(OutboxRow.key) == row.key,
                    col(OutboxRow.status) == "sending",
                    col(OutboxRow.lease_until) == row.lease_until,
                )
                .values(status="failed", failure_reason=reason, last_error=reason)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                self._task_for_failure(
                    session,
                    row.key,
                    row.case_id,
                    row.kind,
                    row.recipient,
                    row.language,
                    reason,
                    row.facts,
                    now,
                )

    def _task_for_failure(
        self,
        session: Session,
        key: str,
        case_id: str,
        kind: str,
        recipient: str,
        language: str,
        reason: str,
        facts: dict[str, str],
        now: datetime,
    ) -> None:
        text = (
            f"Case {case_id}: the {kind} notice to the {recipient.replace('_', ' ')} was not delivered: {reason}. "
            "Reach them by a safe means and record the contact. The notice reads:\n\n" + render(kind, facts)
        )
        self._store.raise_task(
            session,
            key=f"{key}/failed",
            case_id=case_id,
            kind="notice_failed",
            owner=task_owner(Recipient.case_officer, CaseStore.case_officer(session, case_id)),
            text=text,
            language=language,
            at=now,
        )

    # --- delivery status -------------------------------------------------------------------------

    def _check_statuses(self) -> int:
        """Fetch the status of sent notices while the provider keeps it; store it; a permanent failure to
        the person becomes a task."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            rows = (
                session.execute(
                    select(OutboxRow)
                    .where(
                        col(OutboxRow.status) == "sent",
                        col(OutboxRow.provider_ref).is_not(None),
                        or_(
                            col(OutboxRow.delivery_status).is_(None),
                            col(OutboxRow.delivery_status).not_in(FINAL_STATUSES),
                        ),
                        col(OutboxRow.sent_at) > now - self.policy.status_kept_for,
                        or_(
                            col(OutboxRow.status_checked_at).is_(None),
                            col(OutboxRow.status_checked_at) <= now - self.policy.status_every,
                        ),
                    )
                    .with_for_update(skip_locked=True)
                    .limit(self.policy.batch)
                )
                .scalars()
                .all()
            )
            for row in rows:
                row.status_checked_at = now
            due = [
                (r.key, r.provider_ref or "", r.case_id, r.kind, r.recipient, r.language, dict(r.facts))
                for r in rows
            ]
        for key, provider_ref, case_id, kind, recipient, language, facts in due:
            try:
                status = self.channel.status(provider_ref)
            except Transient:
                continue
            if status is None:
                continue
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(OutboxRow).where(col(OutboxRow.key) == key).values(delivery_status=status)
                )
                if status == "permanent-failure" and recipient == Recipient.person.value:
                    self._task_for_failure(
                        session,
                        key,
                        case_id,
                        kind,
                        recipient,
                        language,
                        "the provider reports a permanent failure",
                        facts,
                        now,
                    )
        return len(due)


class HandedToDispatcher:
    """The `deliver_notices` activity that case workflows started before delivery moved out of them may still
    schedule (a history mid-way through a delivery when the worker is upgraded). It sends nothing: the
    dispatcher delivers every pending row. It answers at once so that such a workflow moves on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="deliver_notices")
    def deliver_notices(self, request: DeliverNotices) -> Delivered:
        with Session(self.engine) as session:
            statuses = [
                status
                for (status,) in session.execute(
                    select(col(OutboxRow.status)).where(col(OutboxRow.case_id) == request.case_id)
                )
            ]
        return Delivered(
            sent=statuses.count("sent"),
            suppressed=statuses.count("suppressed"),
            pending=sum(statuses.count(s) for s in ("pending", "sending")),
        )
