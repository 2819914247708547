import time
from datetime import timedelta
from service import cases
from models.case import Actor, ActorRole, ContactRecord, ContactResult
from tests.conftest import Running
from tests.workflows.test_intake import open_case, load_example_records
OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")

async def test_spike(running: Running) -> None:
    load_example_records(running)
    case_id = await open_case(running)
    h = running.client.get_workflow_handle(case_id)
    for i in range(5):
        t = time.monotonic()
        await cases.send(running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached))
        t1 = time.monotonic()
        r = await running.env.fast_forward(h, timedelta(days=28))
        print("send", t1 - t, "ff", r, time.monotonic() - t1)
    t = time.monotonic()
    r = await running.env.fast_forward(h, timedelta(days=3))
    print("ff3 (no timer)", time.monotonic() - t)
    t = time.monotonic()
    r = await running.env.fast_forward(h, timedelta(days=30))
    print("ff30 (one timer)", time.monotonic() - t)
    v = await cases.state(running.client, case_id)
    print(v.contact_overdue, await running.env.get_current_time(h))
