"""Contacts' documents: the customer aggregate and its timeline entries — the only module
of this service that knows MongoDB (its indexes) and the stored shape."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from crm_contacts.domain import (
    MEMBER,
    ClassChange,
    Customer,
    Departure,
    DirectoryFilter,
    FollowUp,
    Handover,
    Purchase,
    TimelineEntry,
)
from crm_contacts.erasure import ERASED
from crm_runtime.keys import map_key
from crm_runtime.mongo import OUTBOX_PENDING
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.store import VERSION, Backend, Write
from crm_runtime.timestamps import stamp, stamp_values, unstamp, unstamp_optional

CUSTOMERS, TIMELINE, DEPARTURES = "customers", "timeline", "departures"
HANDOVERS = "handovers"
_SCALARS = (
    "kind", "display_name", "owner_id", "email", "phone", "classification", "lifecycle",
    "exit_case_id", "registered_by", "tags", "segments", "tier", "purchase_count",
    "departed_owners", "departed_members", "follow_ups", "win_back_scheduled",
    "erasure_case_id", "erasure_request_id",
)  # fmt: skip
_TIMES = (
    "registered_at", "exit_effective_at", "last_purchase_at", "last_contact_at", "tier_at",
    "erased_at", "erasure_attested_at",
)  # fmt: skip
_RANK_BASE = 10**13  # ms since 1970 stay below it until the year 2286


class CustomerCodec:
    collection = CUSTOMERS

    def encode(self, customer: Customer) -> dict[str, Any]:
        doc: dict[str, Any] = {name: getattr(customer, name) for name in _SCALARS}
        doc |= {name: _stamp_optional(getattr(customer, name)) for name in _TIMES}
        born = customer.date_of_birth
        doc["date_of_birth"] = None if born is None else born.isoformat()
        # An erased customer is no longer found by (a prefix of) its former name.
        erased = customer.erased_at is not None
        doc["name_key"] = None if erased else customer.display_name.casefold()
        doc["team_members"] = list(customer.team)
        doc["team_roles"] = list(customer.team.values())
        doc["purchases"] = {map_key(k): _purchase(k, p) for k, p in customer.purchases.items()}
        doc["history"] = {f"{i:03d}": _change(c) for i, c in enumerate(customer.history)}
        return doc | _follow_up(customer.follow_up)

    def decode(self, doc: dict[str, Any]) -> Customer:
        fields = {name: doc[name] for name in _SCALARS if name in doc}
        fields |= {name: unstamp_optional(doc.get(name)) for name in _TIMES}
        fields["win_back_scheduled"] = bool(doc.get("win_back_scheduled"))
        born = doc.get("date_of_birth")  # absent for customers stored before it existed
        fields["date_of_birth"] = None if born is None else date.fromisoformat(born)
        return Customer(
            customer_id=doc["_id"],
            **fields,
            team=_team(doc),
            purchases=dict(_purchase_of(p) for p in (doc.get("purchases") or {}).values()),
            history=[_change_of(c) for _, c in sorted((doc.get("history") or {}).items())],
            follow_up=_follow_up_of(doc),
            version=int(doc.get("version") or 1),
        )

    def entry(self, entry: TimelineEntry | Handover) -> tuple[str, dict[str, Any]]:
        if isinstance(entry, Handover):
            return HANDOVERS, stamp_values(
                {"_id": entry.entry_id}
                | {k: v for k, v in asdict(entry).items() if k != "entry_id"}
            )
        return TIMELINE, {
            "_id": entry.entry_id,
            "customer_id": entry.customer_id,
            "kind": entry.kind,
            "occurred_at": stamp(entry.occurred_at),
            "details": entry.details,
        }


class DepartureCodec:
    collection = DEPARTURES

    def encode(self, departure: Departure) -> dict[str, Any]:
        doc = stamp_values(asdict(departure))
        del doc["employee_id"], doc["version"]
        return doc

    def decode(self, doc: dict[str, Any]) -> Departure:
        return Departure(
            employee_id=doc["_id"],
            departed_at=unstamp(doc["departed_at"]),
            successor_id=doc.get("successor_id"),
            recorded_by=doc["recorded_by"],
            accounts=int(doc.get("accounts") or 0),
            seats=int(doc.get("seats") or 0),
            recheck_at=unstamp_optional(doc.get("recheck_at")),
            version=int(doc.get("version") or 1),
        )

    def entry(self, entry: Any) -> tuple[str, dict[str, Any]]:
        raise TypeError("a departure appends no entries")


def _stamp_optional(moment: datetime | None) -> str | None:
    return None if moment is None else stamp(moment)


def _team(doc: dict[str, Any]) -> dict[str, str]:
    if "team_members" in doc:
        return dict(zip(doc["team_members"], doc.get("team_roles") or [], strict=True))
    return dict.fromkeys(doc.get("account_team") or [], MEMBER)  # stored before issue 8


def _purchase(order_id: str, purchase: Purchase) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "at": stamp(purchase.at),
        "amount_minor": purchase.amount_minor,
        "returned_minor": purchase.returned_minor,
    }


def _purchase_of(doc: dict[str, Any]) -> tuple[str, Purchase]:
    at = unstamp(doc["at"])
    return doc["order_id"], Purchase(at, int(doc["amount_minor"]), int(doc["returned_minor"]))


def _change(change: ClassChange) -> dict[str, Any]:
    return stamp_values(asdict(change))


def _change_of(doc: dict[str, Any]) -> ClassChange:
    return ClassChange(unstamp(doc["at"]), doc["previous"], doc["classification"], doc["rule"])


def _follow_up(follow_up: FollowUp | None) -> dict[str, Any]:
    if follow_up is None:
        return dict.fromkeys(_FOLLOW_UP_FIELDS)
    return {
        "follow_up_id": follow_up.follow_up_id,
        "follow_up_owner": follow_up.owner_id,
        "follow_up_state": follow_up.state,
        "follow_up_scheduled_at": stamp(follow_up.scheduled_at),
        "follow_up_due_at": stamp(follow_up.due_at),
        "follow_up_rank": due_rank(follow_up.due_at),
    }


_FOLLOW_UP_FIELDS = (
    "follow_up_id", "follow_up_owner", "follow_up_state", "follow_up_scheduled_at",
    "follow_up_due_at", "follow_up_rank",
)  # fmt: skip


def due_rank(due: datetime) -> str:
    """Sorts descending in due order (earliest first): the work queue reads newest-first."""
    return f"{_RANK_BASE - int(due.timestamp() * 1000):014d}"


def _follow_up_of(doc: dict[str, Any]) -> FollowUp | None:
    if not doc.get("follow_up_id"):
        return None
    return FollowUp(
        doc["follow_up_id"],
        doc["follow_up_owner"],
        unstamp(doc["follow_up_scheduled_at"]),
        unstamp(doc["follow_up_due_at"]),
        doc["follow_up_state"],
    )


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


# --- customers by something other than their id: one indexed find per page --------------------
Cursor = tuple[str, str]  # (sort value as stored, customer id) of the last customer seen


async def customers_where(
    backend: Backend, query: dict[str, Any], *, before: Cursor | None, limit: int
) -> list[Customer]:
    """Newest registered first."""
    docs = await backend.page(
        CUSTOMERS, equals=query, newest_by="registered_at", before=before, limit=limit
    )
    return [CustomerCodec().decode(doc) for doc in docs]


async def every_customer_where(backend: Backend, query: dict[str, Any]) -> list[Customer]:
    """All of them, page by page (a departure's hand-over scans an employee's accounts)."""
    found: list[Customer] = []
    before: Cursor | None = None
    while True:
        page = await customers_where(backend, query, before=before, limit=SCAN_PAGE)
        found.extend(page)
        if len(page) < SCAN_PAGE:
            return found
        before = cursor_of(page[-1])


async def follow_ups(
    backend: Backend, owner_id: str, state: str, *, before: Cursor | None, limit: int
) -> list[Customer]:
    """An owner's open follow-ups in one state, earliest due first."""
    docs = await backend.page(
        CUSTOMERS,
        equals={"follow_up_owner": owner_id, "follow_up_state": state},
        newest_by="follow_up_rank",
        before=before,
        limit=limit,
    )
    return [CustomerCodec().decode(doc) for doc in docs]


