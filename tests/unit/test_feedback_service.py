"""Feedback's complaint use cases through the real wiring over the in-memory aggregate store
and a manual clock: no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from crm_events import CloudEvent, deterministic_event_id
from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintRaised
from crm_feedback import translate
from crm_feedback.service import ComplaintService, NewComplaint
from crm_runtime.clock import ManualClock
from crm_runtime.errors import Conflict, DomainError, NotFound, Unprocessable
from tests.unit.feedback_plugin import FEEDBACK_NOW as T0
from tests.unit.feedback_plugin import FEEDBACK_SOURCE as SOURCE
from tests.unit.feedback_plugin import Feedback

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)


@pytest.fixture
def service(feedback_unit: Feedback) -> ComplaintService:
    return feedback_unit.complaints


@pytest.fixture
def clock(feedback_unit: Feedback) -> ManualClock:
    return feedback_unit.clock


def new(complaint_id: str = "cmp-1", owner: str = "emp-1", customer: str = "cus-1") -> NewComplaint:
    return NewComplaint(
        complaint_id=complaint_id,
        customer_id=customer,
        severity=Severity.HIGH,
        category="billing",
        channel=Channel.PHONE,
        description="charged twice",
        owner_id=owner,
    )


def external_raise(complaint_id: str = "cmp-x", event_id: str = "ext-1") -> CloudEvent:
    data = ComplaintRaised(
        complaint_id=complaint_id,
        customer_id="cus-2",
        severity=Severity.CRITICAL,
        category="delivery",
        channel=Channel.CHAT,
        description="parcel lost",
        owner_id="emp-7",
        first_response_due_at=T0 + 2 * HOUR,
        resolution_due_at=T0 + 10 * HOUR,
    )
    return data.to_event(source="/call-centre", event_id=event_id, time=T0)


async def test_raise_stores_complaint_and_publishes_deadlines_from_policy(
    service: ComplaintService, feedback_unit: Feedback
) -> None:
    complaint = await service.raise_complaint(new(), "evt-raise")

    assert complaint.status == "open"
    assert complaint.next_due_at == T0 + timedelta(hours=3, minutes=12)
    [event] = feedback_unit.published()
    assert (event.id, event.type) == ("evt-raise", ComplaintRaised.event_type())
    assert event.data["first_response_due_at"] == "2026-03-02T13:00:00Z"
    assert event.data["resolution_due_at"] == "2026-03-03T09:00:00Z"
    assert event.data["raised_at"] == "2026-03-02T09:00:00Z"
    # The timer is decided with the state: the store keeps it for the sweeper.
    stored = feedback_unit.backend.docs("complaints")["cmp-1"]
    assert stored["next_due_at"] == "2026-03-02T12:12:00.000000Z"


async def test_raise_retried_with_the_same_event_is_harmless_and_a_taken_id_conflicts(
    service: ComplaintService, feedback_unit: Feedback
) -> None:
    await service.raise_complaint(new(), "evt-raise")
    await service.raise_complaint(new(), "evt-raise")

    assert len(feedback_unit.backend.docs("complaints")) == len(feedback_unit.published()) == 1
    with pytest.raises(Conflict, match="already exists"):
        await service.raise_complaint(new(), "evt-other")


async def test_raise_in_the_future_is_rejected(service: ComplaintService) -> None:
    request = replace(new(), raised_at=T0 + HOUR)
    with pytest.raises(DomainError, match="raised_at lies in the future"):
        await service.raise_complaint(request, "evt-raise")


def test_idempotency_key_gives_same_ids_per_customer(service: ComplaintService) -> None:
    assert service.new_complaint_id("cus-1", "k1") == service.new_complaint_id("cus-1", "k1")
    assert service.new_complaint_id("cus-1", "k1") != service.new_complaint_id("cus-1", "k2")
    # Two callers reusing a key for different customers never share a complaint.
    assert service.new_complaint_id("cus-1", "k1") != service.new_complaint_id("cus-2", "k1")
    assert service.new_complaint_id("cus-1", None) != service.new_complaint_id("cus-1", None)
    assert service.event_id("ack", "cmp-1", "k1") == service.event_id("ack", "cmp-1", "k1")


async def test_acknowledge_publishes_in_the_complaints_journey(
    service: ComplaintService, feedback_unit: Feedback, clock: ManualClock
) -> None:
    await service.raise_complaint(new(), "evt-raise")
    clock.advance(HOUR)

    acknowledged = await service.acknowledge("cmp-1", by="emp-1", event_id="evt-ack")
    retried = await service.acknowledge("cmp-1", by="emp-1", event_id="evt-ack")

    assert acknowledged.acknowledged_at == T0 + HOUR
    assert retried.version == acknowledged.version == 2
    published = feedback_unit.published()
    assert [e.id for e in published] == ["evt-raise", "evt-ack"]
    ack = published[1]
    assert (ack.correlationid, ack.causationid) == (published[0].correlationid, "evt-raise")
    with pytest.raises(Conflict, match="already acknowledged"):
        await service.acknowledge("cmp-1", by="emp-1", event_id="evt-ack-2")


async def test_commands_on_unknown_complaints_are_not_found(service: ComplaintService) -> None:
    with pytest.raises(NotFound, match="complaint nope not found"):
        await service.acknowledge("nope", by="emp-1", event_id="e")
    with pytest.raises(NotFound):
        await service.resolve("nope", by="emp-1", resolution="x", event_id="e")


async def test_sweeps_publish_each_warning_breach_and_escalation_once(
    service: ComplaintService, feedback_unit: Feedback, clock: ManualClock
) -> None:
    await service.raise_complaint(new(), "evt-raise")
    for hours in (3.5, 3.6, 4, 4.5, 20, 25, 30):
        clock.set(T0 + timedelta(hours=hours))
        await feedback_unit.sweep()
        await feedback_unit.sweep()  # a repeated sweep changes nothing

    outbox = feedback_unit.published()
    published = [(e.type.split(".")[2], e.data.get("clock")) for e in outbox[1:]]
    assert published == [
        ("complaint-sla-warning", "first_response"),
        ("complaint-sla-breached", "first_response"),
        ("complaint-escalated", None),
        ("complaint-sla-warning", "resolution"),
        ("complaint-sla-breached", "resolution"),
        ("complaint-escalated", None),
    ]
    breach, escalation = outbox[2], outbox[3]
    expected_id = deterministic_event_id(
        SOURCE, "complaint", "cmp-1", "first_response", "sla-breached"
    )
    assert breach.id == expected_id
    assert (breach.causationid, escalation.causationid) == ("evt-raise", breach.id)
    stored = await feedback_unit.stored("cmp-1")
    assert stored is not None
    assert (stored.owner_id, stored.escalation_level) == ("service-manager", 2)
    assert "next_due_at" not in feedback_unit.backend.docs("complaints")["cmp-1"]


async def test_resolve_after_breach_is_outside_the_sla_and_cannot_repeat(
    service: ComplaintService, feedback_unit: Feedback, clock: ManualClock
) -> None:
    await service.raise_complaint(new(), "evt-raise")
    clock.set(T0 + 25 * HOUR)
    await feedback_unit.sweep()

    resolved = await service.resolve("cmp-1", by="team-lead", resolution="refund", event_id="r1")

    assert resolved.within_sla is False
    assert resolved.first_response_within_sla is False
    assert feedback_unit.published()[-1].data["within_sla"] is False
    with pytest.raises(Conflict, match="already resolved"):
        await service.resolve("cmp-1", by="team-lead", resolution="again", event_id="r2")
    with pytest.raises(Conflict, match="cannot be acknowledged"):
        await service.acknowledge("cmp-1", by="team-lead", event_id="a1")


async def test_resolve_retried_after_a_lost_response_applies_once(
    service: ComplaintService, feedback_unit: Feedback, clock: ManualClock
) -> None:
    """Crash point: the write (state + event) landed, the HTTP response did not."""
    await service.raise_complaint(new(), "evt-raise")
    clock.advance(HOUR)
    resolved = await service.resolve("cmp-1", by="emp-1", resolution="refund", event_id="r1")
    clock.advance(HOUR)

    retried = await service.resolve("cmp-1", by="emp-1", resolution="refund", event_id="r1")

    assert retried == resolved
    assert retried.resolved_at == T0 + HOUR
    assert [e.id for e in feedback_unit.published()] == ["evt-raise", "r1"]


async def test_a_sweep_that_loses_a_race_publishes_nothing_twice(
    service: ComplaintService, feedback_unit: Feedback, clock: ManualClock
) -> None:
    """Two replicas sweep the same complaint from the same read: the second finds the sweep
    of that due moment applied and publishes nothing."""
    await service.raise_complaint(new(), "evt-raise")
    clock.set(T0 + 5 * HOUR)
    snapshot = await feedback_unit.stored("cmp-1")
    assert snapshot is not None

    await service.on_due(snapshot, clock.now())  # the replica that wins
    await service.on_due(snapshot, clock.now())  # the other one, from its stale read

    kinds = [e.type.split(".")[2] for e in feedback_unit.published()[1:]]
    assert kinds == ["complaint-sla-breached", "complaint-escalated"]
    stored = await feedback_unit.stored("cmp-1")
    assert stored is not None
    assert (stored.escalation_level, stored.owner_id) == (1, "team-lead")


async def test_a_stale_read_is_retried(service: ComplaintService, feedback_unit: Feedback) -> None:
    await service.raise_complaint(new(), "evt-raise")
    feedback_unit.backend.race("complaints", "cmp-1")  # another writer wins the first time

    acknowledged = await service.acknowledge("cmp-1", by="emp-1", event_id="evt-ack")

    assert acknowledged.acknowledged_by == "emp-1"
    assert acknowledged.version == 3  # the other writer's version, then ours
    assert [e.id for e in feedback_unit.published()] == ["evt-raise", "evt-ack"]


async def test_a_sweep_racing_a_command_is_re_decided_on_the_new_state(
    service: ComplaintService, feedback_unit: Feedback, clock: ManualClock
) -> None:
    """The sweeper read the complaint before it was acknowledged: no first-response breach."""
    await service.raise_complaint(new(), "evt-raise")
    clock.set(T0 + 5 * HOUR)
    snapshot = await feedback_unit.stored("cmp-1")
    assert snapshot is not None
    await service.acknowledge("cmp-1", by="emp-1", event_id="evt-ack")

    await service.on_due(snapshot, clock.now())

    assert [e.id for e in feedback_unit.published()] == ["evt-raise", "evt-ack"]


async def test_consumed_complaint_is_stored_once_with_its_own_deadlines(
    feedback_unit: Feedback,
) -> None:
    event = external_raise()

    assert await feedback_unit.deliver(event) == "applied"
    assert await feedback_unit.deliver(event) == "duplicate"

    stored = await feedback_unit.stored("cmp-x")
    assert stored is not None
    assert stored.clocks["first_response"].due_at == T0 + 2 * HOUR
    assert stored.clocks["resolution"].due_at == T0 + 10 * HOUR
    assert stored.raised_at == T0  # from the envelope when the payload has no raised_at
    assert feedback_unit.published() == []
    other = external_raise(event_id="ext-2")
    other = other.model_copy(update={"data": {**other.data, "owner_id": "emp-8"}})
    outcome = await feedback_unit.deliver(other)
    assert outcome.startswith("dlq:conflict: ")


async def test_our_own_relayed_raise_is_a_no_op(
    service: ComplaintService, feedback_unit: Feedback
) -> None:
    await service.raise_complaint(new(), "evt-raise")
    relayed = feedback_unit.published()[0]

    assert await feedback_unit.deliver(relayed) == "duplicate"
    assert len(feedback_unit.published()) == 1


async def test_consumed_complaint_with_contradictory_deadlines_is_unprocessable(
    service: ComplaintService, feedback_unit: Feedback
) -> None:
    event = external_raise()
    data = ComplaintRaised.model_validate(
        {**event.data, "resolution_due_at": (T0 + HOUR).isoformat()}
    )
    with pytest.raises(Unprocessable, match="resolution_due_at"):
        await service.filed(translate.complaint_filed(data, event))
    assert await feedback_unit.stored("cmp-x") is None


async def test_open_complaints_per_owner_and_customer_newest_first(
    service: ComplaintService, clock: ManualClock
) -> None:
    for n in range(3):
        await service.raise_complaint(new(f"cmp-{n}"), f"evt-{n}")
        clock.advance(HOUR)
    await service.raise_complaint(new("cmp-9", owner="emp-2", customer="cus-9"), "evt-9")
    await service.resolve("cmp-1", by="emp-1", resolution="done", event_id="r1")

    by_owner = await service.complaints_of_owner("emp-1", status="open", limit=10)
    by_customer = await service.complaints_of_customer("cus-1", status=None, limit=2)

    assert [c.complaint_id for c in by_owner] == ["cmp-2", "cmp-0"]
    assert [c.complaint_id for c in by_customer] == ["cmp-2", "cmp-1"]
