"""The aggregate store's rules, on the in-memory backend: exactly once across crashes between
any two writes, and a lost version race re-decides only the aggregate that lost."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_runtime.clock import ManualClock
from crm_runtime.errors import DomainError
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from crm_runtime.retry import TransientRetry
from crm_runtime.store import (
    PENDING,
    AggregateConflict,
    AggregateStore,
    Decision,
    check_marker_lifetime,
)
from crm_runtime.store_batch import StoreBatch
from tests.store_memory import InMemoryBackend, SimulatedCrash

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Counter:
    id: str
    total: int


class CounterCodec:
    collection = "counters"

    def encode(self, state: Counter) -> dict[str, Any]:
        return {"total": state.total}

    def decode(self, doc: dict[str, Any]) -> Counter:
        return Counter(doc["_id"], doc["total"])

    def entry(self, entry: tuple[str, int]) -> tuple[str, dict[str, Any]]:
        return "ledger", {"_id": entry[0], "amount": entry[1]}


def add(aggregate_id: str, event_id: str, amount: int) -> Any:
    def decide(state: Counter | None) -> Decision[Counter]:
        total = (state.total if state else 0) + amount
        return Decision(Counter(aggregate_id, total), entries=[(event_id, amount)])

    return decide


def store(backend: InMemoryBackend) -> AggregateStore[Counter]:
    clock = ManualClock(NOW)
    return AggregateStore(backend, CounterCodec(), clock=clock, marker_lifetime=None)


@pytest.mark.parametrize("crash_at", [0, 1])
async def test_a_crash_between_any_two_writes_then_redelivery_applies_once(crash_at: int) -> None:
    backend = InMemoryBackend()
    counters = store(backend)
    backend.crash_after(crash_at)
    with pytest.raises(SimulatedCrash):
        await counters.apply("c-1", "e-1", add("c-1", "e-1", 5))

    await counters.apply("c-1", "e-1", add("c-1", "e-1", 5))  # redelivered
    again = await counters.apply("c-1", "e-1", add("c-1", "e-1", 5))

    assert again.applied is False
    assert backend.docs("counters")["c-1"]["total"] == 5
    assert list(backend.docs("ledger")) == ["e-1"]


async def test_a_lost_race_re_reads_and_re_decides() -> None:
    backend = InMemoryBackend()
    counters = store(backend)
    await counters.apply("c-1", "e-1", add("c-1", "e-1", 1))
    backend.race("counters", "c-1")

    result = await counters.apply("c-1", "e-2", add("c-1", "e-2", 1))

    assert result.applied is True
    assert backend.docs("counters")["c-1"]["version"] == 3  # ours after the other writer's


async def test_a_batch_writes_once_per_collection_and_redoes_only_the_loser() -> None:
    backend = InMemoryBackend()
    counters = store(backend)
    for name in ("a", "b"):
        await counters.apply(name, f"seed-{name}", add(name, f"seed-{name}", 1))
    writes_before = backend.writes
    retry = TransientRetry(Health(), Metrics("test-store"), (0.01, 0.01))
    with StoreBatch(retry) as batch:
        await batch.prefetch(counters, ["a", "b"])
        for n in range(3):
            for name in ("a", "b"):
                await counters.apply(name, f"{name}-{n}", add(name, f"{name}-{n}", 10))
        backend.race("counters", "b")
        await batch.commit()

    assert backend.docs("counters")["a"]["total"] == 31
    assert backend.docs("counters")["b"]["total"] == 31
    # one bulk write + one insert of what it carried; then b's re-decision: the same again
    assert backend.writes - writes_before == 4


async def test_a_decision_that_never_lands_leaves_no_entry() -> None:
    """Every attempt loses its race: the command is refused and no entry claims otherwise."""
    backend = InMemoryBackend()
    counters = store(backend)
    await counters.apply("c-1", "seed", add("c-1", "seed", 1))
    counters.max_attempts = 2
    for _ in range(2):
        backend.race("counters", "c-1")
    real_write = backend.write

    async def always_raced(collection: str, writes: Any) -> set[str]:
        backend.race("counters", "c-1")
        return await real_write(collection, writes)

    backend.write = always_raced  # type: ignore[method-assign]
    with pytest.raises(AggregateConflict):
        await counters.apply("c-1", "e-1", add("c-1", "e-1", 5))

    assert "e-1" not in backend.docs("ledger")


async def test_a_re_decision_writes_the_re_decided_entry_only() -> None:
    """The entry of a decision that lost its race is never written; the re-decision's is."""
    backend = InMemoryBackend()
    counters = store(backend)
    await counters.apply("c-1", "seed", add("c-1", "seed", 7))
    real_write = backend.write

    async def another_writer_first(collection: str, writes: Any) -> set[str]:
        backend.write = real_write  # type: ignore[method-assign]
        doc = backend.docs("counters")["c-1"]
        doc["total"], doc["version"] = 10, doc["version"] + 1
        return await real_write(collection, writes)

    def double(state: Counter | None) -> Decision[Counter]:
        assert state is not None
        return Decision(Counter("c-1", state.total * 2), entries=[("e-1", state.total)])

    backend.write = another_writer_first  # type: ignore[method-assign]
    await counters.apply("c-1", "e-1", double)

    assert backend.docs("counters")["c-1"]["total"] == 20
    assert backend.docs("ledger")["e-1"]["amount"] == 10  # not the 7 of the lost decision