async def handed_over(backend: Backend, employee_id: str) -> dict[str, int]:
    """What other services moved off a departed employee, counted per service."""
    counts: dict[str, int] = {}
    before: Cursor | None = None
    while True:
        docs = await backend.page(
            HANDOVERS,
            equals={"employee_id": employee_id},
            newest_by="at",
            before=before,
            limit=SCAN_PAGE,
        )
        for doc in docs:
            counts[doc["service"]] = counts.get(doc["service"], 0) + 1
        if len(docs) < SCAN_PAGE:
            return counts
        before = (docs[-1]["at"], docs[-1]["_id"])


def cursor_of(customer: Customer) -> Cursor:
    return stamp(customer.registered_at), customer.customer_id


def follow_up_cursor(customer: Customer) -> Cursor:
    assert customer.follow_up is not None
    return due_rank(customer.follow_up.due_at), customer.customer_id


def directory_query(wanted: DirectoryFilter) -> dict[str, Any]:
    """The directory's filters as one query every one of them has an index for."""
    query: dict[str, Any] = {}
    if wanted.name_prefix:
        prefix = wanted.name_prefix.casefold()
        query["name_key"] = {"$gte": prefix, "$lt": prefix + "\uffff"}
    equal = {
        "classification": wanted.classification,
        "lifecycle": wanted.lifecycle,
        "owner_id": wanted.owner_id,
        "team_members": wanted.team_member,  # an array: matches when it holds the value
        "segments": wanted.segment,
        "tags": wanted.tag,
    }
    query |= {name: value for name, value in equal.items() if value is not None}
    between: dict[str, str] = {}
    if wanted.registered_from is not None:
        between["$gte"] = stamp(wanted.registered_from)
    if wanted.registered_to is not None:
        between["$lt"] = stamp(wanted.registered_to)
    if between:
        query["registered_at"] = between
    return query


