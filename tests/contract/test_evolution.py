"""Additive evolution and causality: what producers may add, what derived events inherit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crm_events import REGISTRY, CloudEvent, decode, deterministic_event_id
from crm_events.common import Severity
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, ComplaintSlaBreached
from crm_events.inbound import EmployeeDeparted, PurchaseRecorded
from crm_events.loyalty import PointsAwarded

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 5, 9, 15, 3, tzinfo=UTC)


def test_unknown_payload_fields_are_ignored() -> None:
    body = load_golden(ComplaintRaised).model_dump(mode="json")
    body["data"]["sentiment"] = "angry"
    payload = REGISTRY.parse(decode(json.dumps(body).encode()))
    assert isinstance(payload, ComplaintRaised)
    assert "sentiment" not in payload.model_dump()


def test_unknown_envelope_attributes_are_ignored() -> None:
    body = load_golden(ComplaintRaised).model_dump(mode="json")
    body["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event = decode(json.dumps(body).encode())
    assert event == load_golden(ComplaintRaised)


def test_missing_optional_payload_fields_are_fine() -> None:
    data = dict(load_golden(ComplaintRaised).data)
    del data["raised_at"]
    assert ComplaintRaised.model_validate(data).raised_at is None


def test_payloads_are_immutable() -> None:
    payload = ComplaintRaised.model_validate(load_golden(ComplaintRaised).data)
    with pytest.raises(ValueError, match="frozen"):
        payload.severity = Severity.LOW  # type: ignore[misc]


def test_derived_event_inherits_correlation_and_names_its_cause() -> None:
    cause = load_golden(ComplaintRaised)
    raised = REGISTRY.parse(cause)
    assert isinstance(raised, ComplaintRaised)
    breached = ComplaintSlaBreached(
        complaint_id=raised.complaint_id,
        customer_id=raised.customer_id,
        clock="resolution",
        due_at=raised.resolution_due_at,
        breached_at=NOW,
    ).to_event(source="/crm/feedback", cause=cause, time=NOW)
    assert breached.correlationid == cause.correlationid
    assert breached.causationid == cause.id
    assert breached.id != cause.id
    assert breached.type == "crm.feedback.complaint-sla-breached.v1"
    assert breached.subject == raised.customer_id


def test_root_event_correlates_with_itself_or_the_given_id() -> None:
    purchase = REGISTRY.parse(load_golden(PurchaseRecorded))
    root = purchase.to_event(source="/erp/orders")
    assert root.correlationid == root.id
    assert root.causationid is None
    assert purchase.to_event(source="/erp/orders", correlation_id="c-1").correlationid == "c-1"


def test_to_event_omits_absent_optionals_and_round_trips() -> None:
    awarded = PointsAwarded(
        entry_id="earn-1",
        customer_id="cus-1",
        points=10,
        reason="contact",
        source_event_id="evt-1",
        balance_after=10,
    )
    event = awarded.to_event(source="/crm/loyalty", event_id="evt-2", time=NOW)
    assert "expires_at" not in event.data
    assert event.data["multiplier_percent"] == 100
    again = decode(event.to_bytes())
    assert again == event
    assert REGISTRY.parse(again, topic="crm.loyalty.points-awarded") == awarded


def test_employee_fact_is_keyed_by_the_employee() -> None:
    event = load_golden(EmployeeDeparted)
    assert event.subject == event.data["employee_id"]
    assert event.key == event.data["employee_id"].encode()


def test_deterministic_event_ids_are_stable_and_distinct() -> None:
    first = deterministic_event_id("loyalty", "evt-1", "earn")
    assert first == deterministic_event_id("loyalty", "evt-1", "earn")
    assert first != deterministic_event_id("loyalty", "evt-2", "earn")


def test_envelope_serialises_with_offsets_and_without_nulls() -> None:
    event = load_golden(PurchaseRecorded)
    body = json.loads(event.to_bytes())
    assert "causationid" not in body
    assert body["time"].endswith("Z")
    assert isinstance(CloudEvent.model_validate(body), CloudEvent)
