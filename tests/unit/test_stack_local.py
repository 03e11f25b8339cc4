"""The local stack's choices and supervision, without starting anything."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crm_runtime.topics import TopicPolicy
from crm_stack import kafka_broker
from crm_stack.config import ENV_KAFKA_ENGINE, StackConfig, StackError
from crm_stack.services import RunningService, service_env
from crm_stack.supervisor import MAX_BACKOFF_S, Supervisor, describe_exit

pytestmark = pytest.mark.unit


def test_apache_kafka_is_chosen_wherever_java_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_KAFKA_ENGINE, raising=False)
    monkeypatch.setattr(kafka_broker, "jvm_available", lambda: True)
    assert StackConfig.resolve(tmp_path).kafka_engine == "apache"
    monkeypatch.setattr(kafka_broker, "jvm_available", lambda: False)
    assert StackConfig.resolve(tmp_path).kafka_engine == "tansu"


def test_an_explicit_engine_wins_and_a_running_stack_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_broker, "jvm_available", lambda: True)
    monkeypatch.setenv(ENV_KAFKA_ENGINE, "tansu")
    assert StackConfig.resolve(tmp_path).kafka_engine == "tansu"
    assert StackConfig.resolve(tmp_path, kafka_engine="apache").kafka_engine == "apache"
    monkeypatch.delenv(ENV_KAFKA_ENGINE)
    (tmp_path / "ports.json").write_text(json.dumps({"kafka": 1, "mongo": 2, "engine": "tansu"}))
    assert StackConfig.resolve(tmp_path).kafka_engine == "tansu"


def test_an_unknown_engine_is_refused_with_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_KAFKA_ENGINE, "redpanda")
    with pytest.raises(StackError, match="apache, tansu or auto"):
        StackConfig.resolve(tmp_path)


def test_the_broker_is_one_kraft_node_on_loopback_that_never_auto_creates(
    tmp_path: Path,
) -> None:
    layout = kafka_broker.BrokerLayout(
        libs_dir=tmp_path / "libs",
        data_dir=tmp_path / "data",
        config_file=tmp_path / "server.properties",
        host="127.0.0.1",
        port=29092,
        controller_port=29093,
    )
    props = dict(line.split("=", 1) for line in kafka_broker.server_properties(layout).splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(tmp_path / "data")
    cmd = kafka_broker.command(layout)
    assert cmd[-2:] == [kafka_broker.MAIN_CLASS, str(layout.config_file)]
    assert any(arg.startswith("-Xmx") for arg in cmd)


def test_cluster_ids_never_read_as_an_option() -> None:
    ids = {kafka_broker._cluster_id() for _ in range(2000)}
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_the_pom_pins_the_kafka_release() -> None:
    assert kafka_broker.kafka_version() == "4.4.0"


def test_only_tansu_gets_short_sessions_and_no_idempotent_producer() -> None:
    from crm_stack.config import StackEndpoints

    endpoints = StackEndpoints("127.0.0.1:1", "mongodb://127.0.0.1:2")
    apache = service_env("loyalty", 8003, endpoints, {}, "apache")
    tansu = service_env("loyalty", 8003, endpoints, {}, "tansu")
    assert "CRM_LOYALTY_KAFKA_SESSION_TIMEOUT_MS" not in apache
    assert "CRM_LOYALTY_KAFKA_IDEMPOTENT_PRODUCER" not in apache
    assert apache["CRM_LOYALTY_KAFKA_GROUP_INSTANCE_ID"] == "loyalty-local"
    assert tansu["CRM_LOYALTY_KAFKA_SESSION_TIMEOUT_MS"] == "3000"
    assert tansu["CRM_LOYALTY_KAFKA_IDEMPOTENT_PRODUCER"] == "false"


def test_dlq_topics_keep_records_longer_than_event_topics() -> None:
    policy = TopicPolicy(
        partitions=4,
        replication_factor=3,
        retention_ms=7,
        dlq_retention_ms=30,
        min_insync_replicas=2,
    )
    assert policy.configs("crm.inbound.purchase-recorded") == {
        "retention.ms": "7",
        "min.insync.replicas": "2",
    }
    assert policy.configs("crm.inbound.purchase-recorded.dlq")["retention.ms"] == "30"
    assert TopicPolicy(partitions=1, replication_factor=1).configs("t") == {}


# --- supervision -------------------------------------------------------------------------


@dataclass
class FakeProcess:
    pid: int
    code: int | None = None

    def poll(self) -> int | None:
        return self.code


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Spawned:
    calls: list[str] = field(default_factory=list)

    def __call__(self, name: str, port: int, env: dict[str, str], log_file: Path) -> Any:
        self.calls.append(name)
        return FakeProcess(pid=1000 + len(self.calls))


def supervised(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Supervisor, list[RunningService], Clock, Spawned, list[str]]:
    spawned, clock, messages = Spawned(), Clock(), []
    monkeypatch.setattr("crm_stack.supervisor.spawn", spawned)
    running = [
        RunningService(name, port, FakeProcess(pid), Path(f"/logs/{name}.log"), {})  # type: ignore[arg-type]
        for pid, (name, port) in enumerate((("contacts", 8001), ("loyalty", 8003)), start=1)
    ]
    return Supervisor(running, messages.append, clock), running, clock, spawned, messages


def test_a_dead_service_is_named_and_restarted_while_the_others_keep_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supervisor, running, clock, spawned, messages = supervised(monkeypatch)
    contacts, loyalty = running
    contacts.process.code = -signal.SIGKILL  # type: ignore[attr-defined]
    supervisor.check()
    assert messages == [
        "contacts (pid 1) died: killed by SIGKILL; restarting in 1 s (log: /logs/contacts.log)"
    ]
    assert spawned.calls == []
    clock.now = 1.0
    supervisor.check()
    assert spawned.calls == ["contacts"]
    assert messages[-1] == "contacts restarted (pid 1001)"
    assert contacts.process.pid == 1001
    assert loyalty.process.pid == 2  # untouched
    assert supervisor.restarts == {"contacts": 1, "loyalty": 0}


def test_back_off_doubles_per_crash_up_to_a_cap_and_resets_once_stable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supervisor, running, clock, _, messages = supervised(monkeypatch)
    contacts = running[0]
    delays = []
    for _ in range(7):
        contacts.process.code = 1  # type: ignore[attr-defined]
        supervisor.check()
        delays.append(messages[-1].split("restarting in ")[1].split(" s")[0])
        clock.now += MAX_BACKOFF_S
        supervisor.check()  # restarted
    assert delays == ["1", "2", "4", "8", "16", "30", "30"]
    clock.now += 61
    supervisor.check()  # ran a minute: the next crash starts over
    contacts.process.code = 1  # type: ignore[attr-defined]
    supervisor.check()
    assert "restarting in 1 s" in messages[-1]


def test_exit_descriptions() -> None:
    assert describe_exit(0) == "exit status 0"
    assert describe_exit(3) == "exit status 3"
    assert describe_exit(-9) == "killed by SIGKILL"
