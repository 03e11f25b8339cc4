from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from pymongo import AsyncMongoClient

from tests.support import API_KEYS, Kafka, namespace, serving


@pytest.fixture
def ns() -> str:
    return namespace()


@pytest.fixture
def contacts_settings(infra: Any, ns: str) -> ContactsSettings:
    return ContactsSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        mongo_uri=infra.mongo_uri,
        mongo_database=f"contacts_{ns.strip('.')}",
        kafka_topic_prefix=ns,
        kafka_session_timeout_ms=3000,
        api_keys=API_KEYS,
        outbox_poll_interval_s=0.2,
        retry_initial_backoff_s=0.05,
        park_retry_s=0.2,
        sweep_interval_s=0.2,
        retry_max_backoff_s=0.5,
        log_level="WARNING",
    )


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
