"""HTTP API of the loyalty service (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from crm_events.common import EntityId, ShortText
from crm_loyalty.budget import Budget
from crm_loyalty.domain import Account, LedgerEntry
from crm_loyalty.goodwill import Adjustment
from crm_loyalty.rulebook import RuleBook
from crm_loyalty.rules import CustomerHealthRules
from crm_loyalty.service import LoyaltyService, Redeemed, Redemption
from crm_runtime.errors import DomainError
from crm_runtime.http import CustomerIdPath, error_responses
from crm_runtime.security import IdempotencyKey, Principal, require
from crm_runtime.settings import Role

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_manager = require(Role.MANAGER)
_ADJUST_ERRORS = error_responses(
    {
        404: "No loyalty account for this customer.",
        409: "Account frozen (settled), a concurrent update, or an Idempotency-Key reused.",
        422: "Invalid request, 0 points, above the per-grant limit, or not enough points.",
    }
)
_UNKNOWN = error_responses({404: "No loyalty account for this customer."})
_REDEEM_ERRORS = error_responses(
    {
        404: "No loyalty account for this customer.",
        409: "Account frozen (settled), a concurrent update, or an Idempotency-Key reused.",
        422: "Invalid request, or not enough points.",
    }
)


class RedeemPoints(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=1, le=100_000_000, description="Points to spend.")
    reward: ShortText = Field(description="What the points are exchanged for.")
    reference: EntityId | None = Field(None, description="Order, voucher or request id.")


class AdjustPoints(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(
        ge=-100_000_000,
        le=100_000_000,
        description="Signed: a credit (goodwill) or a debit (correction); not 0.",
    )
    reason: ShortText = Field(description="Why (shown in the ledger; no personal data).")
    reference: EntityId | None = Field(None, description="Complaint, case or ticket id.")


class AdjustmentView(BaseModel):
    entry_id: str
    customer_id: str
    points: int = Field(description="Signed effect on the balance.")
    reason: str
    reference: str | None
    granted_by: str = Field(description="Role and key fingerprint of who granted it.")
    balance: int = Field(description="Account balance after the adjustment.")


class SettlementView(BaseModel):
    policy: str
    points: int
    amount_minor: int
    currency: str
    settled_at: datetime
    case_id: str | None
    written_off: int


class LotView(BaseModel):
    entry_id: str = Field(description="The award entry that credited these points.")
    earned_at: datetime
    points: int
    remaining: int
    expires_at: datetime | None
    warned_for: datetime | None = Field(description="Expiry date a PointsExpiring was sent for.")


class CapView(BaseModel):
    scope: str = Field(description="member, or rule-<rule id>.")
    period: str = Field(description="d<yyyymmdd>, w<yyyy>w<ww>, m<yyyymm> or y<yyyy>.")
    used: int = Field(description="Points credited in the period under this cap.")
    limit: int | None = Field(description="The cap in the current rule book (none: removed).")
    until: datetime


class BudgetView(BaseModel):
    period: str
    limit: int
    granted: int
    left: int


class AccountView(BaseModel):
    customer_id: str
    status: str = Field(description="open, or settled (frozen) after offboarding.")
    balance: int = Field(description="Points; negative when returns reversed spent points.")
    qualifying_points: int
    tier: str
    opened_at: datetime
    version: int
    settlement: SettlementView | None
    lots: list[LotView] = Field(description="Points held, oldest first (redeemed first).")
    next_expiry_at: datetime | None
    caps: list[CapView] = Field(description="Cap usage of this member per period.")
    budget: BudgetView | None = Field(description="The programme budget's current period.")
    rulebook_version: int = Field(description="Earning rules in force.")


class LedgerEntryView(BaseModel):
    entry_id: str
    kind: str
    points: int
    delta: int = Field(description="Signed effect on the balance.")
    state: str = Field(description="pending, posted or ignored (see note).")
    note: str | None
    source_event_id: str
    order_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    details: dict[str, Any]


class LedgerPage(BaseModel):
    items: list[LedgerEntryView]


class RedemptionView(BaseModel):
    entry_id: str
    customer_id: str
    points: int
    reward: str
    reference: str | None
    balance: int = Field(description="Account balance after the redemption.")


class ContributionView(BaseModel):
    key: str
    code: str
    reason: str
    delta: int
    at: datetime
    count: int


class RiskView(BaseModel):
    risk_id: str
    category: str
    opened_at: datetime
    score: int
    reasons: list[str]
    hard_signal: str | None


class HealthView(BaseModel):
    customer_id: str
    score: int
    baseline: int
    risk_threshold: int
    recovery_threshold: int
    contributions: list[ContributionView] = Field(description="Newest first.")
    risk: RiskView | None = Field(description="The open risk episode, if any.")
    risk_episodes: int
    last_activity_at: datetime | None
    next_inactivity_check_at: datetime | None


def build_router(service: LoyaltyService, health_rules: CustomerHealthRules) -> APIRouter:
    router = APIRouter(prefix="/accounts", tags=["loyalty"], dependencies=[_staff])

    @router.get("/{customer_id}", responses=_UNKNOWN)
    async def get_account(customer_id: CustomerIdPath) -> AccountView:
        account = await service.account(customer_id)
        book = await service.books.current()
        budget = await service.budgets.current(book, service.now())
        return _account_view(account, book, budget)

    @router.get("/{customer_id}/ledger", responses=_UNKNOWN)
    async def get_ledger(
        customer_id: CustomerIdPath, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> LedgerPage:
        entries = await service.ledger(customer_id, limit=limit)
        return LedgerPage(items=[_entry_view(e) for e in entries])

    @router.post(
        "/{customer_id}/redemptions",
        status_code=status.HTTP_201_CREATED,
        responses=_REDEEM_ERRORS,
    )
    async def redeem(
        customer_id: CustomerIdPath, body: RedeemPoints, idempotency_key: IdempotencyKey = None
    ) -> RedemptionView:
        request = Redemption(points=body.points, reward=body.reward, reference=body.reference)
        request_id = service.request_id(customer_id, idempotency_key)
        return _redemption_view(await service.redeem(customer_id, request, request_id))

    @router.post(
        "/{customer_id}/adjustments",
        status_code=status.HTTP_201_CREATED,
        responses=_ADJUST_ERRORS,
    )
    async def adjust(
        customer_id: CustomerIdPath,
        body: AdjustPoints,
        principal: Annotated[Principal, Depends(_manager)],
        idempotency_key: IdempotencyKey = None,
    ) -> AdjustmentView:
        if body.points == 0:
            raise DomainError("an adjustment moves at least one point")
        by = f"{principal.role.value}:{principal.key_id}"
        adjustment = Adjustment(body.points, body.reason, body.reference, by)
        request_id = service.adjustment_id(customer_id, idempotency_key)
        return _adjustment_view(await service.adjust(customer_id, adjustment, request_id))

    @router.get("/{customer_id}/health", responses=_UNKNOWN)
    async def get_health(customer_id: CustomerIdPath) -> HealthView:
        return _health_view(await service.account(customer_id), health_rules)

    return router


def _account_view(account: Account, book: RuleBook, budget: Budget | None) -> AccountView:
    settlement = account.settlement
    lots = sorted(account.lots.values(), key=lambda lot: (lot.earned_at, lot.entry_id))
    expiries = [lot.expires_at for lot in lots if lot.expires_at is not None]
    return AccountView(
        customer_id=account.customer_id,
        status=account.status,
        balance=account.balance,
        qualifying_points=account.qualifying_points,
        tier=account.tier,
        opened_at=account.opened_at,
        version=account.version,
        settlement=SettlementView.model_validate(settlement, from_attributes=True)
        if settlement
        else None,
        lots=[LotView.model_validate(lot, from_attributes=True) for lot in lots],
        next_expiry_at=min(expiries, default=None),
        caps=[
            _cap_view(key, usage.points, usage.until, book)
            for key, usage in account.cap_usage.items()
        ],
        budget=None
        if budget is None
        else BudgetView(
            period=budget.period, limit=budget.limit, granted=budget.granted, left=budget.left
        ),
        rulebook_version=book.version,
    )


def _cap_view(key: str, used: int, until: datetime, book: RuleBook) -> CapView:
    scope, _, period = key.partition("__")
    cap = book.member_cap
    if scope.startswith("rule-"):
        rule = next((r for r in book.rules if r.id == scope.removeprefix("rule-")), None)
        cap = rule.cap if rule else None
    return CapView(
        scope=scope, period=period, used=used, limit=cap.points if cap else None, until=until
    )


def _entry_view(entry: LedgerEntry) -> LedgerEntryView:
    return LedgerEntryView.model_validate(entry, from_attributes=True)


def _adjustment_view(done: Redeemed) -> AdjustmentView:
    entry = done.entry
    return AdjustmentView(
        entry_id=entry.entry_id,
        customer_id=entry.customer_id,
        points=entry.delta,
        reason=entry.details["reason"],
        reference=entry.details.get("reference"),
        granted_by=entry.details["granted_by"],
        balance=done.balance,
    )


def _redemption_view(redeemed: Redeemed) -> RedemptionView:
    entry = redeemed.entry
    return RedemptionView(
        entry_id=entry.entry_id,
        customer_id=entry.customer_id,
        points=entry.points,
        reward=entry.details["reward"],
        reference=entry.details.get("reference"),
        balance=redeemed.balance,
    )


def _health_view(account: Account, rules: CustomerHealthRules) -> HealthView:
    ordered = sorted(account.contributions.items(), key=lambda kv: (kv[1].at, kv[0]), reverse=True)
    risk = account.risk
    return HealthView(
        customer_id=account.customer_id,
        score=account.score,
        baseline=rules.initial,
        risk_threshold=rules.risk_threshold,
        recovery_threshold=rules.recovery_threshold,
        contributions=[ContributionView(key=key, **c.__dict__) for key, c in ordered],
        risk=RiskView.model_validate(risk, from_attributes=True) if risk else None,
        risk_episodes=account.risk_episodes,
        last_activity_at=account.last_activity_at,
        next_inactivity_check_at=account.next_due_at,
    )
