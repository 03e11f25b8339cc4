"""The runtime counts the MongoDB commands a service sends (``crm_mongo_commands_total``):
the round trips per event that the lifecycle benchmark reports per service."""

from __future__ import annotations

from typing import Any

import pytest

from crm_runtime.metrics import Metrics
from crm_runtime.mongo import CommandCounter, connect
from tests.support import namespace

pytestmark = pytest.mark.integration


def commands(metrics: Metrics, command: str, collection: str) -> float:
    value = metrics.registry.get_sample_value(
        "crm_mongo_commands_total", {"command": command, "collection": collection}
    )
    return value or 0.0


async def test_every_command_is_counted_by_command_and_collection(infra: Any) -> None:
    metrics = Metrics("probe")
    client = connect(
        infra.mongo_uri,
        timeout_ms=5000,
        app_name="probe",
        listeners=[CommandCounter(metrics.mongo_commands)],
    )
    database = client["metrics_" + namespace().strip(".")]
    try:
        await database["things"].insert_many([{"_id": "a"}, {"_id": "b"}])
        assert await database["things"].count_documents({}) == 2
        assert [d async for d in database["things"].find({"_id": "a"})] == [{"_id": "a"}]
        await database["things"].update_one({"_id": "a"}, {"$set": {"n": 1}})
    finally:
        await client.drop_database(database.name)
        await client.close()
    assert commands(metrics, "insert", "things") == 1  # one round trip for the batch
    assert commands(metrics, "find", "things") == 1
    assert commands(metrics, "update", "things") == 1
    assert commands(metrics, "aggregate", "things") == 1  # count_documents
    assert commands(metrics, "dropDatabase", "") == 1
