"""The earning rules' store and use cases: the current rule book (one aggregate, every
version kept as an entry), the start-up file, ``PUT /rules`` with validation and a dry run.

Consumers read the current book through a short cache (``refresh_s``): a book stored by
another replica applies here within that time; this replica's own change at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from crm_loyalty import awards, programme_codec
from crm_loyalty.domain import Account
from crm_loyalty.earning import Fact
from crm_loyalty.rulebook import RuleBook, RuleBookBody, RuleBookFile, check_tiers, versioned
from crm_loyalty.rules import EarningRules
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, DomainError, NotFound
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateConflict, AggregateStore, Decision

log = get_logger(__name__)
BOOK_ID = "earning-rules"


@dataclass(frozen=True)
class Sample:
    """A fact to try a book on (dry run): a trigger, its fields and the member's tier."""

    trigger: str
    fields: dict[str, int | str | bool | None]
    tier: str
    at: datetime


@dataclass(frozen=True)
class Trial:
    sample: Sample
    points: int
    capped: int
    details: dict[str, object]


class RuleBooks:
    def __init__(
        self,
        store: AggregateStore[RuleBook],
        clock: Clock,
        *,
        default: RuleBook,
        earning: EarningRules,
        refresh_s: float = 5.0,
    ) -> None:
        self.store = store
        self._clock = clock
        self._default = default
        self._earning = earning
        self._refresh_s = refresh_s
        self._cached: RuleBook | None = None
        self._loaded = 0.0

    async def current(self) -> RuleBook:
        if self._cached is None or time.monotonic() - self._loaded > self._refresh_s:
            self._remember(await self.store.get(BOOK_ID) or self._default)
        assert self._cached is not None
        return self._cached

    def now(self) -> datetime:
        return self._clock.now()

    async def versions(self, *, limit: int) -> list[RuleBook]:
        """Stored versions, newest first (the default book is never stored)."""
        stored = await programme_codec.rulebook_versions(self.store.backend, limit=limit)
        return stored or [self._default]

    async def version(self, version: int) -> RuleBook:
        found = await programme_codec.rulebook_version(self.store.backend, version)
        if found is None and version == self._default.version:
            found = self._default
        if found is None:
            raise NotFound(f"no version {version} of the earning rules")
        return found

    def _remember(self, book: RuleBook) -> None:
        self._cached, self._loaded = book, time.monotonic()

    def validate(self, body: RuleBookBody) -> None:
        try:
            check_tiers(body, {tier.code for tier in self._earning.tiers})
        except ValueError as exc:
            raise DomainError(str(exc)) from exc

    async def put(
        self, body: RuleBookBody, *, by: str, expected: int | None, dry_run: bool
    ) -> RuleBook:
        """Store ``body`` as the next version (``expected``: the version it replaces, else
        409); a dry run validates and answers what would be stored, storing nothing."""
        self.validate(body)
        current = await self.store.get(BOOK_ID) or self._default
        if expected is not None and expected != current.version:
            raise Conflict(f"rules are at version {current.version}, not {expected}")
        book = versioned(body, current.version + 1, self._clock.now(), by)
        if dry_run:
            return book
        await self._store(book, expected=current.version)
        log.info("rulebook_stored", version=book.version, rules=len(book.rules))
        return book

    async def _store(self, book: RuleBook, *, expected: int) -> None:
        def decide(state: RuleBook | None) -> Decision[RuleBook]:
            version = state.version if state else self._default.version
            if version != expected:
                raise Conflict(f"rules changed meanwhile (now version {version}); retry")
            return Decision(state=book, entries=[book])

        try:
            await self.store.apply(BOOK_ID, f"rules-v{book.version}", decide)
        except AggregateConflict as exc:
            raise Conflict("the rules are being changed concurrently; retry") from exc
        self._remember(book)

    async def seed(self, path: str | None) -> None:
        """Store the start-up file's book when it is newer than the stored one."""
        if not path:
            return
        try:
            text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
            file = RuleBookFile.model_validate_json(text)
        except (OSError, ValidationError) as exc:
            log.error("rules_file_invalid", path=path, reason=str(exc)[:500])
            raise
        self.validate(file)
        current = await self.store.get(BOOK_ID) or self._default
        if file.version <= current.version and await self.store.get(BOOK_ID) is not None:
            log.info("rules_file_not_newer", file=file.version, stored=current.version)
            return
        book = versioned(file, file.version, self._clock.now(), f"file:{Path(path).name}")
        await self._store(book, expected=current.version)

    def trial(self, book: RuleBook, sample: Sample, account: Account) -> Trial:
        """What one sample fact would earn under ``book`` (caps as for a fresh member)."""
        account.tier = sample.tier
        fact = Fact(sample.trigger, "dry-run", sample.at, {**sample.fields, "tier": sample.tier})
        outcome, _ = awards.outcome_for(account, fact, book, self._earning)
        return Trial(sample, outcome.points, outcome.capped, outcome.details())
