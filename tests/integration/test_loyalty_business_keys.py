"""Issue 6, finding 5 on the wire: another system re-sends the same complaint and the same
overdue invoice under new event ids — the health score drops once for each — and then
sends contradicting copies, which land in `<topic>.dlq` as conflicts naming both ids."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events.contacts import CustomerRegistered
from crm_events.feedback import ComplaintRaised
from crm_events.inbound import PaymentOverdue
from tests.integration.loyalty_fixtures import (
    account_when,
    clock_fixture,  # noqa: F401  (fixture "clock")
    get,
    golden_bytes,
    loyalty_on_manual_clock_fixture,  # noqa: F401  (fixture "loyalty_on_manual_clock")
    loyalty_settings_fixture,  # noqa: F401  (fixture "loyalty_settings")
    read_topics,
    send,
)
from tests.support import Kafka, consumed, eventually

pytestmark = pytest.mark.integration


async def contributions_when(client: Any, count: int) -> dict[str, Any]:
    health = await eventually(
        lambda: get(client, "/accounts/cus-1001/health"),
        lambda h: h is not None and len(h["contributions"]) >= count,
    )
    assert health is not None
    return dict(health)


async def test_the_same_complaint_and_invoice_under_new_ids_lower_the_score_once(
    loyalty_on_manual_clock: Any, kafka: Kafka, ns: str, infra: Any
) -> None:
    loyalty = loyalty_on_manual_clock  # at the golden examples' time, so their facts count
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    await account_when(loyalty, "cus-1001", lambda a: True)  # nothing below has to park
    for event_id in ("cmp-a", "cmp-b"):
        complaint = golden_bytes(ComplaintRaised, event_id, severity="low")
        await send(kafka, ns, ComplaintRaised, complaint)
    for event_id, days in (("due-a", 17), ("due-b", 45)):  # finance re-sends as days add up
        await send(
            kafka, ns, PaymentOverdue, golden_bytes(PaymentOverdue, event_id, days_overdue=days)
        )
    await send(kafka, ns, ComplaintRaised, golden_bytes(ComplaintRaised, "cmp-c", severity="high"))
    await send(kafka, ns, PaymentOverdue, golden_bytes(PaymentOverdue, "due-c", amount_minor=1))

    dlq = [ns + ComplaintRaised.topic() + ".dlq", ns + PaymentOverdue.topic() + ".dlq"]
    found = await read_topics(infra.kafka_bootstrap, dlq, expected=2)
    health = await contributions_when(loyalty, 2)
    duplicates = await eventually(lambda: consumed(loyalty, "duplicate"), lambda n: n >= 2)

    assert sorted((c["code"], c["delta"]) for c in health["contributions"]) == [
        ("complaint_raised", -5),
        ("payment_overdue", -15),
    ]
    assert health["score"] == 70 - 5 - 15
    assert duplicates == 2
    for topic, (first, conflicting) in zip(
        dlq, [("cmp-a", "cmp-c"), ("due-a", "due-c")], strict=True
    ):
        [record] = found[topic]
        assert record.headers["dlq-kind"] == "conflict"
        assert first in record.headers["dlq-reason"]
        assert conflicting in record.headers["dlq-reason"]
