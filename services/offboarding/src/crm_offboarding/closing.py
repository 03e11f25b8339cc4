"""Decisions after the signed exit: the clock (effective date, follow-up period, retention
period, attestation deadline, offer expiry), the services' attestations, legal holds, the
follow-up log and the lessons-learned review. Pure, like ``decisions``."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import datetime

from crm_events import CloudEvent, EventData, deterministic_event_id
from crm_events.common import Channel, Direction, RiskCategory
from crm_events.contacts import ContactLogged
from crm_events.offboarding import (
    LegalHoldPlaced,
    LegalHoldReleased,
    OffboardingCaseClosed,
    PersonalDataErased,
    PersonalDataErasureRequested,
    PersonalDataExportDelivered,
    PersonalDataExportRequested,
    RelationshipEnded,
    RetentionOfferExpired,
)
from crm_offboarding.aftercare import (
    AftercareRules,
    Attestation,
    DataExport,
    ExportSection,
    FollowUpTask,
    LegalHold,
    Review,
)
from crm_offboarding.decisions import Step, emit
from crm_offboarding.domain import MAX_CLOCK_SKEW, Case
from crm_offboarding.lifecycle import CaseState
from crm_offboarding.plan import Assessment, PlannedCommunication
from crm_runtime.errors import DomainError, MissingPrerequisite
from crm_runtime.store import Decision
from crm_runtime.timestamps import stamp_tree


# --- the clock -------------------------------------------------------------------------------
def on_due(
    case: Case | None, now: datetime, rules: AftercareRules, *, source: str
) -> Decision[Case]:
    """Everything the clock owes the case by ``now``, in order; each published event's id
    derives from the case and what happened, so two sweepers publish it once."""
    if case is None:
        return Decision()
    publish: list[CloudEvent] = []
    for _ in range(8):  # each move is taken once; a bound instead of a proof
        moved = _one_move(case, now, rules)
        if moved is None:
            break
        case, emitted = moved
        for data, name in emitted:
            event_id = deterministic_event_id(case.case_id, name)
            case, event = emit(case, data, event_id, now, source=source)
            publish.append(event)
    case = replace(case, updated_at=now) if publish else case
    return Decision(case, publish=publish, due=case.next_due(rules))


Move = tuple[Case, list[tuple[EventData, str]]]


def _one_move(case: Case, now: datetime, rules: AftercareRules) -> Move | None:
    state_due = case.state_due(rules)
    if state_due is not None and state_due <= now:
        return _state_move(case, now)
    disposal_due = case.disposal_due(rules)
    if disposal_due is not None and disposal_due <= now and not case.on_hold(now):
        return _request_disposal(case, now, rules)
    attest_by = case.attestations_due(rules)
    if attest_by is not None and attest_by <= now:
        return case.mark_attestations_overdue(now), []
    planned = case.communications_due()
    if planned is not None and planned <= now:
        return case.mark_communications_overdue(now), []
    return None


def _state_move(case: Case, now: datetime) -> Move:
    ids = {"case_id": case.case_id, "customer_id": case.customer_id}
    if case.state is CaseState.EXIT_AGREED:
        return case.end_relationship(now), [(RelationshipEnded(**ids, ended_at=now), "ended")]
    if case.state is CaseState.ENDED:
        return case.end_follow_up(), []
    assert case.offer is not None  # an open offer is the only other state timer
    lapsed = RetentionOfferExpired(**ids, valid_until=case.offer.valid_until)
    name = "offer-expired:" + case.offer.valid_until.isoformat()
    return case.expire_offer(now), [(lapsed, name)]


def _request_disposal(case: Case, now: datetime, rules: AftercareRules) -> Move:
    event_id = deterministic_event_id(case.case_id, "erasure-requested")
    requested = case.request_disposal(rules, event_id, now)
    data = PersonalDataErasureRequested(
        case_id=case.case_id,
        customer_id=case.customer_id,
        requested_at=now,
        services=list(rules.services),
        attest_by=now + rules.attestation_deadline,
    )
    erased, attestation = erase_own(requested, now)
    attested = erased.attest(attestation, now)
    own = PersonalDataErased(
        case_id=case.case_id,
        customer_id=case.customer_id,
        service=OWN_SERVICE,
        method=attestation.method,
        legal_hold=False,
        attested_at=now,
        erased_fields=attestation.erased_fields,
        records=attestation.records,
    )
    return attested, [(data, "erasure-requested"), (own, "erased:" + OWN_SERVICE)]


ERASED = "[erased]"
OWN_SERVICE = "offboarding"


def erase_own(case: Case, now: datetime) -> tuple[Case, Attestation]:
    """Offboarding's own part: the free text a case holds about the customer (manual
    reasons and evidence, offer, rounds' minutes, terms, follow-up notes) is overwritten;
    amounts, dates, categories and counts stay for the KPIs."""
    risks = {
        key: replace(r, evidence=[], reasons=[ERASED] if r.raised_by else r.reasons)
        for key, r in case.risks.items()
    }
    rounds = {n: replace(r, notes=None) for n, r in case.rounds.items()}
    offer = None if case.offer is None else replace(case.offer, offer=ERASED)
    agreement = case.exit_agreement
    terms = None if agreement is None else replace(agreement, terms=ERASED)
    tasks = {n: replace(t, description=ERASED) for n, t in case.follow_ups.items()}
    talks = {
        n: replace(c, outcome=None if c.outcome is None else ERASED)
        for n, c in case.communications.items()
    }
    erased = replace(
        case,
        risks=risks,
        rounds=rounds,
        offer=offer,
        exit_agreement=terms,
        follow_ups=tasks,
        communications=talks,
    )
    fields = [
        "risk.evidence",
        "risk.reasons(manual)",
        "offer",
        "rounds.notes",
        "terms",
        "follow_ups.description",
        "communications.outcome",
    ]
    records = len(risks) + len(rounds) + len(tasks) + len(talks) + 2
    attestation = Attestation(
        service=OWN_SERVICE,
        method="anonymised",
        legal_hold=False,
        attested_at=now,
        event_id=deterministic_event_id(case.case_id, "erased:" + OWN_SERVICE),
        erased_fields=fields,
        records=records,
    )
    return erased, attestation


def refresh(case: Case | None, rules: AftercareRules) -> Decision[Case]:
    """Nothing is due yet: only the stored due date is brought in line with the rules."""
    return Decision() if case is None else Decision(case, due=case.next_due(rules))


def sweep_event_id(case: Case, due: str) -> str:
    """The applied marker of one sweep: the same due moment is applied once."""
    return deterministic_event_id(case.case_id, "sweep", due)


# --- attestations (consumed PersonalDataErased) ------------------------------------------------
def attest(
    case: Case | None,
    attestation: Attestation,
    now: datetime,
    rules: AftercareRules,
    *,
    source: str,
) -> Decision[Case]:
    if case is None:
        # Not seen yet (a case restored late, or a misrouted attestation): wait for it,
        # and dead-letter after the grace period.
        raise MissingPrerequisite("the attested case is not known here")
    if case.disposal is not None and attestation.service in case.disposal.attestations:
        return Decision()
    attested = replace(case.attest(attestation, now), updated_at=now)
    publish: list[CloudEvent] = []
    if attested.state is CaseState.CLOSED and case.state is not CaseState.CLOSED:
        attested, closed = emit(
            attested,
            closed_data(attested),
            deterministic_event_id(case.case_id, "closed"),
            now,
            source=source,
        )
        publish.append(closed)
    return Decision(attested, publish=publish, due=attested.next_due(rules))


def closed_data(case: Case) -> OffboardingCaseClosed:
    review = case.review
    assert review is not None
    assert case.closed_at is not None
    return OffboardingCaseClosed(
        case_id=case.case_id,
        customer_id=case.customer_id,
        outcome="exited" if case.exit_agreement is not None else "retained",
        lessons_learned=review.summary,
        closed_at=case.closed_at,
        root_causes=[RiskCategory(c) for c in review.root_causes],
        preventable=review.preventable,
        late_signals=review.late_signals,
        changes=review.changes,
    )


# --- commands -------------------------------------------------------------------------------
def record_review(review: Review) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        reviewed = case.record_review(review, now)
        closed = reviewed.state is CaseState.CLOSED
        return reviewed, closed_data(reviewed) if closed else None

    return step


def log_follow_up(task: FollowUpTask) -> Step:
    return lambda case, now: (case.log_follow_up(task)[0], None)


def place_hold(hold: LegalHold) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        return case.place_hold(hold), LegalHoldPlaced(
            case_id=case.case_id,
            customer_id=case.customer_id,
            hold_id=hold.hold_id,
            reason=hold.reason,
            placed_by=hold.placed_by,
            until=hold.until,
        )

    return step


def release_hold(hold_id: str, released_by: str) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        return case.release_hold(hold_id, released_by, now), LegalHoldReleased(
            case_id=case.case_id,
            customer_id=case.customer_id,
            hold_id=hold_id,
            released_by=released_by,
        )

    return step


# --- assessment and communication plan ------------------------------------------------------
def assess(assessment: Assessment) -> Step:
    return lambda case, now: (case.assess(assessment), None)


def plan_communication(planned: PlannedCommunication) -> Step:
    return lambda case, now: (case.plan_communication(planned), None)


def hold_communication(number: int, held_by: str, outcome: str, held_at: datetime | None) -> Step:
    """A planned communication took place: logged on the case, and on the customer's
    timeline in contacts through the ``ContactLogged`` it publishes."""

    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        at = held_at or now
        if at > now + MAX_CLOCK_SKEW:
            raise DomainError("held_at lies in the future")
        changed, held = case.hold_communication(number, at, held_by, outcome)
        return changed, ContactLogged(
            customer_id=case.customer_id,
            channel=Channel(held.channel),
            direction=Direction.OUTBOUND,
            employee_id=held_by,
            summary=f"Offboarding case {case.case_id}: {held.goal} ({held.audience}): {outcome}",
            occurred_at=at,
        )

    return step


# --- portability ---------------------------------------------------------------------------
SECTION_VERSION = "offboarding.export.v1"


def request_export(export_id: str, requested_by: str, rules: AftercareRules) -> Step:
    """Ask every service for its section; offboarding's own (the case) is added at once."""

    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        export = DataExport(export_id, requested_by, now, list(rules.exporters))
        requested = case.request_export(export)
        if OWN_SERVICE in export.expected:
            requested = requested.add_export_section(export_id, own_section(case, now), now)
        return requested, PersonalDataExportRequested(
            export_id=export_id,
            case_id=case.case_id,
            customer_id=case.customer_id,
            services=export.expected,
            requested_by=requested_by,
        )

    return step


