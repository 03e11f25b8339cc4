"""Feedback's documents: complaints and survey answers — the only module of this service
that knows MongoDB (its indexes) and the stored shape.

A complaint keeps its state at the top level, its clocks as a map (``clocks.first_response``,
``clocks.resolution``) and the derived ``first_response_within_sla``; the store adds
``version``, ``applied``, ``next_due_at`` and the outbox fields.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from crm_feedback.answers import Survey
from crm_feedback.disposal import EndedRelationship, ErasedCustomer
from crm_feedback.domain import Complaint, SlaClock
from crm_feedback.portability import ExportAnswer
from crm_feedback.suggestions import FeedbackItem, Response
from crm_feedback.survey_plan import SurveyPlan, SurveyRequest
from crm_runtime.mongo import OUTBOX_PENDING
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.store import Backend
from crm_runtime.timestamps import stamp_tree, unstamp, unstamp_optional

COMPLAINTS, SURVEYS, FEEDBACK = "complaints", "surveys", "feedback"
SURVEY_PLANS = "survey_plans"
ERASED_CUSTOMERS = "erased_customers"
DEPARTURES = "departures"  # one per employee who left (crm_feedback.departures)
EXPORT_ANSWERS = "export_answers"
ENDED_RELATIONSHIPS = "ended_relationships"
_COMPLAINT_FIELDS = tuple(Complaint.__dataclass_fields__)
_SURVEY_FIELDS = tuple(Survey.__dataclass_fields__)
_FEEDBACK_FIELDS = tuple(FeedbackItem.__dataclass_fields__)
_REQUEST_FIELDS = tuple(SurveyRequest.__dataclass_fields__)
_OPTIONAL_TIMES = (
    "raised_at",
    "acknowledged_at",
    "resolved_at",
    "updated_at",
    "paused_at",
    "reopened_at",
    "last_customer_reply_at",
)


class ComplaintCodec:
    collection = COMPLAINTS

    def encode(self, complaint: Complaint) -> dict[str, Any]:
        doc = asdict(complaint)
        del doc["complaint_id"], doc["version"]  # the _id, and the store's own counter
        if doc["updated_at"] is None:
            del doc["updated_at"]
        doc["clocks"] = {
            name: {**asdict(clock), "stopped": clock.stopped}
            for name, clock in complaint.clocks.items()
        }
        doc["first_response_within_sla"] = complaint.first_response_within_sla
        # Derived for the desk's queries (by_desk_state, near_breach); never read back.
        doc["desk_state"] = complaint.desk_state
        due = complaint.breach_due_at
        doc["breach_due_at"] = due
        doc["breach_urgency"] = None if due is None else _urgency(due)
        for name in ("breach_due_at", "breach_urgency"):
            if doc[name] is None:
                del doc[name]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> Complaint:
        fields = {name: doc[name] for name in _COMPLAINT_FIELDS if name in doc}
        fields["complaint_id"] = doc["_id"]
        for name in _OPTIONAL_TIMES:
            fields[name] = unstamp_optional(fields.get(name))
        fields["clocks"] = {name: _clock(raw) for name, raw in doc["clocks"].items()}
        fields["within_sla"] = _optional_bool(doc.get("within_sla"))
        fields["escalations"] = {k: int(v) for k, v in (doc.get("escalations") or {}).items()}
        fields["version"] = int(doc.get("version") or 1)
        return Complaint(**fields)

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"complaint decisions append no entries, got {type(entry).__name__}")


class SurveyCodec:
    collection = SURVEYS

    def encode(self, survey: Survey) -> dict[str, Any]:
        doc = dict(stamp_tree(asdict(survey)))
        del doc["survey_id"]
        return doc

    def decode(self, doc: dict[str, Any]) -> Survey:
        fields = {name: doc[name] for name in _SURVEY_FIELDS if name in doc}
        fields["survey_id"] = doc["_id"]
        fields["answered_at"] = unstamp(doc["answered_at"])
        fields["recorded_at"] = unstamp(doc["recorded_at"])
        return Survey(**fields)

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"survey decisions append no entries, got {type(entry).__name__}")


class FeedbackCodec:
    collection = FEEDBACK

    def encode(self, item: FeedbackItem) -> dict[str, Any]:
        doc = asdict(item)
        del doc["feedback_id"], doc["version"]
        if doc["updated_at"] is None:
            del doc["updated_at"]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> FeedbackItem:
        fields = {name: doc[name] for name in _FEEDBACK_FIELDS if name in doc}
        fields["feedback_id"] = doc["_id"]
        fields["submitted_at"] = unstamp(doc["submitted_at"])
        fields["updated_at"] = unstamp_optional(doc.get("updated_at"))
        fields["responses"] = {
            status: Response(raw["status"], raw["response"], raw["by"], unstamp(raw["at"]))
            for status, raw in (doc.get("responses") or {}).items()
        }
        fields["version"] = int(doc.get("version") or 1)
        return FeedbackItem(**fields)

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"feedback decisions append no entries, got {type(entry).__name__}")


class SurveyPlanCodec:
    """One plan per customer (``_id`` = customer id) with its requests as a map by survey id."""

    collection = SURVEY_PLANS

    def encode(self, plan: SurveyPlan) -> dict[str, Any]:
        doc = asdict(plan)
        del doc["customer_id"], doc["version"]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> SurveyPlan:
        return SurveyPlan(
            customer_id=doc["_id"],
            first_seen_at=unstamp(doc["first_seen_at"]),
            next_nps_at=unstamp_optional(doc.get("next_nps_at")),
            last_nps_at=unstamp_optional(doc.get("last_nps_at")),
            exited_at=unstamp_optional(doc.get("exited_at")),
            registered_at=unstamp_optional(doc.get("registered_at")),
            requests={sid: _request(raw) for sid, raw in (doc.get("requests") or {}).items()},
            version=int(doc.get("version") or 1),
        )

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"survey plan decisions append no entries, got {type(entry).__name__}")


def _request(raw: dict[str, Any]) -> SurveyRequest:
    times = ("send_at", "sent_at", "due_at", "finished_at")
    fields: dict[str, Any] = {name: raw.get(name) for name in _REQUEST_FIELDS if name not in times}
    return SurveyRequest(
        **fields,
        send_at=unstamp(raw["send_at"]),
        sent_at=unstamp_optional(raw.get("sent_at")),
        due_at=unstamp_optional(raw.get("due_at")),
        finished_at=unstamp_optional(raw.get("finished_at")),
    )


class TombstoneCodec:
    """``erased_customers``: one per erased customer (``_id`` = customer id)."""

    collection = ERASED_CUSTOMERS

    def encode(self, erased: ErasedCustomer) -> dict[str, Any]:
        doc = asdict(erased)
        del doc["customer_id"], doc["version"]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> ErasedCustomer:
        return ErasedCustomer(
            customer_id=doc["_id"],
            case_id=doc["case_id"],
            request_id=doc["request_id"],
            erased_at=unstamp(doc["erased_at"]),
            attested_at=unstamp_optional(doc.get("attested_at")),
            records=int(doc.get("records") or 0),
            version=int(doc.get("version") or 1),
        )

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"tombstones append no entries, got {type(entry).__name__}")


class EndedRelationshipCodec:
    """``ended_relationships``: one per customer whose relationship ended here."""

    collection = ENDED_RELATIONSHIPS

    def encode(self, ended: EndedRelationship) -> dict[str, Any]:
        doc = asdict(ended)
        del doc["customer_id"], doc["version"]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> EndedRelationship:
        return EndedRelationship(
            customer_id=doc["_id"],
            case_id=doc["case_id"],
            ended_at=unstamp(doc["ended_at"]),
            closed=list(doc.get("closed") or []),
            version=int(doc.get("version") or 1),
        )

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"ended relationships append no entries, got {type(entry).__name__}")


class ExportAnswerCodec:
    """``export_answers``: one per export this service answered (``_id`` = export id)."""

    collection = EXPORT_ANSWERS

    def encode(self, answer: ExportAnswer) -> dict[str, Any]:
        doc = asdict(answer)
        del doc["export_id"], doc["version"]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> ExportAnswer:
        return ExportAnswer(
            export_id=doc["_id"],
            customer_id=doc["customer_id"],
            case_id=doc["case_id"],
            answered_at=unstamp(doc["answered_at"]),
            complaints=int(doc.get("complaints") or 0),
            surveys=int(doc.get("surveys") or 0),
            version=int(doc.get("version") or 1),
        )

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"export answers append no entries, got {type(entry).__name__}")


_NEWEST_BY = {COMPLAINTS: "raised_at", SURVEYS: "answered_at"}
_PAGE = 200


async def ids_of_customer(backend: Backend, collection: str, erased: ErasedCustomer) -> list[str]:
    """Every complaint or survey id of the customer, page by page (newest first)."""
    return [doc["_id"] for doc in await docs_of_customer(backend, collection, erased.customer_id)]


async def docs_of_customer(
    backend: Backend, collection: str, customer_id: str, *, at_most: int | None = None
) -> list[dict[str, Any]]:
    """The customer's complaint or survey documents, page by page (newest first)."""
    newest_by, found = _NEWEST_BY[collection], list[dict[str, Any]]()
    before: tuple[str, str] | None = None
    while at_most is None or len(found) < at_most:
        docs = await backend.page(
            collection,
            equals={"customer_id": customer_id},
            newest_by=newest_by,
            before=before,
            limit=_PAGE,
        )
        found.extend(docs)
        if len(docs) < _PAGE:
            break
        before = (docs[-1][newest_by], docs[-1]["_id"])
    return found if at_most is None else found[:at_most]


