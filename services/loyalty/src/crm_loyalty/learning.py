"""Churn outcomes feed the risk model (issue 9, 经验).

A closed offboarding case carries its lessons-learned review: whether the loss was
preventable and which signals came too late. Loyalty answers a preventable review by
strengthening the weight of every named risk signal by one step — a new version of the
health weights (``weights``), so the next customer showing that signal falls towards the
risk threshold sooner. Bounds keep learning from running away: a weight moves at most
``max_shift`` away from its configured value (version 1) and never past ``MAX_WEIGHT``.
Every learned version names the case, the review's signals it used and ignored, and
each weight's before and after; history points name the version in force, so the health
view explains which review moved a customer's score.

Only risk signals (the negative weights) learn: a review lists what warned too late, and
making a warning louder is the only adjustment it justifies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from crm_loyalty.weights import (
    MAX_WEIGHT,
    WEIGHTS_ID,
    HealthWeights,
    Learning,
    WeightAdjustment,
    Weights,
)
from crm_runtime.store import Decision

# Names a review may use for a signal — a weight's own name, the event that carries it
# (full type or its topic name), or a plain word — and the weight each one means.
ALIASES: dict[str, str] = {
    "complaint": "complaint",
    "complaints": "complaint",
    "complaint_raised": "complaint",
    "sla_breach": "sla_breach",
    "sla_breached": "sla_breach",
    "complaint_sla_breached": "sla_breach",
    "survey_low": "survey_low",
    "low_survey": "survey_low",
    "survey_answered": "survey_low",
    "inactivity": "inactivity",
    "inactive": "inactivity",
    "payment_overdue": "payment_overdue",
    "contract_breached": "contract_breached",
}
_EVENT_TYPE = re.compile(r"^crm\.[a-z0-9-]+\.([a-z0-9-]+)\.v\d+$")


@dataclass(frozen=True)
class LearningRules:
    enabled: bool = True
    step: int = 2  # points added to a named risk signal's weight per review
    max_shift: int = 10  # how far a weight may move from its configured value, in total


@dataclass(frozen=True)
class Review:
    """The part of ``OffboardingCaseClosed`` learning reads."""

    case_id: str
    outcome: str
    preventable: bool | None
    late_signals: tuple[str, ...]
    closed_at: datetime


def weight_named(signal: str) -> str | None:
    """The weight a review's signal name means, or None."""
    name = signal.strip().lower()
    matched = _EVENT_TYPE.match(name)
    if matched:
        name = matched.group(1)
    name = name.removeprefix("crm.").replace("-", "_").replace(" ", "_")
    return ALIASES.get(name)


def learn(
    current: HealthWeights,
    configured: HealthWeights,
    review: Review,
    rules: LearningRules,
    now: datetime,
) -> HealthWeights | None:
    """The next version of the weights after ``review``, or None when it teaches nothing
    (learning off, not preventable, no known signal, every named weight at its bound)."""
    if not rules.enabled or review.preventable is not True:
        return None
    named: dict[str, list[str]] = {}
    ignored: list[str] = []
    for signal in review.late_signals:
        weight = weight_named(signal)
        if weight is None:
            ignored.append(signal)
        else:
            named.setdefault(weight, []).append(signal)
    values = current.model_dump(exclude={"version", "created_at", "created_by", "learning"})
    base = configured.model_dump()
    adjustments: list[WeightAdjustment] = []
    for weight in sorted(named):
        if weight == "complaint":
            moved = {
                severity: _stronger(before, base["complaint"][severity], rules)
                for severity, before in values["complaint"].items()
            }
            for severity, after in sorted(moved.items()):
                before = values["complaint"][severity]
                if after != before:
                    adjustments.append(
                        WeightAdjustment(weight=f"complaint.{severity}", before=before, after=after)
                    )
            values["complaint"] = moved
        else:
            before = values[weight]
            after = _stronger(before, base[weight], rules)
            if after != before:
                adjustments.append(WeightAdjustment(weight=weight, before=before, after=after))
            values[weight] = after
    if not adjustments:
        return None
    used = sorted(s for signals in named.values() for s in signals)
    return HealthWeights(
        version=current.version + 1,
        created_at=now,
        created_by=f"review:{review.case_id}",
        learning=Learning(
            case_id=review.case_id,
            outcome=review.outcome,
            signals=used,
            ignored=ignored,
            adjustments=adjustments,
        ),
        **values,
    )


def _stronger(before: int, configured: int, rules: LearningRules) -> int:
    """One step more negative, no further than ``max_shift`` below the configured value
    (nor below ``-MAX_WEIGHT``); a weight already past the bound stays where it is."""
    floor = max(-MAX_WEIGHT, configured - rules.max_shift)
    return min(before, max(floor, before - rules.step))


async def apply_review(
    weights: Weights, review: Review, event_id: str, rules: LearningRules, now: datetime
) -> bool:
    """A closed case's review, once per event: a new version of the weights if it teaches
    something. A lost race re-decides on the winner's weights, so reviews add up in any
    order."""
    configured = weights.configured

    def decide(state: HealthWeights | None) -> Decision[HealthWeights]:
        learned = learn(state or configured, configured, review, rules, now)
        return Decision() if learned is None else Decision(state=learned, entries=[learned])

    applied = await weights.store.apply(WEIGHTS_ID, event_id, decide)
    if applied.applied and applied.state is not None:
        weights.remember(applied.state)
    return applied.applied
