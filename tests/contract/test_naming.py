"""Catalogue naming rules: topics, past-tense facts, unique names, documented fields."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from crm_events import CATALOG, REGISTRY, EventData
from crm_events.contacts import CONTACTS_EVENTS
from crm_events.feedback import FEEDBACK_EVENTS
from crm_events.inbound import INBOUND_EVENTS
from crm_events.loyalty import LOYALTY_EVENTS
from crm_events.offboarding import OFFBOARDING_EVENTS

pytestmark = pytest.mark.unit

TOPIC = re.compile(r"^crm\.(contacts|feedback|loyalty|offboarding|inbound)\.[a-z]+(-[a-z]+)*$")
# Irregular past participles a fact name may end with.
IRREGULAR_PAST = {"Made", "Held", "Paid", "Sent", "Won", "Lost", "Given", "Taken", "Done"}
# Facts whose last word is not a verb but that still state something that has happened.
NOT_ENDING_IN_ED = {
    # A warning *was issued*: the clock state "SLA warning" is the fact, like a notice.
    "ComplaintSlaWarning",
    # Read as "a payment (is) overdue": finance states a condition that has come about.
    "PaymentOverdue",
    # Same for the follow-up deadline that passed (FollowUpOverdue in contacts).
    "FollowUpOverdue",
    # A notice *was issued* that points are about to expire (the name issue 11 asked for).
    "PointsExpiring",
}


def test_catalogue_is_complete_and_grouped_by_context() -> None:
    groups = {
        "contacts": CONTACTS_EVENTS,
        "feedback": FEEDBACK_EVENTS,
        "loyalty": LOYALTY_EVENTS,
        "offboarding": OFFBOARDING_EVENTS,
        "inbound": INBOUND_EVENTS,
    }
    assert len(CATALOG) == sum(len(models) for models in groups.values()) == 61
    for context, models in groups.items():
        assert {model.context for model in models} == {context}


def test_topics_follow_the_naming_rule() -> None:
    for model in CATALOG:
        assert TOPIC.match(model.topic()), model.topic()
        assert model.event_type() == f"{model.topic()}.v{model.version}"


def test_event_names_are_past_tense_facts() -> None:
    for model in CATALOG:
        name = model.__name__
        last_word = re.findall(r"[A-Z][a-z]*", name)[-1]
        past = last_word.endswith("ed") or last_word in IRREGULAR_PAST
        assert past or name in NOT_ENDING_IN_ED, name
    assert {m.__name__ for m in CATALOG} >= NOT_ENDING_IN_ED, "stale allowlist entry"


def test_names_topics_and_types_are_unique() -> None:
    for key in (lambda m: m.__name__, lambda m: m.topic(), lambda m: m.event_type()):
        duplicates = [name for name, n in Counter(map(key, CATALOG)).items() if n > 1]
        assert duplicates == []
    assert sorted(REGISTRY.topics) == sorted(model.topic() for model in CATALOG)


@pytest.mark.parametrize("model", CATALOG, ids=lambda m: m.__name__)
def test_every_field_and_event_is_documented(model: type[EventData]) -> None:
    assert (model.__doc__ or "").strip(), f"{model.__name__} has no docstring"
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"


def test_every_event_has_its_subject_field() -> None:
    for model in CATALOG:
        field = model.model_fields[model.subject_field]
        assert field.is_required(), model.__name__
    employee_keyed = [m.__name__ for m in CATALOG if m.subject_field != "customer_id"]
    assert employee_keyed == ["EmployeeHandoverCompleted", "EmployeeDeparted"]


def test_money_and_points_are_integers_and_times_are_aware() -> None:
    for model in CATALOG:
        schema = model.model_json_schema()
        for name, prop in schema["properties"].items():
            options = prop.get("anyOf", [prop])
            types = {option.get("type") for option in options}
            assert "number" not in types, f"{model.__name__}.{name} is a float"
            if name.endswith(("_at", "_until", "_date")):
                assert any(o.get("format") == "date-time" for o in options), name
