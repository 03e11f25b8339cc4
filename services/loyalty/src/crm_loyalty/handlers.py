"""Consumed topics → service calls. Validation and DLQ routing happen in the runtime."""

from __future__ import annotations

from crm_events import EventData
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.feedback import (
    ComplaintRaised,
    ComplaintResolved,
    ComplaintSlaBreached,
    SurveyAnswered,
)
from crm_events.inbound import (
    ContractBreached,
    CustomerDeprioritised,
    PaymentOverdue,
    PurchaseRecorded,
    PurchaseReturned,
    ReferralRecorded,
    RegulationChanged,
)
from crm_events.offboarding import (
    ExitAgreed,
    OffboardingCaseClosed,
    PersonalDataErasureRequested,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_loyalty.customer_health_service import CustomerHealthService
from crm_loyalty.privacy_service import PrivacyService
from crm_loyalty.service import LoyaltyService
from crm_runtime.app import ServiceRuntime
from crm_runtime.consumer import Handler


def register_handlers(
    runtime: ServiceRuntime,
    points: LoyaltyService,
    health: CustomerHealthService,
    privacy: PrivacyService,
) -> None:
    handlers: list[tuple[type[EventData], Handler]] = [
        (CustomerRegistered, points.on_customer_registered),
        (CustomerProfileUpdated, points.on_profile_updated),
        (PurchaseRecorded, points.on_purchase_recorded),
        (PurchaseReturned, points.on_purchase_returned),
        (ExitAgreed, points.on_exit_agreed),
        (RelationshipEnded, points.on_relationship_ended),
        (ContactLogged, health.on_contact_logged),
        (ComplaintRaised, health.on_complaint_raised),
        (ComplaintResolved, health.on_complaint_resolved),
        (ComplaintSlaBreached, health.on_sla_breached),
        (SurveyAnswered, health.on_survey_answered),
        (ReferralRecorded, health.on_referral_recorded),
        (PaymentOverdue, health.on_payment_overdue),
        (ContractBreached, health.on_contract_breached),
        (OffboardingCaseClosed, health.on_case_closed),
        (CustomerDeprioritised, privacy.on_customer_deprioritised),
        (RegulationChanged, privacy.on_regulation_changed),
        (PersonalDataErasureRequested, privacy.on_erasure_requested),
        (PersonalDataExportRequested, privacy.on_export_requested),
    ]
    # Every handler works on its customer's account: a poll loads them in one query.
    account = (points.accounts, _customer_of)
    for model, handler in handlers:
        runtime.on(model, handler, aggregate=account)


def _customer_of(data: EventData) -> str | None:
    customer_id = getattr(data, "customer_id", None)
    return customer_id if isinstance(customer_id, str) else None
