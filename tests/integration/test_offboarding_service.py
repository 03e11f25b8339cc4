"""Offboarding service in-process on the real wire protocols: risks in over Kafka, the
dissolution process driven over HTTP, its facts out over Kafka."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events.examples import load_golden
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    NegotiationRoundHeld,
    OffboardingCaseOpened,
    RetentionOfferMade,
)
from crm_offboarding.app import create_app
from crm_offboarding.domain import case_id_for
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.clock import ManualClock
from crm_runtime.timestamps import stamp
from tests.integration.offboarding_fixtures import (
    EXIT,
    NOW,
    RETAIN,
    ROUND,
    TERMINATE,
    cases_of,
    offboarding_fixture,  # noqa: F401  (fixture "offboarding")
    offboarding_settings_fixture,  # noqa: F401  (fixture "offboarding_settings")
    published,
    relayed,
    risk_record,
    send_risk,
    wait_for_case,
)
from tests.support import AGENT, MANAGER, SYSTEM, Kafka, consumed, eventually, serving

pytestmark = pytest.mark.integration


async def test_a_risk_delivered_twice_opens_one_case_and_a_second_risk_joins_it(
    offboarding: Any, kafka: Kafka, ns: str, mongo: Any, offboarding_settings: OffboardingSettings
) -> None:
    golden = load_golden(RiskDetected)

    await send_risk(kafka, ns, risk_record())
    await send_risk(kafka, ns, risk_record())
    await send_risk(kafka, ns, risk_record(event_id="evt-risk-2", risk_id="risk-8002"))

    [case] = await wait_for_case(offboarding, lambda c: bool(c) and len(c[0]["risks"]) == 2)
    assert [r["risk_id"] for r in case["risks"]] == ["risk-8001", "risk-8002"]
    assert case["state"] == "assessment"
    assert case["allowed"] == ["retain", "terminate"]
    assert await eventually(lambda: consumed(offboarding, "duplicate"), lambda n: n >= 1) == 1
    cases = mongo[offboarding_settings.mongo_database]["cases"]
    drained = await eventually(
        lambda: cases.count_documents({"outbox_pending": {"$exists": True}}), lambda n: n == 0
    )
    assert drained == 0
    # The outbox is drained and the relay counts every record it sent: exactly one opening.
    assert await relayed(offboarding, OffboardingCaseOpened) == 1
    [opened] = await published(kafka, ns, OffboardingCaseOpened)
    assert len(opened) == 1
    assert opened[0].subject == "cus-1001"
    assert opened[0].data["case_id"] == case["case_id"]
    assert opened[0].data["risk_id"] == "risk-8001"
    assert (opened[0].correlationid, opened[0].causationid) == (golden.correlationid, golden.id)


async def test_retain_journey_publishes_offer_round_and_retention(
    offboarding: Any, kafka: Kafka, ns: str
) -> None:
    await send_risk(kafka, ns, risk_record())
    [case] = await wait_for_case(offboarding)
    url = f"/cases/{case['case_id']}"
    retry = {**MANAGER, "Idempotency-Key": "offer-1"}

    offer = await offboarding.post(f"{url}/strategy", json=RETAIN, headers=retry)
    offer_again = await offboarding.post(f"{url}/strategy", json=RETAIN, headers=retry)
    held = await offboarding.post(f"{url}/negotiation-rounds", json=ROUND, headers=AGENT)
    retained = await offboarding.post(
        f"{url}/retention", json={"offer_accepted": True, "retained_by": "emp-301"}, headers=MANAGER
    )

    assert offer.status_code == offer_again.status_code == 200, offer.text
    assert offer.json()["state"] == "retention"
    assert offer_again.json()["version"] == offer.json()["version"]
    assert held.status_code == 201, held.text
    assert held.json()["rounds"][0]["round"] == 1
    assert retained.status_code == 200, retained.text
    assert retained.json()["state"] == "retained"
    offers, rounds, retentions = await published(
        kafka, ns, RetentionOfferMade, NegotiationRoundHeld, CustomerRetained
    )
    assert [e.data["value_minor"] for e in offers] == [8900]
    assert [e.data["round"] for e in rounds] == [1]
    assert retentions[0].data["offer_accepted"] is True
    assert retentions[0].causationid == rounds[0].id

    # Retained: the customer no longer holds an open case, so a new risk opens a new one.
    await send_risk(kafka, ns, risk_record(event_id="evt-risk-2", risk_id="risk-8002"))
    newest, retained_case = await wait_for_case(offboarding, lambda cases: len(cases) == 2)
    assert retained_case["case_id"] == case["case_id"]
    assert newest["state"] == "assessment"


async def test_terminate_journey_ends_in_exit_agreed_on_the_risk_journey(
    offboarding: Any, kafka: Kafka, ns: str, mongo: Any, offboarding_settings: OffboardingSettings
) -> None:
    risk = load_golden(RiskDetected)
    await send_risk(kafka, ns, risk_record())
    [case] = await wait_for_case(offboarding)
    url = f"/cases/{case['case_id']}"

    terminated = await offboarding.post(f"{url}/strategy", json=TERMINATE, headers=MANAGER)
    held = await offboarding.post(f"{url}/negotiation-rounds", json=ROUND, headers=MANAGER)
    agreed = await offboarding.post(f"{url}/exit", json=EXIT, headers=MANAGER)

    assert terminated.json()["termination"]["compensation_minor"] == 2500, terminated.text
    assert held.status_code == 201, held.text
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["state"] == "exit_agreed"
    assert agreed.json()["allowed"] == []
    opened, rounds, exits = await published(
        kafka, ns, OffboardingCaseOpened, NegotiationRoundHeld, ExitAgreed
    )
    [exit_agreed] = exits
    assert exit_agreed.data["terms"] == EXIT["terms"]
    assert exit_agreed.data["compensation_minor"] == 2000
    assert exit_agreed.data["effective_date"] == "2026-03-31T23:59:59Z"
    assert exit_agreed.data["agreed_by"] == "emp-301"
    assert exit_agreed.correlationid == risk.correlationid
    assert opened[0].causationid == risk.id
    assert rounds[0].causationid == opened[0].id
    assert exit_agreed.causationid == rounds[0].id
    # Sub-documents are stored in maps keyed by id, never in arrays; every timestamp, nested
    # ones included, is a stamp() string (BSON dates do not sort on the stand-in).
    stored = await mongo[offboarding_settings.mongo_database]["cases"].find_one()
    assert list(stored["rounds"]) == ["1"]
    assert list(stored["risks"]) == ["risk-8001"]
    assert stored["opened_at"] == stored["concluded_at"] == "2026-03-01T09:00:00.000000Z"
    assert stored["rounds"]["1"]["held_at"] == "2026-03-01T09:00:00.000000Z"
    assert stored["risks"]["risk-8001"]["detected_at"] == stamp(risk.time)
    assert stored["exit_agreement"]["effective_date"] == "2026-03-31T23:59:59.000000Z"
    assert stored["exit_agreement"]["follow_up_until"] == "2026-06-30T23:59:59.000000Z"


async def test_http_refuses_illegal_steps_wrong_roles_and_bad_requests(
    offboarding: Any, kafka: Kafka, ns: str
) -> None:
    await send_risk(kafka, ns, risk_record())
    [case] = await wait_for_case(offboarding)
    url = f"/cases/{case['case_id']}"

    too_early = await offboarding.post(f"{url}/exit", json=EXIT, headers=MANAGER)
    agent_strategy = await offboarding.post(f"{url}/strategy", json=RETAIN, headers=AGENT)
    system_round = await offboarding.post(f"{url}/negotiation-rounds", json=ROUND, headers=SYSTEM)
    anonymous = await offboarding.get(url)
    unknown = await offboarding.get("/cases/obc-nope", headers=SYSTEM)
    unknown_field = await offboarding.post(
        f"{url}/strategy", json={**RETAIN, "discount": 10}, headers=MANAGER
    )
    lapsed = await offboarding.post(
        f"{url}/strategy", json={**RETAIN, "valid_until": "2026-02-01T00:00:00Z"}, headers=MANAGER
    )

    assert too_early.status_code == 409
    assert too_early.json() == {
        "detail": "cannot conclude-exit from assessment",
        "state": "assessment",
        "allowed": ["retain", "terminate"],
    }
    assert agent_strategy.status_code == 403
    assert "allowed roles: manager" in agent_strategy.json()["detail"]
    assert system_round.status_code == 403
    assert anonymous.status_code == 401
    assert unknown.status_code == 404
    assert unknown_field.status_code == 422
    assert lapsed.status_code == 422
    assert lapsed.json()["detail"] == "valid_until must lie in the future"
    [unchanged] = await cases_of(offboarding)
    assert unchanged["version"] == case["version"]


async def test_malformed_risk_records_go_to_the_dlq_with_reasons_and_the_rest_applies(
    offboarding: Any, kafka: Kafka, ns: str, offboarding_settings: OffboardingSettings
) -> None:
    good = load_golden(RiskDetected)
    bad_category = good.model_copy(update={"data": {**good.data, "category": "weather"}})
    no_reasons = good.model_copy(update={"data": {**good.data, "reasons": []}})
    wrong_subject = good.model_copy(update={"subject": "cus-other"})
    malformed = [
        (b"{not json", "not JSON"),
        (bad_category.to_bytes(), "category"),
        (no_reasons.to_bytes(), "reasons"),
        (wrong_subject.to_bytes(), "subject"),
    ]

    for value, _ in malformed:
        await send_risk(kafka, ns, value)
    await send_risk(kafka, ns, risk_record())

    [case] = await wait_for_case(offboarding)
    dlq = await kafka.read(ns + RiskDetected.topic() + ".dlq", expected=len(malformed))
    assert case["risks"][0]["risk_id"] == "risk-8001"
    assert [record.value for record in dlq] == [value for value, _ in malformed]
    for record, (_, fragment) in zip(dlq, malformed, strict=True):
        assert fragment in record.headers["dlq-reason"], record.headers
        assert record.headers["dlq-original-topic"] == ns + RiskDetected.topic()
        assert record.headers["dlq-consumer-group"] == offboarding_settings.group_id


async def test_a_marker_left_by_a_crash_before_the_case_was_written_heals_on_redelivery(
    kafka: Kafka, ns: str, mongo: Any, offboarding_settings: OffboardingSettings
) -> None:
    golden = load_golden(RiskDetected)
    db = mongo[offboarding_settings.mongo_database]
    # The first delivery claimed the customer's marker, then the process died.
    await db["open_cases"].insert_one(
        {
            "_id": "cus-1001",
            "case_id": case_id_for(golden.id),
            "opening_event": risk_record().decode(),
        }
    )

    app = create_app(offboarding_settings, clock=ManualClock(NOW))
    async with serving(app) as client:
        await send_risk(kafka, ns, risk_record())  # the redelivery
        [case] = await wait_for_case(client)
        [opened] = await published(kafka, ns, OffboardingCaseOpened)

    assert case["case_id"] == case_id_for(golden.id)
    assert opened[0].data["case_id"] == case["case_id"]
    assert await db["open_cases"].count_documents({}) == 1