async def test_a_crash_after_the_write_keeps_the_entries_in_the_aggregate_until_inserted() -> None:
    backend = InMemoryBackend()
    counters = store(backend)
    backend.crash_after(1)  # the write happens, the insert after it does not
    with pytest.raises(SimulatedCrash):
        await counters.apply("c-1", "e-1", add("c-1", "e-1", 5))
    assert "e-1" not in backend.docs("ledger")
    assert backend.docs("counters")["c-1"][PENDING]

    restarted = store(backend)  # a new process: it has seen nothing inserted
    await restarted.apply("c-1", "e-2", add("c-1", "e-2", 1))

    assert sorted(backend.docs("ledger")) == ["e-1", "e-2"]
    assert [e["doc"]["_id"] for e in backend.docs("counters")["c-1"][PENDING]] == ["e-2"]


async def test_the_sweeper_finishes_entries_a_crash_left_behind() -> None:
    backend = InMemoryBackend()
    counters = store(backend)
    backend.crash_after(1)
    with pytest.raises(SimulatedCrash):
        await counters.apply("c-1", "e-1", add("c-1", "e-1", 5))

    restarted = store(backend)
    assert await restarted.finish_entries(older_than=timedelta(0)) == 1

    assert list(backend.docs("ledger")) == ["e-1"]
    assert PENDING not in backend.docs("counters")["c-1"]
    assert await restarted.finish_entries(older_than=timedelta(0)) == 0


async def test_a_refused_decision_writes_nothing() -> None:
    backend = InMemoryBackend()
    counters = store(backend)

    def refuse(state: Counter | None) -> Decision[Counter]:
        raise DomainError("not enough")

    with pytest.raises(DomainError):
        await counters.apply("c-1", "e-1", refuse)
    assert backend.docs("ledger") == {}
    assert backend.docs("counters") == {}


def test_markers_must_outlive_the_topics_retention() -> None:
    week_ms = 7 * 24 * 3_600_000
    check_marker_lifetime(timedelta(days=8), week_ms)
    check_marker_lifetime(None, -1)
    with pytest.raises(ValueError, match="retention"):
        check_marker_lifetime(timedelta(days=1), week_ms)
    with pytest.raises(ValueError, match="forever"):
        check_marker_lifetime(timedelta(days=30), -1)


async def test_two_keys_loading_one_aggregate_at_once_both_count() -> None:
    """Keys run concurrently in a poll: two that touch an aggregate nobody prefetched load
    it at the same time; the second load must not replace the copy the first changed."""

    class SlowLoads(InMemoryBackend):
        async def load(self, collection: str, ids: Any) -> dict[str, dict[str, Any]]:
            found = await super().load(collection, ids)
            await asyncio.sleep(0.01)  # the other key's load overlaps this one
            return found

    backend = SlowLoads()
    counters = store(backend)
    await counters.apply("shared", "seed", add("shared", "seed", 1))
    retry = TransientRetry(Health(), Metrics("test-store"), (0.01, 0.01))
    with StoreBatch(retry) as batch:
        await asyncio.gather(
            counters.apply("shared", "from-a", add("shared", "from-a", 10)),
            counters.apply("shared", "from-b", add("shared", "from-b", 100)),
        )
        await batch.commit()

    assert backend.docs("counters")["shared"]["total"] == 111
    assert sorted(backend.docs("ledger")) == ["from-a", "from-b", "seed"]