async def open_complaints_of(backend: Backend, customer_id: str) -> list[str]:
    docs = await docs_of_customer(backend, COMPLAINTS, customer_id)
    return [doc["_id"] for doc in docs if doc.get("status") == "open"]


async def export_of_customer(
    backend: Backend, customer_id: str, at_most: int
) -> tuple[list[Complaint], list[Survey]]:
    complaints = await docs_of_customer(backend, COMPLAINTS, customer_id, at_most=at_most)
    surveys = await docs_of_customer(backend, SURVEYS, customer_id, at_most=at_most)
    return (
        [ComplaintCodec().decode(d) for d in complaints],
        [SurveyCodec().decode(d) for d in surveys],
    )


def _clock(raw: dict[str, Any]) -> SlaClock:
    # The stand-in may return booleans as 1/0.
    return SlaClock(
        started_at=unstamp(raw["started_at"]),
        due_at=unstamp(raw["due_at"]),
        warn_at=unstamp(raw["warn_at"]),
        warned=bool(raw.get("warned")),
        breached=bool(raw.get("breached")),
        stopped_at=unstamp_optional(raw.get("stopped_at")),
    )


def _optional_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


async def complaints(
    backend: Backend,
    *,
    equals: dict[str, str],
    status: str | None,
    limit: int,
    before: tuple[str, str] | None = None,
) -> list[Complaint]:
    """Newest first (by raised_at); ``status`` None means any; ``before`` = the (raised_at
    stamp, id) of the last one seen."""
    query = equals if status is None else {**equals, "status": status}
    docs = await backend.page(
        COMPLAINTS, equals=query, newest_by="raised_at", before=before, limit=limit
    )
    codec = ComplaintCodec()
    return [codec.decode(doc) for doc in docs]


