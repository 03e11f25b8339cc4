"""Consumed topics → translator → one service call. Validation, business keys (a risk id
is taken once) and DLQ routing happen in the runtime."""

from __future__ import annotations

from crm_events import CloudEvent
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
    runtime.sweep_aggregates("case-due", service.cases, service.on_due)


def _customer_of(data: RiskDetected) -> str:
    return data.customer_id


def _case_of(data: PersonalDataErased | PersonalDataExported) -> str:
    return data.case_id
