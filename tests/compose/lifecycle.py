"""A short customer lifecycle against the compose stack, through its published ports only.

    python -m tests.compose.lifecycle --env-file .stack/compose/compose.env

Run by scripts/compose-test once every container is healthy. Kafka is reached on the
EXTERNAL listener (localhost:9094), the services on 8001-8004, with the API keys of the
compose `.env`. register → purchase → complaints (one breaches its SLA) → low survey →
risk → case → strategy → negotiation → exit → settled, and the customer exiting. Exits
non-zero, naming the step, when something does not happen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from crm_events import CloudEvent, EventData, decode
from crm_events.contacts import CustomerRegistered
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised
from crm_events.inbound import PurchaseRecorded
from crm_events.loyalty import LoyaltyAccountSettled, RiskDetected
from crm_events.offboarding import ExitAgreed, OffboardingCaseOpened
from tests.support import Kafka

T = TypeVar("T")
PORTS = {
    "contacts": 8001,
    "feedback": 8002,
    "loyalty": 8003,
    "offboarding": 8004,
    "insights": 8005,
}
TIMEOUT = 90.0


class StepFailed(Exception):
    pass


async def eventually(what: str, probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    deadline = time.monotonic() + TIMEOUT
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise StepFailed(f"{what}: not within {TIMEOUT:.0f} s (last: {value!r})")
        await asyncio.sleep(0.5)


def api_keys(env_file: Path) -> dict[str, str]:
    """Role → key, from the compose .env's CRM_API_KEYS."""
    found = re.search(r"^CRM_API_KEYS='(.*)'$", env_file.read_text(), re.MULTILINE)
    if found is None:
        raise StepFailed(f"no CRM_API_KEYS in {env_file}")
    return {role: key for key, role in json.loads(found.group(1)).items()}