async def desk_queue(backend: Backend, *, equals: dict[str, str], limit: int) -> list[Complaint]:
    """Newest first; ``equals`` on owner_id / desk_state / severity (desk_by_owner,
    desk_by_state)."""
    docs = await backend.page(
        COMPLAINTS, equals=equals, newest_by="raised_at", before=None, limit=limit
    )
    codec = ComplaintCodec()
    return [codec.decode(doc) for doc in docs]


_URGENCY_BASE = 2 * 10**14  # ms; keeps 1900..2200 at 15 digits


def _urgency(due: datetime) -> str:
    """A string that sorts *descending* as the deadline sorts ascending: the store pages
    newest first only, so the soonest deadline comes first on this field."""
    return f"{_URGENCY_BASE - int(due.timestamp() * 1000):015d}"


async def near_breach(backend: Backend, *, until: datetime, limit: int) -> list[Complaint]:
    """The ``limit`` open complaints with the soonest deadlines (one query on near_breach),
    soonest first, cut at ``until``."""
    docs = await backend.page(
        COMPLAINTS,
        equals={"desk_state": "open"},
        newest_by="breach_urgency",
        before=None,
        limit=limit,
    )
    codec = ComplaintCodec()
    found = [codec.decode(doc) for doc in docs]
    return [c for c in found if c.breach_due_at is not None and c.breach_due_at <= until]


