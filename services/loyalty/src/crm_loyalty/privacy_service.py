"""Use cases of issue 9 in loyalty: erasure and export requests from offboarding, and the
strategy and regulation facts that raise risks."""

from __future__ import annotations

from crm_events import CloudEvent
from crm_events.common import RiskCategory
from crm_events.inbound import CustomerDeprioritised, RegulationChanged
from crm_events.offboarding import PersonalDataErasureRequested, PersonalDataExportRequested
from crm_loyalty import codec, external_risks, privacy
from crm_loyalty.domain import Account
from crm_runtime.clock import Clock
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore

log = get_logger(__name__)


class PrivacyService:
    def __init__(self, accounts: AggregateStore[Account], clock: Clock, *, source: str) -> None:
        self.accounts = accounts
        self._clock = clock
        self._source = source

    async def on_erasure_requested(
        self, data: PersonalDataErasureRequested, event: CloudEvent
    ) -> bool:
        """The ledger's free text (redemptions, goodwill) first (idempotent), then
        tombstone and attestation in one account write: a crash between them redoes both
        on redelivery."""
        request = privacy.CaseRequest(event.id, data.case_id, data.customer_id)
        records = await codec.erase_free_text(self.accounts.backend, data.customer_id)
        now, source = self._clock.now(), self._source
        done = await self.accounts.apply(
            data.customer_id,
            event.id,
            lambda s: privacy.erased(s, request, records, now, source=source),
        )
        if done.applied:
            log.info("loyalty_erased", case_id=data.case_id, records=records)
        return done.applied

    async def on_export_requested(
        self, data: PersonalDataExportRequested, event: CloudEvent
    ) -> bool:
        request = privacy.CaseRequest(event.id, data.case_id, data.customer_id, data.export_id)
        ledger = await codec.ledger(
            self.accounts.backend, data.customer_id, limit=privacy.MAX_ENTRIES
        )
        now, source = self._clock.now(), self._source
        return (
            await self.accounts.apply(
                data.customer_id,
                event.id,
                lambda s: privacy.exported(s, request, ledger, now, source=source),
            )
        ).applied

    async def on_customer_deprioritised(
        self, data: CustomerDeprioritised, event: CloudEvent
    ) -> bool:
        scope = data.scope.replace("_", " ")
        fact = external_risks.ExternalRisk(
            episode=data.change_id,
            customer_id=data.customer_id,
            category=RiskCategory.COMPANY_STRATEGY,
            reasons=[f"strategy change {data.change_id} deprioritises the {scope}"],
            hard_signal=CustomerDeprioritised.event_type(),
        )
        return await self._risk(fact, event)

    async def on_regulation_changed(self, data: RegulationChanged, event: CloudEvent) -> bool:
        fact = external_risks.ExternalRisk(
            episode=data.regulation_id,
            customer_id=data.customer_id,
            category=RiskCategory.LAW_AND_REGULATION,
            reasons=[f"regulation {data.regulation_id} changes the rules in {data.jurisdiction}"],
            hard_signal=RegulationChanged.event_type(),
        )
        return await self._risk(fact, event)

    async def _risk(self, fact: external_risks.ExternalRisk, event: CloudEvent) -> bool:
        now, source = self._clock.now(), self._source
        raised = await self.accounts.apply(
            fact.customer_id,
            event.id,
            lambda s: external_risks.raised(s, fact, event, now, source=source),
        )
        if raised.applied:
            log.info("external_risk_detected", category=fact.category.value)
        return raised.applied
