"""Every consumed topic of every service, tried as a hostile producer would.

For each topic a service consumes (read from its own wiring), malformed records — bad
JSON, a schema violation, no ``specversion`` (structured and binary), a date outside the
range, a huge integer — each land in ``<topic>.dlq`` with a reason, and a later valid
record on the same topic still reaches its handler and applies (or is parked by the domain
until its prerequisite arrives — handled, never dead-lettered). The valid records travel in
CloudEvents *binary* content mode without the optional ``correlationid`` extension, as
Kafka Connect sends them.
One service process per service; all its topics in one test.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from crm_contacts.app import create_app as contacts_app
from crm_contacts.settings import ContactsSettings
from crm_events import REGISTRY, CloudEvent, EventData
from crm_events.examples import load_golden
from crm_events.offboarding import RelationshipEnded
from crm_events.schemas import payload_schema
from crm_feedback.app import create_app as feedback_app
from crm_feedback.settings import FeedbackSettings
from crm_insights.app import create_app as insights_app
from crm_insights.settings import InsightsSettings
from crm_loyalty.app import create_app as loyalty_app
from crm_loyalty.settings import LoyaltySettings
from crm_offboarding.app import create_app as offboarding_app
from crm_offboarding.settings import OffboardingSettings
from tests.support import Kafka, eventually, metric_total, serving

pytestmark = pytest.mark.integration
SERVICES = {
    "contacts": (ContactsSettings, contacts_app),
    "feedback": (FeedbackSettings, feedback_app),
    "loyalty": (LoyaltySettings, loyalty_app),
    "offboarding": (OffboardingSettings, offboarding_app),
    "insights": (InsightsSettings, insights_app),
}
OUT_OF_RANGE = "0587-04-10T19:42:06Z"
Malformed = tuple[str, bytes | None, list[tuple[str, bytes]], str]  # kind, value, headers, reason


def fields_of(model: type[EventData], wanted: Callable[[dict[str, Any]], bool]) -> list[str]:
    found = []
    for name, prop in payload_schema(model)["properties"].items():
        branches = [s for s in prop.get("anyOf", [prop]) if s.get("type") != "null"]
        if any(wanted(branch) for branch in branches):
            found.append(name)
    return found


def structured(golden: CloudEvent, **changes: Any) -> bytes:
    body = {**golden.model_dump(mode="json", exclude_none=True), **changes}
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def binary_headers(event: CloudEvent, *, without: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
    attrs = event.model_dump(mode="json", exclude_none=True, exclude={"data", "datacontenttype"})
    headers = [(f"ce_{k}", str(v).encode()) for k, v in attrs.items() if k not in without]
    return [*headers, ("content-type", b"application/json")]


def malformed(model: type[EventData]) -> list[Malformed]:
    golden = load_golden(model)
    dates = fields_of(model, lambda s: s.get("format") == "date-time")
    integers = fields_of(model, lambda s: s.get("type") == "integer")
    other = next(
        name for name in payload_schema(model)["properties"] if name != model.subject_field
    )
    cases: list[Malformed] = [
        ("bad-json", b'{"specversion": "1.0", "id": ', [], "not JSON"),
        # A map of lists: wrong for every field type of the catalogue ({"not": "this"} is a
        # valid AccountTeamChanged.members, employee id -> role).
        ("schema", structured(golden, data={**golden.data, other: {"not": ["this"]}}), [], other),
        ("no-specversion", structured(golden, specversion=None), [], "specversion"),
        (
            "binary-no-specversion",
            json.dumps(golden.data).encode(),
            binary_headers(golden, without=("specversion",)),
            "ce_specversion",
        ),
        ("envelope-date", structured(golden, time=OUT_OF_RANGE), [], "timestamp must lie"),
    ]
    if dates:
        data = {**golden.data, dates[0]: OUT_OF_RANGE}
        cases.append(("payload-date", structured(golden, data=data), [], "timestamp must lie"))
    if integers:
        data = {**golden.data, integers[0]: 10**40}
        cases.append(("huge-integer", structured(golden, data=data), [], "less than or equal"))
    return cases


def valid_binary(model: type[EventData]) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The golden example under a new id, binary mode, no correlationid extension."""
    event = load_golden(model).model_copy(update={"id": f"binary-{model.event_type()}"})
    if model is RelationshipEnded:
        # The golden end is the golden complaint's customer: feedback would close that
        # complaint and publish its own ComplaintResolved, which the golden one then meets
        # as a conflicting duplicate (rightly dead-lettered). Another customer's end keeps
        # this phase about the partition moving on.
        elsewhere = "cus-elsewhere"
        data = {**event.data, "customer_id": elsewhere}
        event = event.model_copy(update={"data": data, "subject": elsewhere})
    headers = binary_headers(event, without=("correlationid", "causationid"))
    return json.dumps(event.data).encode(), headers


