"""MongoDB adapter of OffboardingRepository — the only module here that knows pymongo.

``cases``: one document per case; sub-documents in maps keyed by id (``risks.<risk key>``,
``rounds.<n>``), the applied-command map and the outbox live in the same document.
``open_cases``: ``{_id: customer_id, case_id, opening_event}``, the one-open-case marker.
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from crm_events import CloudEvent, decode
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    NegotiationRound,
    OpenCaseMarker,
    RetentionOffer,
    RetentionOutcome,
    Risk,
    TerminationPlan,
)
from crm_offboarding.lifecycle import CaseState, Strategy
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
from crm_runtime.timestamps import stamp, stamp_tree, unstamp_optional

T = TypeVar("T")
# Fields a command may change; identity, risks (add_risk) and version ($inc) are not here.
_COMMAND_FIELDS = (
    "state",
    "strategy",
    "strategy_chosen_at",
    "offer",
    "termination",
    "exit_agreement",
    "retention",
    "concluded_at",
    "last_event_id",
    "updated_at",
)
_HIDDEN = {APPLIED: 0, OUTBOX: 0, OUTBOX_PENDING: 0, OUTBOX_REV: 0}
_CASE_TIMES = ("opened_at", "updated_at", "strategy_chosen_at", "concluded_at")
MAX_CASES_LISTED = 100


class MongoOffboardingRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.cases = db["cases"]
        self.open_cases = db["open_cases"]

    async def ensure_indexes(self) -> None:
        await self.cases.create_indexes(
            [
                # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
                IndexModel(
                    [("customer_id", ASCENDING), ("opened_at", DESCENDING)], name="by_customer"
                ),
                IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            ]
        )

    async def get_case(self, case_id: str) -> Case | None:
        doc = await self.cases.find_one({"_id": case_id}, _HIDDEN)
        return _case(doc) if doc else None

    async def cases_of(self, customer_id: str) -> list[Case]:
        cursor = self.cases.find(
            {"customer_id": customer_id},
            _HIDDEN,
            sort=[("opened_at", DESCENDING), ("_id", DESCENDING)],
            limit=MAX_CASES_LISTED,
        )
        return [_case(doc) async for doc in cursor]

    async def case_with_risk(self, customer_id: str, risk_id: str) -> str | None:
        doc = await self.cases.find_one(
            {"customer_id": customer_id, f"risks.{map_key(risk_id)}": {"$exists": True}},
            {"_id": 1},
        )
        return str(doc["_id"]) if doc else None

    async def create_case(self, case: Case, outbox: Sequence[CloudEvent]) -> bool:
        try:
            await self.cases.insert_one(outbox_document(_document(case), outbox))
        except DuplicateKeyError:
            return False
        return True

    async def add_risk(
        self, case_id: str, risk: Risk, states: Collection[CaseState], at: datetime
    ) -> bool:
        path = f"risks.{map_key(risk.risk_id)}"
        result = await self.cases.update_one(
            {"_id": case_id, "state": {"$in": [s.value for s in states]}, path: {"$exists": False}},
            {
                "$set": {path: stamp_tree(asdict(risk)), "updated_at": stamp(at)},
                "$inc": {"version": 1},
            },
        )
        return result.modified_count == 1

    async def save(
        self, case: Case, expected_version: int, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        doc = _document(case)
        mutation = Mutation().mark_applied(cause_id, case.updated_at).publish(outbox)
        mutation.set.update({name: doc[name] for name in _COMMAND_FIELDS})
        # Rounds are immutable once recorded: setting each again is harmless.
        mutation.set.update({f"rounds.{n}": r for n, r in doc["rounds"].items()})
        mutation.inc["version"] = 1
        result = await self.cases.update_one(
            {"_id": case.case_id, "version": expected_version, **not_yet_applied(cause_id)},
            mutation.to_update(),
        )
        return result.modified_count == 1

    async def was_applied(self, case_id: str, cause_id: str) -> bool:
        query = {"_id": case_id, f"{APPLIED}.{map_key(cause_id)}": {"$exists": True}}
        return await self.cases.find_one(query, {"_id": 1}) is not None

    async def get_marker(self, customer_id: str) -> OpenCaseMarker | None:
        doc = await self.open_cases.find_one({"_id": customer_id})
        if doc is None:
            return None
        return OpenCaseMarker(
            customer_id=doc["_id"],
            case_id=doc["case_id"],
            opening_event=decode(doc["opening_event"].encode()),
        )

    async def claim_marker(self, marker: OpenCaseMarker) -> bool:
        doc = {
            "_id": marker.customer_id,
            "case_id": marker.case_id,
            "opening_event": marker.opening_event.to_bytes().decode(),
        }
        try:
            await self.open_cases.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def release_marker(self, customer_id: str, case_id: str) -> bool:
        result = await self.open_cases.delete_one({"_id": customer_id, "case_id": case_id})
        return result.deleted_count == 1


def _document(case: Case) -> dict[str, Any]:
    doc = asdict(case)
    doc["_id"] = doc.pop("case_id")
    doc["state"] = case.state.value
    doc["strategy"] = case.strategy.value if case.strategy else None
    doc["risks"] = {map_key(r.risk_id): asdict(r) for r in case.risks.values()}
    doc["rounds"] = {str(n): asdict(r) for n, r in case.rounds.items()}
    return dict(stamp_tree(doc))


def _case(doc: dict[str, Any]) -> Case:
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
        rounds={int(n): _from(NegotiationRound, r) for n, r in (doc.get("rounds") or {}).items()},
        exit_agreement=_optional(ExitAgreement, doc.get("exit_agreement")),
        retention=_retention(doc.get("retention")),
        concluded_at=doc.get("concluded_at"),
        version=int(doc["version"]),
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
