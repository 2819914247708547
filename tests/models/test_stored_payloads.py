"""Running cases survive the next release (issue 8): what is stored or sent between versions decodes when a
field was added since (it takes its default) or removed since (it is ignored); input from outside is still
refused when it carries a field nobody knows.

The payloads in payloads/ were written by the code on main before reopening existing (no `reopenings`),
with fields added that an earlier version stored and a later one dropped (`departed`,
`exclusion_override`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from infra.codec import data_converter
from models.case import CaseState, CaseView, OpenCase, Phase, Withdrawal
from models.records import ImmigrationStatusRecord
from models.referral import Referral
from tests.support.histories import HISTORIES, REPLAY_KEYRING

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((PAYLOADS / name).read_text())
    return loaded


def test_a_case_state_from_an_earlier_version_decodes_despite_unknown_and_missing_fields() -> None:
    raw = payload("case_state_2026_11_earlier_version.json")
    assert "departed" in raw and "reopenings" not in raw
    state = CaseState.model_validate_json(json.dumps(raw))
    assert state.case_id == "MVP-TEST0-00001" and state.phase is Phase.protection
    assert state.reopenings == []  # added later: its default
    assert "departed" not in state.model_dump()  # removed since: ignored, not carried on
    assert state.screening is not None and "matched_by" not in state.screening.model_dump()
    assert [a.number for a in state.applications] == [1]


def test_a_case_view_with_fields_this_version_does_not_know_decodes() -> None:
    view = CaseView.model_validate(payload("case_view_2026_11_earlier_version.json"))
    assert view.case_id == "MVP-TEST0-00001" and view.hold.active


def test_an_older_command_without_a_field_added_since_takes_its_default() -> None:
    withdrawal = Withdrawal.model_validate(
        {"actor": {"role": "police", "id": "P1", "force": "WMP"}, "reason": "victim withdrew"}
    )
    assert withdrawal.made_in_error is False  # never closes a case by default


def test_input_from_outside_is_still_refused_when_it_carries_an_unknown_field() -> None:
    state = CaseState.model_validate(payload("case_state_2026_11_earlier_version.json"))
    referral = state.referral.model_dump(mode="json")
    with pytest.raises(ValidationError, match="extra"):
        Referral.model_validate({**referral, "nickname": "x"})
    with pytest.raises(ValidationError, match="extra"):
        ImmigrationStatusRecord.model_validate(
            {
                "home_office_ref": "HO-1",
                "given_names": "A",
                "family_name": "B",
                "date_of_birth": "1990-01-01",
                "status": "no_status",
                "colour": "x",
            }
        )


async def test_the_state_a_recorded_case_carried_across_continue_as_new_decodes_with_this_version() -> None:
    """The input of the run after a continue-as-new, as an earlier worker wrote it, read by this code."""
    converter = data_converter(REPLAY_KEYRING)
    decoded = 0
    for path in sorted(HISTORIES.glob("*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        for event in history.events:
            if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                continue
            payloads = event.workflow_execution_continued_as_new_event_attributes.input.payloads
            [start] = await converter.decode(payloads, [OpenCase])
            assert isinstance(start, OpenCase) and start.state is not None
            assert start.state.phase is not Phase.closed and start.state.case_id == start.case_id
            decoded += 1
    assert decoded, "no recorded history crossed continue-as-new"