HANDLED = ("applied", "unparked_applied", "parked", "duplicate")
SAMPLE = re.compile(r"^crm_events_consumed_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


async def outcomes(client: Any, ns: str) -> dict[str, Counter[str]]:
    """Records per topic (without the test's prefix) and outcome, from one ``/metrics``
    scrape (a scrape per topic and outcome took over a minute for insights' 60 topics)."""
    found: dict[str, Counter[str]] = {}
    for line in (await client.get("/metrics")).text.splitlines():
        sample = SAMPLE.match(line)
        if sample is not None:
            labels = dict(LABEL.findall(sample["labels"]))
            topic = labels["topic"].removeprefix(ns)
            found.setdefault(topic, Counter())[labels["outcome"]] += float(sample["value"])
    return found


def handled(seen: dict[str, Counter[str]], topic: str) -> float:
    """Records its handler took: applied, parked until the domain's prerequisite is seen,
    or found to change nothing (e.g. contacts records no risk for a customer another golden
    record already erased — the handler ran, the partition moved on)."""
    return sum(seen.get(topic, Counter())[outcome] for outcome in HANDLED)


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_malformed_records_on_every_consumed_topic_go_to_the_dlq_with_a_reason(
    service: str, make_settings: Callable[..., Any], kafka: Kafka, ns: str
) -> None:
    settings_class, create_app = SERVICES[service]
    app = create_app(make_settings(settings_class))
    topics = app.state.runtime.consumer.topics
    models = [REGISTRY.for_topic(topic.removeprefix(ns)) for topic in topics]
    bad = {model: malformed(model) for model in models}

    async with serving(app) as client:
        for model in models:  # catalogue order: registrations before what refers to them
            key = load_golden(model).key
            for _, value, headers, _ in bad[model]:
                await kafka.send_with_headers(ns + model.topic(), value, key=key, headers=headers)
            value, headers = valid_binary(model)
            await kafka.send_with_headers(ns + model.topic(), value, key=key, headers=headers)
        dead = {
            model: await kafka.read(ns + model.topic() + ".dlq", expected=len(bad[model]))
            for model in models
        }
        # Contacts consumes 17 topics (issue 8), insights every one: ~100 to ~400 hostile
        # records go first.
        topics_of = [model.topic() for model in models]
        try:
            seen = await eventually(
                lambda: outcomes(client, ns),
                lambda now: all(handled(now, topic) >= 1 for topic in topics_of),
                timeout=90,
            )
        except AssertionError as exc:
            now = await outcomes(client, ns)
            stalled = {t: dict(now.get(t, {})) for t in topics_of if handled(now, t) < 1}
            raise AssertionError(f"valid record not handled on {stalled}") from exc
        handled_count = {model: handled(seen, model.topic()) for model in models}
        # 10^40 and friends are refused by validation: no handler ever failed on them.
        handler_failures = await metric_total(client, "crm_handler_retries_total", "unexpected")
        seen = await outcomes(client, ns)
        dead_count = {model: seen[model.topic()]["dead_lettered"] for model in models}

    assert topics, f"{service} consumes nothing?"
    assert handler_failures == 0
    for model in models:
        reasons = [record.headers["dlq-reason"] for record in dead[model]]
        expected = [reason for _, _, _, reason in bad[model]]
        assert len(reasons) == len(expected), (model.topic(), reasons)
        for fragment, reason in zip(expected, reasons, strict=True):
            assert fragment in reason, (model.topic(), fragment, reason)
        assert handled_count[model] >= 1, model.topic()  # the partition moved on to the valid one
        assert dead_count[model] == len(expected), model.topic()  # and did not dead-letter it
