"""Offboarding's documents — the only module of this service that knows MongoDB (its
indexes) and the stored shape.

``cases``: one document per case; sub-documents in maps keyed by id (``risks.<risk key>``,
``rounds.<n>``); the store adds ``version``, ``applied`` and the ``outbox``.
``open_cases``: one document per customer: ``case_id`` (the open case, null once
retained), ``opening`` (the risk that opened it) and ``risks.<risk key>`` → case id.
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from crm_events import decode
from crm_offboarding import translate
from crm_offboarding.aftercare import (
    Attestation,
    DataExport,
    Disposal,
    ExportSection,
    FollowUpTask,
    LegalHold,
    Review,
)
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    NegotiationRound,
    OpenCaseMarker,
    RetentionOffer,
    RetentionOutcome,
    Risk,
    RiskNoticed,
    TerminationPlan,
)
from crm_offboarding.lifecycle import OPEN_STATES, CaseState, Strategy
from crm_offboarding.plan import Assessment, PlannedCommunication
from crm_runtime.keys import map_key
from crm_runtime.mongo import OUTBOX_PENDING
from crm_runtime.store import Backend
from crm_runtime.timestamps import stamp, stamp_tree, unstamp_optional

T = TypeVar("T")
CASES, OPEN_CASES = "cases", "open_cases"
MAX_CASES_LISTED = 100
_CASE_TIMES = (
    "opened_at",
    "updated_at",
    "strategy_chosen_at",
    "concluded_at",
    "offer_expired_at",
    "ended_at",
    "closed_at",
)
OPEN, DONE = "open", "closed"


@dataclass(frozen=True)
class QueueQuery:
    """The work queue's filters (``GET /cases``): each one optional."""

    state: str | None = None
    category: str | None = None
    owner_id: str | None = None
    opened_before: datetime | None = None
    include_closed: bool = False
    limit: int = MAX_CASES_LISTED


def _no_entries(entry: Any) -> NoReturn:
    raise TypeError(f"offboarding appends no entries ({type(entry).__name__})")


class CaseCodec:
    collection = CASES

    def encode(self, case: Case) -> dict[str, Any]:
        doc = asdict(case)
        del doc["case_id"], doc["version"]  # the _id, and the store's own counter
        doc["state"] = case.state.value
        doc["strategy"] = case.strategy.value if case.strategy else None
        doc["risks"] = {map_key(r.risk_id): asdict(r) for r in case.risks.values()}
        doc["rounds"] = {str(n): asdict(r) for n, r in case.rounds.items()}
        doc["follow_ups"] = {str(n): asdict(t) for n, t in case.follow_ups.items()}
        doc["communications"] = {str(n): asdict(c) for n, c in case.communications.items()}
        doc["exports"] = {map_key(e.export_id): _export_doc(e) for e in case.exports.values()}
        doc["holds"] = {map_key(h.hold_id): asdict(h) for h in case.holds.values()}
        if case.disposal is not None:
            attested = case.disposal.attestations.values()
            doc["disposal"]["attestations"] = {a.service: asdict(a) for a in attested}
        # Query fields of the work queue (not read back: derived from the state).
        doc["category"] = case.category
        doc["queue"] = OPEN if case.state in OPEN_STATES else DONE
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> Case:
        doc = {**doc, **{k: unstamp_optional(doc.get(k)) for k in _CASE_TIMES}}
        strategy = doc.get("strategy")
        return Case(
            case_id=doc["_id"],
            customer_id=doc["customer_id"],
            state=CaseState(doc["state"]),
            opened_at=doc["opened_at"],
            updated_at=doc["updated_at"],
            opening_risk_id=doc["opening_risk_id"],
            correlation_id=doc["correlation_id"],
            last_event_id=doc["last_event_id"],
            risks={r["risk_id"]: _from(Risk, r) for r in (doc.get("risks") or {}).values()},
            strategy=Strategy(strategy) if strategy else None,
            strategy_chosen_at=doc.get("strategy_chosen_at"),
            offer=_optional(RetentionOffer, doc.get("offer")),
            termination=_optional(TerminationPlan, doc.get("termination")),
            rounds={
                int(n): _from(NegotiationRound, r) for n, r in (doc.get("rounds") or {}).items()
            },
            exit_agreement=_optional(ExitAgreement, doc.get("exit_agreement")),
            retention=_retention(doc.get("retention")),
            concluded_at=doc.get("concluded_at"),
            owner_id=doc.get("owner_id"),
            offer_expired_at=doc.get("offer_expired_at"),
            ended_at=doc.get("ended_at"),
            closed_at=doc.get("closed_at"),
            follow_ups={
                int(n): _from(FollowUpTask, t) for n, t in (doc.get("follow_ups") or {}).items()
            },
            holds={h["hold_id"]: _from(LegalHold, h) for h in (doc.get("holds") or {}).values()},
            disposal=_disposal(doc.get("disposal")),
            review=_review(doc.get("review")),
            assessment=_optional(Assessment, doc.get("assessment")),
            exports={e["export_id"]: _export(e) for e in (doc.get("exports") or {}).values()},
            communications={
                int(n): _from(PlannedCommunication, c)
                for n, c in (doc.get("communications") or {}).items()
            },
            version=int(doc.get("version") or 1),
        )

    entry = staticmethod(_no_entries)


