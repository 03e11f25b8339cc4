"""The parking lot against the real MongoDB protocol: a redelivered record is parked once,
a different record at a reused offset is never dropped as its duplicate, and a key's
sequence is found, loaded in order, rescheduled and released with one query each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_runtime.parking import ParkingLot, parked_document, record_of
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TOPIC = "crm.contacts.contact-logged"


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


def parked(record: Record, position: int) -> dict[str, Any]:
    return parked_document(record, "unknown customer", T0, position=position, grace=timedelta(1))


@pytest.fixture
async def lot(mongo: Any, ns: str) -> AsyncIterator[ParkingLot]:
    database = f"parking_{ns.strip('.')}"
    parking = ParkingLot(
        mongo[database]["parked_events"], retry_every=timedelta(seconds=1), grace=timedelta(1)
    )
    await parking.ensure_indexes()
    yield parking
    await mongo.drop_database(database)


async def test_a_different_record_at_a_reused_offset_is_parked_too(lot: ParkingLot) -> None:
    first = Record(TOPIC, 0, 7, b"cus-1", b'{"id": "e1"}')
    # The topic was recreated (or the in-memory broker restarted): offset 7 again, new event.
    second = Record(TOPIC, 0, 7, b"cus-2", b'{"id": "e2"}')

    await lot.store([parked(first, 0)])
    await lot.store([parked(first, 0), parked(second, 0)])  # redelivery: first parked once
    docs = await lot.collection.find({}).to_list()

    assert sorted(doc["value"] for doc in docs) == ['{"id": "e1"}', '{"id": "e2"}']
    assert {record_of(doc).key for doc in docs} == {b"cus-1", b"cus-2"}


async def test_a_keys_sequence_is_found_loaded_in_order_rescheduled_and_released(
    lot: ParkingLot,
) -> None:
    records = [Record(TOPIC, n % 2, 10 + n, b"cus-1", b'{"n": %d}' % n) for n in range(5)]
    docs = [parked(record, position) for position, record in enumerate(records)]
    docs[0][NEXT_DUE_AT] = stamp(T0)
    await lot.store([docs[n] for n in (3, 0, 4, 1, 2)])  # stored order is not the order
    await lot.store([parked(Record(TOPIC, 0, 1, b"cus-2", b"{}"), 0)])

    blocked = await lot.blocked(["cus-1", "cus-2", "cus-3"])
    loaded = await lot.load("cus-1")
    await lot.due(loaded[2]["_id"], T0 + timedelta(seconds=1))
    await lot.release([doc["_id"] for doc in loaded[:2]])
    left = await lot.load("cus-1")

    assert blocked == {"cus-1", "cus-2"}
    assert [record_of(doc).value for doc in loaded] == [r.value for r in records]
    assert [doc["position"] for doc in left] == [2, 3, 4]
    assert left[0][NEXT_DUE_AT] == stamp(T0 + timedelta(seconds=1))
    assert await lot.blocked([]) == set()
