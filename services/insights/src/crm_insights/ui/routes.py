"""The browser UI served by insights: server-rendered HTML (Jinja2), no build step.

Pages: sign-in, customer search, a customer's journey (one lane per service, correlation
chains highlighted, links to each service's record), a correlation chain, the KPI
dashboard with charts, the work queues. The language (en/zh) is a cookie, so the choice is kept. Pages are
not part of the OpenAPI document: they are HTML for people, the JSON API is beside them.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from crm_insights import api
from crm_insights.kpis import KPIS, Period, bucket_start
from crm_insights.service import InsightsService
from crm_insights.settings import InsightsSettings
from crm_insights.ui import charts, i18n, session
from crm_insights.ui.i18n import Lang
from crm_runtime.cursors import decode_time_cursor
from crm_runtime.errors import DomainError, NotFound

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
LANES = ("contacts", "feedback", "loyalty", "offboarding", "inbound")
OWNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")  # the contracts' EmployeeId
RECORD_PATHS = {  # which service record an event names, and where that record lives
    "complaint_id": ("feedback", "/complaints/{}"),
    "case_id": ("offboarding", "/cases/{}"),
}


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


def build_ui(service: InsightsService, settings: InsightsSettings) -> APIRouter:
    router = APIRouter(prefix="/ui", include_in_schema=False)
    given = settings.ui_session_secret
    secret = given.get_secret_value().encode() if given else secrets.token_bytes(32)

    def lang_of(request: Request) -> Lang:
        return "zh" if request.cookies.get(session.LANG_COOKIE) == "zh" else "en"

    def role_of(request: Request) -> str:
        keys = request.app.state.api_keys
        role = session.verify(request.cookies.get(session.COOKIE), keys, secret)
        if role is None:
            raise SignInRequired
        return role.value

    def page(request: Request, template: str, **context: Any) -> HTMLResponse:
        lang = lang_of(request)
        html = TEMPLATES.get_template(template).render(
            t=i18n.words(lang), lang=lang, path=request.url.path, **context
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @router.get("/login")
    async def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", failed=False)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        key = (form.get("api_key") or [""])[0].strip()
        role = request.app.state.api_keys.get(key)
        if role is None:
            refused = page(request, "login.html", failed=True)
            refused.status_code = 401
            return refused
        cookie = session.issue(key, str(role), secret, settings.ui_session_lifetime_s)
        response = RedirectResponse("/ui/kpis", status_code=303)
        response.set_cookie(
            session.COOKIE, cookie, max_age=settings.ui_session_lifetime_s,
            httponly=True, secure=True, samesite="strict", path="/ui",
        )  # fmt: skip
        return response

    @router.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(session.COOKIE, path="/ui")
        return response

    @router.get("/lang/{lang}")
    async def choose_language(lang: str, back: str = "/ui/kpis") -> Response:
        target = back if back.startswith("/ui/") else "/ui/kpis"
        response = RedirectResponse(target, status_code=303)
        chosen = "zh" if lang == "zh" else "en"
        response.set_cookie(
            session.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/ui"
        )
        return response

    @router.get("")
    async def home() -> Response:
        return RedirectResponse("/ui/kpis", status_code=303)

    @router.get("/customers")
    async def customers(request: Request, q: str = "") -> HTMLResponse:
        role = role_of(request)
        text = q.strip()[:100]
        hits = await service.search(text, 50) if text else []
        return page(request, "customers.html", role=role, q=text, hits=hits)

    @router.get("/customers/{customer_id}")
    async def customer(request: Request, customer_id: str, before: str | None = None) -> Response:
        role = role_of(request)
        try:
            facts = await service.customer(customer_id)
            entries = await service.journey(
                customer_id, limit=200, before=decode_time_cursor(before)
            )
        except (NotFound, DomainError) as exc:
            return _not_found(page(request, "missing.html", role=role, reason=exc.reason))
        found = api.page(entries, 200, lang_of(request))
        return page(request, "journey.html", role=role, facts=facts, **lanes(found, settings))

    @router.get("/journeys/{correlation_id}")
    async def chain(request: Request, correlation_id: str) -> Response:
        role = role_of(request)
        try:
            entries = await service.chain(correlation_id, limit=200, before=None)
        except NotFound as exc:
            return _not_found(page(request, "missing.html", role=role, reason=exc.reason))
        found = api.page(entries, 200, lang_of(request))
        return page(request, "journey.html", role=role, facts=None, chain=correlation_id,
                    **lanes(found, settings))  # fmt: skip

    @router.get("/queues")
    async def work_queues(request: Request, owner_id: str = "") -> HTMLResponse:
        role = role_of(request)
        owner = owner_id.strip() or None
        if owner is not None and not OWNER_ID.fullmatch(owner):
            return page(request, "missing.html", role=role, reason="invalid owner id")
        complaints = await service.complaint_queue(100)
        cases = await service.case_queue(100)
        follow_ups = await service.follow_up_queue(owner, 100)
        return page(request, "queues.html", role=role, complaints=complaints, cases=cases,
                    follow_ups=follow_ups, owner_id=owner or "", action=i18n.action)  # fmt: skip

    @router.get("/kpis")
    async def dashboard(
        request: Request, period: str = "month", start: str = "", end: str = ""
    ) -> HTMLResponse:
        role = role_of(request)
        chosen: Period = period if period in ("day", "week", "month") else "month"  # type: ignore[assignment]
        last = _day(end) or datetime.now(UTC).date()
        first = _day(start) or _default_first(chosen, last)
        try:
            api.check_range(chosen, first, last)
            report = await service.kpis(chosen, first, last)
        except DomainError as exc:
            return page(request, "missing.html", role=role, reason=exc.reason)
        return page(request, "kpis.html", role=role, period=chosen, first=first, last=last,
                    rows=dashboard_rows(report, lang_of(request)),
                    buckets=[b["start"] for b in report["buckets"]])  # fmt: skip

    return router


def _not_found(response: HTMLResponse) -> HTMLResponse:
    response.status_code = 404
    return response


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _default_first(period: Period, last: date) -> date:
    """Twelve periods back (days: the last 30)."""
    start = bucket_start(period, last)
    count = 30 if period == "day" else 12
    for _ in range(count - 1):
        start = bucket_start(period, date.fromordinal(start.toordinal() - 1))
    return start


def lanes(found: api.JourneyPage, settings: InsightsSettings) -> dict[str, Any]:
    items = found.items
    present = [lane for lane in LANES if any(i.service == lane for i in items)]
    present += sorted({i.service for i in items} - set(present))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.correlation_id] = counts.get(item.correlation_id, 0) + 1
    chains = [cid for cid, n in counts.items() if n > 1]
    rows = [
        {
            "item": item,
            "lane": present.index(item.service),
            "chain": chains.index(item.correlation_id) % 6
            if item.correlation_id in chains
            else None,
            "links": record_links(item, settings.ui_record_urls),
        }
        for item in items
    ]
    return {"lanes": present, "rows": rows, "next_cursor": found.next_cursor,
            "lane_name": i18n.service_name}  # fmt: skip


def record_links(item: api.JourneyItem, urls: dict[str, str]) -> list[tuple[str, str]]:
    links = []
    for field, (service, template) in RECORD_PATHS.items():
        value = item.data.get(field)
        if isinstance(value, str) and service in urls:
            links.append((service, urls[service].rstrip("/") + template.format(quote(value))))
    customer = item.customer_id
    if customer and item.service in ("contacts", "loyalty") and item.service in urls:
        path = "/customers/{}" if item.service == "contacts" else "/accounts/{}"
        links.append((item.service, urls[item.service].rstrip("/") + path.format(quote(customer))))
    return links


def dashboard_rows(report: dict[str, Any], lang: Lang) -> list[dict[str, Any]]:
    rows = []
    for kpi in KPIS:
        per_bucket = [b["figures"][kpi.id] for b in report["buckets"]]
        numeric = all(v is None or isinstance(v, int | float) for v in per_bucket)
        points = [(b["start"], b["figures"][kpi.id]) for b in report["buckets"]]
        rows.append(
            {
                "id": kpi.id,
                "name": kpi.name_zh if lang == "zh" else kpi.name_en,
                "unit": kpi.unit,
                "how": kpi.how,
                "values": [shown(v) for v in per_bucket],
                "total": shown(report["total"][kpi.id]),
                "chart": Markup(charts.bars(kpi.name_en, points)) if numeric else None,  # noqa: S704
            }
        )
    return rows


def shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
    return f"{value:g}" if isinstance(value, float) else str(value)
