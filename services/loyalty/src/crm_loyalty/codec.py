"""Accounts and ledger entries ↔ MongoDB documents.

Sub-documents live in maps keyed by id (contributions, applied), arrays hold scalars only
(risk reasons), and every timestamp is a ``stamp()`` string (see crm_runtime.timestamps).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crm_loyalty.domain import (
    Account,
    Contribution,
    LedgerEntry,
    RiskEpisode,
    Settlement,
)
from crm_runtime.timestamps import stamp_tree, unstamp, unstamp_optional


def account_fields(account: Account) -> dict[str, Any]:
    """Every stored field except ``_id`` and the outbox; None means "absent"."""
    fields: dict[str, Any] = stamp_tree(asdict(account))
    return fields


def account_from(doc: dict[str, Any]) -> Account:
    risk, settlement = doc.get("risk"), doc.get("settlement")
    return Account(
        customer_id=doc["_id"],
        opened_at=unstamp(doc["opened_at"]),
        status=doc["status"],
        tier=doc["tier"],
        balance=int(doc["balance"]),
        qualifying_points=int(doc["qualifying_points"]),
        version=int(doc["version"]),
        score=int(doc["score"]),
        contributions={k: _contribution(v) for k, v in (doc.get("contributions") or {}).items()},
        risk=_risk(risk) if risk else None,
        risk_episodes=int(doc.get("risk_episodes") or 0),
        last_hard_signal_at=unstamp_optional(doc.get("last_hard_signal_at")),
        last_activity_at=unstamp_optional(doc.get("last_activity_at")),
        next_due_at=unstamp_optional(doc.get("next_due_at")),
        settlement=_settlement(settlement) if settlement else None,
        applied={k: unstamp(v) for k, v in (doc.get("applied") or {}).items()},
        ignored_entries={k: unstamp(v) for k, v in (doc.get("ignored_entries") or {}).items()},
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
