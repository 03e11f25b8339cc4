"""Every rule an event type has on the customer's aggregate — the KPI counting rules
(``counting``) and the work-queue rules (``queues``) — and ``evolve``, which applies them."""

from __future__ import annotations

from dataclasses import replace

from crm_insights import counting, queues
from crm_insights.counting import Change, Rule
from crm_insights.domain import CustomerFacts, Observed


def _rules() -> dict[str, Rule]:
    found = {
        **counting.RULES,
        "ComplaintSlaWarning": queues.warned,
        "ComplaintEscalated": queues.escalated,
        "AccountOwnerChanged": queues.chain(counting.handed_over, queues.owner_changed),
    }
    for name in queues.FOLLOW_UP_FACTS:
        counted = found.get(name)
        found[name] = (
            queues.chain(counted, queues.follow_up_step) if counted else queues.follow_up_step
        )
    for name in (*queues.NEXT, *queues.CLOSING):
        counted = found.get(name)
        found[name] = queues.chain(counted, queues.case_step) if counted else queues.case_step
    found["RelationshipEnded"] = queues.chain(found["RelationshipEnded"], queues.ended)
    return found


RULES = _rules()


def evolve(state: CustomerFacts | None, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    """The customer after ``fact`` and every change it counts (flows and gauges)."""
    current = state or CustomerFacts(customer_id=fact.customer_id or fact.subject)
    rule = RULES.get(fact.event_type)
    after, flows = rule(current, fact) if rule else (current, [])
    after = replace(after, events=after.events + 1, last_event_at=counting.latest(after, fact.at))
    changes = [("events", fact.at, 1), *flows, *counting.gauge_changes(state, after, fact.at)]
    return after, changes