class MarkerCodec:
    collection = OPEN_CASES

    def encode(self, marker: OpenCaseMarker) -> dict[str, Any]:
        opening = None if marker.opening is None else stamp_tree(asdict(marker.opening))
        risks = {map_key(r): {"risk_id": r, "case_id": c} for r, c in marker.risks.items()}
        return {"case_id": marker.case_id, "opening": opening, "risks": risks}

    def decode(self, doc: dict[str, Any]) -> OpenCaseMarker:
        risks = {r["risk_id"]: r["case_id"] for r in (doc.get("risks") or {}).values()}
        return OpenCaseMarker(doc["_id"], doc.get("case_id"), _opening(doc), risks)

    entry = staticmethod(_no_entries)


def _opening(doc: dict[str, Any]) -> RiskNoticed | None:
    if doc.get("opening"):
        seed = doc["opening"]
        risk = _from(Risk, seed["risk"])
        return RiskNoticed(seed["customer_id"], seed["correlation_id"], risk, seed.get("owner_id"))
    if doc.get("opening_event"):  # a marker written before issue 7: the whole envelope
        return translate.risk_noticed_in(decode(doc["opening_event"].encode()))
    return None


async def cases_of(backend: Backend, customer_id: str) -> list[Case]:
    """The customer's cases, newest first."""
    docs = await backend.page(
        CASES,
        equals={"customer_id": customer_id},
        newest_by="opened_at",
        before=None,
        limit=MAX_CASES_LISTED,
    )
    return [CaseCodec().decode(doc) for doc in docs]


async def queue(backend: Backend, query: QueueQuery) -> list[Case]:
    """The work queue: cases matching every given filter, newest first."""
    equals: dict[str, Any] = {}
    if query.state is not None:
        equals["state"] = query.state
    elif not query.include_closed:
        equals["queue"] = OPEN
    if query.category is not None:
        equals["category"] = query.category
    if query.owner_id is not None:
        equals["owner_id"] = query.owner_id
    # "opened before t": strictly older than t, whatever the id ("" sorts before any id).
    before = None if query.opened_before is None else (stamp(query.opened_before), "")
    docs = await backend.page(
        CASES, equals=equals, newest_by="opened_at", before=before, limit=query.limit
    )
    return [CaseCodec().decode(doc) for doc in docs]


def _disposal(doc: dict[str, Any] | None) -> Disposal | None:
    if not doc:
        return None
    attested = {
        a["service"]: _from(Attestation, {**a, "legal_hold": bool(a["legal_hold"])})
        for a in (doc.get("attestations") or {}).values()
    }
    return replace(_from(Disposal, doc), attestations=attested)


def _export_doc(export: DataExport) -> dict[str, Any]:
    doc = asdict(export)
    doc["sections"] = {s.service: asdict(s) for s in export.sections.values()}
    return doc


def _export(doc: dict[str, Any]) -> DataExport:
    sections = {s["service"]: _from(ExportSection, s) for s in (doc.get("sections") or {}).values()}
    return replace(_from(DataExport, doc), sections=sections)


def _review(doc: dict[str, Any] | None) -> Review | None:
    if not doc:
        return None
    return replace(_from(Review, doc), preventable=bool(doc["preventable"]))


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CASES].create_indexes(
        [
            # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
            IndexModel([("customer_id", ASCENDING), ("opened_at", DESCENDING)], name="by_customer"),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            IndexModel([("queue", ASCENDING), ("opened_at", DESCENDING)], name="work_queue"),
            IndexModel([("next_due_at", ASCENDING)], name="next_due_at", sparse=True),
        ]
    )
    # Issue 8: who owns each customer's account (``ownership.py``), looked up by owner.
    await db["accounts"].create_indexes(
        [
            IndexModel([("owner_id", ASCENDING), ("owner_since", DESCENDING)], name="by_owner"),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )


def _retention(doc: dict[str, Any] | None) -> RetentionOutcome | None:
    if not doc:
        return None
    # Booleans may come back as 1 from the stand-in.
    accepted = bool(doc["offer_accepted"])
    return RetentionOutcome(offer_accepted=accepted, retained_by=doc["retained_by"])


def _from(cls: type[T], doc: dict[str, Any]) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    times = _time_fields(cls)
    return cls(
        **{k: unstamp_optional(v) if k in times else v for k, v in doc.items() if k in names}
    )


def _time_fields(cls: type[Any]) -> frozenset[str]:
    """Names of a dataclass's datetime fields (stored as timestamp strings)."""
    hints = typing.get_type_hints(cls)
    return frozenset(name for name, hint in hints.items() if datetime in _members(hint))


def _members(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint) or (hint,)


def _optional(cls: type[T], doc: dict[str, Any] | None) -> T | None:
    return _from(cls, doc) if doc else None