async def surveys_of(backend: Backend, customer_id: str, *, limit: int) -> list[Survey]:
    """Newest first (by answered_at)."""
    docs = await backend.page(
        SURVEYS,
        equals={"customer_id": customer_id},
        newest_by="answered_at",
        before=None,
        limit=limit,
    )
    codec = SurveyCodec()
    return [codec.decode(doc) for doc in docs]


async def feedback_items(
    backend: Backend, *, equals: dict[str, str], limit: int
) -> list[FeedbackItem]:
    """Newest first (by submitted_at): one query on by_status_area / by_area / by_customer."""
    docs = await backend.page(
        FEEDBACK, equals=equals, newest_by="submitted_at", before=None, limit=limit
    )
    codec = FeedbackCodec()
    return [codec.decode(doc) for doc in docs]


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
    await db[COMPLAINTS].create_indexes(
        [
            IndexModel(
                [("customer_id", ASCENDING), ("status", ASCENDING), ("raised_at", DESCENDING)],
                name="by_customer",
            ),
            IndexModel(
                [("owner_id", ASCENDING), ("status", ASCENDING), ("raised_at", DESCENDING)],
                name="by_owner",
            ),
            IndexModel(
                [
                    ("owner_id", ASCENDING),
                    ("desk_state", ASCENDING),
                    ("severity", ASCENDING),
                    ("raised_at", DESCENDING),
                ],
                name="desk_by_owner",
            ),
            IndexModel(
                [("desk_state", ASCENDING), ("severity", ASCENDING), ("raised_at", DESCENDING)],
                name="desk_by_state",
            ),
            IndexModel(
                [("desk_state", ASCENDING), ("breach_urgency", DESCENDING)], name="near_breach"
            ),
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="next_due_at", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    await db[EXPORT_ANSWERS].create_indexes(
        [IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True)]
    )
    await db[ERASED_CUSTOMERS].create_indexes(
        [
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="next_due_at", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    # The departure's re-check timer (crm_feedback.departures).
    await db[DEPARTURES].create_indexes(
        [IndexModel([(NEXT_DUE_AT, ASCENDING)], name="next_due_at", sparse=True)]
    )
    await db[SURVEYS].create_indexes(
        [
            IndexModel(
                [("customer_id", ASCENDING), ("answered_at", DESCENDING)], name="by_customer"
            ),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    await db[FEEDBACK].create_indexes(
        [
            IndexModel(
                [("status", ASCENDING), ("product_area", ASCENDING), ("submitted_at", DESCENDING)],
                name="by_status_area",
            ),
            IndexModel([("product_area", ASCENDING), ("submitted_at", DESCENDING)], name="by_area"),
            IndexModel(
                [("customer_id", ASCENDING), ("submitted_at", DESCENDING)], name="by_customer"
            ),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    await db[SURVEY_PLANS].create_indexes(
        [
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="next_due_at", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
