"""MongoDB adapters of the repositories — the only module here that knows pymongo.

One document per complaint (``_id`` = complaint id) holds its state, its clocks as a map
(``clocks.first_response``, ``clocks.resolution``), ``next_due_at`` for the sweeper and
its outbox; every transition is one version-guarded update of that document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from crm_events import CloudEvent
from crm_feedback.domain import Complaint, SlaClock, Survey
from crm_runtime.errors import Conflict
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
from crm_runtime.timestamps import stamp, stamp_tree, unstamp, unstamp_optional

# State a transition may change; the rest is fixed when the complaint is raised.
_MUTABLE = (
    "owner_id",
    "status",
    "escalation_level",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "resolution",
    "within_sla",
)
_COMPLAINT_FIELDS = tuple(Complaint.__dataclass_fields__)
_SURVEY_FIELDS = tuple(Survey.__dataclass_fields__)
_HIDDEN = {OUTBOX: 0, OUTBOX_REV: 0, OUTBOX_PENDING: 0, APPLIED: 0}
_NEWEST_FIRST = [("raised_at", DESCENDING), ("_id", DESCENDING)]


class MongoComplaintRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.complaints = db["complaints"]

    async def ensure_indexes(self) -> None:
        # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
        await self.complaints.create_indexes(
            [
                IndexModel(
                    [("customer_id", ASCENDING), ("status", ASCENDING), ("raised_at", DESCENDING)],
                    name="by_customer",
                ),
                IndexModel(
                    [("owner_id", ASCENDING), ("status", ASCENDING), ("raised_at", DESCENDING)],
                    name="by_owner",
                ),
                IndexModel([(NEXT_DUE_AT, ASCENDING)], name="next_due_at", sparse=True),
                IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            ]
        )

    async def add(self, complaint: Complaint, outbox: Sequence[CloudEvent]) -> bool:
        doc = _complaint_document(complaint)
        conflict = f"complaint {complaint.complaint_id} already exists"
        return await _insert_once(self.complaints, doc, outbox, "raised_event_id", conflict)

    async def get(self, complaint_id: str) -> Complaint | None:
        doc = await self.complaints.find_one({"_id": complaint_id}, _HIDDEN)
        return _complaint(doc) if doc is not None else None

    async def save(
        self,
        complaint: Complaint,
        *,
        expected_version: int,
        cause_id: str | None,
        at: datetime,
        outbox: Sequence[CloudEvent],
    ) -> bool:
        mutation = Mutation().publish(outbox)
        guard: dict[str, Any] = {"_id": complaint.complaint_id, "version": expected_version}
        if cause_id is not None:
            mutation.mark_applied(cause_id, at)
            guard.update(not_yet_applied(cause_id))
        state = _complaint_document(complaint)
        mutation.set.update({name: state[name] for name in _MUTABLE})
        mutation.set.update(
            clocks=state["clocks"],
            first_response_within_sla=state["first_response_within_sla"],
            updated_at=stamp(at),
        )
        if complaint.next_due_at is None:
            mutation.unset[NEXT_DUE_AT] = ""
        else:
            mutation.set[NEXT_DUE_AT] = state[NEXT_DUE_AT]
        mutation.inc["version"] = 1
        result = await self.complaints.update_one(guard, mutation.to_update())
        return result.modified_count == 1

    async def was_applied(self, complaint_id: str, event_id: str) -> bool:
        query = {"_id": complaint_id, f"{APPLIED}.{map_key(event_id)}": {"$exists": True}}
        return await self.complaints.find_one(query, {"_id": 1}) is not None

    async def find(
        self,
        *,
        customer_id: str | None = None,
        owner_id: str | None = None,
        status: str | None,
        limit: int,
    ) -> list[Complaint]:
        query: dict[str, Any] = {}
        if customer_id is not None:
            query["customer_id"] = customer_id
        if owner_id is not None:
            query["owner_id"] = owner_id
        if status is not None:
            query["status"] = status
        cursor = self.complaints.find(query, _HIDDEN, sort=_NEWEST_FIRST, limit=limit)
        return [_complaint(doc) async for doc in cursor]


class MongoSurveyRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.surveys = db["surveys"]

    async def ensure_indexes(self) -> None:
        await self.surveys.create_indexes(
            [
                IndexModel(
                    [("customer_id", ASCENDING), ("answered_at", DESCENDING)],
                    name="by_customer",
                ),
                IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            ]
        )

    async def add(self, survey: Survey, outbox: Sequence[CloudEvent]) -> bool:
        doc = stamp_tree(asdict(survey))
        doc["_id"] = doc.pop("survey_id")
        conflict = f"survey {survey.survey_id} was already answered"
        return await _insert_once(self.surveys, doc, outbox, "answered_event_id", conflict)

    async def get(self, survey_id: str) -> Survey | None:
        doc = await self.surveys.find_one({"_id": survey_id}, _HIDDEN)
        return _survey(doc) if doc is not None else None

    async def by_customer(self, customer_id: str, *, limit: int) -> list[Survey]:
        cursor = self.surveys.find(
            {"customer_id": customer_id},
            _HIDDEN,
            sort=[("answered_at", DESCENDING), ("_id", DESCENDING)],
            limit=limit,
        )
        return [_survey(doc) async for doc in cursor]


async def _insert_once(
    collection: AsyncCollection[dict[str, Any]],
    doc: dict[str, Any],
    outbox: Sequence[CloudEvent],
    cause_field: str,
    conflict: str,
) -> bool:
    """Insert with its outbox; False when the same event inserted it before (a redelivery),
    Conflict when another event owns the id."""
    try:
        await collection.insert_one(outbox_document(doc, outbox))
    except DuplicateKeyError:
        existing = await collection.find_one({"_id": doc["_id"]}, {cause_field: 1})
        if existing is not None and existing.get(cause_field) == doc[cause_field]:
            return False
        raise Conflict(conflict) from None
    return True


def _complaint_document(complaint: Complaint) -> dict[str, Any]:
    doc = asdict(complaint)
    doc["_id"] = doc.pop("complaint_id")
    doc["clocks"] = {
        name: {**asdict(clock), "stopped": clock.stopped}
        for name, clock in complaint.clocks.items()
    }
    doc["first_response_within_sla"] = complaint.first_response_within_sla
    if complaint.next_due_at is not None:
        doc[NEXT_DUE_AT] = complaint.next_due_at
    return dict(stamp_tree(doc))


def _complaint(doc: dict[str, Any]) -> Complaint:
    doc["complaint_id"] = doc["_id"]
    # The stand-in may return booleans as 1/0.
    clocks = {
        name: SlaClock(
            started_at=unstamp(raw["started_at"]),
            due_at=unstamp(raw["due_at"]),
            warn_at=unstamp(raw["warn_at"]),
            warned=bool(raw.get("warned")),
            breached=bool(raw.get("breached")),
            stopped_at=unstamp_optional(raw.get("stopped_at")),
        )
        for name, raw in doc["clocks"].items()
    }
    fields = {name: doc[name] for name in _COMPLAINT_FIELDS if name in doc}
    for name in ("raised_at", "acknowledged_at", "resolved_at"):
        fields[name] = unstamp_optional(fields.get(name))
    within = doc.get("within_sla")
    return Complaint(**{**fields, "clocks": clocks, "within_sla": _optional_bool(within)})


def _survey(doc: dict[str, Any]) -> Survey:
    doc["survey_id"] = doc["_id"]
    for name in ("answered_at", "recorded_at"):
        doc[name] = unstamp(doc[name])
    return Survey(**{name: doc[name] for name in _SURVEY_FIELDS if name in doc})


def _optional_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)
