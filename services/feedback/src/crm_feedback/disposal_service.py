"""Use cases of data disposal and portability in feedback (rules in ``disposal`` and
``portability``): the consumed erasure request writes the customer's tombstone, the sweeper
anonymises their complaints and survey answers and attests; an export request is answered
with their section."""

from __future__ import annotations

from datetime import datetime

from crm_events import deterministic_event_id
from crm_feedback import codec, decisions, disposal, portability
from crm_feedback.answers import Survey
from crm_feedback.disposal import EndedRelationship, ErasedCustomer, ErasureRequest
from crm_feedback.domain import Complaint, to_millis
from crm_feedback.portability import ExportAnswer, ExportRequest
from crm_feedback.sla import SlaPolicy
from crm_runtime.clock import Clock
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore

log = get_logger(__name__)


CLOSED_BY = "crm-offboarding"  # who closes complaints at the end: the process, not a person


class EndOfRelationship:
    """``RelationshipEnded``: every open complaint of the customer is closed with a
    recorded outcome (a resolution naming the case), so no SLA clock keeps running — and
    no escalation fires — for a customer who is gone."""

    def __init__(
        self,
        complaints: AggregateStore[Complaint],
        ends: AggregateStore[EndedRelationship],
        clock: Clock,
        *,
        policy: SlaPolicy,
        source: str,
    ) -> None:
        self._complaints = complaints
        self._policy = policy
        self.ends = ends
        self._clock = clock
        self._source = source

    async def ended(self, event_id: str, customer_id: str, case_id: str) -> bool:
        """Close what is open (each close once), then record the end: a redelivery finds
        the record (and nothing open) and changes nothing."""
        open_ids = await codec.open_complaints_of(self._complaints.backend, customer_id)
        now, source, policy = to_millis(self._clock.now()), self._source, self._policy
        closed_ids: list[str] = []
        outcome = f"Closed at the end of the relationship (offboarding case {case_id})."
        for complaint_id in open_ids:
            close_id = deterministic_event_id(event_id, "closed-at-end", complaint_id)
            rule = lambda s, c=complaint_id, e=close_id: decisions.resolve(  # noqa: E731
                s,
                c,
                by=CLOSED_BY,
                resolution=outcome,
                event_id=e,
                now=now,
                source=source,
                policy=policy,
            )
            if (await self._complaints.apply(complaint_id, close_id, rule)).applied:
                closed_ids.append(complaint_id)
        recorded = await self.ends.apply(
            customer_id,
            event_id,
            lambda s: disposal.relationship_ended(s, customer_id, case_id, closed_ids, now),
        )
        log.info("complaints_closed_at_end", case_id=case_id, closed=len(closed_ids))
        return recorded.applied or bool(closed_ids)


class PortabilityService:
    """Answers export requests with the customer's complaints and survey answers."""

    def __init__(self, answers: AggregateStore[ExportAnswer], clock: Clock, *, source: str) -> None:
        self.answers = answers
        self._clock = clock
        self._source = source

    async def export_requested(self, request: ExportRequest) -> bool:
        backend = self.answers.backend
        complaints, surveys = await codec.export_of_customer(
            backend, request.customer_id, portability.MAX_ITEMS
        )
        now, source = self._clock.now(), self._source
        rule = lambda s: portability.answer(  # noqa: E731
            s, request, complaints, surveys, now, source=source
        )
        answered = await self.answers.apply(request.export_id, request.event_id, rule)
        if answered.applied:
            log.info("feedback_export_answered", case_id=request.case_id)
        return answered.applied


class DisposalService:
    def __init__(
        self,
        tombstones: AggregateStore[ErasedCustomer],
        complaints: AggregateStore[Complaint],
        surveys: AggregateStore[Survey],
        clock: Clock,
        *,
        source: str,
    ) -> None:
        self.tombstones = tombstones
        self._complaints = complaints
        self._surveys = surveys
        self._clock = clock
        self._source = source

    async def erasure_requested(self, request: ErasureRequest) -> bool:
        now = self._clock.now()
        written = await self.tombstones.apply(
            request.customer_id, request.event_id, lambda s: disposal.tombstone(s, request, now)
        )
        if written.applied:
            log.info("feedback_erasure_started", case_id=request.case_id)
        return written.applied

    async def erased(self, customer_id: str) -> ErasedCustomer | None:
        return await self.tombstones.get(customer_id)

    async def on_due(self, erased: ErasedCustomer, now: datetime) -> None:
        """Sweeper: anonymise everything of the customer, then attest (each step once)."""
        records = await self._anonymise_complaints(erased) + await self._anonymise_surveys(erased)
        rule = lambda s: disposal.attest(s, records, now, source=self._source)  # noqa: E731
        step = disposal.step_id(erased, "attested", erased.customer_id)
        if (await self.tombstones.apply(erased.customer_id, step, rule)).applied:
            log.info("feedback_erased", case_id=erased.case_id, records=records)

    async def _anonymise_complaints(self, erased: ErasedCustomer) -> int:
        ids = await codec.ids_of_customer(self._complaints.backend, codec.COMPLAINTS, erased)
        for complaint_id in ids:
            step = disposal.step_id(erased, "complaint", complaint_id)
            await self._complaints.apply(complaint_id, step, disposal.anonymise_complaint)
        return len(ids)

    async def _anonymise_surveys(self, erased: ErasedCustomer) -> int:
        ids = await codec.ids_of_customer(self._surveys.backend, codec.SURVEYS, erased)
        for survey_id in ids:
            step = disposal.step_id(erased, "survey", survey_id)
            await self._surveys.apply(survey_id, step, disposal.anonymise_survey)
        return len(ids)
