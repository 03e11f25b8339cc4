"""Cases follow the account (issue 8). Offboarding keeps, per customer, who owns the
account (from ``CustomerRegistered`` and ``AccountOwnerChanged``, the newest move winning
whatever order they arrive in); an open case belongs to its customer's account owner. When
the account moves, each open case of that customer is announced as moved
(``OffboardingCaseReassigned``, so a departure's hand-over can be counted), and
``GET /employees/{id}/cases`` lists the open cases of the accounts one employee owns.

Kept apart from the case lifecycle (``service.py``): a separate aggregate, ``accounts``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from crm_events import CloudEvent, deterministic_event_id
from crm_events.contacts import AccountOwnerChanged, CustomerRegistered
from crm_events.offboarding import OffboardingCaseReassigned
from crm_offboarding import codec
from crm_offboarding.aftercare import AftercareRules
from crm_offboarding.domain import Case
from crm_offboarding.views import CaseView, case_view
from crm_runtime.app import ServiceRuntime
from crm_runtime.http import EmployeeIdPath
from crm_runtime.security import require
from crm_runtime.settings import Role
from crm_runtime.store import AggregateStore, Decision
from crm_runtime.timestamps import stamp, unstamp

ACCOUNTS = "accounts"
SCAN_PAGE = 500
Reason = Literal["reassigned", "employee_departed"]


@dataclass(frozen=True)
class Account:
    customer_id: str
    owner_id: str
    owner_since: datetime  # time of the fact that named this owner (older facts lose)
    registered_owner_id: str | None = None  # who the registration named, once seen


@dataclass(frozen=True)
class OwnerNamed:
    """Fact: this employee owns the customer's account since ``at``."""

    event_id: str
    customer_id: str
    owner_id: str
    previous_owner_id: str | None
    reason: Reason | None  # None: named at registration
    at: datetime


class AccountCodec:
    collection = ACCOUNTS

    def encode(self, account: Account) -> dict[str, Any]:
        return {
            "owner_id": account.owner_id,
            "owner_since": stamp(account.owner_since),
            "registered_owner_id": account.registered_owner_id,
        }

    def decode(self, doc: dict[str, Any]) -> Account:
        since = unstamp(doc["owner_since"])
        return Account(doc["_id"], doc["owner_id"], since, doc.get("registered_owner_id"))

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError("an account appends no entries")


def name_owner(
    state: Account | None, fact: OwnerNamed, open_cases: list[Case], *, source: str, now: datetime
) -> Decision[Account]:
    """The newest fact names the owner; a move announces each open case as moved."""
    if state is not None and fact.reason is None:
        # A registration after a move (cross-topic order): remembered, the move stands.
        return Decision(replace(state, registered_owner_id=fact.owner_id))
    if state is not None and fact.at < state.owner_since:
        return Decision()  # a move older than the one held
    registered = fact.owner_id if fact.reason is None else None
    account = Account(fact.customer_id, fact.owner_id, fact.at, registered)
    if state is not None:
        account = replace(account, registered_owner_id=state.registered_owner_id)
    previous = fact.previous_owner_id if state is None else state.owner_id
    if fact.reason is None or previous is None or previous == fact.owner_id:
        return Decision(account)
    moved = [_moved(case, previous, fact, source, now) for case in open_cases]
    return Decision(account, publish=moved)


def _moved(case: Case, previous: str, fact: OwnerNamed, source: str, now: datetime) -> CloudEvent:
    assert fact.reason is not None
    data = OffboardingCaseReassigned(
        case_id=case.case_id,
        customer_id=case.customer_id,
        previous_owner_id=previous,
        new_owner_id=fact.owner_id,
        reason=fact.reason,
    )
    return data.to_event(
        source=source,
        event_id=deterministic_event_id(fact.event_id, "case", case.case_id),
        time=now,
        correlation_id=case.correlation_id,
        causation_id=fact.event_id,
    )


class CaseOwnership:
    def __init__(
        self,
        accounts: AggregateStore[Account],
        cases: AggregateStore[Case],
        runtime: ServiceRuntime,
    ):
        self.accounts = accounts
        self._cases = cases
        self._runtime = runtime

    async def owner_named(self, fact: OwnerNamed) -> bool:
        open_cases = [] if fact.reason is None else await self._open_cases([fact.customer_id])
        now, source = self._runtime.clock.now(), self._runtime.source
        decide = lambda s: name_owner(s, fact, open_cases, source=source, now=now)  # noqa: E731
        return (await self.accounts.apply(fact.customer_id, fact.event_id, decide)).applied

    async def _open_cases(self, customer_ids: list[str]) -> list[Case]:
        if not customer_ids:
            return []
        docs = await self._cases.backend.page(
            codec.CASES,
            equals={"customer_id": {"$in": customer_ids}},
            newest_by="opened_at",
            before=None,
            limit=10 * len(customer_ids) + 10,
        )
        cases = [self._cases.decode(doc) for doc in docs]
        return [case for case in cases if case.concluded_at is None]

    async def open_cases_of(self, employee_id: str) -> list[Case]:
        """The open cases of every account the employee owns, newest first."""
        found: list[Case] = []
        before: tuple[str, str] | None = None
        while True:
            docs = await self.accounts.backend.page(
                ACCOUNTS,
                equals={"owner_id": employee_id},
                newest_by="owner_since",
                before=before,
                limit=SCAN_PAGE,
            )
            found += await self._open_cases([doc["_id"] for doc in docs])
            if len(docs) < SCAN_PAGE:
                return sorted(found, key=lambda c: c.opened_at, reverse=True)
            before = (docs[-1]["owner_since"], docs[-1]["_id"])


def wire(runtime: ServiceRuntime, ownership: CaseOwnership, rules: AftercareRules) -> APIRouter:
    """Consume the account's owner facts; serve the per-employee query (``rules``: how a
    case's view shows its aftercare, as ``GET /cases/{id}`` does)."""

    async def registered(data: CustomerRegistered, event: CloudEvent) -> bool:
        fact = OwnerNamed(event.id, data.customer_id, data.owner_id, None, None, event.time)
        return await ownership.owner_named(fact)

    async def moved(data: AccountOwnerChanged, event: CloudEvent) -> bool:
        fact = OwnerNamed(
            event.id,
            data.customer_id,
            data.new_owner_id,
            data.previous_owner_id,
            data.reason,
            event.time,
        )
        return await ownership.owner_named(fact)

    account = (ownership.accounts, lambda data: data.customer_id)
    runtime.on(CustomerRegistered, registered, aggregate=account)
    runtime.on(AccountOwnerChanged, moved, aggregate=account)
    router = APIRouter(
        tags=["cases"], dependencies=[Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))]
    )

    @router.get("/employees/{employee_id}/cases")
    async def open_cases(
        employee_id: EmployeeIdPath, limit: Annotated[int, Query(ge=1, le=200)] = 100
    ) -> list[CaseView]:
        """Open cases of the accounts this employee owns, newest first."""
        now = runtime.clock.now()
        cases = (await ownership.open_cases_of(employee_id))[:limit]
        return [case_view(c, now, rules) for c in cases]

    return router
