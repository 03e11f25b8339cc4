"""HTTP API of the earning rules: read the current book and its versions; a manager stores
a new version (``PUT /rules``) or tries one without storing it (``?dry_run=true``, with
sample facts to see what they would earn)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from crm_events.bounds import Timestamp
from crm_loyalty.domain import Account
from crm_loyalty.programme import RuleBooks, Sample
from crm_loyalty.rulebook import RuleBook, RuleBookBody, Scalar, Trigger
from crm_runtime.http import error_responses
from crm_runtime.security import Principal, require
from crm_runtime.settings import Role

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_manager = require(Role.MANAGER)
_PUT_ERRORS = error_responses(
    {409: "The rules are at another version than expected_version, or changed meanwhile."}
)
FieldValue = Scalar | None


class SampleFact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trigger: Trigger
    fields: dict[Annotated[str, Field(max_length=50)], FieldValue] = Field(
        default_factory=dict, max_length=20, description="The fact's fields, e.g. amount_minor."
    )
    tier: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,29}$")] = Field(
        description="The member's tier."
    )
    at: Timestamp | None = Field(None, description="When it happens (default: now).")


class PutRules(RuleBookBody):
    expected_version: Annotated[int, Field(ge=1)] | None = Field(
        None, description="The version this one replaces (409 if the stored one differs)."
    )
    samples: list[SampleFact] = Field(
        default_factory=list, max_length=50, description="Facts to try the rules on."
    )


class TrialView(BaseModel):
    trigger: str
    tier: str
    points: int = Field(description="Points the fact would earn (caps as for a new member).")
    capped: int
    explanation: dict[str, Any]


class RuleBookView(BaseModel):
    version: int
    created_at: datetime
    created_by: str
    book: dict[str, Any] = Field(description="rules, member_cap, budget.")


class PutRulesView(RuleBookView):
    stored: bool = Field(description="False for a dry run.")
    trials: list[TrialView]


class RuleBookPage(BaseModel):
    items: list[RuleBookView]


def build_rules_router(books: RuleBooks) -> APIRouter:
    router = APIRouter(prefix="/rules", tags=["earning rules"], dependencies=[_staff])

    @router.get("", responses=error_responses({404: "No such version of the rules."}))
    async def get_rules(
        version: Annotated[
            int | None,
            Query(ge=1, le=1_000_000, description="A stored version (default: current)."),
        ] = None,
    ) -> RuleBookView:
        return _view(await books.version(version) if version else await books.current())

    @router.get("/versions")
    async def get_versions(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> RuleBookPage:
        return RuleBookPage(items=[_view(b) for b in await books.versions(limit=limit)])

    @router.put("", responses=_PUT_ERRORS)
    async def put_rules(
        body: PutRules,
        principal: Annotated[Principal, Depends(_manager)],
        dry_run: Annotated[bool, Query(description="Validate and try, store nothing.")] = False,
    ) -> PutRulesView:
        rules = RuleBookBody(rules=body.rules, member_cap=body.member_cap, budget=body.budget)
        by = f"{principal.role.value}:{principal.key_id}"
        book = await books.put(rules, by=by, expected=body.expected_version, dry_run=dry_run)
        trials = [_trial(books, book, sample) for sample in body.samples]
        return PutRulesView(**_view(book).model_dump(), stored=not dry_run, trials=trials)

    return router


def _view(book: RuleBook) -> RuleBookView:
    body = book.model_dump(mode="json", include={"rules", "member_cap", "budget"})
    return RuleBookView(
        version=book.version, created_at=book.created_at, created_by=book.created_by, book=body
    )


def _trial(books: RuleBooks, book: RuleBook, sample: SampleFact) -> TrialView:
    at = sample.at or books.now()
    member = Account(customer_id="dry-run", opened_at=at, tier=sample.tier, score=0)
    trial = books.trial(book, Sample(sample.trigger, dict(sample.fields), sample.tier, at), member)
    return TrialView(
        trigger=sample.trigger,
        tier=sample.tier,
        points=trial.points,
        capped=trial.capped,
        explanation=trial.details,
    )
