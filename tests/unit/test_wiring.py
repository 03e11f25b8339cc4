"""Every service's real wiring, in process: each topic it consumes, published to FastStream's
``TestKafkaBroker``, goes through the batch subscriber and the consumer (decode, validate,
business key, parking) to a decision over the in-memory store — none is left unrouted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker

from crm_contacts.app import create_app as contacts_app
from crm_contacts.settings import ContactsSettings
from crm_events import EventData
from crm_events.examples import load_golden
from crm_feedback.app import create_app as feedback_app
from crm_feedback.settings import FeedbackSettings
from crm_insights.app import create_app as insights_app
from crm_insights.settings import InsightsSettings
from crm_loyalty.app import create_app as loyalty_app
from crm_loyalty.settings import LoyaltySettings
from crm_offboarding.app import create_app as offboarding_app
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.insights_rig import MemoryReadModels

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
SERVICES: dict[str, Callable[[InMemoryBackend], Any]] = {
    "contacts": lambda b: contacts_app(ContactsSettings(), ManualClock(NOW), store=b),
    "feedback": lambda b: feedback_app(FeedbackSettings(), ManualClock(NOW), store=b),
    "loyalty": lambda b: loyalty_app(LoyaltySettings(), ManualClock(NOW), store=b),
    "offboarding": lambda b: offboarding_app(OffboardingSettings(), ManualClock(NOW), store=b),
    "insights": lambda b: insights_app(
        InsightsSettings(), ManualClock(NOW), store=b, reads=MemoryReadModels(b)
    ),
}
# What reaching a decision looks like: stored, waiting for its prerequisite, or refused by
# the domain. Never "schema"/"envelope" (unrouted or unreadable) or a handler crash.
DECIDED = {"applied", "duplicate", "parked", "dead_lettered:rejected", "dead_lettered:conflict"}


def consumed(service: str) -> list[type[EventData]]:
    return list(SERVICES[service](InMemoryBackend()).state.runtime.consumed)


CASES = [(service, model) for service in SERVICES for model in consumed(service)]


def outcomes(runtime: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    for metric in runtime.metrics.registry.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name == "crm_events_consumed_total" and sample.value:
                found[labels["outcome"]] = sample.value
            if sample.name == "crm_events_dead_lettered_total" and sample.value:
                found[f"dead_lettered:{labels['kind']}"] = sample.value
    return found


@pytest.mark.parametrize(
    ("service", "model"), CASES, ids=[f"{s}:{m.event_type()}" for s, m in CASES]
)
async def test_every_consumed_topic_reaches_its_decision(
    service: str, model: type[EventData]
) -> None:
    backend = InMemoryBackend()
    runtime = SERVICES[service](backend).state.runtime
    event = load_golden(model)
    topic = runtime.settings.kafka_topic_prefix + model.topic()

    async with TestKafkaBroker(runtime.broker) as broker:
        await broker.publish(event.to_bytes(), topic=topic, key=event.subject.encode())

    found = outcomes(runtime)
    assert found, f"{model.topic()} reached no handler"
    assert set(found) - {"dead_lettered"} <= DECIDED, found
