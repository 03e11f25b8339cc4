"""Loyalty health and risk, and every consumer's duplicate and DLQ behaviour, on the wire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_events import EventData
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.feedback import ComplaintRaised, ComplaintSlaBreached, SurveyAnswered
from crm_events.inbound import ContractBreached, PaymentOverdue, PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import ExitAgreed, OffboardingCaseClosed
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.clock import ManualClock
from tests.integration.loyalty_fixtures import (
    account_when,
    clock_fixture,  # noqa: F401  (fixture "clock")
    get,
    golden_bytes,
    loyalty_fixture,  # noqa: F401  (fixture "loyalty")
    loyalty_on_manual_clock_fixture,  # noqa: F401  (fixture "loyalty_on_manual_clock")
    loyalty_settings_fixture,  # noqa: F401  (fixture "loyalty_settings")
    outbox_drained,
    payloads,
    read_topics,
    send,
)
from tests.support import Kafka, consumed, eventually

pytestmark = pytest.mark.integration
CONSUMED: list[type[EventData]] = [
    CustomerRegistered,
    PurchaseRecorded,
    PurchaseReturned,
    ContactLogged,
    ComplaintRaised,
    ComplaintSlaBreached,
    SurveyAnswered,
    PaymentOverdue,
    ContractBreached,
    ExitAgreed,
]


async def health_when(client: Any, customer_id: str, accept: Any) -> dict[str, Any]:
    found = await eventually(
        lambda: get(client, f"/accounts/{customer_id}/health"), lambda h: h and accept(h)
    )
    assert found is not None
    return dict(found)


async def test_health_falls_to_risk_detected_once_and_hard_signals_raise_at_once(
    loyalty_on_manual_clock: Any,
    clock: ManualClock,
    kafka: Kafka,
    ns: str,
    mongo: Any,
    loyalty_settings: LoyaltySettings,
    infra: Any,
) -> None:
    client = loyalty_on_manual_clock
    for customer in ("cus-1", "cus-2"):
        registration = golden_bytes(CustomerRegistered, f"reg-{customer}", customer_id=customer)
        await send(kafka, ns, CustomerRegistered, registration, key=customer)
        await account_when(client, customer, lambda a: True)  # nothing parks on this clock

    for n in range(3):  # critical complaints: 70 → 50 → 30 (risk) → 10
        complaint = golden_bytes(
            ComplaintRaised, f"cmp-evt-{n}", "cus-1", complaint_id=f"cmp-{n}", severity="critical"
        )
        await send(kafka, ns, ComplaintRaised, complaint, key="cus-1")
    await health_when(client, "cus-1", lambda h: h["score"] == 10)
    breach = golden_bytes(ComplaintSlaBreached, "breach-1", "cus-1", complaint_id="cmp-0")
    await send(kafka, ns, ComplaintSlaBreached, breach, key="cus-1")  # → 0, same episode
    await send(kafka, ns, PaymentOverdue, golden_bytes(PaymentOverdue, "due-1", "cus-2"), "cus-2")

    health = await health_when(client, "cus-1", lambda h: h["score"] == 0)
    assert health["risk"]["score"] == 30
    assert health["risk_episodes"] == 1
    assert [c["delta"] for c in health["contributions"]] == [-15, -20, -20, -20]
    assert health["contributions"][0]["reason"] == "complaint cmp-0: resolution deadline missed"
    hard = await health_when(client, "cus-2", lambda h: h["risk"] is not None)
    assert hard["risk"]["hard_signal"] == PaymentOverdue.event_type()

    await outbox_drained(mongo, loyalty_settings)
    topic = ns + RiskDetected.topic()
    risks = payloads((await read_topics(infra.kafka_bootstrap, [topic], expected=2))[topic])
    assert sorted((r["customer_id"], r.get("hard_signal")) for r in risks) == [
        ("cus-1", None),
        ("cus-2", "crm.inbound.payment-overdue.v1"),
    ]
    assert "health score 30 below threshold 40" in risks[0]["reasons"] + risks[1]["reasons"]

    clock.advance(timedelta(days=61))  # no contact or purchase since registration
    idle = await health_when(
        client, "cus-2", lambda h: any(c["code"] == "inactivity" for c in h["contributions"])
    )
    assert idle["score"] == 70 - 15 - 10


async def all_duplicates(client: Any) -> float:
    return await consumed(client, "duplicate") + await consumed(client, "unparked_duplicate")


async def test_every_consumer_ignores_duplicates_and_dead_letters_garbage(
    loyalty: Any, kafka: Kafka, ns: str, infra: Any
) -> None:
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    await account_when(loyalty, "cus-1001", lambda a: True)
    for model in CONSUMED:  # each golden example twice; the exit last
        value = golden_bytes(model, f"evt-{model.event_name()}")
        if model is ExitAgreed:
            await account_when(loyalty, "cus-1001", lambda a: a["balance"] == 79)
        await send(kafka, ns, model, value)
        await send(kafka, ns, model, value)
    duplicate = golden_bytes(PurchaseRecorded, "buy-again")  # same order, another event id
    negative = golden_bytes(PurchaseRecorded, "buy-bad", amount_minor=-1)
    for value in (b"{not json", duplicate, negative):
        await send(kafka, ns, PurchaseRecorded, value)
    # The same return (id) again under another event id, after the first was applied.
    await send(kafka, ns, PurchaseReturned, golden_bytes(PurchaseReturned, "return-again"))
    for model in CONSUMED:
        if model is not PurchaseRecorded:
            await send(kafka, ns, model, b'{"specversion": "1.0"}')

    dlq_topics = [ns + model.topic() + ".dlq" for model in CONSUMED]
    found = await read_topics(infra.kafka_bootstrap, dlq_topics, expected=11)
    account = await account_when(loyalty, "cus-1001", lambda a: a["status"] == "settled")
    # Every second copy, both copies of the registration under another event id, and the
    # same order and the same return under new event ids (same business key and content).
    duplicates = await eventually(lambda: all_duplicates(loyalty), lambda n: n >= 13)

    assert duplicates == 13
    assert account["settlement"]["points"] == 79
    reasons = {t: sorted(r.headers["dlq-reason"] for r in found[t]) for t in dlq_topics}
    purchase_dlq = ns + PurchaseRecorded.topic() + ".dlq"
    expected = ["payload invalid: amount_minor", "value is not JSON"]  # schema, envelope
    assert len(reasons[purchase_dlq]) == len(expected)
    for reason, fragment in zip(reasons[purchase_dlq], expected, strict=True):
        assert fragment in reason
    for topic in dlq_topics:
        if topic != purchase_dlq:
            assert len(reasons[topic]) == 1
            assert reasons[topic][0].startswith("invalid CloudEvents envelope"), reasons[topic]


async def test_a_closed_cases_review_strengthens_the_late_signal_once_on_the_wire(
    loyalty_on_manual_clock: Any, kafka: Kafka, ns: str
) -> None:
    """Issue 9's lessons learned: OffboardingCaseClosed over the broker (twice, and a
    non-preventable one) makes one new weights version; the next breach costs more."""
    client = loyalty_on_manual_clock
    before = await get(client, "/health/weights")
    review = {"preventable": True, "late_signals": ["crm.feedback.complaint-sla-breached.v1"]}
    lesson = golden_bytes(OffboardingCaseClosed, "closed-1", "cus-9", case_id="obc-9", **review)
    await send(kafka, ns, OffboardingCaseClosed, lesson, key="cus-9")
    await send(kafka, ns, OffboardingCaseClosed, lesson, key="cus-9")  # redelivered
    nothing = golden_bytes(
        OffboardingCaseClosed, "closed-2", "cus-8", case_id="obc-8", preventable=False
    )
    await send(kafka, ns, OffboardingCaseClosed, nothing, key="cus-8")
    # One applied; the redelivery and the review that teaches nothing change nothing.
    await eventually(
        lambda: consumed(client, "duplicate", OffboardingCaseClosed.topic()), lambda n: n >= 2
    )
    assert await consumed(client, "applied", OffboardingCaseClosed.topic()) == 1

    learned = await get(client, "/health/weights")
    assert learned["version"] == before["version"] + 1
    assert learned["weights"]["sla_breach"] == before["weights"]["sla_breach"] - 2
    assert learned["learning"]["case_id"] == "obc-9"
    assert learned["learning"]["adjustments"] == [
        {
            "weight": "sla_breach",
            "before": before["weights"]["sla_breach"],
            "after": learned["weights"]["sla_breach"],
        }
    ]

    registration = golden_bytes(CustomerRegistered, "reg-cus-7", customer_id="cus-7")
    await send(kafka, ns, CustomerRegistered, registration, key="cus-7")
    start = (await health_when(client, "cus-7", lambda h: True))["score"]
    breach = golden_bytes(ComplaintSlaBreached, "breach-7", "cus-7", complaint_id="cmp-7")
    await send(kafka, ns, ComplaintSlaBreached, breach, key="cus-7")
    after = await health_when(client, "cus-7", lambda h: h["score"] != start)
    assert after["score"] == start + learned["weights"]["sla_breach"]
