"""Apply one change to one account exactly once, without multi-document transactions.

read → change (pure) → replace if the version is unchanged, with the applied-marker of
the cause and the derived events (outbox) in the same write. A lost version race re-reads
and re-applies; a cause already in ``applied`` is a duplicate and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from crm_events import CloudEvent, deterministic_event_id
from crm_loyalty.domain import Account, Derived
from crm_loyalty.ports import LoyaltyRepository
from crm_runtime.clock import Clock
from crm_runtime.keys import map_key
from crm_runtime.logging import get_logger

# Returns the derived events, or None when there is nothing to write after all.
Change = Callable[[Account], list[Derived] | None]
MAX_ATTEMPTS = 10
log = get_logger(__name__)


class ConcurrentUpdate(RuntimeError):
    """The account kept changing under us; the caller retries later."""


class AccountWriter:
    def __init__(
        self,
        repository: LoyaltyRepository,
        clock: Clock,
        *,
        source: str,
        applied_retention: timedelta,
        on_outbox: Callable[[], None],
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._source = source
        self._retention = applied_retention
        self._on_outbox = on_outbox

    async def apply(
        self,
        customer_id: str,
        cause_id: str,
        change: Change,
        *,
        cause: CloudEvent | None,
        missing: Callable[[], Exception],
    ) -> bool:
        """True when the change was stored now, False when ``cause_id`` was applied before
        (or the change found nothing to do); raises ``missing()`` without an account."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            account = await self._repo.get_account(customer_id)
            if account is None:
                raise missing()
            if account.has_applied(cause_id):
                return False
            expected = account.version
            derived = change(account)
            if derived is None:
                return False
            now = self._clock.now()
            events = self.events(derived, cause_id, cause, now)
            self._mark_applied(account, cause_id, now)
            account.version = expected + 1
            if await self._repo.save_account(account, expected_version=expected, outbox=events):
                if events:
                    self._on_outbox()
                log.debug("account_changed", version=account.version, published=len(events))
                return True
            log.info("account_version_conflict", attempt=attempt)
        raise ConcurrentUpdate(f"account {customer_id} changed {MAX_ATTEMPTS} times meanwhile")

    def notify(self) -> None:
        """Tell the relay that a write outside ``apply`` stored outbox entries."""
        self._on_outbox()

    def events(
        self, derived: Sequence[Derived], cause_id: str, cause: CloudEvent | None, now: datetime
    ) -> list[CloudEvent]:
        """Envelopes with ids derived from the cause: a redelivery re-creates the same ids."""
        return [
            payload.to_event(
                source=self._source,
                event_id=deterministic_event_id(cause_id, name),
                time=now,
                cause=cause,
            )
            for name, payload in derived
        ]

    def _mark_applied(self, account: Account, cause_id: str, now: datetime) -> None:
        """Remember the cause; forget causes older than the retention (bounded maps)."""
        horizon = now - self._retention
        account.applied = {k: at for k, at in account.applied.items() if at >= horizon}
        account.ignored_entries = {
            k: at for k, at in account.ignored_entries.items() if at >= horizon
        }
        account.applied[map_key(cause_id)] = now
