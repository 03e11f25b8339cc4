"""The operator CLI ``crm`` through its installed entry point, against the local stack and
insights running as its own process: publish validates and publishes, the journey and the
KPIs read what was published (the same figures as the API), DLQ records are listed with
their reason and replayed, status reports readiness and lag, a replay rebuilds insights."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_events.contacts import CustomerRegistered
from tests.processes import ServiceProcess
from tests.stack_fixture import service_kafka_settings
from tests.support import API_KEYS, MANAGER, Kafka, eventually, namespace

pytestmark = pytest.mark.e2e
CRM = str(Path(sys.executable).parent / "crm")
TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
async def kafka(infra: Any) -> AsyncIterator[Kafka]:
    async with Kafka(infra.kafka_bootstrap) as client:
        yield client


def insights_settings(infra: Any, ns: str) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "mongo_uri": infra.mongo_uri,
        "mongo_database": f"insights_{ns.strip('.')}",
        "kafka_topic_prefix": ns,
        **service_kafka_settings(),
        "api_keys": json.dumps(API_KEYS),
        "sweep_interval_s": 0.2,
        "log_level": "WARNING",
    }


def cli_env(infra: Any, ns: str, urls: dict[str, str]) -> dict[str, str]:
    settings = {
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "kafka_topic_prefix": ns,
        **service_kafka_settings(),
        "service_urls": json.dumps(urls),
        "api_key": "manager-key",
    }
    return {**os.environ, **{f"CRM_CLI_{k.upper()}": str(v) for k, v in settings.items()}}


async def crm(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[int, Any]:
    """Run ``crm ARGS --json``; (exit code, parsed stdout)."""
    proc = await asyncio.create_subprocess_exec(
        CRM, *args, "--json", env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate(stdin)
    assert proc.returncode is not None
    if not out.strip():
        return proc.returncode, {"stderr": err.decode(errors="replace")[-12000:]}
    try:
        return proc.returncode, json.loads(out)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON: {out!r} {err!r}") from None


REGISTRATION = {"customer_id": "cus-cli-1", "display_name": "张伟", "owner_id": "emp-1"}


async def test_crm_publishes_reads_and_replays_through_its_entry_point(
    infra: Any, kafka: Kafka, tmp_path: Path
) -> None:
    ns = namespace()
    insights = ServiceProcess("insights", "crm_insights", insights_settings(infra, ns))
    await insights.start()
    try:
        env = cli_env(infra, ns, {"insights": insights.url})
        payload = tmp_path / "registration.json"
        payload.write_text(json.dumps(REGISTRATION), encoding="utf-8")

        code, published = await crm(env, "publish", "CustomerRegistered", "--file", str(payload))
        assert code == 0, published
        assert published["topic"] == ns + CustomerRegistered.topic()
        code, refused = await crm(env, "publish", "ComplaintRaised", "-f", "-", stdin=b"{}")
        assert code == 2
        assert "complaint_id" in refused["error"]
        code, unknown = await crm(env, "journey", "cus-nobody")
        assert code == 1
        assert "404" in unknown["error"]

        async def journey() -> tuple[int, Any]:
            return await crm(env, "journey", "cus-cli-1", "--lang", "zh")

        _, story = await eventually(journey, lambda r: r[0] == 0, timeout=60)
        assert [i["event_id"] for i in story["items"]] == [published["id"]]
        assert story["items"][0]["summary"].startswith("登记客户")

        async def figures() -> tuple[int, Any]:
            return await crm(env, "kpis", "--period", "day", "--from", TODAY, "--to", TODAY)

        _, kpis = await eventually(figures, lambda r: r[1]["total"]["new_customers"] == 1)
        async with httpx.AsyncClient(base_url=insights.url, headers=MANAGER) as http:
            api = await http.get("/kpis", params={"period": "day", "from": TODAY, "to": TODAY})
        assert kpis["total"] == api.json()["total"]

        code, status = await crm(env, "status")
        assert code == 0, status
        assert status[0]["service"] == "insights"
        assert status[0]["ready"]
        assert all(p["group"] == "crm-insights" for p in status[0]["partitions"])
        down = cli_env(infra, ns, {"insights": insights.url, "contacts": "http://127.0.0.1:9"})
        code, _ = await crm(down, "status")
        assert code == 3

        topic = CustomerRegistered.topic()
        await kafka.send(ns + topic, b"{not json", key=b"cus-cli-2")

        async def dead() -> tuple[int, Any]:
            return await crm(env, "dlq", "list", topic)

        _, listed = await eventually(dead, lambda r: r[0] == 0 and len(r[1]) == 1, timeout=60)
        assert listed[0]["kind"] == "envelope"
        assert listed[0]["key"] == "cus-cli-2"
        code, replayed = await crm(env, "dlq", "replay", topic)
        assert (code, replayed["replayed"]) == (0, 1)
    finally:
        insights.stop()

    rebuild = {**env, **{k: v for k, v in insights.env.items() if k.startswith("CRM_INSIGHTS_")}}
    code, summary = await crm(rebuild, "replay", "insights", "--into", f"rebuilt_{ns.strip('.')}",
                              "--idle-s", "5")  # fmt: skip
    assert code == 0, summary
    assert summary["changed"] == 1  # the registration, into an empty database
    assert summary["outcomes"].get("dead_lettered", 0) >= 1  # the unreadable record, again
