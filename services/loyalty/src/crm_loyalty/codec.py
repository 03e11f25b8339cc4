"""Loyalty's documents: accounts and ledger entries — the only module of this service that
knows MongoDB (its indexes) and the stored shape.

An account keeps its state at the top level; sub-documents live in maps keyed by id
(contributions, orders), arrays hold scalars only (risk reasons), and every timestamp is a
``stamp()`` string (see crm_runtime.timestamps). The store adds ``version``, ``applied``,
``next_due_at`` and the outbox fields. Ledger entries are the store's append-only entries,
one document each, keyed by their id (``earn:<event>``, ``reverse:<event>``, ...).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from crm_loyalty.domain import (
    GOODWILL,
    GOODWILL_DEBIT,
    REDEEM,
    Account,
    CapUsage,
    Contribution,
    HealthPoint,
    LedgerEntry,
    Lot,
    OrderRecord,
    PendingDowngrade,
    ReturnRecord,
    RiskEpisode,
    Settlement,
    entry_id,
)
from crm_runtime.mongo import OUTBOX_PENDING
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.store import VERSION, Backend, Write
from crm_runtime.timestamps import stamp, stamp_tree, unstamp, unstamp_optional

ACCOUNTS, LEDGER, HEALTH_HISTORY = "accounts", "ledger", "health_history"
# The programme's documents (rule book, weights, budgets): ``programme_codec``.
PROGRAMME, RULEBOOK_VERSIONS, BUDGETS = "programme", "rulebook_versions", "budgets"


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[ACCOUNTS].create_indexes(
        [
            IndexModel([(NEXT_DUE_AT, ASCENDING)], name="due", sparse=True),
            IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
        ]
    )
    await db[LEDGER].create_indexes(
        [
            # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
            IndexModel(
                [("customer_id", ASCENDING), ("recorded_at", DESCENDING)],
                name="ledger_newest_first",
            ),
            IndexModel([("customer_id", ASCENDING), ("order_id", ASCENDING)], name="by_order"),
            IndexModel([("reverses", ASCENDING)], name="reversals", sparse=True),
        ]
    )
    await db[HEALTH_HISTORY].create_indexes(
        [IndexModel([("customer_id", ASCENDING), ("at", DESCENDING)], name="history_newest_first")]
    )
    await db[RULEBOOK_VERSIONS].create_indexes(
        [IndexModel([("scope", ASCENDING), ("created_at", DESCENDING)], name="newest_first")]
    )


class AccountCodec:
    collection = ACCOUNTS

    def encode(self, account: Account) -> dict[str, Any]:
        doc = asdict(account)
        # The _id, the store's own counter and due date.
        del doc["customer_id"], doc["version"], doc["history"]
        return dict(stamp_tree(doc))

    def decode(self, doc: dict[str, Any]) -> Account:
        risk, settlement = doc.get("risk"), doc.get("settlement")
        contributions = doc.get("contributions") or {}
        return Account(
            customer_id=doc["_id"],
            opened_at=unstamp(doc["opened_at"]),
            status=doc["status"],
            tier=doc["tier"],
            balance=int(doc["balance"]),
            qualifying_points=int(doc["qualifying_points"]),
            version=int(doc.get("version") or 1),
            score=int(doc["score"]),
            contributions={k: _contribution(v) for k, v in contributions.items()},
            risk=_risk(risk) if risk else None,
            risk_episodes=int(doc.get("risk_episodes") or 0),
            last_hard_signal_at=unstamp_optional(doc.get("last_hard_signal_at")),
            last_activity_at=unstamp_optional(doc.get("last_activity_at")),
            # Accounts stored before issue 11 kept their inactivity date as the due date.
            inactivity_due_at=unstamp_optional(
                doc["inactivity_due_at"] if "inactivity_due_at" in doc else doc.get(NEXT_DUE_AT)
            ),
            settlement=_settlement(settlement) if settlement else None,
            orders={k: _order(v) for k, v in (doc.get("orders") or {}).items()},
            external_risks=list(doc.get("external_risks") or []),
            erased_at=unstamp_optional(doc.get("erased_at")),
            erasure_case_id=doc.get("erasure_case_id"),
            relationship_ended_at=unstamp_optional(doc.get("relationship_ended_at")),
            orders_complete=bool(doc.get("orders_complete")),
            lots=_lots(doc),
            expiry_due_at=unstamp_optional(doc.get("expiry_due_at")),
            cap_usage={k: _usage(v) for k, v in (doc.get("cap_usage") or {}).items()},
            monthly_points={k: int(v) for k, v in (doc.get("monthly_points") or {}).items()},
            tier_review_at=unstamp_optional(doc.get("tier_review_at")),
            pending_downgrade=_pending(doc.get("pending_downgrade")),
            birthday=doc.get("birthday"),
            birthday_due_at=unstamp_optional(doc.get("birthday_due_at")),
        )

    def entry(self, entry: LedgerEntry | HealthPoint) -> tuple[str, dict[str, Any]]:
        if isinstance(entry, HealthPoint):
            return HEALTH_HISTORY, health_point_document(entry)
        return LEDGER, entry_document(entry)


def health_point_document(point: HealthPoint) -> dict[str, Any]:
    doc: dict[str, Any] = stamp_tree(asdict(point))
    doc["_id"] = entry_id("health", point.cause_id)
    return doc


async def health_history(
    backend: Backend, customer_id: str, *, since: datetime, until: datetime, limit: int
) -> list[HealthPoint]:
    """Points with ``since <= at < until``, newest first."""
    docs = await backend.page(
        HEALTH_HISTORY,
        equals={"customer_id": customer_id},
        newest_by="at",
        before=(stamp(until), ""),
        limit=limit,
    )
    points = [_health_point(doc) for doc in docs]
    return [p for p in points if p.at >= since]


def _health_point(doc: dict[str, Any]) -> HealthPoint:
    return HealthPoint(
        customer_id=doc["customer_id"],
        at=unstamp(doc["at"]),
        score=int(doc["score"]),
        previous_score=int(doc["previous_score"]),
        code=doc["code"],
        reason=doc["reason"],
        delta=int(doc["delta"]),
        weights_version=int(doc["weights_version"]),
        cause_id=doc["cause_id"],
    )


def entry_document(entry: LedgerEntry) -> dict[str, Any]:
    doc: dict[str, Any] = stamp_tree(asdict(entry))
    doc["_id"] = doc.pop("entry_id")
    return {k: v for k, v in doc.items() if v is not None}


def entry_from(doc: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        entry_id=doc["_id"],
        customer_id=doc["customer_id"],
        kind=doc["kind"],
        points=int(doc["points"]),
        source_event_id=doc["source_event_id"],
        occurred_at=unstamp(doc["occurred_at"]),
        recorded_at=unstamp(doc["recorded_at"]),
        order_id=doc.get("order_id"),
        reverses=doc.get("reverses"),
        details=dict(doc.get("details") or {}),
        state=doc["state"],
        note=doc.get("note"),
    )


async def entry(backend: Backend, entry_id: str) -> LedgerEntry | None:
    found = (await backend.load(LEDGER, [entry_id])).get(entry_id)
    return None if found is None else entry_from(found)


async def ledger(backend: Backend, customer_id: str, *, limit: int) -> list[LedgerEntry]:
    """Newest first."""
    docs = await backend.page(
        LEDGER,
        equals={"customer_id": customer_id},
        newest_by="recorded_at",
        before=None,
        limit=limit,
    )
    return [entry_from(doc) for doc in docs]


ERASED = "[erased]"


# Free text per ledger kind: what a redemption's reward or a goodwill adjustment's reason
# and reference say (issue 9's erasure; goodwill since issue 11).
FREE_TEXT: dict[str, dict[str, str | None]] = {
    REDEEM: {"details.reward": ERASED},
    GOODWILL: {"details.reason": ERASED, "details.reference": None, "note": ERASED},
    GOODWILL_DEBIT: {"details.reason": ERASED, "details.reference": None, "note": ERASED},
}


async def erase_free_text(backend: Backend, customer_id: str) -> int:
    """Overwrite the free text of the customer's redemptions and goodwill adjustments;
    returns how many entries there are. Each entry is rewritten under its own version guard
    (none → 0), so running it again rewrites the same text again."""
    erased = 0
    for kind, erase in FREE_TEXT.items():
        docs = await backend.page(
            LEDGER,
            equals={"customer_id": customer_id, "kind": kind},
            newest_by="recorded_at",
            before=None,
            limit=100_000,
        )
        writes = [Write(d["_id"], int(d.get(VERSION) or 0), erase, [], False) for d in docs]
        if writes:
            await backend.write(LEDGER, writes)  # a lost guard: rewritten meanwhile, same text
        erased += len(docs)
    return erased


async def order_entries(backend: Backend, customer_id: str, order_id: str) -> list[LedgerEntry]:
    """The ledger lines of one order (its earn entry and reversals), newest first."""
    docs = await backend.page(
        LEDGER,
        equals={"customer_id": customer_id, "order_id": order_id},
        newest_by="recorded_at",
        before=None,
        limit=1000,
    )
    return [entry_from(doc) for doc in docs]


def _contribution(doc: dict[str, Any]) -> Contribution:
    return Contribution(
        code=doc["code"],
        reason=doc["reason"],
        delta=int(doc["delta"]),
        at=unstamp(doc["at"]),
        count=int(doc.get("count") or 1),
    )


def _risk(doc: dict[str, Any]) -> RiskEpisode:
    return RiskEpisode(
        risk_id=doc["risk_id"],
        category=doc["category"],
        opened_at=unstamp(doc["opened_at"]),
        cause_event_id=doc["cause_event_id"],
        score=int(doc["score"]),
        reasons=list(doc.get("reasons") or []),
        hard_signal=doc.get("hard_signal"),
    )


def _settlement(doc: dict[str, Any]) -> Settlement:
    return Settlement(
        policy=doc["policy"],
        points=int(doc["points"]),
        amount_minor=int(doc["amount_minor"]),
        currency=doc["currency"],
        settled_at=unstamp(doc["settled_at"]),
        cause_event_id=doc["cause_event_id"],
        case_id=doc.get("case_id"),
        written_off=int(doc.get("written_off") or 0),
    )


def _order(doc: dict[str, Any]) -> OrderRecord:
    # The stand-in may return booleans as 1/0.
    return OrderRecord(
        earn_entry_id=doc["earn_entry_id"],
        source_event_id=doc["source_event_id"],
        currency=doc["currency"],
        amount_minor=int(doc["amount_minor"]),
        points=int(doc["points"]),
        base_points=int(doc["base_points"]),
        posted=bool(doc["posted"]),
        returns={k: _return(v) for k, v in (doc.get("returns") or {}).items()},
    )


def _return(doc: dict[str, Any]) -> ReturnRecord:
    return ReturnRecord(
        return_id=doc["return_id"],
        event_id=doc["event_id"],
        amount_minor=int(doc["amount_minor"]),
        points=int(doc["points"]),
        base_points=int(doc["base_points"]),
        counted=bool(doc["counted"]),
    )


def _lots(doc: dict[str, Any]) -> dict[str, Lot]:
    if "lots" not in doc:
        # Accounts from before lots: the balance becomes one lot that never expires (points
        # earned before an expiry policy existed are not taken retroactively).
        balance = int(doc["balance"])
        if balance <= 0:
            return {}
        opened = unstamp(doc["opened_at"])
        return {"opening": Lot("opening", opened, balance, balance)}
    return {k: _lot(v) for k, v in (doc.get("lots") or {}).items()}


def _lot(doc: dict[str, Any]) -> Lot:
    return Lot(
        entry_id=doc["entry_id"],
        earned_at=unstamp(doc["earned_at"]),
        points=int(doc["points"]),
        remaining=int(doc["remaining"]),
        expires_at=unstamp_optional(doc.get("expires_at")),
        warned_for=unstamp_optional(doc.get("warned_for")),
    )


def _usage(doc: dict[str, Any]) -> CapUsage:
    return CapUsage(points=int(doc["points"]), until=unstamp(doc["until"]))


def _pending(doc: dict[str, Any] | None) -> PendingDowngrade | None:
    if not doc:
        return None
    return PendingDowngrade(
        to_tier=doc["to_tier"],
        effective_at=unstamp(doc["effective_at"]),
        period_start=unstamp(doc["period_start"]),
        period_end=unstamp(doc["period_end"]),
        points=int(doc["points"]),
    )
