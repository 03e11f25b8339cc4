"""MongoDB conformance: exactly the query/update patterns the runtime and services rely on.

Run against whichever server the ``infra`` fixture chose (real MongoDB 7 in testcontainers
or from the environment, or the nx-27017 stand-in locally). A failure here is a server
quirk to work around (DESIGN §5 "portable subset"), a failure elsewhere with this suite
green is a bug of ours. Raw pymongo on purpose; runtime helpers only where they build the
filter/update under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_events import CloudEvent, decode
from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime.keys import map_key
from crm_runtime.mongo import (
    APPLIED,
    OUTBOX,
    OUTBOX_PENDING,
    OUTBOX_REV,
    Mutation,
    not_yet_applied,
    outbox_document,
)
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp, unstamp

pytestmark = pytest.mark.conformance

Db = AsyncDatabase[dict[str, Any]]
# BSON datetimes have millisecond precision: keep test instants on whole milliseconds.
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def golden(event_id: str | None = None) -> CloudEvent:
    event = load_golden(ContactLogged)
    return event if event_id is None else event.model_copy(update={"id": event_id})


async def test_applied_guard_applies_an_event_once(db: Db) -> None:
    """crm_runtime.mongo.not_yet_applied/Mutation.mark_applied (every idempotent handler)."""
    customers = db["customers"]
    await customers.insert_one({"_id": "cus-1", "points": 0})
    raw_id = "evt-1"
    dotted_id = "inbound.order/42"  # not a safe map key: hashed by map_key

    for event_id, points in ((raw_id, 10), (dotted_id, 5)):
        results = []
        for _ in range(2):
            mutation = Mutation().mark_applied(event_id, T0)
            mutation.inc["points"] = points
            mutation.set["last_event"] = event_id
            results.append(
                await customers.update_one(
                    {"_id": "cus-1", **not_yet_applied(event_id)}, mutation.to_update()
                )
            )
        assert [(r.matched_count, r.modified_count) for r in results] == [(1, 1), (0, 0)]

    # The literal form the design names, without the helpers.
    literal = await customers.update_one(
        {"_id": "cus-1", f"{APPLIED}.{raw_id}": {"$exists": False}},
        {"$set": {f"{APPLIED}.{raw_id}": stamp(T0)}, "$inc": {"points": 100}},
    )
    assert literal.matched_count == 0

    assert map_key(dotted_id) != dotted_id
    stored = await customers.find_one({"_id": "cus-1"})
    assert stored is not None
    assert {k: v for k, v in stored.items() if k != APPLIED} == {
        "_id": "cus-1",
        "points": 15,
        "last_event": dotted_id,
    }
    # The marker values are timestamps.stamp() strings (portable, see the due-date test).
    assert set(stored[APPLIED]) == {raw_id, map_key(dotted_id)}


async def test_duplicate_id_insert_raises_e11000(db: Db, record_property: Any) -> None:
    """Timeline/ledger entries keyed by event id; ParkingLot.store; add_customer."""
    entries = db["timeline"]
    await entries.insert_one({"_id": "evt-1", "n": 1})
    with pytest.raises(DuplicateKeyError) as caught:
        await entries.insert_one({"_id": "evt-1", "n": 2})
    assert caught.value.code == 11000

    batch = [{"_id": i, "n": 3} for i in ("evt-1", "evt-2", "evt-3", "evt-2", "evt-4")]
    with pytest.raises(BulkWriteError) as bulk:
        await entries.insert_many(batch, ordered=False)
    details = bulk.value.details
    # Real MongoDB and nx-27017 report nInserted 3; mongo-java-server 1.47 reports the
    # batch size (5) although it stores only the 3 new documents. Nothing in the runtime
    # reads the count: the write errors and the stored documents are what is portable.
    record_property("bulk_n_inserted_reported", details["nInserted"])
    assert [e["code"] for e in details["writeErrors"]] == [11000, 11000]
    assert sorted(e["index"] for e in details["writeErrors"]) == [0, 3]
    stored = await entries.find({}, sort=[("_id", ASCENDING)]).to_list()
    assert stored == [
        {"_id": "evt-1", "n": 1},
        {"_id": "evt-2", "n": 3},
        {"_id": "evt-3", "n": 3},
        {"_id": "evt-4", "n": 3},
    ]


async def test_outbox_in_same_write_and_rev_guarded_relay_unset(db: Db) -> None:
    """crm_runtime.mongo.outbox_document/Mutation.publish and crm_runtime.outbox.OutboxRelay."""
    customers = db["customers"]
    first, second, third = golden(), golden("evt-second"), golden("evt-third")
    k1, k2, k3 = map_key(first.id), map_key(second.id), map_key(third.id)

    await customers.insert_one(outbox_document({"_id": "cus-1", "name": "A"}, [first]))
    await customers.insert_one({"_id": "cus-quiet", "name": "no events"})
    mutation = Mutation().publish([second])
    mutation.set["name"] = "B"
    await customers.update_one({"_id": "cus-1"}, mutation.to_update())

    stored = await customers.find_one({"_id": "cus-1"})
    assert stored is not None
    assert stored["name"] == "B"
    assert stored[OUTBOX_PENDING] == 1
    assert stored[OUTBOX_REV] == 2
    assert set(stored[OUTBOX]) == {k1, k2}
    entry = stored[OUTBOX][k1]
    assert entry == {
        "topic": ContactLogged.topic(),
        "key": first.subject,
        "value": first.to_bytes().decode(),
        "time": stamp(first.time),
        "seq": 0,
    }
    assert decode(entry["value"].encode()) == first

    # The relay's query and projection.
    relay_query = {OUTBOX_PENDING: {"$exists": True}}
    pending = await customers.find(relay_query, {OUTBOX: 1, OUTBOX_REV: 1}).to_list()
    assert [sorted(doc) for doc in pending] == [["_id", OUTBOX, OUTBOX_REV]]
    snapshot = pending[0]

    # A writer adds an event between the relay's read and its $unset.
    await customers.update_one({"_id": "cus-1"}, Mutation().publish([third]).to_update())
    published = {f"{OUTBOX}.{key}": "" for key in snapshot[OUTBOX]}
    guarded = await customers.update_one(
        {"_id": "cus-1", OUTBOX_REV: snapshot[OUTBOX_REV]},
        {"$unset": {**published, OUTBOX_PENDING: ""}},
    )
    assert guarded.matched_count == 0
    await customers.update_one({"_id": "cus-1"}, {"$unset": published})
    stored = await customers.find_one({"_id": "cus-1"}, {OUTBOX: 1, OUTBOX_PENDING: 1})
    assert stored == {
        "_id": "cus-1",
        OUTBOX: {k3: Mutation().publish([third]).set[f"{OUTBOX}.{k3}"]},
        OUTBOX_PENDING: 1,
    }

    # Next round: nothing raced, the guarded $unset clears the entry and the marker.
    (snapshot,) = await customers.find(relay_query, {OUTBOX: 1, OUTBOX_REV: 1}).to_list()
    assert snapshot[OUTBOX_REV] == 3
    guarded = await customers.update_one(
        {"_id": "cus-1", OUTBOX_REV: 3},
        {"$unset": {f"{OUTBOX}.{k3}": "", OUTBOX_PENDING: ""}},
    )
    assert guarded.modified_count == 1
    stored = await customers.find_one({"_id": "cus-1"})
    assert stored is not None
    # Real MongoDB keeps the emptied map as {}; the relay reads `doc.get(OUTBOX) or {}`.
    assert stored.get(OUTBOX, {}) == {}
    assert OUTBOX_PENDING not in stored
    assert await customers.find(relay_query).to_list() == []


async def test_nested_documents_and_dotted_map_paths(db: Db) -> None:
    """Maps keyed by id instead of arrays of sub-documents (account team, outbox, applied)."""
    accounts = db["accounts"]
    since = T0 - timedelta(days=30)
    await accounts.insert_one(
        {
            "_id": "cus-1",
            "profile": {"name": "Acme", "address": {"city": "Lyon"}},
            "team": {"emp-1": {"role": "owner", "since": since}},
        }
    )
    await accounts.update_one(
        {"_id": "cus-1"},
        {"$set": {"team.emp-2": {"role": "member", "since": T0}, "profile.address.city": "Nice"}},
    )
    assert await accounts.count_documents({"team.emp-2.role": "member"}) == 1
    assert await accounts.count_documents({"profile.address.city": "Nice"}) == 1
    assert await accounts.count_documents({"profile.address.city": "Lyon"}) == 0
    assert await accounts.count_documents({"team.emp-1": {"$exists": True}}) == 1

    await accounts.update_one({"_id": "cus-1"}, {"$unset": {"team.emp-1": ""}})
    assert await accounts.count_documents({"team.emp-1": {"$exists": False}}) == 1
    assert await accounts.find_one({"_id": "cus-1"}) == {
        "_id": "cus-1",
        "profile": {"name": "Acme", "address": {"city": "Nice"}},
        "team": {"emp-2": {"role": "member", "since": T0}},
    }


async def test_stamped_due_dates_sweep_in_order_whether_inserted_or_set(db: Db) -> None:
    """crm_runtime.scheduler.DueDateSweeper.sweep, ParkingLot.due (next_due_at)."""
    # Why stamps and not BSON dates: on nx-27017 0.8.1 a datetime written by an update
    # operator ($set, $max, bulk_write, find_one_and_update) is stored as the string
    # "2026-03-01 09:02:00.500000" while an inserted one stays a date, and mixed types
    # break $lte, sorting and counts. crm_runtime.timestamps.stamp() strings behave the
    # same on both servers, which is what this test proves.
    timers = db["timers"]
    paris = timezone(timedelta(hours=2))
    await timers.insert_many(
        [
            {"_id": "late", NEXT_DUE_AT: stamp(T0 + timedelta(minutes=5))},
            {"_id": "exact", NEXT_DUE_AT: stamp(T0)},
            {"_id": "oldest", NEXT_DUE_AT: stamp(datetime(2026, 3, 1, 9, 0, tzinfo=paris))},
            {"_id": "retried", NEXT_DUE_AT: stamp(T0 - timedelta(hours=5))},
            {"_id": "no-timer", "state": "closed"},
        ]
    )
    retry_at = T0 - timedelta(minutes=1, milliseconds=250)
    await timers.update_one({"_id": "retried"}, {"$set": {NEXT_DUE_AT: stamp(retry_at)}})

    query = {NEXT_DUE_AT: {"$lte": stamp(T0)}}
    due = await timers.find(query, sort=[(NEXT_DUE_AT, 1)], limit=10).to_list()
    stored = await timers.find_one({"_id": "retried"})

    assert [d["_id"] for d in due] == ["oldest", "retried", "exact"]
    assert await timers.count_documents(query) == 3
    assert stored is not None
    assert unstamp(stored[NEXT_DUE_AT]) == retry_at
    assert unstamp(due[0][NEXT_DUE_AT]) == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


async def test_parked_sequences_found_grouped_loaded_in_order_and_released(db: Db) -> None:
    """crm_runtime.parking.ParkingLot: blocked ($in + $group), load (sort), release ($in)."""
    parked = db["parked_events"]
    await parked.create_indexes([IndexModel([("sequence", ASCENDING), ("position", ASCENDING)])])
    await parked.insert_many(
        [
            {"_id": f"t:0:{n}", "sequence": who, "position": pos, "parked_at": stamp(T0)}
            for n, (who, pos) in enumerate(
                [("cus-1", 2), ("cus-2", 0), ("cus-1", 0), ("cus-1", 1), ("cus-3", 0)]
            )
        ],
        ordered=False,
    )

    pipeline: list[dict[str, Any]] = [
        {"$match": {"sequence": {"$in": ["cus-1", "cus-3", "cus-9"]}}},
        {"$group": {"_id": "$sequence"}},
    ]
    groups = await (await parked.aggregate(pipeline)).to_list()
    order = [("position", ASCENDING), ("parked_at", ASCENDING), ("_id", ASCENDING)]
    loaded = await parked.find({"sequence": "cus-1"}, sort=order).to_list()
    released = await parked.delete_many({"_id": {"$in": ["t:0:2", "t:0:3", "t:0:404"]}})

    assert sorted(doc["_id"] for doc in groups) == ["cus-1", "cus-3"]
    assert [doc["_id"] for doc in loaded] == ["t:0:2", "t:0:3", "t:0:0"]
    assert released.deleted_count == 2
    assert await parked.count_documents({"sequence": "cus-1"}) == 1


async def test_timeline_cursor_pagination_with_ties(db: Db) -> None:
    """crm_contacts.mongo_repository.MongoContactsRepository.timeline (newest first)."""
    timeline = db["timeline"]
    await timeline.create_indexes(
        [IndexModel([("customer_id", ASCENDING), ("occurred_at", DESCENDING)])]
    )
    t = [T0 + timedelta(minutes=m) for m in range(4)]
    entries = [
        ("e-a", t[0]),
        ("e-b", t[1]),
        ("e-c", t[1]),
        ("e-d", t[1]),
        ("e-e", t[2]),
        ("e-f", t[3]),
        ("e-g", t[3]),
    ]
    await timeline.insert_many(
        [{"_id": i, "customer_id": "cus-1", "occurred_at": stamp(at)} for i, at in entries]
        + [{"_id": "e-other", "customer_id": "cus-2", "occurred_at": stamp(t[1])}]
    )

    pages: list[list[str]] = []
    before: tuple[str, str] | None = None
    while True:
        query: dict[str, Any] = {"customer_id": "cus-1"}
        if before is not None:
            at, entry_id = before
            query["$or"] = [
                {"occurred_at": {"$lt": at}},
                {"occurred_at": at, "_id": {"$lt": entry_id}},
            ]
        page = await timeline.find(
            query, sort=[("occurred_at", DESCENDING), ("_id", DESCENDING)], limit=2
        ).to_list()
        if not page:
            break
        pages.append([doc["_id"] for doc in page])
        before = (page[-1]["occurred_at"], page[-1]["_id"])

    assert pages == [["e-g", "e-f"], ["e-e", "e-d"], ["e-c", "e-b"], ["e-a"]]


async def test_create_indexes_is_idempotent(db: Db) -> None:
    """ensure_indexes of the repositories and ParkingLot, run at every start-up."""
    timeline = db["timeline"]
    # No "_id" inside a compound index: on nx-27017 creating e.g.
    # [("customer_id", 1), ("occurred_at", -1), ("_id", -1)] succeeds, but every later
    # insert into the collection fails with "JSON path error near '_id'" (code 8). So the
    # repositories index without it and let the sort on _id break ties.
    models = [
        IndexModel([("customer_id", ASCENDING), ("occurred_at", DESCENDING)], name="newest"),
        IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        IndexModel([(NEXT_DUE_AT, ASCENDING)]),
    ]
    first = await timeline.create_indexes(models)
    second = await timeline.create_indexes(models)
    assert first == second == ["newest", "outbox_pending", f"{NEXT_DUE_AT}_1"]

    # Portable: one index per key list, in field order. The stand-in ignores the given
    # names (reports "idx_<collection>_<fields>"), the direction and `sparse`, so neither
    # is asserted; nothing in the runtime refers to an index by name.
    info = await timeline.index_information()
    keys = sorted(tuple(field for field, _ in index["key"]) for index in info.values())
    assert keys == [("_id",), ("customer_id", "occurred_at"), (NEXT_DUE_AT,), (OUTBOX_PENDING,)]
    await timeline.insert_one({"_id": "e-1", "customer_id": "cus-1", "occurred_at": T0})
    assert await timeline.count_documents({"customer_id": "cus-1"}) == 1


async def test_array_of_scalars_and_everyday_crud(db: Db) -> None:
    """Mutation.add_to_set, scalar arrays, counts, projections, bulk and single updates."""
    complaints = db["complaints"]
    await complaints.insert_many(
        [
            {"_id": "c-1", "owner": "emp-1", "state": "open", "tags": ["vip"]},
            {"_id": "c-2", "owner": "emp-1", "state": "open", "tags": []},
            {"_id": "c-3", "owner": "emp-2", "state": "closed", "tags": ["late"]},
        ]
    )
    await complaints.update_one({"_id": "c-1"}, {"$addToSet": {"tags": "late"}})
    await complaints.update_one({"_id": "c-1"}, {"$addToSet": {"tags": "vip"}})  # no-op
    await complaints.update_one({"_id": "c-2"}, {"$push": {"history": {"$each": ["a", "b"]}}})
    await complaints.update_one({"_id": "c-2"}, {"$push": {"history": {"$each": ["c"]}}})

    # $nin, not $ne: the stand-in's {tags: {$ne: x}} also matches arrays containing x.
    without_late = await complaints.find({"tags": {"$nin": ["late"]}}, {"_id": 1}).to_list()
    assert without_late == [{"_id": "c-2"}]
    assert await complaints.count_documents({"tags": "late"}) == 2
    assert await complaints.count_documents({"owner": "emp-1", "state": "open"}) == 2

    reassigned = await complaints.update_many(
        {"owner": "emp-1", "state": "open"}, {"$set": {"owner": "team-7"}}
    )
    assert (reassigned.matched_count, reassigned.modified_count) == (2, 2)
    assert await complaints.find_one({"_id": "c-1"}, {"tags": 1, "owner": 1}) == {
        "_id": "c-1",
        "owner": "team-7",
        "tags": ["vip", "late"],
    }
    assert await complaints.find_one({"_id": "c-2"}, {"history": 1, "_id": 0}) == {
        "history": ["a", "b", "c"]
    }

    deleted = await complaints.delete_one({"_id": "c-3"})
    assert deleted.deleted_count == 1
    assert (await complaints.delete_one({"_id": "c-3"})).deleted_count == 0
    assert await complaints.count_documents({}) == 2


async def test_boolean_true_matches_and_is_truthy(db: Db, record_property: Any) -> None:
    """Flags such as legal holds or `former` customers: query by True, read with bool()."""
    flags = db["flags"]
    await flags.insert_many(
        [{"_id": "inserted", "flag": True}, {"_id": "set", "flag": False}, {"_id": "no"}]
    )
    await flags.update_one({"_id": "set"}, {"$set": {"flag": True}})
    await flags.update_one({"_id": "no"}, {"$set": {"flag": False}})
    matched = await flags.find({"flag": True}, sort=[("_id", ASCENDING)]).to_list()
    assert [d["_id"] for d in matched] == ["inserted", "set"]
    # Real MongoDB returns True for both; nx-27017 returns True for the inserted value but
    # 1 for the $set one (a bare $set value loses its BSON type there, like datetimes).
    # Only the query match and truthiness are portable.
    record_property("stored_true_returned_as", repr([d["flag"] for d in matched]))
    assert [bool(d["flag"]) for d in matched] == [True, True]
    assert [d["_id"] for d in await flags.find({"flag": False}).to_list()] == ["no"]


async def test_upsert_with_set_on_insert_in_update_one(db: Db) -> None:
    """Create-or-update of a projection in one atomic update_one (never find_one_and_update).

    find_one_and_update(..., upsert=True) is not portable: nx-27017 ignores $setOnInsert
    there (DESIGN §5), so the runtime never relies on it."""
    stats = db["stats"]
    later = T0 + timedelta(hours=1)
    # Timestamps are stamp() strings everywhere (see the due-date test).
    first = await stats.update_one(
        {"_id": "cus-1"},
        {"$setOnInsert": {"created_at": stamp(T0)}, "$set": {"seen": "first"}, "$inc": {"n": 1}},
        upsert=True,
    )
    second = await stats.update_one(
        {"_id": "cus-1"},
        {
            "$setOnInsert": {"created_at": stamp(later)},
            "$set": {"seen": "second"},
            "$inc": {"n": 1},
        },
        upsert=True,
    )
    assert first.upserted_id == "cus-1"
    assert (second.upserted_id, second.matched_count, second.modified_count) == (None, 1, 1)
    assert await stats.find_one({"_id": "cus-1"}) == {
        "_id": "cus-1",
        "created_at": stamp(T0),
        "seen": "second",
        "n": 2,
    }


async def test_ping_admin_command(mongo: Any) -> None:
    """Readiness probes (/readyz) ping MongoDB."""
    reply = await mongo.admin.command("ping")
    assert reply["ok"] == 1
