"""Decisions of the programme's newer facts (issue 11): a profile's date of birth and a
manager's goodwill adjustment. Pure, like ``decisions``."""

from __future__ import annotations

from datetime import datetime

from crm_loyalty import birthday, goodwill
from crm_loyalty.decisions import UNCHANGED, Earning, _changed, _existing, rule_award
from crm_loyalty.domain import Account, LedgerEntry
from crm_loyalty.earning import Fact
from crm_loyalty.rulebook import RuleBook
from crm_loyalty.rules import Rules
from crm_loyalty.translate import Profile
from crm_runtime.errors import MissingPrerequisite, NotFound
from crm_runtime.store import Decision


def profile_updated(
    state: Account | None, fact: Profile, *, now: datetime, source: str
) -> Decision[Account]:
    """A new date of birth moves the birthday due date; other profile fields are not ours."""
    account = _existing(
        state,
        lambda: MissingPrerequisite(f"profile of unknown account {fact.customer_id}"),
    )
    if not birthday.learn(account, fact.date_of_birth, now):
        return UNCHANGED
    return _changed(account, [], fact.event_id, fact.cause, now, source)


# --- goodwill ---------------------------------------------------------------------------------
def adjust(
    state: Account | None,
    entry: LedgerEntry,
    adjustment: goodwill.Adjustment,
    *,
    rules: Rules,
    book: RuleBook,
    limit: int,
    now: datetime,
    source: str,
) -> Decision[Account]:
    """A manager's signed adjustment; a credit is also a ``goodwill_granted`` fact for the
    earning rules (their award is a second entry, ``earn:<request>``)."""
    account = _existing(state, lambda: NotFound(f"loyalty account {entry.customer_id} not found"))
    goodwill.check(account, adjustment, limit)
    derived = goodwill.post(account, entry, rules.earning, now)
    entries = [entry]
    if adjustment.points > 0:
        fact = Fact("goodwill_granted", entry.source_event_id, now, {"points": entry.points})
        award, posted = rule_award(account, Earning(fact, book), rules, now)
        if award is not None:
            entries.append(award)
            derived += posted
    return _changed(account, derived, entry.source_event_id, None, now, source, entries)
