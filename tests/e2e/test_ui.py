"""The browser UI in a real headless Chromium (Debian's ``chromium`` driven by Playwright
with ``executable_path``), against insights running as its own process on the local
stack: events published through Kafka appear on the customer's journey page and its
correlation chain, an overdue follow-up in the owner's work queue, the KPI figures on the
dashboard equal the API's, switching language works and is kept, a wrong key is refused.
A screenshot of each page is saved under ``.stack/test/artefacts/ui``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from crm_events import CloudEvent, EventData
from crm_events.contacts import CustomerRegistered, FollowUpOverdue, FollowUpScheduled
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, ComplaintSlaWarning
from crm_events.loyalty import RiskDetected
from crm_insights.ui.routes import shown
from tests.processes import ServiceProcess
from tests.stack_fixture import service_kafka_settings
from tests.support import API_KEYS, MANAGER, Kafka, eventually, namespace

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("CRM_TEST_ARTEFACTS", ROOT / ".stack" / "test" / "artefacts")) / "ui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CUSTOMER = "cus-ui-1"
OWNER = "emp-ui-1"


@pytest.fixture
async def kafka(infra: Any) -> AsyncIterator[Kafka]:
    async with Kafka(infra.kafka_bootstrap) as client:
        yield client


@pytest.fixture
async def insights(infra: Any) -> AsyncIterator[ServiceProcess]:
    ns = namespace()
    process = ServiceProcess(
        "insights",
        "crm_insights",
        {
            "kafka_bootstrap_servers": infra.kafka_bootstrap,
            "mongo_uri": infra.mongo_uri,
            "mongo_database": f"insights_{ns.strip('.')}",
            "kafka_topic_prefix": ns,
            **service_kafka_settings(),
            "api_keys": json.dumps(API_KEYS),
            "sweep_interval_s": 0.2,
            "log_level": "WARNING",
        },
    )
    process.ns = ns  # type: ignore[attr-defined]
    await process.start()
    try:
        yield process
    finally:
        process.stop()


def event(
    model: type[EventData], at: datetime, cause: CloudEvent | None = None, **data: Any
) -> CloudEvent:
    payload = model.model_validate({**load_golden(model).data, "customer_id": CUSTOMER, **data})
    return payload.to_event(source="/test", time=at, cause=cause)


def story() -> list[CloudEvent]:
    now = datetime.now(UTC) - timedelta(minutes=5)
    registered = event(CustomerRegistered, now, display_name="张伟")
    complaint = event(ComplaintRaised, now + timedelta(minutes=1), complaint_id="k-ui-1",
                      raised_at=now + timedelta(minutes=1))  # fmt: skip
    risk = event(RiskDetected, now + timedelta(minutes=2), complaint, risk_id="r-ui-1")
    warning = event(ComplaintSlaWarning, now + timedelta(minutes=3), complaint,
                    complaint_id="k-ui-1")  # fmt: skip
    return [registered, complaint, risk, warning]


def follow_ups() -> list[CloudEvent]:
    """Another customer's follow-up that contacts found overdue, and a third customer's
    that is not due yet (same owner)."""
    now = datetime.now(UTC)
    missed, coming = now - timedelta(days=2), now + timedelta(days=5)

    def fu(model: type[EventData], customer: str, due: datetime) -> CloudEvent:
        return event(model, min(due, now), customer_id=customer, follow_up_id=f"fu-{customer}",
                     due_at=due, owner_id=OWNER)  # fmt: skip

    return [
        fu(FollowUpScheduled, "cus-ui-2", missed),
        fu(FollowUpOverdue, "cus-ui-2", missed),
        fu(FollowUpScheduled, "cus-ui-3", coming),
    ]


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_the_ui_shows_what_kafka_carried_and_the_apis_figures(
    insights: ServiceProcess, kafka: Kafka
) -> None:
    assert CHROMIUM, "Debian's chromium is required (scripts/test installs it as root)"
    ns = insights.ns  # type: ignore[attr-defined]
    for one in [*story(), *follow_ups()]:
        await kafka.send(ns + one.type.rsplit(".", 1)[0], one.to_bytes(), key=one.subject.encode())
    async with httpx.AsyncClient(base_url=insights.url, headers=MANAGER) as http:

        async def journey() -> int:
            found = await http.get(f"/customers/{CUSTOMER}/journey")
            return len(found.json()["items"]) if found.status_code == 200 else 0

        await eventually(journey, lambda n: n == 4, timeout=60)

        async def month() -> dict[str, Any]:
            return dict((await http.get("/kpis", params={"period": "month"})).json())

        # Folded into the KPI buckets right behind the journey.
        await eventually(month, lambda r: r["total"]["new_customers"] == 1)

        async def queued() -> list[str]:
            found = await http.get("/queues/follow-ups", params={"owner_id": OWNER})
            return [q["follow_up_id"] for q in found.json()]

        await eventually(queued, lambda ids: ids == ["fu-cus-ui-2", "fu-cus-ui-3"], timeout=60)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await sign_in_is_required_and_a_wrong_key_refused(page, insights.url)
            await dashboard_equals_the_api(page, insights.url)
            await journey_page_shows_the_story(page, insights.url)
            await work_queue_lists_the_warned_complaint(page, insights.url)
            await language_switch_is_kept(page, insights.url)
            cookies = {c["name"]: c for c in await page.context.cookies()}
            assert cookies["crm_session"]["httpOnly"]
            assert cookies["crm_session"]["secure"]
        finally:
            await browser.close()


async def sign_in_is_required_and_a_wrong_key_refused(page: Page, url: str) -> None:
    await page.goto(url + "/ui/kpis")
    assert page.url.endswith("/ui/login")
    await page.fill("#api_key", "not-a-key")
    await page.click("#sign-in")
    assert await page.text_content("#login-error") == "Unknown API key."
    await shot(page, "login-refused")
    await page.fill("#api_key", "manager-key")
    await page.click("#sign-in")
    await page.wait_for_url("**/ui/kpis")
    assert await page.text_content("#role") == "manager"


async def dashboard_equals_the_api(page: Page, url: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers=MANAGER) as http:
        first = await page.input_value("input[name=start]")
        last = await page.input_value("input[name=end]")
        params = {"period": "month", "from": first, "to": last}
        api = (await http.get("/kpis", params=params)).json()
    shown_in_page = await page.eval_on_selector_all(
        "tr[data-kpi]",
        "rows => rows.map(r => [r.dataset.kpi, r.querySelector('td.total').textContent])",
    )
    assert dict(shown_in_page) == {k: shown(v) for k, v in api["total"].items()}
    assert dict(shown_in_page)["new_customers"] == "1"
    await shot(page, "kpi-dashboard")


async def journey_page_shows_the_story(page: Page, url: str) -> None:
    await page.goto(url + "/ui/customers")
    await page.fill("#q", "cus-ui")
    await page.press("#q", "Enter")
    await page.wait_for_selector("#hits")
    await shot(page, "customer-search")
    await page.click(f"#hits a:text('{CUSTOMER}')")
    await page.wait_for_url(f"**/ui/customers/{CUSTOMER}")
    types = await page.eval_on_selector_all(
        "#journey tbody tr", "rows => rows.map(r => r.dataset.type)"
    )
    assert types == ["CustomerRegistered", "ComplaintRaised", "RiskDetected", "ComplaintSlaWarning"]
    lanes = await page.eval_on_selector_all(
        "#journey th[data-lane]", "c => c.map(x => x.dataset.lane)"
    )
    assert lanes == ["contacts", "feedback", "loyalty"]
    chained = await page.eval_on_selector_all("#journey tr[class^=chain-]", "rows => rows.length")
    assert chained == 3  # the complaint, the risk and the warning it caused
    assert "张伟" in (await page.text_content("h1") or "")
    await shot(page, "journey")
    await page.click("#journey a[href^='/ui/journeys/']")
    await page.wait_for_url("**/ui/journeys/**")
    chain = await page.eval_on_selector_all(
        "#journey tbody tr", "rows => rows.map(r => r.dataset.type)"
    )
    assert chain == ["ComplaintRaised", "RiskDetected", "ComplaintSlaWarning"]
    await shot(page, "correlation")


async def work_queue_lists_the_warned_complaint(page: Page, url: str) -> None:
    await page.goto(url + "/ui/queues")
    listed = await page.eval_on_selector_all(
        "#complaints-queue tbody tr", "rows => rows.map(r => r.dataset.complaint)"
    )
    assert listed == ["k-ui-1"]
    await shot(page, "work-queues")
    await page.fill("#owner_id", OWNER)
    await page.press("#owner_id", "Enter")
    await page.wait_for_url("**/ui/queues?owner_id=*")
    rows = await page.eval_on_selector_all(
        "#follow-ups-queue tbody tr", "rows => rows.map(r => [r.dataset.followUp, r.className])"
    )
    assert rows == [["fu-cus-ui-2", "overdue"], ["fu-cus-ui-3", ""]]  # overdue first
    await shot(page, "follow-ups-queue")
    await page.goto(url + f"/ui/customers/{CUSTOMER}")


async def language_switch_is_kept(page: Page, url: str) -> None:
    await page.click("#language")
    await page.wait_for_url(f"**/ui/customers/{CUSTOMER}")
    assert (await page.text_content("h1") or "").startswith("客户旅程")
    assert "登记客户" in (await page.text_content("#journey") or "")
    await shot(page, "journey-zh")
    await page.goto(url + "/ui/kpis")
    assert await page.text_content("h1") == "关键指标"
    await shot(page, "kpi-dashboard-zh")
