"""Business keys: declared once in the contracts, published in the schemas, and honoured by
every consumer of every service (DESIGN §4 "Business keys too")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from crm_contacts.app import create_app as contacts_app
from crm_contacts.settings import ContactsSettings
from crm_events import CATALOG, EventData
from crm_events.artefacts import SCHEMAS, artefact_root
from crm_events.contacts import AccountOwnerChanged, CustomerProfileUpdated
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintReassigned, ComplaintSlaBreached
from crm_events.loyalty import TierChanged
from crm_events.offboarding import OffboardingCaseReassigned
from crm_feedback.app import create_app as feedback_app
from crm_feedback.settings import FeedbackSettings
from crm_loyalty.app import create_app as loyalty_app
from crm_loyalty.settings import LoyaltySettings
from crm_offboarding.app import create_app as offboarding_app
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.business_keys import GuardedHandler

pytestmark = pytest.mark.unit

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "contacts": lambda: contacts_app(ContactsSettings()),
    "feedback": lambda: feedback_app(FeedbackSettings()),
    "loyalty": lambda: loyalty_app(LoyaltySettings()),
    "offboarding": lambda: offboarding_app(OffboardingSettings()),
}
# Consumed types that have no natural key, each with the reason it is safe without one.
NO_NATURAL_KEY: dict[type[EventData], str] = {
    CustomerProfileUpdated: "assigns the fields present; a second copy sets the same values",
    AccountOwnerChanged: "published only by contacts, under an id derived from its cause (the "
    "command or the departure): a re-publication carries the same id",
    ComplaintReassigned: "published only by feedback, under an id derived from the account move "
    "and the complaint: a re-publication carries the same id",
    OffboardingCaseReassigned: "published only by offboarding, under an id derived from the "
    "account move and the case: a re-publication carries the same id",
    TierChanged: "assigns the tier; a copy sets the same tier, an older change than the one "
    "held is ignored (contacts keeps the time of the tier it holds)",
}


def consumed_handlers(service: str) -> dict[type[EventData], Any]:
    runtime = SERVICES[service]().state.runtime
    assert isinstance(runtime, ServiceRuntime)
    return runtime.consumer.handlers


@pytest.mark.parametrize("model", CATALOG, ids=lambda m: m.__name__)
def test_every_event_type_declares_its_business_key_from_required_fields(
    model: type[EventData],
) -> None:
    assert model.business_key is not None, f"{model.__name__}: declare business_key (or ())"
    required = [model.model_fields[name].is_required() for name in model.business_key]
    # Only trailing parts may be optional: added to a published key, an absent one is left
    # out of the identity, so the facts published before keep theirs.
    first_optional = required.index(False) if False in required else len(required)
    assert all(not r for r in required[first_optional:]), f"{model.__name__}: optional inside"
    assert first_optional >= 1 or not required, f"{model.__name__}: no required key part"


def test_an_absent_optional_key_part_leaves_the_identity_as_it_was() -> None:
    first = load_golden(ComplaintSlaBreached).data
    breach = ComplaintSlaBreached.model_validate(first)
    again = ComplaintSlaBreached.model_validate({**first, "reopen_count": 1})

    assert breach.business_identity() == (
        f"{ComplaintSlaBreached.topic()}|{first['complaint_id']}|{first['clock']}"
    )
    assert again.business_identity() == f"{breach.business_identity()}|1"


@pytest.mark.parametrize("model", CATALOG, ids=lambda m: m.__name__)
def test_the_committed_schema_publishes_the_business_key(model: type[EventData]) -> None:
    path = artefact_root() / SCHEMAS / f"{model.event_type()}.json"
    schema = json.loads(path.read_text())
    assert schema["x-business-key"] == list(model.business_key or ())
    assert schema.get("x-business-key-ignores", []) == list(model.volatile_fields)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_consumed_event_type_has_a_natural_key_or_a_stated_reason(service: str) -> None:
    consumed = consumed_handlers(service)
    assert consumed, f"{service} consumes nothing?"
    keyless = {model for model in consumed if not model.business_key}
    assert keyless <= set(NO_NATURAL_KEY), f"{service} consumes keyless {keyless}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_consumer_routes_through_the_business_key_dedupe(service: str) -> None:
    for model, handler in consumed_handlers(service).items():
        assert isinstance(handler, GuardedHandler), f"{service} bypasses the key of {model}"
        assert handler.model is model
