"""The lifecycle benchmark's machinery at a tiny size, so ``bench/lifecycle.py`` cannot rot:
20 customers' lifecycles published from outside into the four service processes, the case
desk concluding every case, and every expected effect counted. No timing is asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from bench import lifecycle
from tests.stack_fixture import kafka_engine

pytestmark = pytest.mark.e2e
CUSTOMERS, PACED = 20, 5


async def test_every_expected_effect_of_every_lifecycle_is_stored(infra: Any) -> None:
    options = lifecycle.Options(
        customers=CUSTOMERS, latency_customers=PACED, latency_rate=40, timeout_s=240, keep_data=True
    )
    report = await lifecycle.run_benchmark(
        options,
        kafka=infra.kafka_bootstrap,
        mongo_uri=infra.mongo_uri,
        on_tansu=kafka_engine() == "tansu",
    )
    throughput, paced = report["throughput"], report["latency"]
    assert throughput["events"] == CUSTOMERS * lifecycle.EVENTS_PER_CUSTOMER
    assert paced["latency_ms"]["all"]["n"] == PACED * lifecycle.EVENTS_PER_CUSTOMER
    assert report["dead_lettered"] == dict.fromkeys(lifecycle.SERVICES, 0)
    assert set(throughput["mongo_round_trips_per_event"]) == set(lifecycle.SERVICES)
    # The benchmark's own check passed (it raises otherwise); count again independently.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri)
    try:
        for (service, collection, flt), n in lifecycle.expected_counts(CUSTOMERS + PACED).items():
            database = client[f"bench_{report['session']}_{service}"]
            assert await database[collection].count_documents(json.loads(flt)) == n, (
                service,
                collection,
                flt,
            )
    finally:
        for service in lifecycle.SERVICES:
            await client.drop_database(f"bench_{report['session']}_{service}")
        await client.close()
