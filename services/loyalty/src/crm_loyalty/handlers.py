"""Consumed topics → service calls. Validation and DLQ routing happen in the runtime."""

from __future__ import annotations

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


def register_handlers(
    runtime: ServiceRuntime,
    points: LoyaltyService,
    health: CustomerHealthService,
    privacy: PrivacyService,
) -> None:
    runtime.on(CustomerRegistered, points.on_customer_registered)
    runtime.on(CustomerProfileUpdated, points.on_profile_updated)
    runtime.on(PurchaseRecorded, points.on_purchase_recorded)
    runtime.on(PurchaseReturned, points.on_purchase_returned)
    runtime.on(ExitAgreed, points.on_exit_agreed)
    runtime.on(RelationshipEnded, points.on_relationship_ended)
    runtime.on(ContactLogged, health.on_contact_logged)
    runtime.on(ComplaintRaised, health.on_complaint_raised)
    runtime.on(ComplaintResolved, health.on_complaint_resolved)
    runtime.on(ComplaintSlaBreached, health.on_sla_breached)
    runtime.on(SurveyAnswered, health.on_survey_answered)
    runtime.on(ReferralRecorded, health.on_referral_recorded)
    runtime.on(PaymentOverdue, health.on_payment_overdue)
    runtime.on(ContractBreached, health.on_contract_breached)
    runtime.on(OffboardingCaseClosed, health.on_case_closed)
    runtime.on(CustomerDeprioritised, privacy.on_customer_deprioritised)
    runtime.on(RegulationChanged, privacy.on_regulation_changed)
    runtime.on(PersonalDataErasureRequested, privacy.on_erasure_requested)
    runtime.on(PersonalDataExportRequested, privacy.on_export_requested)
