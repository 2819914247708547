"""Every change to the case workflow must replay the histories of cases already running (STYLE.md
habit 6): a change that would break them is caught here, and must be guarded with `workflow.patched`.

The histories are real, recorded on the dev server with the test-only replay key (tests/support/histories.py):
one for each scenario test in tests/workflows/test_scenarios.py (each run of the one that continues-as-new),
most of them recorded with the workflow as it was before reopening and re-screening triggers were patched in,
and two older ones:
- `regularised_case.json`: referral, police update, contacts, an overdue escalation after 40 simulated days,
  an application granted;
- `excluded_overridden_then_departed.json`: a serious offender's exclusion overridden, the person charged
  and re-screened, a departure reported by the alleged perpetrator, an enforcement check refused, and the
  departure verified by an officer.
Re-record with `MVP_RECORD_HISTORIES=1 pytest tests/workflows/test_scenarios.py` (README: "Changing the workflow
safely").
"""

from __future__ import annotations

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from infra.codec import data_converter
from tests.support.histories import HISTORIES, REPLAY_KEYRING
from workflows.case import ProtocolCaseWorkflow


async def test_recorded_case_histories_replay_without_nondeterminism() -> None:
    replayer = Replayer(workflows=[ProtocolCaseWorkflow], data_converter=data_converter(REPLAY_KEYRING))
    histories = sorted(HISTORIES.glob("*.json"))
    assert histories, "no recorded histories to replay"
    for path in histories:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
