"""Portability (issue 9): on offboarding's export request feedback contributes its section
— the customer's complaints and survey answers — as a ``PersonalDataExported``. Complaints
and surveys are aggregates of their own, so the answer is one small aggregate per export
(``export_answers``, ``_id`` = export id) whose outbox carries the section, once."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from crm_events import deterministic_event_id
from crm_events.offboarding import PersonalDataExported
from crm_feedback.answers import Survey
from crm_feedback.domain import Complaint
from crm_runtime.store import Decision
from crm_runtime.timestamps import stamp_tree

SERVICE = "feedback"
SECTION_VERSION = "feedback.export.v1"
MAX_ITEMS = 1000


@dataclass(frozen=True)
class ExportRequest:
    event_id: str
    export_id: str
    case_id: str
    customer_id: str


@dataclass(frozen=True)
class ExportAnswer:
    export_id: str
    customer_id: str
    case_id: str
    answered_at: datetime
    complaints: int
    surveys: int
    version: int = 1


def section(complaints: list[Complaint], surveys: list[Survey]) -> str:
    body = {
        "complaints": [{k: v for k, v in asdict(c).items() if k != "version"} for c in complaints],
        "surveys": [{k: v for k, v in asdict(s).items() if k != "version"} for s in surveys],
    }
    return json.dumps(stamp_tree(body), sort_keys=True, default=str)


def answer(
    state: ExportAnswer | None,
    request: ExportRequest,
    complaints: list[Complaint],
    surveys: list[Survey],
    now: datetime,
    *,
    source: str,
) -> Decision[ExportAnswer]:
    if state is not None:
        return Decision()  # answered already (the same export asked again)
    event = PersonalDataExported(
        export_id=request.export_id,
        case_id=request.case_id,
        customer_id=request.customer_id,
        service=SERVICE,
        section_version=SECTION_VERSION,
        section=section(complaints, surveys),
        exported_at=now,
    ).to_event(
        source=source,
        event_id=deterministic_event_id(request.event_id, "exported", SERVICE),
        time=now,
    )
    answered = ExportAnswer(
        request.export_id,
        request.customer_id,
        request.case_id,
        now,
        len(complaints),
        len(surveys),
    )
    return Decision(answered, publish=[event])
