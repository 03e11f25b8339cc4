"""Complaints follow the account (issue 8): when contacts moves a customer's account to
another owner (``AccountOwnerChanged``, e.g. on a staff departure), the customer's open
complaints that the previous owner held move with it — their SLA clocks keep running —
and each move is published (``ComplaintReassigned``). ``GET /employees/{id}/complaints``
lists what one employee holds open, so nothing stays with someone who left.

Kept apart from the complaint lifecycle (``service.py``): it only changes the owner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from crm_events import CloudEvent, deterministic_event_id
from crm_events.contacts import AccountOwnerChanged
from crm_events.feedback import ComplaintReassigned
from crm_feedback import codec
from crm_feedback.domain import OPEN, Complaint
from crm_feedback.views import ComplaintView, complaint_view
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.http import EmployeeIdPath
from crm_runtime.security import require
from crm_runtime.settings import Role
from crm_runtime.store import AggregateStore, Decision
from crm_runtime.store_batch import StoreBatch

MOVED_AT_ONCE = 1000  # open complaints of one customer and owner moved per account move
Reason = Literal["reassigned", "employee_departed"]


@dataclass(frozen=True)
class OwnerMove:
    """Fact: the customer's account moved from one employee to another."""

    event_id: str
    customer_id: str
    previous_owner_id: str | None
    new_owner_id: str
    reason: Reason
    at: datetime


def owner_move(data: AccountOwnerChanged, event: CloudEvent) -> OwnerMove:
    previous, new = data.previous_owner_id, data.new_owner_id
    return OwnerMove(event.id, data.customer_id, previous, new, data.reason, event.time)


def reassign(
    state: Complaint | None, move: OwnerMove, *, source: str, now: datetime
) -> Decision[Complaint]:
    """An open complaint held by the account's previous owner goes to the new one; its
    clocks (and so its due date) are untouched."""
    if state is None or state.status != OPEN or state.owner_id != move.previous_owner_id:
        return Decision()
    moved = replace(state, owner_id=move.new_owner_id)
    data = ComplaintReassigned(
        complaint_id=state.complaint_id,
        customer_id=state.customer_id,
        previous_owner_id=state.owner_id,
        new_owner_id=move.new_owner_id,
        reason=move.reason,
    )
    event = data.to_event(
        source=source,
        event_id=deterministic_event_id(move.event_id, "complaint", state.complaint_id),
        time=now,
        correlation_id=state.correlation_id,
        causation_id=move.event_id,
    )
    return Decision(moved, publish=[event], due=moved.next_due_at)


class ComplaintOwnership:
    def __init__(self, complaints: AggregateStore[Complaint], clock: Clock, *, source: str):
        self.complaints = complaints
        self._clock = clock
        self._source = source

    async def owner_changed(self, move: OwnerMove) -> bool:
        if move.previous_owner_id is None or move.previous_owner_id == move.new_owner_id:
            return False
        held = await codec.complaints(
            self.complaints.backend,
            equals={"customer_id": move.customer_id, "owner_id": move.previous_owner_id},
            status=OPEN,
            limit=MOVED_AT_ONCE,
        )
        batch = StoreBatch.current()
        if batch is not None and held:
            await batch.prefetch(self.complaints, [c.complaint_id for c in held])
        now, changed = self._clock.now(), False
        for complaint in held:
            event_id = deterministic_event_id(move.event_id, "complaint", complaint.complaint_id)
            decide = lambda s: reassign(s, move, source=self._source, now=now)  # noqa: E731
            applied = await self.complaints.apply(complaint.complaint_id, event_id, decide)
            changed |= applied.applied
        return changed

    async def open_complaints_of(self, employee_id: str, limit: int) -> list[Complaint]:
        backend = self.complaints.backend
        equals = {"owner_id": employee_id}
        return await codec.complaints(backend, equals=equals, status=OPEN, limit=limit)


def wire(runtime: ServiceRuntime, ownership: ComplaintOwnership) -> APIRouter:
    """Consume ``AccountOwnerChanged``; serve the per-employee query."""

    async def owner_changed(data: AccountOwnerChanged, event: CloudEvent) -> bool:
        return await ownership.owner_changed(owner_move(data, event))

    runtime.on(AccountOwnerChanged, owner_changed)
    router = APIRouter(
        tags=["complaints"], dependencies=[Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))]
    )

    @router.get("/employees/{employee_id}/complaints")
    async def open_complaints(
        employee_id: EmployeeIdPath, limit: Annotated[int, Query(ge=1, le=200)] = 100
    ) -> list[ComplaintView]:
        """The open complaints this employee owns, newest first."""
        found = await ownership.open_complaints_of(employee_id, limit)
        return [complaint_view(c) for c in found]

    return router
