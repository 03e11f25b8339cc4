"""Portability (issue 9): on offboarding's export request contacts contributes its section
— the customer record and the timeline (newest first, at most ``MAX_ENTRIES``) — as a
``PersonalDataExported`` published from the customer's outbox, once per export."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from crm_contacts.domain import Customer, TimelineEntry
from crm_contacts.rules import Rules, due_of
from crm_events import deterministic_event_id
from crm_events.offboarding import PersonalDataExported
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.store import Decision
from crm_runtime.timestamps import stamp_tree

SERVICE = "contacts"
SECTION_VERSION = "contacts.export.v1"
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class ExportRequest:
    event_id: str
    export_id: str
    case_id: str
    customer_id: str


def section(customer: Customer, timeline: list[TimelineEntry]) -> str:
    record = {k: v for k, v in asdict(customer).items() if k != "version"}
    entries = [asdict(e) for e in timeline]
    body = {"customer": record, "timeline": entries, "truncated": len(entries) >= MAX_ENTRIES}
    return json.dumps(stamp_tree(body), sort_keys=True, default=str)


def exported(
    state: Customer | None,
    request: ExportRequest,
    timeline: list[TimelineEntry],
    now: datetime,
    rules: Rules,
    *,
    source: str,
) -> Decision[Customer]:
    if state is None:
        raise MissingPrerequisite(f"export requested for unknown customer {request.customer_id}")
    event = PersonalDataExported(
        export_id=request.export_id,
        case_id=request.case_id,
        customer_id=state.customer_id,
        service=SERVICE,
        section_version=SECTION_VERSION,
        section=section(state, timeline),
        exported_at=now,
    ).to_event(
        source=source,
        event_id=deterministic_event_id(request.event_id, "exported", SERVICE),
        time=now,
    )
    return Decision(state, publish=[event], due=due_of(state, rules))
