"""Data disposal and portability in loyalty (issue 9).

Loyalty holds little personal data: health reasons name ids and categories only, and the
ledger's amounts, points and dates are the facts KPIs need. What is personal is the free
text of redemptions (the reward) and of goodwill adjustments (reason, reference), and the
birthday (month and day, issue 11) on the account. On the erasure request the free text is
overwritten, the birthday and its due date dropped, the account keeps a **tombstone**
(``erased_at``, the case) and ``PersonalDataErased`` is published in the same account
write. The one consumed fact that carries personal data, a profile's date of birth, is
ignored once the tombstone is there (``birthday.learn``), so a replay brings nothing back;
redemptions and adjustments (HTTP only) are refused once the relationship ended (the
account is settled or frozen).

On an export request the account and its ledger go out as ``PersonalDataExported``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from crm_events import deterministic_event_id
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_loyalty.domain import Account, LedgerEntry
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.store import Decision
from crm_runtime.timestamps import stamp_tree

SERVICE = "loyalty"
SECTION_VERSION = "loyalty.export.v1"
MAX_ENTRIES = 1000
ERASED_FIELDS = [
    "ledger.redeem.reward",
    "ledger.goodwill.reason",
    "ledger.goodwill.reference",
    "account.birthday",
]


@dataclass(frozen=True)
class CaseRequest:
    """An erasure or export request of offboarding, as loyalty takes it."""

    event_id: str
    case_id: str
    customer_id: str
    export_id: str | None = None


def _known(state: Account | None, request: CaseRequest, what: str) -> Account:
    if state is None:
        raise MissingPrerequisite(f"{what} for unknown account {request.customer_id}")
    return copy.deepcopy(state)


def erased(
    state: Account | None, request: CaseRequest, records: int, now: datetime, *, source: str
) -> Decision[Account]:
    account = _known(state, request, "erasure")
    if account.erased_at is not None:
        return Decision()
    account.erased_at, account.erasure_case_id = now, request.case_id
    account.birthday = account.birthday_due_at = None
    attestation = PersonalDataErased(
        case_id=request.case_id,
        customer_id=account.customer_id,
        service=SERVICE,
        method="anonymised",
        legal_hold=False,
        attested_at=now,
        erased_fields=ERASED_FIELDS,
        records=records,
    ).to_event(
        source=source,
        event_id=deterministic_event_id(request.event_id, "erased", SERVICE),
        time=now,
    )
    return Decision(account, publish=[attestation], due=account.next_due_at)


def exported(
    state: Account | None,
    request: CaseRequest,
    ledger: list[LedgerEntry],
    now: datetime,
    *,
    source: str,
) -> Decision[Account]:
    account = _known(state, request, "export")
    assert request.export_id is not None
    body = {
        "account": {k: v for k, v in asdict(account).items() if k != "version"},
        "ledger": [asdict(e) for e in ledger],
        "truncated": len(ledger) >= MAX_ENTRIES,
    }
    event = PersonalDataExported(
        export_id=request.export_id,
        case_id=request.case_id,
        customer_id=account.customer_id,
        service=SERVICE,
        section_version=SECTION_VERSION,
        section=json.dumps(stamp_tree(body), sort_keys=True, default=str),
        exported_at=now,
    ).to_event(
        source=source,
        event_id=deterministic_event_id(request.event_id, "exported", SERVICE),
        time=now,
    )
    return Decision(account, publish=[event], due=account.next_due_at)
