"""The business-key guard without I/O: copies are duplicates, contradictions are conflicts,
a fact that was not applied gives its key back, and the consumer dead-letters conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from crm_events import CloudEvent
from crm_events.contacts import CustomerProfileUpdated
from crm_events.examples import load_golden
from crm_events.inbound import PaymentOverdue
from crm_runtime.business_keys import BusinessKeyConflict, BusinessKeyGuard
from crm_runtime.clock import ManualClock
from crm_runtime.errors import MissingPrerequisite, Unprocessable
from tests.unit.consumer_rig import FakePublisher, FakeRecord, consumer
from tests.unit.guarded import InMemoryBusinessKeys

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def overdue(event_id: str, **changes: Any) -> tuple[PaymentOverdue, CloudEvent]:
    golden = load_golden(PaymentOverdue)
    data = PaymentOverdue.model_validate({**golden.data, **changes})
    return data, golden.model_copy(update={"id": event_id, "data": data.model_dump(mode="json")})


class Recorder:
    """A handler that records what it applied and can be told to fail."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.failure: Exception | None = None

    async def __call__(self, data: Any, event: CloudEvent) -> bool:
        if self.failure is not None:
            raise self.failure
        if event.id in self.applied:
            return False
        self.applied.append(event.id)
        return True


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def guard() -> BusinessKeyGuard:
    return BusinessKeyGuard(InMemoryBusinessKeys(), ManualClock(NOW))


async def test_the_same_fact_under_a_new_event_id_is_a_duplicate(
    guard: BusinessKeyGuard, handler: Recorder
) -> None:
    guarded = guard.wrap(PaymentOverdue, handler)
    assert await guarded(*overdue("e-1")) is True
    assert await guarded(*overdue("e-2")) is False
    assert await guarded(*overdue("e-1")) is False  # a redelivery reaches the handler's guard
    assert handler.applied == ["e-1"]


async def test_volatile_fields_and_the_spelling_of_instants_do_not_make_a_new_fact(
    guard: BusinessKeyGuard, handler: Recorder
) -> None:
    guarded = guard.wrap(PaymentOverdue, handler)
    first, event = overdue("e-1")
    await guarded(first, event)
    due_elsewhere = first.due_date.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert await guarded(*overdue("e-2", days_overdue=45, due_date=due_elsewhere)) is False
    assert handler.applied == ["e-1"]


async def test_other_content_under_the_same_key_is_a_conflict_naming_both_events(
    guard: BusinessKeyGuard, handler: Recorder
) -> None:
    guarded = guard.wrap(PaymentOverdue, handler)
    await guarded(*overdue("e-1"))
    with pytest.raises(BusinessKeyConflict) as raised:
        await guarded(*overdue("e-2", amount_minor=1))
    assert raised.value.dlq_kind == "conflict"
    assert "e-1" in raised.value.reason
    assert "e-2" in raised.value.reason
    assert "invoice_id" in raised.value.reason
    assert handler.applied == ["e-1"]


@pytest.mark.parametrize(
    "failure", [Unprocessable("refused"), MissingPrerequisite("later"), ValueError("bug")]
)
async def test_a_fact_that_was_not_applied_gives_its_key_back(
    guard: BusinessKeyGuard, handler: Recorder, failure: Exception
) -> None:
    guarded = guard.wrap(PaymentOverdue, handler)
    handler.failure = failure
    with pytest.raises(type(failure)):
        await guarded(*overdue("e-1"))
    handler.failure = None
    assert await guarded(*overdue("e-2", amount_minor=1)) is True
    assert handler.applied == ["e-2"]


async def test_a_database_outage_keeps_the_key_for_the_retried_event(
    guard: BusinessKeyGuard, handler: Recorder
) -> None:
    guarded = guard.wrap(PaymentOverdue, handler)
    handler.failure = AutoReconnect("down")
    with pytest.raises(AutoReconnect):
        await guarded(*overdue("e-1"))
    handler.failure = None
    assert await guarded(*overdue("e-2")) is False  # the copy waits behind the holder
    assert await guarded(*overdue("e-1")) is True  # the retried holder applies
    assert handler.applied == ["e-1"]


async def test_a_type_without_a_natural_key_is_applied_per_event_id(
    guard: BusinessKeyGuard, handler: Recorder
) -> None:
    golden = load_golden(CustomerProfileUpdated)
    data = CustomerProfileUpdated.model_validate(golden.data)
    guarded = guard.wrap(CustomerProfileUpdated, handler)
    assert await guarded(data, golden.model_copy(update={"id": "p-1"})) is True
    assert await guarded(data, golden.model_copy(update={"id": "p-2"})) is True


def test_an_undeclared_business_key_cannot_be_consumed(guard: BusinessKeyGuard) -> None:
    class Undeclared(PaymentOverdue):
        business_key = None

    with pytest.raises(TypeError, match="declares no business key"):
        guard.wrap(Undeclared, Recorder())


async def test_the_consumer_dead_letters_a_conflict_with_kind_conflict(
    guard: BusinessKeyGuard, handler: Recorder
) -> None:
    publisher = FakePublisher()
    subject = consumer(publisher, concurrency=1)
    subject.on(PaymentOverdue, guard.wrap(PaymentOverdue, handler))
    for offset, (event_id, amount) in enumerate([("e-1", 100), ("e-2", 100), ("e-3", 7)]):
        _, event = overdue(event_id, amount_minor=amount)
        await subject.process(
            FakeRecord(PaymentOverdue.topic(), 0, offset, event.key, event.to_bytes())
        )

    assert handler.applied == ["e-1"]
    [(topic, _, headers)] = publisher.sent
    assert topic == PaymentOverdue.topic() + ".dlq"
    assert headers["dlq-kind"] == "conflict"
    assert "e-1" in headers["dlq-reason"]
    assert "e-3" in headers["dlq-reason"]
