"""Insights in-process against the real wire protocols: a customer's story published over
Kafka — duplicated, retried under new ids, reordered across topics — becomes one journey
and one set of KPI figures; a replay with a new consumer group gives the same figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events import CloudEvent, EventData
from crm_events.contacts import (
    CustomerRegistered,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
)
from crm_events.examples import load_golden
from crm_events.feedback import (
    ComplaintAcknowledged,
    ComplaintRaised,
    ComplaintResolved,
    SurveyAnswered,
)
from crm_events.inbound import PurchaseRecorded
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import OffboardingCaseOpened
from crm_insights.app import create_app
from crm_insights.settings import InsightsSettings
from tests.support import AGENT, Kafka, consumed, eventually, serving

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MONTH = {"period": "month", "from": "2026-03-01", "to": "2026-03-31"}


def event(
    model: type[EventData], at: datetime, cause: CloudEvent | None = None, **data: Any
) -> CloudEvent:
    payload = model.model_validate({**load_golden(model).data, **data})
    return payload.to_event(source="/test", time=at, cause=cause)


def story(customer: str) -> list[CloudEvent]:
    """Registration, a purchase 3 days later, a complaint handled in time, a survey, and a
    risk → case chain correlated with the complaint."""
    complaint = event(
        ComplaintRaised,
        T0 + timedelta(days=5),
        customer_id=customer,
        complaint_id=f"{customer}-k",
        raised_at=T0 + timedelta(days=5),
        first_response_due_at=T0 + timedelta(days=5, hours=4),
        resolution_due_at=T0 + timedelta(days=7),
    )
    risk = event(
        RiskDetected,
        T0 + timedelta(days=6),
        complaint,
        customer_id=customer,
        risk_id=f"{customer}-r",
        category="customer_performance",
    )
    return [
        event(CustomerRegistered, T0, customer_id=customer, display_name="李华"),
        event(
            PurchaseRecorded,
            T0 + timedelta(days=3),
            customer_id=customer,
            order_id=f"{customer}-o",
            purchased_at=T0 + timedelta(days=3),
        ),
        complaint,
        event(
            ComplaintAcknowledged,
            T0 + timedelta(days=5, hours=1),
            customer_id=customer,
            complaint_id=f"{customer}-k",
            acknowledged_at=T0 + timedelta(days=5, hours=1),
        ),
        event(
            ComplaintResolved,
            T0 + timedelta(days=6),
            customer_id=customer,
            complaint_id=f"{customer}-k",
            resolved_at=T0 + timedelta(days=6),
            within_sla=True,
        ),
        event(
            SurveyAnswered,
            T0 + timedelta(days=6, hours=2),
            customer_id=customer,
            survey_id=f"{customer}-s",
            csat=4,
            nps=9,
            answered_at=T0 + timedelta(days=6, hours=2),
        ),
        risk,
        event(
            OffboardingCaseOpened,
            T0 + timedelta(days=6, hours=1),
            risk,
            customer_id=customer,
            case_id=f"{customer}-c",
            risk_id=f"{customer}-r",
        ),
    ]


async def publish(kafka: Kafka, ns: str, events: list[CloudEvent]) -> None:
    for one in events:
        await kafka.send(ns + _topic(one), one.to_bytes(), key=one.subject.encode())


def _topic(one: CloudEvent) -> str:
    return one.type.rsplit(".", 1)[0]


async def journey(client: Any, customer: str) -> list[dict[str, Any]]:
    response = await client.get(f"/customers/{customer}/journey", headers=AGENT)
    return list(response.json()["items"]) if response.status_code == 200 else []


async def kpis(client: Any) -> dict[str, Any]:
    response = await client.get("/kpis", params=MONTH, headers=AGENT)
    assert response.status_code == 200, response.text
    return dict(response.json()["total"])


EXPECTED = {
    "new_customers": 2,
    "conversions": 1,
    "median_days_to_first_purchase": 3,
    "first_response_sla": 100.0,
    "resolution_sla": 100.0,
    "csat_average": 4.0,
    "nps": 100.0,
    "risks_by_category": {"customer_performance": 1},
    "cases_opened": 1,
    "complaint_rate": 100.0,  # 1 complaint / average active (0 at the start, 2 at the end)
}


def expected(figures: dict[str, Any]) -> bool:
    return all(figures.get(k) == v for k, v in EXPECTED.items())


async def test_a_story_over_kafka_is_one_journey_and_replays_to_the_same_figures(
    make_settings: Callable[..., Any], kafka: Kafka, ns: str
) -> None:
    settings: InsightsSettings = make_settings(InsightsSettings)
    events = story("cus-j1")
    retry = event(CustomerRegistered, T0, customer_id="cus-j1", display_name="李华")  # new id
    other = event(CustomerRegistered, T0 + timedelta(days=1), customer_id="cus-j2")
    # Reordered across topics (the case before its risk, the purchase first), and each
    # record delivered twice.
    shuffled = [events[1], events[7], *events[2:7], events[0], retry, other]
    async with serving(create_app(settings)) as client:
        await publish(kafka, ns, shuffled + shuffled)
        story_seen = await eventually(
            lambda: journey(client, "cus-j1"), lambda items: len(items) == len(events)
        )
        first = await eventually(lambda: kpis(client), expected)
        await eventually(lambda: consumed(client, "duplicate"), lambda n: n >= len(shuffled))

        chain = await client.get(f"/journeys/{events[2].id}", headers=AGENT, params={"lang": "zh"})
        assert chain.status_code == 200
        assert [i["service"] for i in chain.json()["items"]] == [
            "feedback",
            "loyalty",
            "offboarding",
        ]
        assert chain.json()["items"][0]["summary"].startswith("投诉")
    assert [i["at"] for i in story_seen] == sorted(i["at"] for i in story_seen)
    assert story_seen[0]["type"] == "CustomerRegistered"

    replay = make_settings(InsightsSettings, kafka_group_id=f"{ns}replay")
    async with serving(create_app(replay)) as client:  # same database: nothing changes
        await eventually(lambda: consumed(client, "duplicate"), lambda n: n >= len(shuffled))
        assert await kpis(client) == first
        assert len(await journey(client, "cus-j1")) == len(events)

    fresh = make_settings(
        InsightsSettings,
        kafka_group_id=f"{ns}rebuild",
        mongo_database=f"insights_{ns}rebuilt".replace(".", ""),
    )
    async with serving(create_app(fresh)) as client:  # an empty database rebuilt from offset 0
        await eventually(lambda: journey(client, "cus-j1"), lambda items: len(items) == len(events))
        assert await eventually(lambda: kpis(client), lambda f: f == first) == first


async def follow_ups(client: Any, **params: str) -> list[tuple[str, bool]]:
    response = await client.get("/queues/follow-ups", params=params, headers=AGENT)
    assert response.status_code == 200, response.text
    return [(q["follow_up_id"], q["overdue"]) for q in response.json()]


async def test_follow_ups_over_kafka_queue_overdue_first_and_leave_when_completed(
    make_settings: Callable[..., Any], kafka: Kafka, ns: str
) -> None:
    settings: InsightsSettings = make_settings(InsightsSettings)

    def fu(model: type[EventData], customer: str, days: int, **data: Any) -> CloudEvent:
        due = T0 + timedelta(days=days)
        return event(model, due, customer_id=customer, follow_up_id=f"fu-{customer}",
                     due_at=due, **data)  # fmt: skip

    later = fu(FollowUpScheduled, "cus-f1", 9, owner_id="emp-1")
    missed = [fu(FollowUpScheduled, "cus-f2", 2, owner_id="emp-1"),
              fu(FollowUpOverdue, "cus-f2", 2, owner_id="emp-1")]  # fmt: skip
    other_owner = fu(FollowUpOverdue, "cus-f3", 1, owner_id="emp-2")
    # Completed before its overdue and schedule arrive (three topics): never queued.
    done = [fu(FollowUpCompleted, "cus-f4", 1, employee_id="emp-1",
               completed_at=T0 + timedelta(days=3), on_time=False),
            fu(FollowUpOverdue, "cus-f4", 1, owner_id="emp-1"),
            fu(FollowUpScheduled, "cus-f4", 1, owner_id="emp-1")]  # fmt: skip
    records = [later, *missed, other_owner, *done]
    async with serving(create_app(settings)) as client:
        await publish(kafka, ns, records + records)
        await eventually(lambda: consumed(client, "duplicate"), lambda n: n >= len(records))
        mine = await follow_ups(client, owner_id="emp-1")
        assert mine == [("fu-cus-f2", True), ("fu-cus-f1", False)]
        assert await follow_ups(client) == [
            ("fu-cus-f3", True),  # overdue since day 1
            ("fu-cus-f2", True),  # overdue since day 2
            ("fu-cus-f1", False),
        ]
        completed = fu(FollowUpCompleted, "cus-f2", 2, employee_id="emp-1",
                       completed_at=T0 + timedelta(days=4), on_time=False)  # fmt: skip
        await publish(kafka, ns, [completed])
        await eventually(
            lambda: follow_ups(client, owner_id="emp-1"),
            lambda found: found == [("fu-cus-f1", False)],
        )
