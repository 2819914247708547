"""Training mode: a supervisor moves one case's clock forward to rehearse what time brings (pre-decision
engagement, release, overdue contact escalation). Pure rules: what a duration means, how far one step may go,
who may take it, and the entry it leaves in the case's record. `now` is the case's own (training) time.

A duration is a whole number and a unit: `30d`, `4w`, `12h`. Hand-written rather than a library's parser
(pytimeparse, ISO 8601 durations): three units and a bound, and the refusal must be a sentence an operator can
act on.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from models.case import Actor, CaseState, Phase, RecordEntry
from protocol import authority
from protocol.lifecycle import Step

MAX_ADVANCE = timedelta(days=400)  # per call: a rehearsal moves months, not decades
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DURATION = re.compile(r"(\d{1,6})\s*([a-z]+)")
_SHOWN = 20  # characters of a refused duration repeated back


class DurationRefused(ValueError):
    """The duration cannot be used; the message is the sentence to show."""


def parse_duration(text: str) -> timedelta:
    """`30d` → 30 days; anything else raises DurationRefused with a sentence naming the problem."""
    given = text.strip().lower()
    match = _DURATION.fullmatch(given)
    shown = text.strip()[:_SHOWN]
    if match is None or match.group(2) not in UNITS:
        raise DurationRefused(
            f"{shown!r} is not a duration: give a whole number and a unit, d (days), w (weeks) or h (hours), "
            "e.g. 30d."
        )
    amount = int(match.group(1))
    by = amount * UNITS[match.group(2)]
    if by <= timedelta(0):
        raise DurationRefused("A training advance must move the clock forward: give at least 1h.")
    if by > MAX_ADVANCE:
        raise DurationRefused(
            f"A training advance is at most {MAX_ADVANCE.days} days at a time ({shown} is {describe(by)}); "
            "advance in steps."
        )
    return by


def describe(by: timedelta) -> str:
    """A duration as words: `30 days`, `1 day 6 hours`."""
    days, hours = by.days, by.seconds // 3600
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours or not parts:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    return " ".join(parts)


def refusal(state: CaseState, actor: Actor, training: bool, by: timedelta) -> str | None:
    """Why this case's clock may not be moved now, or None. Default deny: only a case started in training mode,
    only a supervisor, only forward within the bound, only while the case is open."""
    if not training:
        return "this case was not started in training mode; its clock is the real one and cannot be moved"
    denied = authority.may_move_clock(actor)
    if denied is not None:
        return denied
    if by <= timedelta(0) or by > MAX_ADVANCE:
        return f"a training advance moves the clock forward by at most {MAX_ADVANCE.days} days"
    if state.phase is Phase.screening:
        return "the case is still being screened; advance its clock once it is open"
    if state.phase is Phase.closed:
        return "the case is closed; there is nothing left for its clock to bring"
    return None


def advanced(state: CaseState, actor: Actor, by: timedelta, now: datetime) -> Step:
    """The record of the move, at the case's new time; what the time brings follows from `lifecycle.tick`."""
    moved = state.model_copy(deep=True)
    moved.record_seq += 1
    moved.revision += 1
    entry = RecordEntry(
        seq=moved.record_seq,
        at=now,
        actor=actor.label(),
        action="training_clock_advanced",
        summary=f"training: the case's clock moved forward {describe(by)}",
    )
    return Step(state=moved, records=[entry], accepted=f"clock moved forward {describe(by)} (training)")
