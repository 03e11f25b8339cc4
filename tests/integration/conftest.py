from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from pymongo import AsyncMongoClient

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_runtime.settings import ServiceSettings
from tests.stack_fixture import service_kafka_settings
from tests.support import API_KEYS, Kafka, namespace, serving


@pytest.fixture
def ns() -> str:
    return namespace()


S = TypeVar("S", bound=ServiceSettings)


@pytest.fixture
def make_settings(infra: Any, ns: str) -> Callable[..., Any]:
    """Settings of any service for this test: its own topic prefix and database."""

    def make(cls: type[S], **overrides: Any) -> S:
        defaults = base_settings(infra, ns)
        service = cls.model_fields["service_name"].default
        defaults["mongo_database"] = f"{service}_{ns.strip('.')}"
        return cls(**{**defaults, **overrides})

    return make


def base_settings(infra: Any, ns: str) -> dict[str, Any]:
    return dict(
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        mongo_uri=infra.mongo_uri,
        kafka_topic_prefix=ns,
        **service_kafka_settings(),
        api_keys=API_KEYS,
        outbox_poll_interval_s=0.2,
        retry_initial_backoff_s=0.05,
        park_retry_s=0.2,
        sweep_interval_s=0.2,
        retry_max_backoff_s=0.5,
        log_level="WARNING",
    )


@pytest.fixture
def contacts_settings(make_settings: Callable[..., Any]) -> ContactsSettings:
    settings: ContactsSettings = make_settings(ContactsSettings)
    return settings


@pytest.fixture
async def kafka(infra: Any) -> AsyncIterator[Kafka]:
    async with Kafka(infra.kafka_bootstrap) as client:
        yield client


@pytest.fixture
async def mongo(infra: Any) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def contacts(contacts_settings: ContactsSettings) -> AsyncIterator[Any]:
    app = create_app(contacts_settings)
    async with serving(app) as client:
        client.app = app
        yield client
