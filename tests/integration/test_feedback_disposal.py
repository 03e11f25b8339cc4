"""Feedback's part of data disposal on the real wire protocols (issue 9): the erasure
request from Kafka anonymises the customer's complaints and survey answers, the HTTP views
show no free text left, the facts stay, and the attestation is published to Kafka once."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events import decode
from crm_events.offboarding import PersonalDataErased, PersonalDataErasureRequested
from tests.integration.feedback_fixtures import (
    external_complaint,
    external_survey,
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
    golden_record,
)
from tests.support import AGENT, Kafka, eventually

pytestmark = pytest.mark.integration
CUSTOMER = "cus-ext"


async def complaint_text(client: Any, complaint_id: str) -> str:
    response = await client.get(f"/complaints/{complaint_id}", headers=AGENT)
    return str(response.json().get("description"))


async def test_erasure_request_anonymises_complaints_and_surveys_and_attests_once(
    feedback: Any, kafka: Kafka, ns: str
) -> None:
    complaint = external_complaint("cc-1", "cmp-e1", description="Call me at home, 555-0101")
    await kafka.send(ns + "crm.feedback.complaint-raised", complaint, key=CUSTOMER.encode())
    survey = external_survey("sv-1", "srv-e1", customer_id=CUSTOMER, comment="My neighbour...")
    await kafka.send(ns + "crm.feedback.survey-answered", survey, key=CUSTOMER.encode())
    stored_text = await eventually(lambda: complaint_text(feedback, "cmp-e1"), lambda t: "555" in t)
    assert "555" in stored_text
    request = golden_record(PersonalDataErasureRequested, "erase-1", customer_id=CUSTOMER)
    for _ in range(2):
        await kafka.send(ns + PersonalDataErasureRequested.topic(), request, key=CUSTOMER.encode())

    [attestation] = await kafka.read(ns + PersonalDataErased.topic(), expected=1)
    stored = (await feedback.get("/complaints/cmp-e1", headers=AGENT)).json()
    answers = (await feedback.get(f"/customers/{CUSTOMER}/surveys", headers=AGENT)).json()

    erased = decode(attestation.value)
    assert (erased.data["service"], erased.data["records"]) == ("feedback", 2)
    assert stored["description"] == "[erased]"
    assert (stored["severity"], stored["category"]) == ("high", "billing")
    [answer] = answers["items"]
    assert answer["comment"] is None
    assert "555-0101" not in str(stored)
