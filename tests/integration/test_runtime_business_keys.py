"""The business-key reservation on the real MongoDB protocol: one holder per key, racing
reservations agree on it, and only the holder can give it back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_runtime.business_keys import Holder, MongoBusinessKeys

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_one_holder_per_key_and_only_the_holder_releases(mongo: Any, ns: str) -> None:
    keys = MongoBusinessKeys(mongo[f"bk_{ns.strip('.')}"]["business_keys"])
    first, second = Holder("e-1", "fp-a"), Holder("e-2", "fp-b")

    racing = await asyncio.gather(*(keys.reserve("k", h, NOW) for h in (first, second)))
    winner = racing[0]
    loser = second if winner == first else first
    await keys.release("k", loser.event_id)  # not the holder: changes nothing
    still = await keys.reserve("k", loser, NOW)
    await keys.release("k", winner.event_id)
    after_release = await keys.reserve("k", loser, NOW)

    assert racing == [winner, winner]
    assert still == winner
    assert after_release == loser
