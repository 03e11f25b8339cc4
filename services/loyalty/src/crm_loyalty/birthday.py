"""Birthday awards: the member's birthday (month and day only — the year is not kept)
becomes a yearly due date; when it comes, the earning rules see a ``birthday`` fact. Pure.

29 February is celebrated on 28 February in other years. The due moment is 00:00 UTC of
the day; a birthday learnt on the day itself is next celebrated a year later (an award is
not made retroactively for a date already past).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from crm_loyalty.domain import Account
from crm_loyalty.earning import Fact


def month_day(born: date) -> str:
    return f"{born.month:02d}-{born.day:02d}"


def next_birthday(birthday: str, after: datetime) -> datetime:
    """The first celebration strictly after ``after``."""
    month, day = (int(part) for part in birthday.split("-"))
    for year in (after.year, after.year + 1):
        moment = _on(year, month, day)
        if moment > after:
            return moment
    return _on(after.year + 2, month, day)


def _on(year: int, month: int, day: int) -> datetime:
    if (month, day) == (2, 29) and not _leap(year):
        day = 28
    return datetime(year, month, day, tzinfo=UTC)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def learn(account: Account, born: date | None, now: datetime) -> bool:
    """Keep the birthday (a new one moves the due date); False when nothing changed.
    Never after the customer's personal data was erased (a replayed profile)."""
    if born is None or not account.is_open or account.erased_at is not None:
        return False
    birthday = month_day(born)
    if birthday == account.birthday:
        return False
    account.birthday = birthday
    account.birthday_due_at = next_birthday(birthday, now)
    return True


def due(account: Account, now: datetime) -> Fact | None:
    """The birthday fact when its date has come (the due date moves one year on)."""
    when = account.birthday_due_at
    if when is None or when > now or account.birthday is None:
        return None
    account.birthday_due_at = next_birthday(account.birthday, when)
    return Fact(
        trigger="birthday",
        event_id=f"birthday:{account.customer_id}:{when.year}",
        at=when,
        fields={},
    )