def own_section(case: Case, now: datetime) -> ExportSection:
    body = {k: v for k, v in asdict(case).items() if k not in ("exports", "version")}
    text = json.dumps(stamp_tree(body), sort_keys=True, default=str)
    event_id = deterministic_event_id(case.case_id, "export-section", OWN_SERVICE, str(now))
    return ExportSection(OWN_SERVICE, SECTION_VERSION, text, now, event_id)


def export_section(
    case: Case | None,
    export_id: str,
    section: ExportSection,
    now: datetime,
    *,
    source: str,
    rules: AftercareRules,
) -> Decision[Case]:
    """A service's section arrived; the last expected one completes the bundle."""
    if case is None:
        raise MissingPrerequisite("the case of the export is not known here")
    export = case.exports.get(export_id)
    if export is not None and section.service in export.sections:
        return Decision()
    added = replace(case.add_export_section(export_id, section, now), updated_at=now)
    done = added.exports[export_id]
    if done.delivered_at is None:
        return Decision(added, due=added.next_due(rules))
    delivered = PersonalDataExportDelivered(
        export_id=export_id,
        case_id=case.case_id,
        customer_id=case.customer_id,
        services=done.expected,
        delivered_at=now,
    )
    event_id = deterministic_event_id(case.case_id, "export-delivered", export_id)
    added, event = emit(added, delivered, event_id, now, source=source)
    return Decision(added, publish=[event], due=added.next_due(rules))
