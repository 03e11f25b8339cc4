"""Every KPI formula on hand-made facts: given these facts, the period's figure is this."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crm_insights import decisions, kpis
from crm_insights.domain import CustomerFacts, KpiDelta, Observed
from crm_insights.kpis import ALL, Bucket, Period
from tests.unit.insights_rig import fact

pytestmark = pytest.mark.unit
MAR = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
FEB = datetime(2026, 2, 10, 9, tzinfo=UTC)


def report(
    facts: list[Observed],
    period: Period = "month",
    first: date = date(2026, 3, 1),
    last: date = date(2026, 3, 31),
) -> dict[str, Any]:
    """Apply the facts through the decisions (each customer's in order), fold, report."""
    states: dict[str, CustomerFacts | None] = {}
    counts: dict[str, Counter[str]] = {}
    for one in facts:
        key = one.customer_id or one.subject
        if one.customer_id is None:
            decision: Any = decisions.observe_subject(None, one)
        else:
            decision = decisions.observe(states.get(key), one)
            states[key] = decision.state
        for entry in decision.entries:
            if isinstance(entry, KpiDelta):
                for bucket, incs in entry.increments.items():
                    counts.setdefault(bucket, Counter()).update(incs)
    stored = [
        Bucket(date.fromisoformat(k.partition(":")[2]), c)
        for k, c in counts.items()
        if k.startswith(f"{period}:")
        and k.partition(":")[2] >= kpis.bucket_start(period, first).isoformat()
    ]
    return kpis.report(period, first, last, stored, dict(counts.get(ALL, Counter())))


def total(facts: list[Observed], kpi: str, **kwargs: Any) -> Any:
    return report(facts, **kwargs)["total"][kpi]


def registered(customer: str, at: datetime = MAR) -> Observed:
    return fact("CustomerRegistered", customer, at, display_name=f"客户{customer}")


def purchase(customer: str, at: datetime, order: str = "o1") -> Observed:
    return fact("PurchaseRecorded", customer, at, order_id=order, purchased_at=at.isoformat())


def test_new_customers_count_each_registration_in_its_period() -> None:
    facts = [registered("c1"), registered("c2"), registered("c3", FEB)]
    assert total(facts, "new_customers") == 2
    assert total(facts, "new_customers", first=date(2026, 2, 1), last=date(2026, 2, 28)) == 1


def test_a_registration_seen_twice_counts_once() -> None:
    assert total([registered("c1"), registered("c1")], "new_customers") == 1


def test_customers_by_class_follow_classification_from_potential() -> None:
    facts = [
        registered("c1"),
        registered("c2"),
        registered("c3"),
        fact(
            "CustomerClassified",
            "c1",
            MAR + timedelta(days=1),
            classification="new",
            previous="potential",
        ),
        fact(
            "CustomerClassified",
            "c2",
            MAR + timedelta(days=2),
            classification="loyal",
            previous="potential",
        ),
    ]
    assert total(facts, "customers_by_class") == {"loyal": 1, "new": 1, "potential": 1}


def test_classification_before_registration_still_counts_the_customer_once() -> None:
    facts = [
        fact("CustomerClassified", "c1", MAR, classification="loyal", previous="potential"),
        registered("c1", MAR + timedelta(hours=1)),
    ]
    assert total(facts, "customers_by_class") == {"loyal": 1}


def test_conversion_and_median_days_to_first_purchase() -> None:
    facts = [
        registered("c1", FEB),
        purchase("c1", FEB + timedelta(days=20)),  # Mar 2: 20 days
        registered("c2", MAR),
        purchase("c2", MAR + timedelta(days=4)),
        purchase("c2", MAR + timedelta(days=9), "o2"),  # not a second conversion
        registered("c3", MAR),
        purchase("c3", MAR + timedelta(days=10)),
        registered("c4", MAR),  # still a prospect
    ]
    assert total(facts, "conversions") == 3
    assert total(facts, "median_days_to_first_purchase") == 10
    # prospects at the start (c1) + registered in March (c2, c3, c4) = 4
    assert total(facts, "conversion_rate") == 75.0


def test_a_purchase_seen_before_the_registration_converts_at_the_purchase() -> None:
    facts = [purchase("c1", MAR + timedelta(days=3)), registered("c1", MAR)]
    assert total(facts, "conversions") == 1
    assert total(facts, "median_days_to_first_purchase") == 3


def test_median_of_an_even_number_of_values_is_the_middle_pair_average() -> None:
    counts = Counter({"x~1": 1, "x~2": 1, "x~5": 1, "x~9": 1})
    assert kpis.median_of(counts, "x~") == 3.5
    assert kpis.median_of(Counter(), "x~") is None


def complaint(customer: str, cid: str, at: datetime, **extra: Any) -> Observed:
    return fact(
        "ComplaintRaised",
        customer,
        at,
        complaint_id=cid,
        severity="high",
        raised_at=at.isoformat(),
        first_response_due_at=(at + timedelta(hours=4)).isoformat(),
        **extra,
    )


def test_complaint_rate_per_100_average_active_customers() -> None:
    customers = [registered(f"c{i}", FEB) for i in range(8)]
    facts = [*customers, complaint("c1", "k1", MAR), complaint("c2", "k2", MAR)]
    assert total(facts, "complaint_rate") == 25.0  # 2 / 8 * 100


def test_first_response_sla_counts_acknowledgements_by_their_deadline() -> None:
    facts = [
        registered("c1", FEB),
        complaint("c1", "k1", MAR),
        complaint("c1", "k2", MAR),
        fact(
            "ComplaintAcknowledged",
            "c1",
            MAR,
            complaint_id="k1",
            acknowledged_at=(MAR + timedelta(hours=1)).isoformat(),
        ),
        fact(
            "ComplaintAcknowledged",
            "c1",
            MAR,
            complaint_id="k2",
            acknowledged_at=(MAR + timedelta(hours=5)).isoformat(),
        ),
    ]
    assert total(facts, "first_response_sla") == 50.0


def test_an_acknowledgement_before_its_complaint_is_counted_when_the_complaint_arrives() -> None:
    facts = [
        fact(
            "ComplaintAcknowledged",
            "c1",
            MAR,
            complaint_id="k1",
            acknowledged_at=(MAR + timedelta(hours=1)).isoformat(),
        ),
        complaint("c1", "k1", MAR),
    ]
    assert total(facts, "first_response_sla") == 100.0


def resolved(customer: str, cid: str, at: datetime, within: bool) -> Observed:
    return fact(
        "ComplaintResolved",
        customer,
        at,
        complaint_id=cid,
        within_sla=within,
        resolved_at=at.isoformat(),
    )


def test_resolution_sla_and_median_resolution_hours() -> None:
    facts = [
        complaint("c1", "k1", MAR),
        resolved("c1", "k1", MAR + timedelta(hours=2), True),
        complaint("c1", "k2", MAR),
        resolved("c1", "k2", MAR + timedelta(hours=30), False),
        complaint("c1", "k3", MAR),
        resolved("c1", "k3", MAR + timedelta(hours=6), True),
    ]
    assert total(facts, "resolution_sla") == pytest.approx(66.67)
    assert total(facts, "median_resolution_hours") == 6


def survey(customer: str, sid: str, **scores: int) -> Observed:
    return fact(
        "SurveyAnswered", customer, MAR, survey_id=sid, answered_at=MAR.isoformat(), **scores
    )


def test_csat_average_and_nps() -> None:
    facts = [
        survey("c1", "s1", csat=5, nps=10),
        survey("c2", "s2", csat=4, nps=9),
        survey("c3", "s3", csat=2, nps=3),
        survey("c4", "s4", nps=7),
    ]
    assert total(facts, "csat_average") == pytest.approx(3.67)
    assert total(facts, "nps") == 25.0  # (2 promoters - 1 detractor) / 4


def test_survey_response_rate_answers_over_requests() -> None:
    facts = [
        fact("SurveyRequested", "c1", MAR, survey_id="s1"),
        fact("SurveyRequested", "c2", MAR, survey_id="s2"),
        survey("c1", "s1", csat=5),
    ]
    assert total(facts, "survey_response_rate") == 50.0
    assert total([survey("c1", "s1", csat=5)], "survey_response_rate") is None


def test_churn_and_retention_rate_against_the_active_base_at_the_start() -> None:
    base = [registered(f"c{i}", FEB) for i in range(10)]
    facts = [
        *base,
        fact("CustomerClassified", "c1", MAR, classification="churned", previous="loyal"),
        fact("RelationshipEnded", "c2", MAR, case_id="x", ended_at=MAR.isoformat()),
        fact("RelationshipEnded", "c1", MAR, case_id="y", ended_at=MAR.isoformat()),  # once
        registered("n1"),
        registered("n2"),
    ]
    assert total(facts, "churn_rate") == 20.0
    assert total(facts, "retention_rate") == 80.0  # (10 - 2 + 2 - 2) / 10


def test_a_churned_customer_who_is_won_back_is_active_again() -> None:
    facts = [
        registered("c1", FEB),
        fact("CustomerClassified", "c1", FEB, classification="churned", previous="new"),
        fact("CustomerClassified", "c1", MAR, classification="new", previous="churned"),
    ]
    levels = report(facts)["buckets"][0]["figures"]
    assert levels["customers_by_class"] == {"new": 1}
    assert total(facts, "churn_rate") is None  # nobody was active at the start


def test_risks_by_category_and_case_outcomes() -> None:
    facts = [
        fact("RiskDetected", "c1", MAR, risk_id="r1", category="market_competition"),
        fact("RiskDetected", "c2", MAR, risk_id="r2", category="market_competition"),
        fact("RiskDetected", "c3", MAR, risk_id="r3", category="law_regulation"),
        fact("OffboardingCaseOpened", "c1", MAR, case_id="k1"),
        fact("OffboardingCaseOpened", "c2", MAR, case_id="k2"),
        fact("OffboardingCaseOpened", "c3", MAR, case_id="k3"),
        fact("CustomerRetained", "c1", MAR, case_id="k1"),
        fact("ExitAgreed", "c2", MAR, case_id="k2"),
        fact("ExitAgreed", "c3", MAR, case_id="k3"),
    ]
    figures = report(facts)["total"]
    assert figures["risks_by_category"] == {"law_regulation": 1, "market_competition": 2}
    assert (figures["cases_opened"], figures["cases_retained"], figures["cases_exited"]) == (
        3,
        1,
        2,
    )
    assert figures["retention_win_rate"] == pytest.approx(33.33)


def test_points_outstanding_is_the_sum_of_latest_balances() -> None:
    facts = [
        fact("PointsAwarded", "c1", FEB, entry_id="e1", points=100, balance_after=100),
        fact("PointsAwarded", "c2", MAR, entry_id="e2", points=50, balance_after=50),
        fact(
            "PointsRedeemed",
            "c1",
            MAR + timedelta(hours=1),
            entry_id="e3",
            points=30,
            balance_after=70,
        ),
        fact("PointsAwarded", "c1", MAR, entry_id="e0", points=5, balance_after=105),  # late
    ]
    rows = report(facts)
    assert rows["total"]["points_outstanding"] == 120
    settled = [*facts, fact("LoyaltyAccountSettled", "c2", MAR + timedelta(days=1))]
    assert total(settled, "points_outstanding") == 70


def test_tier_distribution_follows_the_latest_tier() -> None:
    facts = [
        fact("TierChanged", "c1", MAR, new_tier="silver"),
        fact("TierChanged", "c2", MAR, new_tier="silver"),
        fact("TierChanged", "c1", MAR + timedelta(days=1), new_tier="gold", previous_tier="silver"),
    ]
    assert total(facts, "tier_distribution") == {"gold": 1, "silver": 1}


def test_follow_ups_on_time_are_those_done_by_their_deadline_by_due_date() -> None:
    due = MAR + timedelta(days=3)

    def done(customer: str, fid: str, on_time: bool) -> Observed:
        return fact("FollowUpCompleted", customer, due, follow_up_id=fid,
                    due_at=due.isoformat(), on_time=on_time)  # fmt: skip

    facts = [
        *(
            fact("FollowUpScheduled", f"c{i}", FEB, follow_up_id=f"f{i}", due_at=due.isoformat())
            for i in range(1, 5)
        ),
        done("c1", "f1", True),
        done("c2", "f2", True),
        fact("FollowUpOverdue", "c3", due, follow_up_id="f3", due_at=due.isoformat()),
        done("c3", "f3", False),  # done after it was overdue: late
        # f4: due in the period and not done yet: not on time (so far)
    ]
    assert total(facts, "follow_ups_on_time") == 50.0
    assert total(facts, "follow_ups_overdue") == 1
    assert total(facts[:4], "follow_ups_on_time") == 0.0
    assert total(facts[4:5], "follow_ups_on_time") is None  # nothing scheduled: no figure


def test_departures_and_accounts_handed_over() -> None:
    facts = [
        fact("EmployeeDeparted", None, MAR, employee_id="emp-1", departed_at=MAR.isoformat()),
        fact("AccountOwnerChanged", "c1", MAR, new_owner_id="e2", reason="employee_departed"),
        fact("AccountOwnerChanged", "c2", MAR, new_owner_id="e2", reason="employee_departed"),
        fact("AccountOwnerChanged", "c3", MAR, new_owner_id="e3", reason="reassigned"),
    ]
    figures = report(facts)["total"]
    assert (figures["departures"], figures["accounts_handed_over"]) == (1, 2)


def test_weeks_start_on_monday_and_gauges_carry_over_empty_buckets() -> None:
    facts = [registered("c1", MAR - timedelta(days=1)), registered("c2", MAR + timedelta(days=8))]
    rows = report(facts, period="week", first=date(2026, 2, 23), last=date(2026, 3, 15))
    starts = [row["start"] for row in rows["buckets"]]
    assert starts == ["2026-02-23", "2026-03-02", "2026-03-09"]
    classes = [row["figures"]["customers_by_class"] for row in rows["buckets"]]
    assert classes == [{"potential": 1}, {"potential": 1}, {"potential": 2}]
    assert [row["figures"]["new_customers"] for row in rows["buckets"]] == [1, 0, 1]


def test_every_kpi_says_how_it_is_computed() -> None:
    assert all(k.how and k.name_en and k.name_zh for k in kpis.KPIS)
    assert len({k.id for k in kpis.KPIS}) == len(kpis.KPIS)
