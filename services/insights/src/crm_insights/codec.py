"""Insights' documents — the only module of this service that knows MongoDB.

- ``customers``: one aggregate per customer (``CustomerFacts``), ``subjects`` one per other
  subject (an employee);
- ``journey``: one entry per event (``_id`` = event id), payload kept for the summary;
- ``kpi_deltas``: each event's KPI contribution (``_id`` = event id), ``pending`` until
  folded into ``kpi_buckets`` (``_id`` = ``<period>:<start>``, counters ``n:<metric>``).

Folding is exactly-once without transactions: each bucket's ``$inc`` is guarded by a
marker of the delta (``folded.<delta>`` must not exist; a lost guard makes the upsert fail
with E11000 = already folded), then the delta leaves ``pending``, then the markers go.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from crm_insights import queues
from crm_insights.domain import (
    PERSONAL_FIELDS,
    Case,
    Complaint,
    CustomerFacts,
    FollowUp,
    JourneyEntry,
    KpiDelta,
    SubjectFacts,
)
from crm_insights.kpis import ALL, Bucket, Period
from crm_runtime.keys import map_key
from crm_runtime.store import Backend
from crm_runtime.timestamps import stamp, stamp_values, unstamp, unstamp_optional

CUSTOMERS, SUBJECTS, JOURNEY = "customers", "subjects", "journey"
KPI_DELTAS, KPI_BUCKETS = "kpi_deltas", "kpi_buckets"
DUPLICATE_KEY = 11000
# Counters are top-level fields ``n:<metric>``: the MongoDB stand-in stores a dotted
# ``$inc`` path of an upsert's insert as one literal field name (``"c.x"``), not nested.
COUNTER = "n:"
_TIMES = (
    "registered_at",
    "first_purchase_at",
    "balance_at",
    "last_event_at",
    "erasure_requested_at",
    "account_owner_at",
)
# Top-level, indexed: when the customer's most urgent queue item is due; NONE when it has
# none (a string, so one range query finds every customer that has one).
ATTENTION_AT, CASES_SINCE, NONE = "attention_at", "cases_since", "~"
# The most urgent open follow-up: "0|<due>" when overdue, "1|<due>" when not yet (overdue
# first, then the oldest due), NONE without one; its owner beside it for the owner's queue.
FOLLOW_UP_AT, FOLLOW_UP_OWNER = "follow_up_at", "follow_up_owner"


class CustomerCodec:
    collection = CUSTOMERS

    def encode(self, state: CustomerFacts) -> dict[str, Any]:
        doc = stamp_values(asdict(state))
        del doc["customer_id"], doc["version"]
        doc["complaints"] = {
            map_key(cid): {"id": cid, **stamp_values(asdict(c))}
            for cid, c in state.complaints.items()
        }
        doc["cases"] = {
            map_key(cid): {"id": cid, **stamp_values(asdict(c))} for cid, c in state.cases.items()
        }
        doc["name_key"] = (state.name or "").casefold() or None
        attention, since = queues.attention_at(state), queues.cases_since(state)
        doc[ATTENTION_AT] = NONE if attention is None else stamp(attention)
        doc[CASES_SINCE] = NONE if since is None else stamp(since)
        doc["follow_ups"] = {
            map_key(fid): {"id": fid, **stamp_values(asdict(f))}
            for fid, f in state.follow_ups.items()
        }
        return doc | follow_up_rank(state)

    def decode(self, doc: dict[str, Any]) -> CustomerFacts:
        fields = {k: doc[k] for k in CustomerFacts.__dataclass_fields__ if k in doc}
        for name in _TIMES:
            fields[name] = unstamp_optional(doc.get(name))
        fields["complaints"] = {
            c["id"]: _complaint(c) for c in (doc.get("complaints") or {}).values()
        }
        fields["cases"] = {c["id"]: _case(c) for c in (doc.get("cases") or {}).values()}
        fields["follow_ups"] = {
            f["id"]: _follow_up(f) for f in (doc.get("follow_ups") or {}).values()
        }
        fields["ended"] = bool(doc.get("ended"))
        fields["lost"] = bool(doc.get("lost"))
        fields["converted"] = bool(doc.get("converted"))
        fields["erased"] = bool(doc.get("erased"))
        fields["customer_id"] = doc["_id"]
        fields["version"] = int(doc.get("version") or 1)
        return CustomerFacts(**fields)

    def entry(self, entry: JourneyEntry | KpiDelta) -> tuple[str, dict[str, Any]]:
        return entry_document(entry)


class SubjectCodec:
    collection = SUBJECTS

    def encode(self, state: SubjectFacts) -> dict[str, Any]:
        return {"events": state.events}

    def decode(self, doc: dict[str, Any]) -> SubjectFacts:
        return SubjectFacts(doc["_id"], int(doc.get("events") or 0), int(doc.get("version") or 1))

    def entry(self, entry: JourneyEntry | KpiDelta) -> tuple[str, dict[str, Any]]:
        return entry_document(entry)


def _complaint(doc: dict[str, Any]) -> Complaint:
    return Complaint(
        raised_at=unstamp_optional(doc.get("raised_at")),
        first_response_due_at=unstamp_optional(doc.get("first_response_due_at")),
        acknowledged_at=unstamp_optional(doc.get("acknowledged_at")),
        resolved_at=unstamp_optional(doc.get("resolved_at")),
        resolution_due_at=unstamp_optional(doc.get("resolution_due_at")),
        first_response_counted=bool(doc.get("first_response_counted")),
        resolution_counted=bool(doc.get("resolution_counted")),
        severity=doc.get("severity"),
        owner_id=doc.get("owner_id"),
        warned=bool(doc.get("warned")),
        breached=bool(doc.get("breached")),
    )


def _case(doc: dict[str, Any]) -> Case:
    return Case(
        stage=doc["stage"],
        next_action=doc["next_action"],
        since=unstamp(doc["since"]),
        due_at=unstamp_optional(doc.get("due_at")),
    )


def _follow_up(doc: dict[str, Any]) -> FollowUp:
    return FollowUp(
        owner_id=doc["owner_id"],
        due_at=unstamp(doc["due_at"]),
        owner_at=unstamp(doc["owner_at"]),
        overdue=bool(doc.get("overdue")),
        done=bool(doc.get("done")),
    )


def follow_up_rank(state: CustomerFacts) -> dict[str, Any]:
    """The indexed fields of the follow-up queue (the customer's most urgent one)."""
    found = queues.open_follow_ups(state)
    if not found:
        return {FOLLOW_UP_AT: NONE, FOLLOW_UP_OWNER: None}
    _, first = found[0]
    return {
        FOLLOW_UP_AT: f"{0 if first.overdue else 1}|{stamp(first.due_at)}",
        FOLLOW_UP_OWNER: first.owner_id,
    }


def entry_document(entry: JourneyEntry | KpiDelta) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, KpiDelta):
        return KPI_DELTAS, {"_id": entry.delta_id, "increments": entry.increments, "pending": 1}
    return JOURNEY, {
        "_id": entry.entry_id,
        "customer_id": entry.customer_id,
        "subject": entry.subject,
        "service": entry.service,
        "type": entry.event_type,
        "at": stamp(entry.at),
        "correlation_id": entry.correlation_id,
        "causation_id": entry.causation_id,
        "data": entry.data,
        "erased": entry.erased,
    }


