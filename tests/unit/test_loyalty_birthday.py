"""Birthday awards: the date of birth from the profile (registration or a profile update)
becomes a yearly due date; each year the birthday rule awards once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_events.contacts import CustomerProfileUpdated, CustomerRegistered
from crm_events.loyalty import PointsAwarded
from crm_loyalty.birthday import next_birthday
from crm_runtime.errors import MissingPrerequisite
from tests.unit.loyalty_plugin import Loyalty, golden
from tests.unit.test_loyalty_rules import PURCHASE, rule

pytestmark = pytest.mark.unit
BIRTHDAY = rule("birthday-gift", "birthday", {"kind": "fixed", "points": 200}, qualifying=False)


async def profile(loyalty: Loyalty, born: str | None, n: int = 1) -> bool:
    data = golden(CustomerProfileUpdated, date_of_birth=born)
    return await loyalty.points.on_profile_updated(data, loyalty.event(data, f"profile-{n}"))


async def sweep_until(loyalty: Loyalty, moment: datetime) -> None:
    loyalty.clock.set(moment)
    for _ in range(50):
        if not await loyalty.sweep():
            return


async def test_the_birthday_rule_awards_once_a_year_from_the_profile() -> None:
    loyalty = Loyalty()
    await loyalty.register()
    await loyalty.put_rules({"rules": [PURCHASE, BIRTHDAY]})
    assert await profile(loyalty, "1990-04-12") is True
    assert await profile(loyalty, "1990-04-12", n=2) is False  # nothing new

    account = await loyalty.account()
    assert (account.birthday, account.birthday_due_at) == (
        "04-12",
        datetime(2026, 4, 12, tzinfo=UTC),
    )
    await sweep_until(loyalty, datetime(2026, 4, 12, 8, tzinfo=UTC))
    await sweep_until(loyalty, datetime(2027, 4, 13, tzinfo=UTC))

    awards = loyalty.published(PointsAwarded)
    assert [(a["reason"], a["points"], a["source_event_id"]) for a in awards] == [
        ("birthday", 200, "birthday:cus-1:2026"),
        ("birthday", 200, "birthday:cus-1:2027"),
    ]
    assert (await loyalty.account()).qualifying_points == 0


async def test_a_date_of_birth_at_registration_counts_and_unrelated_updates_change_nothing() -> (
    None
):
    loyalty = Loyalty()
    data = golden(CustomerRegistered, date_of_birth="2000-02-29")
    await loyalty.points.on_customer_registered(data, loyalty.event(data, "reg-1"))
    assert (await loyalty.account()).birthday_due_at == datetime(2027, 2, 28, tzinfo=UTC)
    assert await profile(loyalty, None) is False


async def test_a_profile_before_its_registration_waits_for_it() -> None:
    loyalty = Loyalty()
    with pytest.raises(MissingPrerequisite):
        await profile(loyalty, "1990-04-12")


def test_29_february_is_celebrated_on_28_february_outside_leap_years() -> None:
    after = datetime(2027, 1, 1, tzinfo=UTC)
    assert next_birthday("02-29", after) == datetime(2027, 2, 28, tzinfo=UTC)
    assert next_birthday("02-29", datetime(2028, 1, 1, tzinfo=UTC)).date() == date(2028, 2, 29)
    assert next_birthday("12-31", datetime(2027, 12, 31, tzinfo=UTC)) == datetime(
        2028, 12, 31, tzinfo=UTC
    )


def test_a_date_of_birth_has_one_canonical_spelling_for_business_keys() -> None:
    first = golden(CustomerProfileUpdated, date_of_birth="1990-04-12")
    same = golden(CustomerProfileUpdated, date_of_birth="1990-04-12")
    other = golden(CustomerProfileUpdated, date_of_birth="1990-04-13")
    assert first.content_fingerprint() == same.content_fingerprint()
    assert first.content_fingerprint() != other.content_fingerprint()
