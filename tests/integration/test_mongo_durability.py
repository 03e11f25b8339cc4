"""Acknowledged MongoDB writes survive a SIGKILL of the server.

The runtime commits Kafka offsets only after an event's effect is stored (DESIGN §4), so
a write that the server acknowledged and then lost in a crash is an effect lost for good.
This kills the MongoDB-protocol server of the local stack with SIGKILL right after the
last acknowledgement, restarts it on the same data and counts what survived. It runs on
a dedicated stack (its own state dir and free ports, MongoDB only), so the session's
stack is not disturbed, with the engine the fixture runs (``CRM_STACK_MONGO_ENGINE``;
on testcontainers or configured servers, the local default engine).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from crm_stack import LocalStack
from tests.stack_fixture import local_mongo_engine, shared_stack_dirs

pytestmark = pytest.mark.integration

SINGLE, BULK, INCREMENTS = 300, 200, 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_acknowledged(uri: str) -> None:
    """Single inserts, one bulk insert and a counter bumped by acknowledged updates."""
    with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        entries = client["durability"]["entries"]
        for i in range(SINGLE):
            entries.insert_one({"_id": f"single-{i}", "n": i})
        entries.insert_many([{"_id": f"bulk-{i}", "n": i} for i in range(BULK)])
        for _ in range(INCREMENTS):
            result = entries.update_one({"_id": "counter"}, {"$inc": {"n": 1}}, upsert=True)
            assert result.acknowledged


def _survivors(uri: str) -> dict[str, Any]:
    with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        entries = client["durability"]["entries"]
        counter = entries.find_one({"_id": "counter"}) or {"n": 0}
        return {
            "single": entries.count_documents({"_id": {"$regex": "^single-"}}),
            "bulk": entries.count_documents({"_id": {"$regex": "^bulk-"}}),
            "increments": counter["n"],
        }


def test_acknowledged_writes_survive_kill_9(tmp_path: Path, record_property: Any) -> None:
    engine = local_mongo_engine()
    stack = LocalStack(
        tmp_path / "stack", _free_port(), _free_port(), mongo_engine=engine, **shared_stack_dirs()
    )
    try:
        stack.up(components=("mongo",))
        _write_acknowledged(stack.config.mongo_uri)
        killed = stack.kill_mongo()
        assert killed is not None
        restarted = stack.up(components=("mongo",))
        assert restarted.started == ("mongo",)
        survived = _survivors(stack.config.mongo_uri)
    finally:
        stack.down(wipe=True)

    record_property("mongo_engine", engine)
    record_property("survived", repr(survived))
    assert survived == {"single": SINGLE, "bulk": BULK, "increments": INCREMENTS}