class Stack:
    def __init__(
        self, kafka: Kafka, keys: dict[str, str], host: str, ports: dict[str, int], customer: str
    ) -> None:
        self.kafka = kafka
        self.customer = customer
        self.http = {
            name: httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30)
            for name, port in {**PORTS, **ports}.items()
        }
        self.agent = {"Authorization": f"Bearer {keys['agent']}"}
        self.manager = {"Authorization": f"Bearer {keys['manager']}"}

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()

    async def publish(self, model: type[EventData], event_id: str, **data: Any) -> None:
        golden = load_golden(model)
        event = golden.model_copy(
            update={
                "id": event_id,
                "source": "/erp",
                "subject": self.customer,
                "time": datetime.now(UTC),
                "correlationid": event_id,
                "causationid": None,
                "data": {**golden.data, "customer_id": self.customer, **data},
            }
        )
        await self.kafka.send(model.topic(), event.to_bytes(), key=self.customer.encode())

    async def event(self, model: type[EventData]) -> CloudEvent:
        """The first event of this type about the customer."""

        async def mine() -> list[CloudEvent]:
            records = await self.kafka.read(model.topic(), expected=1, timeout=5)
            events = [decode(r.value) for r in records if r.value]
            return [e for e in events if e.data.get("customer_id") == self.customer]

        return (await eventually(model.__name__, mine, bool))[0]

    async def call(self, service: str, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = await self.http[service].request(method, path, **kwargs)
        if response.status_code != status:
            raise StepFailed(f"{method} {service}{path}: {response.status_code} {response.text}")
        return response.json()


async def lifecycle(stack: Stack) -> None:
    now = datetime.now(UTC)
    customer = stack.customer
    step = print

    await stack.publish(CustomerRegistered, f"{customer}-registered")

    async def account() -> httpx.Response:
        return await stack.http["loyalty"].get(f"/accounts/{customer}", headers=stack.agent)

    await eventually("loyalty account opened", account, lambda r: r.status_code == 200)
    step("registered: loyalty account open")
    await stack.publish(
        PurchaseRecorded,
        f"{customer}-order-1",
        order_id=f"{customer}-order-1",
        amount_minor=12_000,
        currency="EUR",
        purchased_at=(now - timedelta(days=1)).isoformat(),
    )
    await eventually(
        "points awarded",
        lambda: stack.call("loyalty", "GET", f"/accounts/{customer}", 200, headers=stack.agent),
        lambda a: a.get("balance", 0) > 0,
    )
    step("purchase: points awarded")
    await stack.call(
        "feedback",
        "POST",
        "/complaints",
        201,
        headers=stack.agent,
        json={
            "customer_id": customer,
            "severity": "medium",
            "category": "delivery",
            "channel": "email",
            "description": "parcel arrived damaged",
            "owner_id": "emp-7",
        },
    )
    await stack.publish(
        ComplaintRaised,
        f"{customer}-portal-complaint",
        complaint_id=f"{customer}-c-1",
        severity="medium",
        first_response_due_at=(now + timedelta(seconds=1)).isoformat(),
        resolution_due_at=(now + timedelta(seconds=2)).isoformat(),
        raised_at=now.isoformat(),
    )
    await stack.call(
        "feedback",
        "POST",
        "/surveys",
        201,
        headers=stack.agent,
        json={"customer_id": customer, "trigger": "periodic", "csat": 1, "nps": 2},
    )
    step("complaints raised (one breaching its SLA), low survey")
    risk = await stack.event(RiskDetected)
    step(f"risk detected: score {risk.data['score']}")
    opened = await stack.event(OffboardingCaseOpened)
    case_id = opened.data["case_id"]
    step("offboarding case opened")
    await stack.call(
        "offboarding",
        "POST",
        f"/cases/{case_id}/strategy",
        200,
        headers=stack.manager,
        json={
            "strategy": "terminate",
            "compensation_minor": 5_000,
            "currency": "EUR",
            "reason": "repeated service failures, customer wants to leave",
            "decided_by": "mgr-1",
        },
    )
    await stack.call(
        "offboarding",
        "POST",
        f"/cases/{case_id}/negotiation-rounds",
        201,
        headers=stack.agent,
        json={"channel": "meeting", "participants": ["emp-7"], "outcome": "agreement_reached"},
    )
    await stack.call(
        "offboarding",
        "POST",
        f"/cases/{case_id}/exit",
        200,
        headers=stack.manager,
        json={
            "effective_date": (now + timedelta(days=30)).isoformat(),
            "compensation_minor": 5_000,
            "currency": "EUR",
            "terms": "compensation paid, points settled",
            "agreed_by": "mgr-1",
        },
    )
    await stack.event(ExitAgreed)
    step("exit agreed")
    settled = await stack.event(LoyaltyAccountSettled)
    if settled.data["case_id"] != case_id:
        raise StepFailed(f"settlement names case {settled.data['case_id']}, not {case_id}")
    await eventually(
        "customer exiting in contacts",
        lambda: stack.call("contacts", "GET", f"/customers/{customer}", 200, headers=stack.agent),
        lambda c: c.get("lifecycle") == "exiting",
    )
    step("loyalty account settled; customer exiting")

    async def story() -> dict[str, Any]:
        path = f"/customers/{customer}/journey"
        response = await stack.http["insights"].get(path, headers=stack.agent)
        return dict(response.json()) if response.status_code == 200 else {}

    journey = await eventually(
        "the whole story on the insights journey",
        story,
        lambda page: (
            {"CustomerRegistered", "ExitAgreed", "LoyaltyAccountSettled"}
            <= {item["type"] for item in page.get("items", [])}
        ),
    )
    lanes = sorted({item["service"] for item in journey["items"]})
    step(f"insights journey: {len(journey['items'])} events in lanes {', '.join(lanes)}")


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--kafka", default="localhost:9094")
    parser.add_argument("--ports", nargs="*", default=[], help="service=port (published)")
    args = parser.parse_args(argv)
    customer = f"cus-compose-{int(time.time())}"
    async with Kafka(args.kafka) as kafka:
        ports = {name: int(port) for name, port in (p.split("=", 1) for p in args.ports)}
        stack = Stack(kafka, api_keys(args.env_file), args.host, ports, customer)
        try:
            await lifecycle(stack)
        except StepFailed as failed:
            print(f"lifecycle FAILED: {failed}", file=sys.stderr)
            return 1
        finally:
            await stack.close()
    print("lifecycle: register → purchase → complaint → risk → case → exit → settled: OK")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
