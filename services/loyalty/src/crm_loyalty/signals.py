"""Consumed facts → health signals (reason code, readable reason, signed delta). Pure.

Reasons name ids and categories only, never personal data or free text.
"""

from __future__ import annotations

from datetime import datetime

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_events.feedback import ComplaintRaised, ComplaintSlaBreached, SurveyAnswered
from crm_events.inbound import ContractBreached, PaymentOverdue
from crm_loyalty.customer_health import Signal
from crm_loyalty.rules import CustomerHealthRules
from crm_loyalty.translate import Purchase
from crm_runtime.keys import map_key


def contact_logged(data: ContactLogged, event: CloudEvent, rules: CustomerHealthRules) -> Signal:
    return Signal(
        key=map_key(event.id),
        code="contact_logged",
        reason=f"contact logged ({data.channel.value}, {data.direction.value})",
        delta=rules.contact,
        at=data.occurred_at,
        activity_at=data.occurred_at,
    )


def purchase_recorded(data: Purchase, event: CloudEvent, rules: CustomerHealthRules) -> Signal:
    return Signal(
        key=map_key(event.id),
        code="purchase_recorded",
        reason=f"purchase {data.order_id}",
        delta=rules.purchase,
        at=data.purchased_at,
        activity_at=data.purchased_at,
    )


def complaint_raised(
    data: ComplaintRaised, event: CloudEvent, rules: CustomerHealthRules
) -> Signal:
    return Signal(
        key=map_key(event.id),
        code="complaint_raised",
        reason=f"complaint {data.complaint_id} raised ({data.severity.value} severity)",
        delta=rules.complaint.get(data.severity.value, 0),
        at=data.raised_at or event.time,
    )


def complaint_sla_breached(
    data: ComplaintSlaBreached, event: CloudEvent, rules: CustomerHealthRules
) -> Signal:
    clock = data.clock.replace("_", " ")
    return Signal(
        key=map_key(event.id),
        code="complaint_sla_breached",
        reason=f"complaint {data.complaint_id}: {clock} deadline missed",
        delta=rules.sla_breach,
        at=data.breached_at,
    )


def survey_answered(data: SurveyAnswered, event: CloudEvent, rules: CustomerHealthRules) -> Signal:
    scores = ", ".join(
        f"{name} {value}"
        for name, value in (("CSAT", data.csat), ("NPS", data.nps))
        if value is not None
    )
    low = (data.csat is not None and data.csat <= rules.survey_low_csat_max) or (
        data.nps is not None and data.nps <= rules.survey_low_nps_max
    )
    high = (data.csat is not None and data.csat >= rules.survey_high_csat_min) or (
        data.nps is not None and data.nps >= rules.survey_high_nps_min
    )
    if low:
        code, delta, verdict = "survey_low", rules.survey_low, "low"
    elif high:
        code, delta, verdict = "survey_high", rules.survey_high, "high"
    else:
        code, delta, verdict = "survey_neutral", 0, "neutral"
    return Signal(
        key=map_key(event.id),
        code=code,
        reason=f"survey {data.survey_id} answered {verdict} ({scores})",
        delta=delta,
        at=data.answered_at,
    )


def payment_overdue(data: PaymentOverdue, event: CloudEvent, rules: CustomerHealthRules) -> Signal:
    return Signal(
        key=map_key(event.id),
        code="payment_overdue",
        reason=f"payment of invoice {data.invoice_id} {data.days_overdue} days overdue",
        delta=rules.payment_overdue,
        at=event.time,
        hard_signal=PaymentOverdue.event_type(),
    )


def contract_breached(
    data: ContractBreached, event: CloudEvent, rules: CustomerHealthRules
) -> Signal:
    return Signal(
        key=map_key(event.id),
        code="contract_breached",
        reason=f"contract {data.contract_id} breached",
        delta=rules.contract_breached,
        at=data.detected_at,
        hard_signal=ContractBreached.event_type(),
    )


def inactivity(due: datetime, rules: CustomerHealthRules) -> Signal:
    """One contribution per inactive period, keyed by the period's due date."""
    return Signal(
        key=f"inactivity-{due.strftime('%Y%m%dT%H%M%S')}",
        code="inactivity",
        reason=f"no contact or purchase for {rules.inactivity_days} days",
        delta=rules.inactivity,
        at=due,
    )
