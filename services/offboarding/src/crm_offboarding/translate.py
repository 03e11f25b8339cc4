"""Translators at the edge: a consumed wire model becomes offboarding's own fact, once. A
v2 of ``RiskDetected`` changes only this module."""

from __future__ import annotations

from crm_events import CloudEvent
from crm_events.inbound import LegalHoldOrdered
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_offboarding.aftercare import Attestation, ExportSection, LegalHold
from crm_offboarding.domain import Risk, RiskNoticed


def risk_noticed(data: RiskDetected, event: CloudEvent) -> RiskNoticed:
    risk = Risk(
        risk_id=data.risk_id,
        category=data.category.value,
        reasons=list(data.reasons),
        detected_at=event.time,
        event_id=event.id,
        score=data.score,
        hard_signal=data.hard_signal,
    )
    return RiskNoticed(data.customer_id, event.correlationid, risk)


def risk_noticed_in(event: CloudEvent) -> RiskNoticed:
    """The fact of a stored ``RiskDetected`` envelope (markers written before issue 7)."""
    return risk_noticed(RiskDetected.model_validate(event.data), event)


def attestation(data: PersonalDataErased, event: CloudEvent) -> Attestation:
    """A service's attestation that it disposed of the customer's personal data."""
    return Attestation(
        service=data.service,
        method=data.method,
        legal_hold=data.legal_hold,
        attested_at=data.attested_at,
        event_id=event.id,
        erased_fields=list(data.erased_fields or []),
        records=data.records,
    )


def export_section(data: PersonalDataExported, event: CloudEvent) -> ExportSection:
    return ExportSection(
        service=data.service,
        section_version=data.section_version,
        section=data.section,
        exported_at=data.exported_at,
        event_id=event.id,
    )


def legal_hold(data: LegalHoldOrdered, event: CloudEvent) -> LegalHold:
    """The legal matter becomes the hold (its id), placed when Legal ordered it."""
    return LegalHold(data.matter_id, data.reason, data.ordered_by, event.time, data.until)
