"""Contacts' documents: the customer aggregate and its timeline entries — the only module
of this service that knows MongoDB (its indexes) and the stored shape."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from crm_contacts.domain import Customer, TimelineEntry
from crm_contacts.erasure import ERASED
from crm_runtime.mongo import OUTBOX_PENDING
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.store import VERSION, Backend, Write
from crm_runtime.timestamps import stamp, stamp_values, unstamp, unstamp_optional

CUSTOMERS, TIMELINE = "customers", "timeline"
_FIELDS = tuple(Customer.__dataclass_fields__)


class CustomerCodec:
    collection = CUSTOMERS

    def encode(self, customer: Customer) -> dict[str, Any]:
        doc = stamp_values(asdict(customer))
        del doc["customer_id"], doc["version"]  # the _id, and the store's own counter
        return doc

    def decode(self, doc: dict[str, Any]) -> Customer:
        fields = {name: doc[name] for name in _FIELDS if name in doc}
        fields["customer_id"] = doc["_id"]
        fields["registered_at"] = unstamp(doc["registered_at"])
        for name in ("exit_effective_at", "erased_at", "erasure_attested_at"):
            fields[name] = unstamp_optional(doc.get(name))
        fields["version"] = int(doc.get("version") or 1)
        return Customer(**fields)

    def entry(self, entry: TimelineEntry) -> tuple[str, dict[str, Any]]:
        return TIMELINE, {
            "_id": entry.entry_id,
            "customer_id": entry.customer_id,
            "kind": entry.kind,
            "occurred_at": stamp(entry.occurred_at),
            "details": entry.details,
        }


def timeline_entry(doc: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        entry_id=doc["_id"],
        customer_id=doc["customer_id"],
        kind=doc["kind"],
        occurred_at=unstamp(doc["occurred_at"]),
        details=doc.get("details") or {},
    )


async def timeline(
    backend: Backend, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
) -> list[TimelineEntry]:
    """Newest first; ``before`` is the (occurred_at, entry_id) of the last entry seen."""
    cursor = None if before is None else (stamp(before[0]), before[1])
    docs = await backend.page(
        TIMELINE,
        equals={"customer_id": customer_id},
        newest_by="occurred_at",
        before=cursor,
        limit=limit,
    )
    return [timeline_entry(doc) for doc in docs]


async def find_entry(backend: Backend, entry_id: str) -> TimelineEntry | None:
    doc = (await backend.load(TIMELINE, [entry_id])).get(entry_id)
    return None if doc is None else timeline_entry(doc)


ERASE_PAGE = 200


async def erase_timeline(backend: Backend, customer_id: str) -> int:
    """Overwrite the free text of the customer's contact entries; returns how many there
    are. Each entry is rewritten under its own version guard (an entry has none until its
    first rewrite), so running it again after a crash rewrites the same text again."""
    rewritten, before = 0, None
    for _ in range(1_000_000):  # bounded: each pass moves on or retries a changed page
        docs = await backend.page(
            TIMELINE,
            equals={"customer_id": customer_id, "kind": "contact"},
            newest_by="occurred_at",
            before=before,
            limit=ERASE_PAGE,
        )
        writes = [
            Write(d["_id"], int(d.get(VERSION) or 0), {"details.summary": ERASED}, [], False)
            for d in docs
        ]
        lost = await backend.write(TIMELINE, writes)
        if lost:  # an entry changed meanwhile: redo this page
            continue
        rewritten += len(docs)
        if len(docs) < ERASE_PAGE:
            return rewritten
        before = (docs[-1]["occurred_at"], docs[-1]["_id"])
    raise RuntimeError("timeline erasure did not finish")


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[TIMELINE].create_indexes(
        [
            # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
            IndexModel(
                [("customer_id", ASCENDING), ("occurred_at", DESCENDING)],
                name="timeline_newest_first",
            ),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    await db[CUSTOMERS].create_indexes(
        [
            IndexModel([("owner_id", ASCENDING)], name="by_owner"),
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="due", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
