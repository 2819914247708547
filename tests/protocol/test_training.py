"""The training clock's rules (README "Training mode"): what a duration is, how far one step goes, who may move
a clock and when, and the entry a move leaves in the case's record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.case import Phase
from protocol import training
from protocol.training import DurationRefused, parse_duration
from tests.protocol.test_lifecycle import OFFICER, POLICE, SUPERVISOR, T0, mistakenly_withdrawn, protected


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("30d", timedelta(days=30)),
        (" 4W ", timedelta(weeks=4)),
        ("12h", timedelta(hours=12)),
        ("1 d", timedelta(days=1)),
        ("400d", timedelta(days=400)),
        ("57w", timedelta(weeks=57)),
    ],
)
def test_a_duration_is_a_whole_number_and_a_unit(text: str, meant: timedelta) -> None:
    assert parse_duration(text) == meant


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("30", "'30' is not a duration: give a whole number and a unit, d (days), w (weeks) or h (hours)"),
        ("30m", "is not a duration"),  # minutes or months: neither is offered
        ("1.5d", "is not a duration"),
        ("-3d", "is not a duration"),
        ("", "is not a duration"),
        ("0h", "must move the clock forward: give at least 1h"),
        ("401d", "at most 400 days at a time (401d is 401 days); advance in steps"),
        ("9601h", "at most 400 days at a time (9601h is 400 days 1 hour)"),
    ],
)
def test_a_duration_that_is_not_one_or_too_far_is_refused_with_a_sentence(text: str, sentence: str) -> None:
    with pytest.raises(DurationRefused) as refused:
        parse_duration(text)
    assert sentence in str(refused.value)


def test_a_refused_duration_is_repeated_back_only_in_part() -> None:
    with pytest.raises(DurationRefused) as refused:
        parse_duration("x" * 500)
    assert len(str(refused.value)) < 200


def test_only_a_supervisor_moves_the_clock_of_an_open_training_case() -> None:
    state = protected()
    month = timedelta(days=30)
    assert training.refusal(state, SUPERVISOR, True, month) is None
    assert "not started in training mode" in (training.refusal(state, SUPERVISOR, False, month) or "")
    for someone in (OFFICER, POLICE):
        assert "only a supervisor" in (training.refusal(state, someone, True, month) or "")
    assert "at most 400 days" in (training.refusal(state, SUPERVISOR, True, timedelta(days=401)) or "")
    assert "at most 400 days" in (training.refusal(state, SUPERVISOR, True, -month) or "")
    closed = mistakenly_withdrawn()
    assert closed.phase is Phase.closed
    assert "the case is closed" in (training.refusal(closed, SUPERVISOR, True, month) or "")


def test_a_move_is_recorded_under_the_supervisor_at_the_case_s_new_time() -> None:
    state = protected()
    step = training.advanced(state, SUPERVISOR, timedelta(days=30), T0 + timedelta(days=30))
    (entry,) = step.records
    assert (entry.seq, entry.actor, entry.action) == (
        state.record_seq + 1,
        SUPERVISOR.label(),
        "training_clock_advanced",
    )
    assert (
        entry.at == T0 + timedelta(days=30)
        and entry.summary == "training: the case's clock moved forward 30 days"
    )
    assert step.state.revision == state.revision + 1 and state.record_seq == step.state.record_seq - 1
