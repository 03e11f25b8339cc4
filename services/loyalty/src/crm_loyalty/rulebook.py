"""The earning rules as a versioned document a marketing team runs (issue 11). Pure.

A ``RuleBook`` is validated as a whole before it is stored or used: every rule names a
trigger (a consumed fact), conditions on that fact's fields, one action (fixed points,
points per currency unit, or a multiplier of the other rules' points), validity dates and
an optional cap per member and period. The book also holds a cap per member and period
over all its rules. The same model validates the start-up file and ``PUT /rules``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_events.bounds import Timestamp
from crm_events.common import ShortText

Trigger = Literal[
    "purchase_recorded",
    "contact_logged",
    "survey_answered",
    "complaint_resolved",
    "birthday",
    "goodwill_granted",
    "referral",
]
Period = Literal["day", "week", "month", "year"]
RuleId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$",
        description="Stable id of the rule (lower case, digits, '-', '_'; at most 50).",
    ),
]
PointsValue = Annotated[int, Field(ge=0, le=1_000_000_000)]
Scalar = int | str | bool

# The fields a condition may test, per trigger, and their kind. ``tier`` is the member's
# tier when the fact is applied; the others are the consumed fact's own fields.
TRIGGER_FIELDS: dict[str, dict[str, type]] = {
    "purchase_recorded": {
        "amount_minor": int,
        "currency": str,
        "items_count": int,
        "category": str,
        "channel": str,
        "tier": str,
    },
    "contact_logged": {"channel": str, "direction": str, "tier": str},
    "survey_answered": {"csat": int, "nps": int, "tier": str},
    "complaint_resolved": {"severity": str, "within_sla": bool, "tier": str},
    "birthday": {"tier": str},
    "goodwill_granted": {"points": int, "tier": str},
    "referral": {"channel": str, "tier": str},  # the referrer earns (the event's subject)
}
# Triggers carrying an amount in minor units (points per currency unit apply to them).
AMOUNT_TRIGGERS = frozenset({"purchase_recorded"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    field: Annotated[str, Field(min_length=1, max_length=50)]
    op: Literal["eq", "gte", "lte", "in"]
    value: Scalar | Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=100)]

    def holds(self, fields: dict[str, Scalar | None]) -> bool:
        actual = fields.get(self.field)
        if actual is None:
            return False  # a condition on a field the fact lacks never holds
        if self.op == "in":
            return isinstance(self.value, list) and str(actual) in self.value
        if self.op == "eq":
            return actual == self.value
        if isinstance(actual, bool) or not isinstance(actual, int):
            return False
        assert isinstance(self.value, int)
        return actual >= self.value if self.op == "gte" else actual <= self.value


class Action(_Strict):
    kind: Literal["fixed", "per_currency_unit", "multiplier"]
    points: PointsValue | None = Field(
        None, description="fixed: points awarded; per_currency_unit: points per unit."
    )
    percent: Annotated[int, Field(ge=100, le=1000)] | None = Field(
        None, description="multiplier: percent of the other rules' points (200 = double)."
    )

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if self.kind == "multiplier" and (self.percent is None or self.points is not None):
            raise ValueError("a multiplier needs percent (and no points)")
        if self.kind != "multiplier" and (self.points is None or self.percent is not None):
            raise ValueError(f"a {self.kind} action needs points (and no percent)")
        return self


class Cap(_Strict):
    points: PointsValue = Field(description="At most this many points per period.")
    period: Period = Field(description="Calendar period (UTC): day, ISO week, month, year.")


class EarningRule(_Strict):
    id: RuleId
    description: ShortText
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    action: Action
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = Field(None, description="Exclusive end of validity.")
    qualifying: bool = Field(True, description="Its base points count towards tiers.")
    cap: Cap | None = Field(None, description="Per member and period, for this rule.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        fields = TRIGGER_FIELDS[self.trigger]
        for condition in self.conditions:
            _check_condition(self.trigger, fields, condition)
        if self.action.kind == "per_currency_unit" and self.trigger not in AMOUNT_TRIGGERS:
            raise ValueError(f"rule {self.id}: {self.trigger} carries no amount")
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise ValueError(f"rule {self.id}: valid_from must be before valid_until")
        return self

    def valid_at(self, at: datetime) -> bool:
        started = self.valid_from is None or self.valid_from <= at
        return started and (self.valid_until is None or at < self.valid_until)


def _check_condition(trigger: str, fields: dict[str, type], condition: Condition) -> None:
    kind = fields.get(condition.field)
    if kind is None:
        raise ValueError(f"{trigger} has no field {condition.field!r} (known: {sorted(fields)})")
    value = condition.value
    if condition.op == "in":
        if not isinstance(value, list) or not value:
            raise ValueError(f"condition {condition.field} in: needs a non-empty list")
        if kind is not str:
            raise ValueError(f"condition {condition.field} in: only text fields")
        return
    if isinstance(value, list):
        raise ValueError(f"condition {condition.field} {condition.op}: needs one value")
    if condition.op in ("gte", "lte") and kind is not int:
        raise ValueError(f"condition {condition.field} {condition.op}: only numeric fields")
    if type(value) is not kind:
        raise ValueError(f"condition {condition.field}: expects a {kind.__name__} value")


class RuleBookBody(_Strict):
    """What a manager sends (``PUT /rules``) and what the start-up file holds."""

    rules: list[EarningRule] = Field(max_length=200)
    member_cap: Cap | None = Field(None, description="Per member and period, all rules.")
    budget: Cap | None = Field(None, description="Per period, all members and rules.")

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [rule.id for rule in self.rules]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"rule ids must be unique: {doubled}")
        return self


class RuleBook(RuleBookBody):
    """A stored version: the body plus who made it and when."""

    version: Annotated[int, Field(ge=1)]
    created_at: Timestamp
    created_by: ShortText = "configuration"

    def rules_for(self, trigger: str) -> list[EarningRule]:
        return [rule for rule in self.rules if rule.trigger == trigger]


def check_tiers(body: RuleBookBody, tiers: set[str]) -> None:
    """Conditions on tiers must name configured tiers (a typo would never match)."""
    for rule in body.rules:
        for condition in rule.conditions:
            if condition.field != "tier":
                continue
            named = condition.value if isinstance(condition.value, list) else [condition.value]
            unknown = sorted(str(t) for t in named if t not in tiers)
            if unknown:
                raise ValueError(f"rule {rule.id}: unknown tiers {unknown}")


def default_body(points_per_currency_unit: int) -> RuleBookBody:
    """Today's behaviour as a rule: points per currency unit on every purchase."""
    purchase = EarningRule(
        id="purchase-points",
        description="Points per currency unit spent",
        trigger="purchase_recorded",
        action=Action(kind="per_currency_unit", points=points_per_currency_unit),
    )
    return RuleBookBody(rules=[purchase])


class RuleBookFile(RuleBookBody):
    """The start-up file: a body with the version it stands for. It is stored when it is
    newer than the stored book (a manager's later ``PUT /rules`` has a higher version)."""

    version: Annotated[int, Field(ge=1)]


DEFAULT_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def default_book(points_per_currency_unit: int) -> RuleBook:
    """Version 1, used until a book is stored: today's purchase rule."""
    body = default_body(points_per_currency_unit)
    return RuleBook(version=1, created_at=DEFAULT_CREATED_AT, created_by="default", **_fields(body))


def versioned(body: RuleBookBody, version: int, at: datetime, by: str) -> RuleBook:
    return RuleBook(version=version, created_at=at, created_by=by, **_fields(body))


def _fields(body: RuleBookBody) -> dict[str, object]:
    return {"rules": body.rules, "member_cap": body.member_cap, "budget": body.budget}
