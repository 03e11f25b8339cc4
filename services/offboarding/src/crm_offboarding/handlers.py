"""Consumed topics → translator → one service call. Validation, business keys (a risk id
is taken once) and DLQ routing happen in the runtime."""

from __future__ import annotations

from crm_events import CloudEvent
from crm_events.inbound import LegalHoldLifted, LegalHoldOrdered
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_offboarding import translate
from crm_offboarding.service import OffboardingService
from crm_runtime.app import ServiceRuntime


def register_handlers(runtime: ServiceRuntime, service: OffboardingService) -> None:
    async def risk_detected(data: RiskDetected, event: CloudEvent) -> bool:
        return await service.risk_noticed(translate.risk_noticed(data, event))

    # A risk is routed on the customer's marker first: the poll loads those in one query.
    runtime.on(RiskDetected, risk_detected, aggregate=(service.markers, _customer_of))

    async def erased(data: PersonalDataErased, event: CloudEvent) -> bool:
        return await service.attested(data.case_id, translate.attestation(data, event))

    runtime.on(PersonalDataErased, erased, aggregate=(service.cases, _case_of))

    async def exported(data: PersonalDataExported, event: CloudEvent) -> bool:
        section = translate.export_section(data, event)
        return await service.export_section(data.case_id, data.export_id, section)

    runtime.on(PersonalDataExported, exported, aggregate=(service.cases, _case_of))

    async def hold_ordered(data: LegalHoldOrdered, event: CloudEvent) -> bool:
        hold = translate.legal_hold(data, event)
        return await service.hold_ordered(event.id, data.customer_id, hold)

    async def hold_lifted(data: LegalHoldLifted, event: CloudEvent) -> bool:
        return await service.hold_lifted(event.id, data.customer_id, data.matter_id, data.lifted_by)

    runtime.on(LegalHoldOrdered, hold_ordered, aggregate=(service.markers, _customer_of))
    runtime.on(LegalHoldLifted, hold_lifted, aggregate=(service.markers, _customer_of))
    runtime.sweep_aggregates("case-due", service.cases, service.on_due)


def _customer_of(data: RiskDetected | LegalHoldOrdered | LegalHoldLifted) -> str:
    return data.customer_id


def _case_of(data: PersonalDataErased | PersonalDataExported) -> str:
    return data.case_id
