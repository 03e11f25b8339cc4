"""Point lots, property-based: the balance is the sum of the lots, redemption takes the
oldest first, expiry only ever takes what is left (never points already redeemed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_loyalty import lots
from crm_loyalty.domain import Account
from crm_loyalty.rules import ExpiryPolicy, add_months

pytestmark = pytest.mark.unit

START = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
FIXED = ExpiryPolicy("fixed", months=3, warning_days=10)

earn = st.tuples(st.just("earn"), st.integers(1, 500), st.integers(0, 40))
redeem = st.tuples(st.just("redeem"), st.integers(1, 800), st.integers(0, 40))
reverse = st.tuples(st.just("reverse"), st.integers(1, 300), st.integers(0, 40))
expire = st.tuples(st.just("expire"), st.just(0), st.integers(0, 40))


def new_account() -> Account:
    return Account(customer_id="cus-1", opened_at=START, tier="bronze", score=70)


def check_invariants(account: Account) -> None:
    assert all(0 < lot.remaining <= lot.points for lot in account.lots.values())
    if account.balance >= 0:
        assert account.balance == lots.available(account)
    else:
        assert account.lots == {}  # a debt holds no lots


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(earn, redeem, reverse, expire), max_size=40))
def test_balance_is_the_sum_of_the_lots_and_expiry_never_takes_spent_points(
    operations: list[tuple[str, int, int]],
) -> None:
    account, now = new_account(), START
    earned = spent = reversed_ = expired = 0
    for n, (kind, points, days) in enumerate(operations):
        now += timedelta(days=days)
        if kind == "earn":
            lots.credit(account, f"earn:{n}", points, now, FIXED)
            earned += points
        elif kind == "redeem" and 0 < points <= account.balance:
            lots.debit(account, points)
            spent += points
        elif kind == "reverse":
            lots.debit(account, points, first=f"earn:{n - 1}")
            reversed_ += points
        elif kind == "expire":
            before = account.balance
            taken, _ = lots.expire(account, now)
            assert taken <= max(before, 0)  # only what is left: never redeemed points
            expired += taken
        check_invariants(account)
        assert earned - spent - reversed_ - expired == account.balance


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 300), min_size=1, max_size=10),
    st.integers(1, 3000),
)
def test_redemption_takes_the_oldest_lots_first(earnings: list[int], wanted: int) -> None:
    account = new_account()
    for n, points in enumerate(earnings):
        lots.credit(account, f"earn:{n}", points, START + timedelta(days=n), FIXED)
    wanted = min(wanted, account.balance)
    lots.debit(account, wanted)

    left = {lot.entry_id: lot.remaining for lot in account.lots.values()}
    consumed, remaining_wanted = [], wanted
    for points in earnings:
        take = min(points, remaining_wanted)
        remaining_wanted -= take
        consumed.append(points - take)
    assert [left.get(f"earn:{n}", 0) for n in range(len(earnings))] == consumed


def test_fixed_expiry_takes_only_the_unredeemed_rest_of_a_lot_on_its_date() -> None:
    account = new_account()
    lots.credit(account, "earn:a", 100, START, FIXED)
    lots.credit(account, "earn:b", 50, START + timedelta(days=40), FIXED)
    lots.debit(account, 70)  # from lot a (the oldest)

    assert lots.expire(account, add_months(START, 3) - timedelta(seconds=1)) == (0, [])
    assert lots.expire(account, add_months(START, 3)) == (30, ["earn:a"])
    assert (account.balance, lots.available(account)) == (50, 50)


def test_a_credit_pays_a_debt_first() -> None:
    account = new_account()
    lots.credit(account, "earn:a", 40, START, FIXED)
    lots.debit(account, 100, first="earn:a")  # a return of points already spent
    assert (account.balance, account.lots) == (-60, {})
    lots.credit(account, "earn:b", 100, START, FIXED)
    assert (account.balance, lots.available(account)) == (40, 40)


def test_activity_policy_moves_every_lot_to_the_latest_activity() -> None:
    policy = ExpiryPolicy("activity", months=6)
    account = new_account()
    lots.credit(account, "earn:a", 10, START, policy)
    later = START + timedelta(days=100)
    lots.credit(account, "earn:b", 10, later, policy)
    assert {lot.expires_at for lot in account.lots.values()} == {add_months(later, 6)}
    lots.touch(account, later + timedelta(days=50), policy)
    assert {lot.expires_at for lot in account.lots.values()} == {
        add_months(later + timedelta(days=50), 6)
    }


def test_months_are_added_as_calendar_months() -> None:
    assert add_months(START, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(START, 13) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 2) == datetime(2027, 1, 15, tzinfo=UTC)
