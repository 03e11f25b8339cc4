"""The feedback service as its own process on the system clock, driven through HTTP and
Kafka: a complaint raised on a Friday at 17:55, with the weekend and a Monday holiday
following, breaches exactly when its business calendar says; a pause across the reopening
moves the deadline by the business time paused; the CSAT request follows the resolution.

A process cannot be handed a manual clock, so the calendar is built around *now*: today is
the calendar's "Tuesday" (working from a few seconds ahead), yesterday its dated holiday
"Monday", the two days before its weekend and the day before those its "Friday" (working
until 18:00). The complaint is raised last "Friday" at 17:54:10 with a 6-minute
first-response target: 5 minutes 50 seconds on Friday, the last 10 seconds on "Tuesday"
after the opening (so the test waits seconds, not minutes, for the breach).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from crm_events import CloudEvent, decode
from crm_events.feedback import (
    ComplaintPaused,
    ComplaintResumed,
    ComplaintSlaBreached,
    SurveyRequested,
)
from tests.processes import ServiceProcess
from tests.stack_fixture import service_kafka_settings
from tests.support import AGENT, API_KEYS, Kafka, namespace

pytestmark = pytest.mark.e2e
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OPENS_IN = timedelta(seconds=20)


def local_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where it is daytime now, so "today" has room before midnight."""
    for hours in (0, 6, -6, 12, -12):
        zone = ZoneInfo("UTC" if hours == 0 else f"Etc/GMT{hours:+d}")
        if 2 <= now.astimezone(zone).hour < 21:
            return zone
    raise AssertionError("some offset is always daytime")


class Week:
    """The calendar around now, and the moments the test expects from it."""

    def __init__(self, now: datetime) -> None:
        self.zone = local_zone(now)
        local = now.astimezone(self.zone)
        self.today = local.date()
        opening = (local + OPENS_IN).replace(microsecond=0)
        self.opens_at = opening.astimezone(UTC)
        friday = self.today - timedelta(days=4)
        self.raised_at = datetime(
            friday.year, friday.month, friday.day, 17, 54, 10, tzinfo=self.zone
        ).astimezone(UTC)
        self.hours = {
            WEEKDAYS[friday.weekday()]: ["09:00-18:00"],
            WEEKDAYS[(self.today - timedelta(days=1)).weekday()]: ["09:00-18:00"],
            WEEKDAYS[self.today.weekday()]: [f"{opening:%H:%M:%S}-24:00"],
        }
        self.holiday = (self.today - timedelta(days=1)).isoformat()

    def calendar(self) -> dict[str, Any]:
        return {
            "time_zone": self.zone.key,
            "hours": self.hours,
            "holidays": [self.holiday],
        }


def settings(infra: Any, ns: str, week: Week) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "mongo_uri": infra.mongo_uri,
        "mongo_database": f"feedback_{ns.strip('.')}",
        "kafka_topic_prefix": ns,
        **service_kafka_settings(),
        "api_keys": json.dumps(API_KEYS),
        "outbox_poll_interval_s": 0.2,
        "sweep_interval_s": 0.2,
        "park_retry_s": 0.3,
        "sla_calendars": json.dumps({"e2e": week.calendar()}),
        "sla_calendar_by_severity": json.dumps({"high": "e2e"}),
        "sla_policy": json.dumps(
            {"high": {"first_response_minutes": 6, "resolution_minutes": 600}}
        ),
        "csat_delay_minutes": 0,
    }


@pytest.fixture
async def kafka(infra: Any) -> AsyncIterator[Kafka]:
    async with Kafka(infra.kafka_bootstrap) as client:
        yield client


async def one(kafka: Kafka, topic: str) -> CloudEvent:
    [record] = await kafka.read(topic, expected=1, timeout=120)
    return decode(record.value)


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_friday_evening_complaint_breaches_on_business_time_and_is_surveyed(
    infra: Any, kafka: Kafka
) -> None:
    ns = namespace()
    week = Week(datetime.now(UTC))
    service = ServiceProcess("feedback", "crm_feedback", settings(infra, ns, week))
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, headers=AGENT) as http:
            await scenario(http, kafka, ns, week)
    finally:
        service.stop()


async def scenario(http: httpx.AsyncClient, kafka: Kafka, ns: str, week: Week) -> None:
    raised = await http.post(
        "/complaints",
        json={
            "complaint_id": "cmp-fri",
            "customer_id": "cus-fri",
            "severity": "high",
            "category": "delivery",
            "channel": "phone",
            "description": "Parcel never arrived.",
            "owner_id": "emp-1",
            "raised_at": week.raised_at.isoformat(),
        },
    )
    assert raised.status_code == 201, raised.text
    deadline = week.opens_at + timedelta(seconds=10)  # 5:50 on Friday, 0:10 after the opening
    assert moment(raised.json()["clocks"]["first_response"]["due_at"]) == deadline

    paused = await http.post(
        "/complaints/cmp-fri/pause", json={"paused_by": "emp-1", "reason": "delivery note"}
    )
    assert paused.status_code == 200, paused.text
    await sleep_until(week.opens_at + timedelta(seconds=3))
    resumed = await http.post("/complaints/cmp-fri/resume", json={"resumed_by": "emp-1"})
    assert resumed.status_code == 200, resumed.text

    resume = await one(kafka, ns + ComplaintResumed.topic())
    resumed_at = moment(resume.data["resumed_at"])
    # Only the paused time after the opening was business time: the deadline moved by it.
    moved = deadline + (resumed_at - week.opens_at)
    assert moment(resume.data["first_response_due_at"]) == moved
    assert moment(resumed.json()["clocks"]["first_response"]["due_at"]) == moved
    assert (await one(kafka, ns + ComplaintPaused.topic())).data["reason"] == "delivery note"

    breach = await one(kafka, ns + ComplaintSlaBreached.topic())
    assert moment(breach.data["due_at"]) == moved
    assert moment(breach.data["breached_at"]) >= moved  # never before the calendar says

    resolved = await http.post(
        "/complaints/cmp-fri/resolve", json={"resolved_by": "team-lead", "resolution": "Resent."}
    )
    assert resolved.status_code == 200, resolved.text
    request = await one(kafka, ns + SurveyRequested.topic())
    assert (request.data["kind"], request.data["complaint_id"]) == ("csat", "cmp-fri")
    assert request.correlationid == breach.correlationid
