"""Feedback domain: SLA policy, clocks, warnings, breaches, escalation and transitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintEscalated, ComplaintRaised, ComplaintSlaBreached
from crm_feedback import domain, sla
from crm_feedback.app import sla_policy
from crm_feedback.business_time import ALWAYS_OPEN
from crm_feedback.domain import Complaint
from crm_feedback.settings import FeedbackSettings
from crm_runtime.errors import Conflict, Unprocessable

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The mechanics of clocks, warnings and escalations, on a 24/7 calendar (wall-clock hours);
# business calendars have their own tests (test_feedback_business_time.py).
ROUND_THE_CLOCK = {severity: "24x7" for severity in Severity}
POLICY = sla_policy(FeedbackSettings(sla_calendar_by_severity=ROUND_THE_CLOCK))
HOUR = timedelta(hours=1)


def raised(severity: str = "high", at: datetime = T0) -> ComplaintRaised:
    first, resolution = POLICY.deadlines(severity, at)
    return ComplaintRaised(
        complaint_id="cmp-1",
        customer_id="cus-1",
        severity=Severity(severity),
        category="billing",
        channel=Channel.EMAIL,
        description="charged twice",
        owner_id="emp-1",
        first_response_due_at=first,
        resolution_due_at=resolution,
        raised_at=at,
    )


def complaint(severity: str = "high") -> Complaint:
    return domain.open_complaint(
        raised(severity),
        raised_at=T0,
        event_id="evt-raised",
        correlation_id="corr-1",
        warning_fraction=POLICY.warning_fraction,
        calendar=ALWAYS_OPEN,
    )


def kinds(fired: list[sla.Fired]) -> list[tuple[str, str]]:
    return [(f.clock, f.kind) for f in fired]


@pytest.mark.parametrize(
    ("severity", "first_response", "resolution"),
    [("critical", 1, 8), ("high", 4, 24), ("medium", 8, 72), ("low", 24, 120)],
)
def test_policy_sets_deadlines_per_severity(
    severity: str, first_response: int, resolution: int
) -> None:
    assert POLICY.deadlines(severity, T0) == (T0 + first_response * HOUR, T0 + resolution * HOUR)


def test_by_default_critical_runs_round_the_clock_and_the_rest_in_office_hours() -> None:
    policy = sla_policy(FeedbackSettings())
    friday_evening = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)

    assert policy.deadlines("critical", friday_evening) == (
        friday_evening + HOUR,
        friday_evening + 8 * HOUR,
    )
    # 4 and 24 business hours of Mon-Fri 09:00-17:00 UTC: Monday 12:00, Wednesday 16:00.
    assert policy.deadlines("high", friday_evening) == (
        datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 11, 16, 0, tzinfo=UTC),
    )


def test_policy_override_keeps_other_severities_and_rejects_nonsense() -> None:
    settings = FeedbackSettings(
        sla_policy={"critical": {"first_response_minutes": 15, "resolution_minutes": 60}},
        sla_calendar_by_severity=ROUND_THE_CLOCK,
    )
    policy = sla_policy(settings)

    assert policy.deadlines("critical", T0) == (T0 + timedelta(minutes=15), T0 + HOUR)
    assert policy.deadlines("low", T0) == (T0 + 24 * HOUR, T0 + 120 * HOUR)
    with pytest.raises(ValidationError, match="must not exceed"):
        FeedbackSettings(sla_policy={"low": {"first_response_minutes": 9, "resolution_minutes": 1}})


def test_clocks_warn_at_the_configured_share_of_their_span() -> None:
    opened = complaint("high")

    assert opened.clocks["first_response"].warn_at == T0 + timedelta(hours=3, minutes=12)
    assert opened.clocks["resolution"].warn_at == T0 + timedelta(hours=19, minutes=12)
    assert opened.next_due_at == T0 + timedelta(hours=3, minutes=12)


def test_nothing_fires_before_the_warning_moment() -> None:
    opened = complaint()
    changed, fired = sla.sweep(opened, T0 + 3 * HOUR, POLICY)
    assert fired == []
    assert changed == opened


def test_warning_fires_once_per_clock() -> None:
    at = T0 + timedelta(hours=3, minutes=30)
    warned, fired = sla.sweep(complaint(), at, POLICY)
    again, fired_again = sla.sweep(warned, at + timedelta(minutes=5), POLICY)

    assert kinds(fired) == [("first_response", "sla-warning")]
    assert fired[0].fact.model_dump()["remaining_seconds"] == 30 * 60
    assert fired_again == []
    assert warned.next_due_at == T0 + 4 * HOUR  # next: the first-response breach
    assert again == warned


def test_breach_escalates_to_the_first_level_of_the_chain() -> None:
    warned, _ = sla.sweep(complaint(), T0 + timedelta(hours=3, minutes=30), POLICY)
    breached, fired = sla.sweep(warned, T0 + 4 * HOUR, POLICY)

    assert kinds(fired) == [("first_response", "sla-breached"), ("first_response", "escalated")]
    breach, escalation = (f.fact for f in fired)
    assert isinstance(breach, ComplaintSlaBreached)
    assert breach.owner_id == "emp-1"
    assert breach.due_at == T0 + 4 * HOUR
    assert isinstance(escalation, ComplaintEscalated)
    assert (escalation.level, escalation.escalated_to) == (1, "team-lead")
    assert escalation.previous_owner_id == "emp-1"
    assert (breached.owner_id, breached.escalation_level) == ("team-lead", 1)
    assert breached.next_due_at == T0 + timedelta(hours=19, minutes=12)


def test_a_missed_warning_is_not_sent_after_the_breach() -> None:
    _, fired = sla.sweep(complaint(), T0 + 5 * HOUR, POLICY)
    assert kinds(fired) == [("first_response", "sla-breached"), ("first_response", "escalated")]


def test_resolution_breach_escalates_again() -> None:
    late, fired = sla.sweep(complaint(), T0 + 25 * HOUR, POLICY)

    escalations = [f.fact for f in fired if isinstance(f.fact, ComplaintEscalated)]
    assert [(e.level, e.escalated_to) for e in escalations] == [
        (1, "team-lead"),
        (2, "service-manager"),
    ]
    assert escalations[1].previous_owner_id == "team-lead"
    assert late.owner_id == "service-manager"
    assert late.next_due_at is None
    assert sla.sweep(late, T0 + 99 * HOUR, POLICY)[1] == []


def test_beyond_the_chain_the_last_entry_keeps_the_complaint() -> None:
    assert POLICY.escalation_target("high", "resolution", 1, 3) == "director"
    assert POLICY.escalation_target("high", "resolution", 1, 7) == "director"


def test_acknowledge_stops_the_first_response_clock() -> None:
    acknowledged, fact = domain.acknowledge(
        complaint(), by="emp-1", at=T0 + HOUR, calendar=ALWAYS_OPEN
    )
    later, fired = sla.sweep(acknowledged, T0 + 5 * HOUR, POLICY)

    assert fact.acknowledged_at == T0 + HOUR
    assert acknowledged.clocks["first_response"].met is True
    assert acknowledged.first_response_within_sla is True
    assert acknowledged.next_due_at == T0 + timedelta(hours=19, minutes=12)
    assert fired == []
    assert later.owner_id == "emp-1"


def test_resolve_stops_every_clock_and_records_sla_compliance() -> None:
    on_time, fact = domain.resolve(
        complaint(), by="emp-1", resolution="refund", at=T0 + HOUR, calendar=ALWAYS_OPEN
    )
    _, late_fact = domain.resolve(
        complaint(), by="emp-1", resolution="refund", at=T0 + 25 * HOUR, calendar=ALWAYS_OPEN
    )

    assert on_time.status == "resolved"
    assert on_time.next_due_at is None
    assert all(clock.stopped for clock in on_time.clocks.values())
    assert (fact.within_sla, fact.severity) == (True, Severity.HIGH)
    assert late_fact.within_sla is False


def test_illegal_transitions_conflict() -> None:
    cal = ALWAYS_OPEN
    acknowledged, _ = domain.acknowledge(complaint(), by="emp-1", at=T0, calendar=cal)
    resolved, _ = domain.resolve(complaint(), by="emp-1", resolution="done", at=T0, calendar=cal)

    with pytest.raises(Conflict, match="was already acknowledged at 2026-03-02T09:00:00"):
        domain.acknowledge(acknowledged, by="emp-1", at=T0 + HOUR, calendar=cal)
    with pytest.raises(Conflict, match="is resolved; it cannot be acknowledged"):
        domain.acknowledge(resolved, by="emp-1", at=T0 + HOUR, calendar=cal)
    with pytest.raises(Conflict, match="cmp-1 is already resolved"):
        domain.resolve(resolved, by="emp-1", resolution="again", at=T0 + HOUR, calendar=cal)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"first_response_due_at": T0 - HOUR}, "before the complaint was raised"),
        ({"resolution_due_at": T0 + timedelta(minutes=1)}, "before first_response_due_at"),
    ],
)
def test_contradictory_deadlines_are_unprocessable(changes: dict[str, object], reason: str) -> None:
    data = raised().model_copy(update=changes)
    with pytest.raises(Unprocessable, match=reason):
        domain.open_complaint(
            data,
            raised_at=T0,
            event_id="e",
            correlation_id="c",
            warning_fraction=0.8,
            calendar=ALWAYS_OPEN,
        )


def test_clock_with_no_time_left_warns_at_its_deadline() -> None:
    clock = domain.SlaClock.start(T0, T0, 0.8, ALWAYS_OPEN)
    assert clock.warn_at == clock.due_at == T0
    assert replace(clock, warned=True).next_moment == T0
