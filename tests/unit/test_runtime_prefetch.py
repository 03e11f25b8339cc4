"""A handler names every aggregate it reads: a poll loads each store once (issue 7)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import ManualClock
from crm_runtime.settings import ServiceSettings
from crm_runtime.store import Decision
from tests.store_memory import InMemoryBackend
from tests.unit.consumer_rig import T0, FakeRecord

pytestmark = pytest.mark.unit


@dataclass
class Tally:
    id: str
    total: int


class TallyCodec:
    def __init__(self, collection: str) -> None:
        self.collection = collection

    def encode(self, state: Tally) -> dict[str, Any]:
        return {"total": state.total}

    def decode(self, doc: dict[str, Any]) -> Tally:
        return Tally(doc["_id"], doc["total"])

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError


class CountingLoads(InMemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.loads: Counter[str] = Counter()

    async def load(self, collection: str, ids: Any) -> dict[str, dict[str, Any]]:
        self.loads[collection] += 1
        return await super().load(collection, ids)


def record(customer: int, n: int) -> FakeRecord:
    """Customer ``customer``'s ``n``-th contact, with Alice or Bob (a fact of its own)."""
    golden = load_golden(ContactLogged)
    data = {
        **golden.data,
        "customer_id": f"cus-{customer}",
        "employee_id": ("emp-alice", "emp-bob")[customer % 2],
        "occurred_at": f"2026-03-01T10:{customer:02d}:{n:02d}+00:00",
    }
    update = {"id": f"cus-{customer}-{n}", "subject": f"cus-{customer}", "data": data}
    event = golden.model_copy(update=update)
    return FakeRecord(
        ContactLogged.topic(),
        customer % 4,
        100 * customer + n,
        f"cus-{customer}".encode(),
        event.to_bytes(),
    )


async def test_a_poll_loads_each_named_store_once_whatever_the_handler_reads() -> None:
    backend = CountingLoads()
    settings = ServiceSettings(service_name="probe", log_level="WARNING")
    runtime = ServiceRuntime(settings, clock=ManualClock(T0), backend=backend)
    counters = runtime.aggregates(TallyCodec("counters"))
    owners = runtime.aggregates(TallyCodec("owners"))
    seen_owners: list[int] = []
    alice = lambda state: Decision(Tally("emp-alice", 7))  # noqa: E731
    await owners.apply("emp-alice", "seed", alice)
    backend.loads.clear()

    async def handler(data: ContactLogged, event: CloudEvent) -> bool:
        owner = await owners.get(data.employee_id)  # a read of another aggregate
        seen_owners.append(owner.total if owner else -1)

        def decide(state: Tally | None) -> Decision[Tally]:
            return Decision(Tally(data.customer_id, (state.total if state else 0) + 1))

        return (await counters.apply(data.customer_id, event.id, decide)).applied

    runtime.on(
        ContactLogged,
        handler,
        aggregate=[
            (counters, lambda data: data.customer_id),
            (owners, lambda data: [data.employee_id]),
        ],
    )
    records = [record(c, n) for n in range(5) for c in range(20)]

    await runtime.consumer.process_batch(records)

    assert backend.loads == {"counters": 1, "owners": 1}  # not one per record
    assert sorted(seen_owners) == [-1] * 50 + [7] * 50  # Bob has no document; Alice's is read
    assert {doc["total"] for doc in backend.docs("counters").values()} == {5}