def journey_entry(doc: dict[str, Any]) -> JourneyEntry:
    return JourneyEntry(
        entry_id=doc["_id"],
        customer_id=doc.get("customer_id"),
        subject=doc.get("subject") or doc.get("customer_id") or "",
        service=doc["service"],
        event_type=doc["type"],
        at=unstamp(doc["at"]),
        correlation_id=doc["correlation_id"],
        causation_id=doc.get("causation_id"),
        data=dict(doc.get("data") or {}),
        erased=bool(doc.get("erased")),
    )


async def journey_page(
    backend: Backend, field: str, value: str, *, limit: int, before: tuple[datetime, str] | None
) -> list[JourneyEntry]:
    """Newest first; ``before`` is the (time, event id) of the oldest entry already seen."""
    cursor = None if before is None else (stamp(before[0]), before[1])
    docs = await backend.page(
        JOURNEY, equals={field: value}, newest_by="at", before=cursor, limit=limit
    )
    return [journey_entry(doc) for doc in docs]


class MongoReadModels:
    """The queries and folds that go beyond the aggregate store's backend."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def search(self, text: str, limit: int) -> list[dict[str, Any]]:
        """Customers whose id or name starts with ``text``: one query on two indexes."""
        key = text.casefold()
        cursor = (
            self.db[CUSTOMERS]
            .find(
                {
                    "$or": [
                        {"_id": {"$gte": text, "$lt": text + "\uffff"}},
                        {"name_key": {"$gte": key, "$lt": key + "\uffff"}},
                    ]
                },
                {"name": 1, "customer_class": 1, "lost": 1, "last_event_at": 1, "events": 1},
            )
            .limit(limit)
        )
        return [doc async for doc in cursor]

    async def buckets(self, period: Period, first: date) -> tuple[list[Bucket], dict[str, int]]:
        """Two round trips: the period's buckets from ``first`` on, and the all-time levels."""
        cursor = self.db[KPI_BUCKETS].find(
            {"period": period, "start": {"$gte": first.isoformat()}}, {"folded": 0}
        )
        found = [Bucket(date.fromisoformat(d["start"]), _counts(d)) async for d in cursor]
        totals = await self.db[KPI_BUCKETS].find_one({"_id": ALL}, {"folded": 0})
        return found, dict(_counts(totals or {}))

    async def fold(self, limit: int) -> int:
        """Fold up to ``limit`` pending deltas into their buckets, each exactly once."""
        deltas = await self.db[KPI_DELTAS].find({"pending": 1}).limit(limit).to_list()
        if not deltas:
            return 0
        folds = [
            (d["_id"], bucket, incs) for d in deltas for bucket, incs in d["increments"].items()
        ]
        await self._guarded_increments(folds)
        ids = [d["_id"] for d in deltas]
        await self.db[KPI_DELTAS].update_many({"_id": {"$in": ids}}, {"$unset": {"pending": ""}})
        await self.db[KPI_BUCKETS].bulk_write(
            [
                UpdateOne({"_id": bucket}, {"$unset": {f"folded.{map_key(delta)}": ""}})
                for delta, bucket, _ in folds
            ],
            ordered=False,
        )
        return len(deltas)

    async def _guarded_increments(self, folds: list[tuple[str, str, dict[str, int]]]) -> None:
        operations = []
        for delta, bucket, incs in folds:
            marker = f"folded.{map_key(delta)}"
            period, _, start = bucket.partition(":")
            operations.append(
                UpdateOne(
                    {"_id": bucket, marker: {"$exists": False}},
                    {
                        "$inc": {COUNTER + metric: n for metric, n in incs.items()},
                        "$set": {marker: 1, "period": period, "start": start},
                    },
                    upsert=True,
                )
            )
        try:
            await self.db[KPI_BUCKETS].bulk_write(operations, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise  # only "already folded" is expected

    async def queue(
        self, field: str, limit: int, equals: dict[str, str] | None = None
    ) -> list[CustomerFacts]:
        """Customers with a queue item (``equals``: of one owner), most urgent first: one
        query on one index."""
        cursor = (
            self.db[CUSTOMERS]
            .find({**(equals or {}), field: {"$lt": NONE}}, {"applied": 0, "outbox": 0})
            .sort(field, ASCENDING)
            .limit(limit)
        )
        return [CustomerCodec().decode(doc) async for doc in cursor]

    async def erase_journey(self, customer_id: str) -> None:
        """Strip personal data from every stored journey entry of the customer."""
        await self.db[JOURNEY].update_many(
            {"customer_id": customer_id},
            {
                "$unset": {f"data.{name}": "" for name in PERSONAL_FIELDS},
                "$set": {"erased": True},
            },
        )


def _counts(doc: dict[str, Any]) -> Counter[str]:
    return Counter(
        {k.removeprefix(COUNTER): int(v) for k, v in doc.items() if k.startswith(COUNTER)}
    )


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[JOURNEY].create_indexes(
        [
            IndexModel([("customer_id", ASCENDING), ("at", DESCENDING)], name="customer_newest"),
            IndexModel(
                [("correlation_id", ASCENDING), ("at", DESCENDING)], name="correlation_newest"
            ),
        ]
    )
    await db[CUSTOMERS].create_indexes(
        [
            IndexModel([("name_key", ASCENDING)], name="by_name"),
            IndexModel([(ATTENTION_AT, ASCENDING)], name="complaints_queue"),
            IndexModel([(CASES_SINCE, ASCENDING)], name="cases_queue"),
            IndexModel([(FOLLOW_UP_AT, ASCENDING)], name="follow_ups_queue"),
            IndexModel(
                [(FOLLOW_UP_OWNER, ASCENDING), (FOLLOW_UP_AT, ASCENDING)],
                name="owner_follow_ups_queue",
            ),
        ]
    )
    await db[KPI_DELTAS].create_indexes(
        [IndexModel([("pending", ASCENDING)], name="pending", sparse=True)]
    )
    await db[KPI_BUCKETS].create_indexes(
        [IndexModel([("period", ASCENDING), ("start", ASCENDING)], name="by_period")]
    )