async def test_reads_inside_a_batch_see_the_poll_and_load_once() -> None:
    """``get``/``get_many`` inside a consumer's batch answer from the batch: what earlier
    records of the poll decided, each aggregate loaded once (issue 7: a handler that
    read another aggregate cost one round trip per record)."""

    class CountingLoads(InMemoryBackend):
        loads = 0

        async def load(self, collection: str, ids: Any) -> dict[str, dict[str, Any]]:
            self.loads += 1
            return await super().load(collection, ids)

    backend = CountingLoads()
    counters = store(backend)
    for name in ("a", "b"):
        await counters.apply(name, f"seed-{name}", add(name, f"seed-{name}", 1))
    backend.loads = 0
    retry = TransientRetry(Health(), Metrics("test-store"), (0.01, 0.01))
    with StoreBatch(retry) as batch:
        seen = await counters.get_many(["a", "b", "missing"])
        await counters.apply("a", "a-1", add("a", "a-1", 10))
        after = await counters.get("a")
        again = await counters.get_many(["a", "b"])
        await batch.commit()

    assert {k: v.total for k, v in seen.items()} == {"a": 1, "b": 1}  # "missing" left out
    assert after is not None
    assert after.total == 11
    assert again["a"].total == 11
    assert backend.loads == 1  # one query for the whole poll
    stored = await counters.get("a")  # outside the batch: as stored
    assert stored is not None
    assert stored.total == 11


@dataclass
class Tagged:
    id: str
    total: int
    tags: list[str]


class AliasingCodec:
    """Hands the stored list to the state as it is (no copy), as a codec may."""

    collection = "tagged"

    def encode(self, state: Tagged) -> dict[str, Any]:
        return {"total": state.total, "tags": state.tags}

    def decode(self, doc: dict[str, Any]) -> Tagged:
        return Tagged(doc["_id"], doc["total"], doc["tags"])

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError


class RecordingWrites(InMemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.sets: list[dict[str, Any]] = []

    async def write(self, collection: str, writes: Any) -> set[str]:
        self.sets += [write.set for write in writes]
        return await super().write(collection, writes)


def tagged_store(backend: InMemoryBackend) -> AggregateStore[Tagged]:
    clock = ManualClock(NOW)
    return AggregateStore(backend, AliasingCodec(), clock=clock, marker_lifetime=None)


async def test_a_write_sets_only_the_state_fields_that_changed() -> None:
    backend = RecordingWrites()
    tagged = tagged_store(backend)
    await tagged.apply("t-1", "e-1", lambda s: Decision(Tagged("t-1", 1, ["a"])))

    def add_one(state: Tagged | None) -> Decision[Tagged]:
        assert state is not None
        return Decision(Tagged("t-1", state.total + 1, list(state.tags)))

    await tagged.apply("t-1", "e-2", add_one)

    first, second = backend.sets
    assert {"total", "tags"} <= set(first)  # a new aggregate: everything
    assert "total" in second
    assert "tags" not in second  # unchanged: not rewritten
    assert backend.docs("tagged")["t-1"]["tags"] == ["a"]
    assert backend.docs("tagged")["t-1"]["total"] == 2


async def test_a_state_changed_in_place_is_still_written() -> None:
    """The comparison is against a copy of what was stored, not the decoded objects."""
    backend = RecordingWrites()
    tagged = tagged_store(backend)
    await tagged.apply("t-1", "e-1", lambda s: Decision(Tagged("t-1", 1, ["a"])))

    def tag_in_place(state: Tagged | None) -> Decision[Tagged]:
        assert state is not None
        state.tags.append("b")  # mutates the list the codec took from the stored document
        return Decision(state)

    await tagged.apply("t-1", "e-2", tag_in_place)

    assert backend.sets[-1]["tags"] == ["a", "b"]
    assert backend.docs("tagged")["t-1"]["tags"] == ["a", "b"]
