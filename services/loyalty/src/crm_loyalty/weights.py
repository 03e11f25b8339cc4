"""The customer health score's contribution weights as a versioned document (issue 11).

Version 1 is the service's settings (``HEALTH_*``); a manager stores a new version with
``PUT /health/weights``, and a preventable offboarding review stores one that strengthens
the risk signals it names (``learning``). Every weight stays
within ``±MAX_WEIGHT`` and keeps its sign (a complaint never raises the score), so no
version can turn the score upside down. Every history point names the version in force.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_events.bounds import Timestamp
from crm_events.common import Severity, ShortText
from crm_loyalty.rules import CustomerHealthRules
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.store import AggregateConflict, AggregateStore, Decision

MAX_WEIGHT = 50
WEIGHTS_ID = "health-weights"
VERSIONS = "rulebook_versions"  # where every version is kept (``programme_codec``)
Gain = Annotated[int, Field(ge=0, le=MAX_WEIGHT)]
Loss = Annotated[int, Field(ge=-MAX_WEIGHT, le=0)]


class WeightsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contact: Gain
    purchase: Gain
    complaint: dict[str, Loss] = Field(description="Per severity: low, medium, high, critical.")
    sla_breach: Loss
    survey_low: Loss
    survey_high: Gain
    inactivity: Loss
    payment_overdue: Loss
    contract_breached: Loss

    @model_validator(mode="after")
    def _every_severity(self) -> Self:
        expected = sorted(severity.value for severity in Severity)
        if sorted(self.complaint) != expected:
            raise ValueError(f"complaint needs exactly the severities {expected}")
        return self


class WeightAdjustment(BaseModel):
    """One weight a review moved (``complaint.<severity>`` for the complaint weights)."""

    model_config = ConfigDict(frozen=True)

    weight: str
    before: int
    after: int


class Learning(BaseModel):
    """Why a version exists when a review made it: the case, the signals used and those
    the service does not know, and every weight's move."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    outcome: str
    signals: list[str]
    ignored: list[str] = Field(default_factory=list)
    adjustments: list[WeightAdjustment]


class HealthWeights(WeightsBody):
    version: Annotated[int, Field(ge=1)]
    created_at: Timestamp
    created_by: ShortText
    learning: Learning | None = None  # set on a version a lessons-learned review made

    def apply_to(self, rules: CustomerHealthRules) -> CustomerHealthRules:
        return replace(
            rules,
            contact=self.contact,
            purchase=self.purchase,
            complaint=dict(self.complaint),
            sla_breach=self.sla_breach,
            survey_low=self.survey_low,
            survey_high=self.survey_high,
            inactivity=self.inactivity,
            payment_overdue=self.payment_overdue,
            contract_breached=self.contract_breached,
            weights_version=self.version,
        )


def from_rules(rules: CustomerHealthRules, at: datetime) -> HealthWeights:
    """Version 1: the settings (outside the bounds they are clamped into them)."""

    def gain(value: int) -> int:
        return max(0, min(MAX_WEIGHT, value))

    def loss(value: int) -> int:
        return max(-MAX_WEIGHT, min(0, value))

    return HealthWeights(
        version=1,
        created_at=at,
        created_by="settings",
        contact=gain(rules.contact),
        purchase=gain(rules.purchase),
        complaint={k: loss(v) for k, v in rules.complaint.items()},
        sla_breach=loss(rules.sla_breach),
        survey_low=loss(rules.survey_low),
        survey_high=gain(rules.survey_high),
        inactivity=loss(rules.inactivity),
        payment_overdue=loss(rules.payment_overdue),
        contract_breached=loss(rules.contract_breached),
    )


class Weights:
    """The current weights (cached ``refresh_s``, like the rule book) and new versions."""

    def __init__(
        self,
        store: AggregateStore[HealthWeights],
        clock: Clock,
        *,
        default: HealthWeights,
        refresh_s: float = 5.0,
    ) -> None:
        self.store = store
        self._clock = clock
        self._default = default
        self._refresh_s = refresh_s
        self._cached: HealthWeights | None = None
        self._loaded = 0.0

    async def current(self) -> HealthWeights:
        if self._cached is None or time.monotonic() - self._loaded > self._refresh_s:
            self._cached = await self.store.get(WEIGHTS_ID) or self._default
            self._loaded = time.monotonic()
        return self._cached

    async def version(self, version: int) -> HealthWeights:
        doc = (await self.store.backend.load(VERSIONS, [f"weights-v{version}"])).get(
            f"weights-v{version}"
        )
        if doc is not None:
            return HealthWeights.model_validate_json(doc["weights"])
        if version == self._default.version:
            return self._default
        raise NotFound(f"no version {version} of the health weights")

    async def rules(self, base: CustomerHealthRules) -> CustomerHealthRules:
        return (await self.current()).apply_to(base)

    async def put(self, body: WeightsBody, *, by: str, expected: int | None) -> HealthWeights:
        current = await self.store.get(WEIGHTS_ID) or self._default
        if expected is not None and expected != current.version:
            raise Conflict(f"weights are at version {current.version}, not {expected}")
        weights = HealthWeights(
            version=current.version + 1,
            created_at=self._clock.now(),
            created_by=by,
            **body.model_dump(),
        )

        def decide(state: HealthWeights | None) -> Decision[HealthWeights]:
            if (state or self._default).version != current.version:
                raise Conflict("weights changed meanwhile; retry")
            return Decision(state=weights, entries=[weights])

        try:
            await self.store.apply(WEIGHTS_ID, f"weights-v{weights.version}", decide)
        except AggregateConflict as exc:
            raise Conflict("the weights are being changed concurrently; retry") from exc
        self.remember(weights)
        return weights

    def remember(self, weights: HealthWeights) -> None:
        """The version just stored is the current one (no wait for the refresh)."""
        self._cached, self._loaded = weights, time.monotonic()

    @property
    def configured(self) -> HealthWeights:
        """Version 1: the settings."""
        return self._default
