"""The due-date sweeper against the real MongoDB protocol: order, idempotent moves, and one
broken timer not holding up the others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from crm_runtime.clock import ManualClock
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from crm_runtime.scheduler import NEXT_DUE_AT, DueDateSweeper
from crm_runtime.timestamps import stamp

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def timers(infra: Any, ns: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    collection = client[f"timers_{ns.strip('.')}"]["timers"]
    await collection.insert_many(
        [
            {"_id": "broken", NEXT_DUE_AT: stamp(T0 - timedelta(minutes=3))},
            {"_id": "first", NEXT_DUE_AT: stamp(T0 - timedelta(minutes=2))},
            {"_id": "second", NEXT_DUE_AT: stamp(T0)},
            {"_id": "later", NEXT_DUE_AT: stamp(T0 + timedelta(minutes=1))},
            {"_id": "no-timer"},
        ]
    )
    yield collection
    await client.drop_database(collection.database.name)
    await client.close()


async def test_due_documents_are_handled_in_order_and_a_broken_one_does_not_block(
    timers: Any,
) -> None:
    handled: list[str] = []

    async def handler(doc: dict[str, Any], now: datetime) -> None:
        if doc["_id"] == "broken":
            raise RuntimeError("bug in a timer handler")
        handled.append(doc["_id"])
        await timers.update_one({"_id": doc["_id"]}, {"$unset": {NEXT_DUE_AT: ""}})

    clock, metrics = ManualClock(T0), Metrics("test")
    sweeper = DueDateSweeper(
        "test", timers, handler, clock=clock, health=Health(), interval_s=1, metrics=metrics
    )

    first_sweep = await sweeper.sweep()
    second_sweep = await sweeper.sweep()
    clock.advance(timedelta(minutes=1))
    third_sweep = await sweeper.sweep()

    assert handled == ["first", "second", "later"]
    assert (first_sweep, second_sweep, third_sweep) == (2, 0, 1)
    failures = metrics.registry.get_sample_value(
        "crm_timer_failures_total", {"sweeper": "test", "error": "RuntimeError"}
    )
    assert failures == 3  # retried on every sweep, still due
    assert await timers.count_documents({NEXT_DUE_AT: {"$exists": True}}) == 1
