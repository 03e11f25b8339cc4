"""KPI buckets and figures (pure).

Every counted change is added, when its event is applied, to one bucket per period — the
UTC day, the ISO week (Monday) and the calendar month of the change's time — and gauge
changes also to the all-time bucket ``all``. A query reads the buckets of the range (and
any later ones) plus ``all``: the level of a gauge at the start of a bucket is ``all``
minus every change dated from that bucket on. So a query never scans customers or events,
and its cost depends on the number of periods only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from crm_insights.counting import Change

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
ALL = "all"
GAUGES = ("active_customers", "prospects", "points_outstanding")
GAUGE_PREFIXES = ("class~", "tier~")
Value = float | int | dict[str, int | float] | None


def is_gauge(metric: str) -> bool:
    return metric in GAUGES or metric.startswith(GAUGE_PREFIXES)


def bucket_start(period: Period, at: datetime | date) -> date:
    day = at.astimezone(UTC).date() if isinstance(at, datetime) else at
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_start(period: Period, start: date) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def bucket_id(period: Period, start: date) -> str:
    return f"{period}:{start.isoformat()}"


def increments(changes: Iterable[Change]) -> dict[str, dict[str, int]]:
    """``{bucket id: {metric: amount}}`` of the changes, zero sums left out."""
    found: dict[str, Counter[str]] = {}
    for metric, at, amount in changes:
        for period in PERIODS:
            found.setdefault(bucket_id(period, bucket_start(period, at)), Counter())[metric] += (
                amount
            )
        if is_gauge(metric):
            found.setdefault(ALL, Counter())[metric] += amount
    return {
        bucket: {m: n for m, n in counts.items() if n}
        for bucket, counts in found.items()
        if any(counts.values())
    }


# --- figures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpi:
    id: str
    unit: str
    name_en: str
    name_zh: str
    how: str
    compute: Callable[[Counter[str], Counter[str], Counter[str]], Value]


def _ratio(part: float, whole: float, scale: float = 100.0) -> float | None:
    return None if whole <= 0 else round(part * scale / whole, 2)


def _labelled(counts: Mapping[str, int], prefix: str) -> dict[str, int | float]:
    return {
        m.removeprefix(prefix): n for m, n in sorted(counts.items()) if m.startswith(prefix) and n
    }


def median_of(counts: Mapping[str, int], prefix: str) -> float | None:
    """Median of a histogram kept as ``<prefix><bin>`` counters (bins are whole units)."""
    bins = sorted(
        (int(m.removeprefix(prefix)), n)
        for m, n in counts.items()
        if m.startswith(prefix) and n > 0
    )
    total = sum(n for _, n in bins)
    if total == 0:
        return None
    ranks = ((total - 1) // 2, total // 2)
    values: list[int] = []
    seen = 0
    for value, n in bins:
        values += [value for rank in ranks if seen <= rank < seen + n]
        seen += n
    return sum(values) / 2


def _average_active(opening: Counter[str], closing: Counter[str]) -> float:
    return (opening["active_customers"] + closing["active_customers"]) / 2


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "new_customers",
        "customers",
        "New customers",
        "新客户",
        "CustomerRegistered events in the period.",
        lambda f, o, c: f["new_customers"],
    ),
    Kpi(
        "customers_by_class",
        "customers",
        "Customers by class",
        "客户分类",
        "Registered customers per class at the end of the period: registration counts "
        "as potential, then each CustomerClassified moves the customer to its class.",
        lambda f, o, c: _labelled(c, "class~"),
    ),
    Kpi(
        "conversions",
        "customers",
        "Conversions potential → customer",
        "潜在客户转化",
        "Registered customers whose first PurchaseRecorded falls in the period (counted "
        "once per customer, at the first purchase, whichever arrives first).",
        lambda f, o, c: f["conversions"],
    ),
    Kpi(
        "conversion_rate",
        "%",
        "Conversion rate",
        "转化率",
        "conversions ÷ (prospects at the start + customers registered in the period) × 100; "
        "a prospect is a registered, active customer without a purchase.",
        lambda f, o, c: _ratio(f["conversions"], o["prospects"] + f["new_customers"]),
    ),
    Kpi(
        "median_days_to_first_purchase",
        "days",
        "Sales cycle (median days)",
        "销售周期（中位天数）",
        "Median of whole days from CustomerRegistered to the first PurchaseRecorded, over "
        "the conversions of the period.",
        lambda f, o, c: median_of(f, "conversion_days~"),
    ),
    Kpi(
        "complaint_rate",
        "per 100",
        "Complaint rate per 100 active customers",
        "每百名活跃客户投诉率",
        "ComplaintRaised in the period ÷ average active customers (start and end) × 100; "
        "active = registered and neither churned nor ended.",
        lambda f, o, c: _ratio(f["complaints_raised"], _average_active(o, c)),
    ),
    Kpi(
        "first_response_sla",
        "%",
        "First-response SLA compliance",
        "首次响应达标率",
        "Complaints acknowledged by their first_response_due_at ÷ complaints acknowledged in "
        "the period × 100 (ComplaintAcknowledged against its ComplaintRaised).",
        lambda f, o, c: _ratio(f["first_response_met"], f["first_response_total"]),
    ),
    Kpi(
        "resolution_sla",
        "%",
        "Resolution SLA compliance",
        "解决时限达标率",
        "ComplaintResolved with within_sla ÷ all ComplaintResolved in the period × 100.",
        lambda f, o, c: _ratio(f["resolution_met"], f["resolution_total"]),
    ),
    Kpi(
        "median_resolution_hours",
        "hours",
        "Median resolution time",
        "解决时间中位数",
        "Median of whole hours from raised_at to resolved_at of complaints resolved in the "
        "period (wall-clock hours).",
        lambda f, o, c: median_of(f, "resolution_hours~"),
    ),
    Kpi(
        "csat_average",
        "1–5",
        "CSAT average",
        "满意度平均分",
        "Sum of SurveyAnswered.csat ÷ number of answers with a CSAT in the period.",
        lambda f, o, c: _ratio(f["csat_sum"], f["csat_count"], 1.0),
    ),
    Kpi(
        "nps",
        "score",
        "NPS",
        "净推荐值",
        "(answers with nps 9–10 − answers with nps 0–6) ÷ answers with an NPS × 100 "
        "(SurveyAnswered in the period).",
        lambda f, o, c: _ratio(f["nps_promoters"] - f["nps_detractors"], f["nps_count"]),
    ),
    Kpi(
        "survey_response_rate",
        "%",
        "Survey response rate",
        "问卷回复率",
        "SurveyAnswered ÷ SurveyRequested (feedback's survey requests, one per survey) in "
        "the period × 100.",
        lambda f, o, c: _ratio(f["surveys_answered"], f["surveys_requested"]),
    ),
    Kpi(
        "churn_rate",
        "%",
        "Churn rate",
        "流失率",
        "Customers lost in the period (CustomerClassified → churned, or RelationshipEnded; "
        "once per customer) ÷ active customers at the start × 100.",
        lambda f, o, c: _ratio(f["churned"], o["active_customers"]),
    ),
    Kpi(
        "retention_rate",
        "%",
        "Retention rate",
        "客户保留率",
        "(active customers at the end − new customers in the period) ÷ active customers at "
        "the start × 100.",
        lambda f, o, c: _ratio(c["active_customers"] - f["new_customers"], o["active_customers"]),
    ),
    Kpi(
        "risks_by_category",
        "risks",
        "Risks by category",
        "风险类别",
        "RiskDetected in the period per category (performance, market competition, company "
        "strategy, law & regulation).",
        lambda f, o, c: _labelled(f, "risks~"),
    ),
    Kpi(
        "cases_opened",
        "cases",
        "Offboarding cases opened",
        "新开解约案件",
        "OffboardingCaseOpened in the period.",
        lambda f, o, c: f["cases_opened"],
    ),
    Kpi(
        "cases_retained",
        "cases",
        "Cases retained",
        "挽留成功",
        "CustomerRetained in the period.",
        lambda f, o, c: f["cases_retained"],
    ),
    Kpi(
        "cases_exited",
        "cases",
        "Cases exited",
        "解约完成",
        "ExitAgreed in the period.",
        lambda f, o, c: f["cases_exited"],
    ),
    Kpi(
        "retention_win_rate",
        "%",
        "Retention win rate",
        "挽留成功率",
        "CustomerRetained ÷ (CustomerRetained + ExitAgreed) in the period × 100.",
        lambda f, o, c: _ratio(f["cases_retained"], f["cases_retained"] + f["cases_exited"]),
    ),
    Kpi(
        "points_outstanding",
        "points",
        "Points outstanding (liability)",
        "未兑积分（负债）",
        "Sum of every account's latest balance_after (points events; 0 after "
        "LoyaltyAccountSettled) at the end of the period.",
        lambda f, o, c: c["points_outstanding"],
    ),
    Kpi(
        "tier_distribution",
        "accounts",
        "Tier distribution",
        "等级分布",
        "Accounts per tier at the end of the period (latest TierChanged.new_tier).",
        lambda f, o, c: _labelled(c, "tier~"),
    ),
    Kpi(
        "follow_ups_on_time",
        "%",
        "Follow-ups done on time",
        "按时回访率",
        "FollowUpCompleted with on_time (a qualifying contact by the deadline) ÷ "
        "FollowUpScheduled, both by due date in the period × 100 (contacts' follow-ups). A "
        "follow-up due in the period and not yet done counts as not on time, so the current "
        "period reads as so far.",
        lambda f, o, c: _ratio(f["follow_ups_done_on_time"], f["follow_ups_due"]),
    ),
    Kpi(
        "follow_ups_overdue",
        "follow-ups",
        "Follow-ups overdue",
        "逾期回访",
        "FollowUpOverdue (contacts: the deadline passed without a qualifying contact) by due "
        "date in the period.",
        lambda f, o, c: f["follow_ups_overdue"],
    ),
    Kpi(
        "departures",
        "employees",
        "Staff departures",
        "员工离职",
        "EmployeeDeparted in the period.",
        lambda f, o, c: f["departures"],
    ),
    Kpi(
        "accounts_handed_over",
        "accounts",
        "Accounts handed over",
        "交接客户数",
        "AccountOwnerChanged with reason employee_departed in the period (contacts hands a "
        "leaver's accounts to the successor): the seeds' measure of customer information "
        "kept when staff leave.",
        lambda f, o, c: f["accounts_handed_over"],
    ),
)


def figures(flows: Counter[str], opening: Counter[str], closing: Counter[str]) -> dict[str, Value]:
    return {kpi.id: kpi.compute(flows, opening, closing) for kpi in KPIS}


@dataclass(frozen=True)
class Bucket:
    start: date
    counts: Counter[str]


def report(
    period: Period, first: date, last: date, buckets: Iterable[Bucket], totals: Mapping[str, int]
) -> dict[str, Any]:
    """Figures per bucket from ``first`` to ``last`` and over the whole range.

    ``buckets`` are every stored bucket of ``period`` starting at or after ``first`` (also
    those after ``last``); ``totals`` the all-time gauge levels.
    """
    stored = {b.start: b.counts for b in buckets}
    level = Counter({m: n for m, n in totals.items() if is_gauge(m)})
    for counts in stored.values():
        level.subtract({m: n for m, n in counts.items() if is_gauge(m)})
    opening, rows, flows = Counter(level), [], Counter[str]()
    start = bucket_start(period, first)
    while start <= last:
        counts = stored.get(start, Counter())
        closing = Counter(level)
        closing.update({m: n for m, n in counts.items() if is_gauge(m)})
        rows.append({"start": start.isoformat(), "figures": figures(counts, level, closing)})
        flows.update({m: n for m, n in counts.items() if not is_gauge(m)})
        level, start = closing, next_start(period, start)
    return {"buckets": rows, "total": figures(flows, opening, level)}
