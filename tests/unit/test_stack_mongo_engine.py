"""Which MongoDB engine the local stack runs, and how it is launched and probed (no I/O)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from crm_stack import mongo_java_server
from crm_stack.config import (
    DEFAULT_MONGO_ENGINE,
    ENV_MONGO_ENGINE,
    StackConfig,
    StackError,
    pick_mongo_engine,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("explicit", "env", "recorded", "expected"),
    [
        ("java", "nx", "nx", "java"),  # the option beats the environment and the record
        (None, "java", "nx", "java"),  # the environment beats the running stack's record
        ("auto", " JAVA ", None, "java"),  # auto and blanks defer; case is ignored
        (None, None, "java", "java"),  # a running stack keeps its engine
        ("", "", "java", "java"),
        (None, None, None, DEFAULT_MONGO_ENGINE),
        (None, "auto", "mongod", DEFAULT_MONGO_ENGINE),  # an unknown record is ignored
        (None, None, 3, DEFAULT_MONGO_ENGINE),
    ],
)
def test_engine_resolution_order(
    explicit: str | None, env: str | None, recorded: object, expected: str
) -> None:
    assert pick_mongo_engine(explicit, env, recorded) == expected


def test_the_default_engine_is_nx_27017() -> None:
    assert DEFAULT_MONGO_ENGINE == "nx"


@pytest.mark.parametrize(
    ("explicit", "env", "source"),
    [("mongod", None, "--mongo-engine"), (None, "h2", ENV_MONGO_ENGINE)],
)
def test_an_unknown_engine_is_an_error_naming_its_source(
    explicit: str | None, env: str | None, source: str
) -> None:
    with pytest.raises(StackError, match=f"^{source}=.*choose nx, java or auto"):
        pick_mongo_engine(explicit, env, "nx")


def _config(engine: str) -> StackConfig:
    return StackConfig(
        state_dir=Path("/state"),
        kafka_port=29092,
        mongo_port=28117,
        venv_dir=Path("/state/mongo-venv"),
        mongo_engine=engine,  # type: ignore[arg-type]
    )


def test_each_engine_keeps_its_data_apart() -> None:
    assert _config("nx").mongo_data_dir == Path("/state/mongo-data")
    assert _config("java").mongo_data_dir == Path("/state/mongo-java-data")
    # A wipe deletes both, whichever engine is configured now.
    assert set(_config("nx").mongo_data_dirs.values()) == {
        Path("/state/mongo-data"),
        Path("/state/mongo-java-data"),
    }


def test_labels_name_the_server() -> None:
    assert _config("nx").mongo_label.startswith("nx-27017 ")
    java = _config("java").mongo_label
    assert java.startswith(f"mongo-java-server {mongo_java_server.server_version()} ")


def test_the_pinned_server_release() -> None:
    assert mongo_java_server.server_version() == "1.47.0"


def test_command_runs_main_java_on_the_resolved_jars_committing_each_write() -> None:
    cmd = mongo_java_server.command(Path("/libs"), "127.0.0.1", 28617, Path("/d/crm.mv.db"))
    classpath = cmd[cmd.index("-cp") + 1]
    options = cmd[cmd.index(str(mongo_java_server.MAIN_SOURCE)) + 1 :]

    assert classpath == "/libs/*"
    assert mongo_java_server.MARKER in str(mongo_java_server.MAIN_SOURCE)
    assert options == [
        "--host",
        "127.0.0.1",
        "--port",
        "28617",
        "--data",
        "/d/crm.mv.db",
        "--commit",
        "write",
    ]


def _reply(response_to: int, document: bytes) -> bytes:
    payload = struct.pack("<I", 0) + b"\x00" + document
    return struct.pack("<iiii", 16 + len(payload), 99, response_to, 2013) + payload


def _bson_ok(value: float) -> bytes:
    body = b"\x01ok\x00" + struct.pack("<d", value)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def test_ping_is_an_op_msg_for_the_admin_database() -> None:
    request = mongo_java_server.ping_request(41)
    length, request_id, response_to, opcode = struct.unpack("<iiii", request[:16])

    assert (length, request_id, response_to, opcode) == (len(request), 41, 0, 2013)
    document = request[21:]
    assert struct.unpack("<i", document[:4])[0] == len(document)
    assert b"\x10ping\x00\x01\x00\x00\x00" in document
    assert b"\x02$db\x00\x06\x00\x00\x00admin\x00" in document


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        (_reply(41, _bson_ok(1.0)), True),
        (_reply(41, _bson_ok(0.0)), False),  # an error reply
        (_reply(40, _bson_ok(1.0)), False),  # an answer to another request
        (b"\x00" * 12, False),  # truncated
    ],
)
def test_ping_reply_must_be_ok_and_ours(reply: bytes, ok: bool) -> None:
    assert mongo_java_server.ping_succeeded(reply, 41) is ok
