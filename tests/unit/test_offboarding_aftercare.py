"""After the signed exit (issue 9): the relationship ends at its effective date, the
follow-up service period, data disposal with legal holds and attestations, the review and
the closure; and a lapsed retention offer. In-memory store, manual clock (``offb``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from crm_events.inbound import LegalHoldLifted, LegalHoldOrdered
from crm_offboarding.aftercare import Attestation, FollowUpTask, LegalHold
from crm_offboarding.domain import Case
from crm_offboarding.lifecycle import CaseState
from crm_offboarding.views import queue_item
from crm_runtime.errors import DomainError
from tests.unit.offboarding_plugin import EXIT, NOW, RETAINED, REVIEW, Offboarding, risk

pytestmark = pytest.mark.unit

EFFECTIVE = EXIT.effective_date
DAY = timedelta(days=1)


def attestation(service: str, event_id: str | None = None) -> Attestation:
    return Attestation(
        service=service,
        method="anonymised",
        legal_hold=False,
        attested_at=NOW,
        event_id=event_id or f"evt-erased-{service}",
        erased_fields=["name", "email"],
        records=3,
    )


async def ended(offb: Offboarding) -> Case:
    case = await offb.exited()
    await offb.sweep(EFFECTIVE)
    return await offb.service.case(case.case_id)


async def disposal_requested(offb: Offboarding) -> Case:
    case = await ended(offb)
    await offb.sweep(EFFECTIVE + offb.service.rules.retention)
    return await offb.service.case(case.case_id)


# --- the end of the relationship -----------------------------------------------------------
async def test_the_relationship_ends_once_at_the_effective_date(offb: Offboarding) -> None:
    case = await offb.exited()
    await offb.sweep(EFFECTIVE - timedelta(seconds=1))
    assert (await offb.service.case(case.case_id)).state is CaseState.EXIT_AGREED

    await offb.sweep(EFFECTIVE)
    await offb.sweep(EFFECTIVE + timedelta(minutes=1))

    now_ended = await offb.service.case(case.case_id)
    assert now_ended.state is CaseState.ENDED
    assert now_ended.ended_at == EFFECTIVE
    (event,) = offb.published("relationship-ended")
    assert event.data["ended_at"] == "2026-03-31T09:00:00Z"
    exit_agreed = offb.published("exit-agreed")[0]
    assert (event.causationid, event.correlationid) == (exit_agreed.id, "journey-1")


async def test_a_risk_during_the_exit_keeps_the_effective_date_timer(offb: Offboarding) -> None:
    case = await offb.exited()
    data, event = risk(event_id="evt-risk-2", risk_id="risk-2")
    await offb.take(data, event)

    await offb.sweep(EFFECTIVE)

    assert (await offb.service.case(case.case_id)).state is CaseState.ENDED


async def test_follow_up_service_is_logged_and_its_end_asks_for_the_review(
    offb: Offboarding,
) -> None:
    case = await ended(offb)
    task = FollowUpTask(0, "Handed over the last delivery notes", "emp-7", EFFECTIVE)
    logged = await offb.service.log_follow_up(case.case_id, task, "cmd-fu-1")
    assert [t.number for t in logged.follow_ups.values()] == [1]

    follow_up_end = EFFECTIVE + offb.service.rules.follow_up
    await offb.sweep(follow_up_end)

    reviewing = await offb.service.case(case.case_id)
    assert reviewing.state is CaseState.REVIEW
    assert queue_item(reviewing, follow_up_end, offb.service.rules).next_action.startswith(
        "record the lessons-learned review"
    )
    with pytest.raises(DomainError, match="follow-up"):
        await offb.service.log_follow_up(case.case_id, task, "cmd-fu-2")


# --- data disposal -------------------------------------------------------------------------
async def test_after_the_retention_period_the_erasure_is_requested_and_offboarding_attests(
    offb: Offboarding,
) -> None:
    case = await disposal_requested(offb)

    assert case.disposal is not None
    assert case.disposal.missing == ["contacts", "feedback", "loyalty", "insights"]
    (request,) = offb.published("personal-data-erasure-requested")
    assert request.data["services"] == [
        "contacts",
        "feedback",
        "loyalty",
        "offboarding",
        "insights",
    ]
    (own,) = offb.published("personal-data-erased")
    assert (own.data["service"], own.data["method"]) == ("offboarding", "anonymised")
    assert case.exit_agreement is not None
    assert case.exit_agreement.terms == "[erased]"
    assert case.exit_agreement.compensation_minor == EXIT.compensation_minor  # facts stay


async def test_the_case_closes_with_the_review_once_every_service_attested(
    offb: Offboarding,
) -> None:
    case = await disposal_requested(offb)
    await offb.sweep(EFFECTIVE + offb.service.rules.retention + offb.service.rules.follow_up)
    reviewed = await offb.service.record_review(case.case_id, REVIEW, "cmd-review")
    assert reviewed.state is CaseState.AWAITING_DISPOSAL

    for service in ("contacts", "feedback", "insights"):
        await offb.service.attested(case.case_id, attestation(service))
    assert (await offb.service.case(case.case_id)).state is CaseState.AWAITING_DISPOSAL
    assert await offb.service.attested(case.case_id, attestation("loyalty"))

    closed = await offb.service.case(case.case_id)
    assert closed.state is CaseState.CLOSED
    (event,) = offb.published("offboarding-case-closed")
    assert event.data["outcome"] == "exited"
    assert event.data["root_causes"] == ["customer_performance"]
    assert event.data["preventable"] is True


async def test_a_repeated_attestation_changes_nothing(offb: Offboarding) -> None:
    case = await disposal_requested(offb)
    assert await offb.service.attested(case.case_id, attestation("contacts"))
    again = await offb.service.attested(case.case_id, attestation("contacts", "evt-other"))

    assert not again
    assert not await offb.service.attested(case.case_id, attestation("contacts"))


async def test_missing_attestations_surface_after_the_deadline(offb: Offboarding) -> None:
    case = await disposal_requested(offb)
    assert case.disposal is not None
    late = case.disposal.requested_at + offb.service.rules.attestation_deadline

    await offb.sweep(late)

    overdue = await offb.service.case(case.case_id)
    assert overdue.disposal is not None
    assert overdue.disposal.overdue_at == late
    item = queue_item(overdue, late, offb.service.rules)
    assert item.overdue
    assert "contacts, feedback, loyalty" in item.next_action


# --- legal holds ---------------------------------------------------------------------------
HOLD = LegalHold("hold-1", "pending litigation", "emp-legal", NOW)


async def test_a_legal_hold_blocks_the_disposal_until_it_is_released(offb: Offboarding) -> None:
    case = await ended(offb)
    held = await offb.service.place_hold(case.case_id, HOLD, "cmd-hold")
    assert held.on_hold(EFFECTIVE)
    retention_over = EFFECTIVE + offb.service.rules.retention

    await offb.sweep(retention_over + DAY)
    assert (await offb.service.case(case.case_id)).disposal is None
    assert offb.published("personal-data-erasure-requested") == []

    await offb.service.release_hold(case.case_id, "hold-1", "emp-legal", "cmd-release")
    await offb.sweep()

    resumed = await offb.service.case(case.case_id)
    assert resumed.disposal is not None
    assert [e.data["hold_id"] for e in offb.published("legal-hold-placed")] == ["hold-1"]
    assert [e.data["hold_id"] for e in offb.published("legal-hold-released")] == ["hold-1"]


async def test_a_hold_with_an_end_date_lets_the_disposal_resume_then(offb: Offboarding) -> None:
    case = await ended(offb)
    until = EFFECTIVE + offb.service.rules.retention + 10 * DAY
    await offb.service.place_hold(case.case_id, replace(HOLD, until=until), "cmd-hold")

    await offb.sweep(until - DAY)
    assert (await offb.service.case(case.case_id)).disposal is None
    await offb.sweep(until)
    assert (await offb.service.case(case.case_id)).disposal is not None


async def test_a_hold_after_the_erasure_request_is_refused(offb: Offboarding) -> None:
    case = await disposal_requested(offb)
    with pytest.raises(DomainError, match="can no longer stop it"):
        await offb.service.place_hold(case.case_id, HOLD, "cmd-hold")


# --- retention ------------------------------------------------------------------------------
async def test_a_retained_customer_keeps_their_data_and_the_review_closes_the_case(
    offb: Offboarding,
) -> None:
    case = await offb.in_negotiation()
    await offb.service.conclude_retention(case.case_id, RETAINED, "cmd-r")
    closed = await offb.service.record_review(case.case_id, REVIEW, "cmd-review")

    assert closed.state is CaseState.CLOSED
    assert closed.disposal is None
    (event,) = offb.published("offboarding-case-closed")
    assert event.data["outcome"] == "retained"


async def test_a_lapsed_offer_sends_the_case_back_to_choosing_a_strategy(
    offb: Offboarding,
) -> None:
    case = await offb.in_negotiation()
    assert case.offer is not None

    await offb.sweep(case.offer.valid_until)
    await offb.sweep(case.offer.valid_until + DAY)

    lapsed = await offb.service.case(case.case_id)
    assert lapsed.state is CaseState.ASSESSMENT
    assert lapsed.offer_expired_at == case.offer.valid_until
    (event,) = offb.published("retention-offer-expired")
    assert event.data["valid_until"] == "2026-03-15T09:00:00Z"


async def test_a_sweep_before_the_moment_leaves_the_moment_to_come(offb: Offboarding) -> None:
    """A case found early (a coarse server comparison, or rules that moved the date) only
    gets its due date rewritten; the effective date still ends the relationship."""
    case = await offb.exited()

    await offb.service.on_due(case, EFFECTIVE - timedelta(milliseconds=300))
    await offb.service.on_due(case, EFFECTIVE - timedelta(milliseconds=100))
    assert (await offb.service.case(case.case_id)).state is CaseState.EXIT_AGREED
    await offb.sweep(EFFECTIVE)

    assert (await offb.service.case(case.case_id)).state is CaseState.ENDED


def legal(model: type[LegalHoldOrdered] | type[LegalHoldLifted], event_id: str, **data: Any) -> Any:
    return model(customer_id="cus-1", matter_id="matter-1", **data).to_event(
        source="/legal/matters", event_id=event_id, time=NOW
    )


async def test_the_legal_system_orders_and_lifts_a_hold_on_the_customers_case(
    offb: Offboarding,
) -> None:
    case = await ended(offb)
    ordered = legal(LegalHoldOrdered, "legal-1", reason="audit", ordered_by="emp-counsel")

    assert await offb.deliver(ordered) == "applied"
    await offb.sweep(EFFECTIVE + offb.service.rules.retention + DAY)
    held = await offb.service.case(case.case_id)
    assert held.disposal is None
    assert held.holds["matter-1"].placed_by == "emp-counsel"
    assert (
        await offb.deliver(legal(LegalHoldLifted, "legal-2", lifted_by="emp-counsel")) == "applied"
    )
    await offb.sweep()

    assert (await offb.service.case(case.case_id)).disposal is not None
    (placed,) = offb.published("legal-hold-placed")
    assert placed.causationid is not None
    assert placed.id != "legal-1"  # the published fact has an id of its own


async def test_a_legal_hold_for_a_customer_without_a_case_waits(offb: Offboarding) -> None:
    ordered = legal(LegalHoldOrdered, "legal-1", reason="audit", ordered_by="emp-counsel")
    assert await offb.deliver(ordered) == "parked"


async def test_a_lift_that_overtakes_its_order_waits_for_it(offb: Offboarding) -> None:
    """The order and the lift are on different topics: Kafka may deliver the lift first."""
    case = await ended(offb)
    lifted = legal(LegalHoldLifted, "legal-2", lifted_by="emp-counsel")

    assert await offb.deliver(lifted) == "parked"
    ordered = legal(LegalHoldOrdered, "legal-1", reason="audit", ordered_by="emp-counsel")
    assert await offb.deliver(ordered) == "applied"
    assert await offb.deliver(lifted) == "applied"  # the parked lift, released
    assert (await offb.service.case(case.case_id)).holds["matter-1"].released_by == "emp-counsel"
