"""Fixtures for the conformance suite: raw wire-protocol clients, one namespace per test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.support import namespace


@pytest.fixture
def ns() -> str:
    """A unique topic prefix (ends with '.') for one test."""
    return namespace()


@pytest.fixture
async def mongo(infra: Any) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def db(
    mongo: AsyncMongoClient[dict[str, Any]], ns: str
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database of its own (no dots: the stand-in cannot have dotted names)."""
    name = f"conf_{ns.strip('.')}"
    yield mongo[name]
    with contextlib.suppress(Exception):  # cleanup only; never masks the test outcome
        await mongo.drop_database(name)


@pytest.fixture
def bootstrap(infra: Any) -> str:
    return str(infra.kafka_bootstrap)