SCAN_PAGE = 500
_NEWEST = ("registered_at", DESCENDING)
_FILTERED = ("owner_id", "classification", "lifecycle", "team_members", "segments", "tags")


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
    # The directory: each filter leads a compound index ending in the sort key, so a page
    # is one indexed find whatever the collection's size (docs/decisions.md, issue 8).
    by_filter = [IndexModel([(f, ASCENDING), _NEWEST], name=f"{f}_newest") for f in _FILTERED]
    await db[CUSTOMERS].create_indexes(
        [
            IndexModel([("owner_id", ASCENDING)], name="by_owner"),
            *by_filter,
            IndexModel([_NEWEST], name="newest"),
            IndexModel([("name_key", ASCENDING)], name="name_prefix"),
            IndexModel([("departed_owners", ASCENDING)], name="departed_owners"),
            IndexModel([("departed_members", ASCENDING)], name="departed_members"),
            IndexModel(
                [
                    ("follow_up_owner", ASCENDING),
                    ("follow_up_state", ASCENDING),
                    ("follow_up_rank", DESCENDING),
                ],
                name="follow_up_queue",
            ),
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="due", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    await db[HANDOVERS].create_indexes(
        [IndexModel([("employee_id", ASCENDING), ("at", DESCENDING)], name="by_employee")]
    )
    await db[DEPARTURES].create_indexes(
        [
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="due", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
