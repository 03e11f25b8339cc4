"""The parking lot against the real MongoDB protocol: a redelivered record is parked once,
but a different record at a reused offset is never dropped as its duplicate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_runtime.parking import ParkingLot

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


async def test_a_different_record_at_a_reused_offset_is_parked_too(mongo: Any, ns: str) -> None:
    database = f"parking_{ns.strip('.')}"
    lot = ParkingLot(
        mongo[database]["parked_events"], retry_every=timedelta(seconds=1), grace=timedelta(1)
    )
    await lot.ensure_indexes()
    first = Record("crm.contacts.contact-logged", 0, 7, b"cus-1", b'{"id": "e1"}')
    # The topic was recreated (or the in-memory broker restarted): offset 7 again, new event.
    second = Record("crm.contacts.contact-logged", 0, 7, b"cus-2", b'{"id": "e2"}')
    try:
        await lot.park(first, "unknown customer cus-1", T0)
        await lot.park(first, "unknown customer cus-1", T0)  # redelivery: parked once
        await lot.park(second, "unknown customer cus-2", T0)
        docs = await lot.collection.find({}).to_list()
    finally:
        await mongo.drop_database(database)

    assert sorted(doc["value"] for doc in docs) == ['{"id": "e1"}', '{"id": "e2"}']
    assert {lot.record_of(doc).key for doc in docs} == {b"cus-1", b"cus-2"}
