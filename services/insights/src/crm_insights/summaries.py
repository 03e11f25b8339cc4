"""One line per journey entry, in English or Simplified Chinese, rendered when read (so a
summary follows the reader's language and an erased payload leaves no name behind).

Known types have their own sentence; any other type — one added to the catalogue later —
gets the generic line: its name in words and the ids its payload names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

Lang = Literal["en", "zh"]
Summary = Callable[[Mapping[str, Any]], str]
_ID_FIELDS = ("complaint_id", "case_id", "order_id", "survey_id", "risk_id", "entry_id")


def _v(data: Mapping[str, Any], name: str, default: str = "?") -> str:
    value = data.get(name)
    return default if value is None else str(value)


def _who(data: Mapping[str, Any]) -> str:
    return _v(data, "display_name", _v(data, "customer_id"))


EN: dict[str, Summary] = {
    "CustomerRegistered": lambda d: (
        f"Registered {_who(d)} ({_v(d, 'kind')}), owner {_v(d, 'owner_id')}"
    ),
    "CustomerProfileUpdated": lambda d: (
        "Profile updated: "
        + ", ".join(sorted(k for k in d if k not in ("customer_id", "updated_by")))
    ),
    "CustomerClassified": lambda d: (
        f"Classified {_v(d, 'previous', '—')} → {_v(d, 'classification')}"
    ),
    "ContactLogged": lambda d: (
        f"Contact by {_v(d, 'channel')} ({_v(d, 'direction')}) with {_v(d, 'employee_id')}"
    ),
    "AccountOwnerChanged": lambda d: (
        f"Owner {_v(d, 'previous_owner_id', '—')} → {_v(d, 'new_owner_id')} ({_v(d, 'reason')})"
    ),
    "FollowUpScheduled": lambda d: (
        f"Follow-up {_v(d, 'follow_up_id')} due {_v(d, 'due_at')[:10]} ({_v(d, 'owner_id')})"
    ),
    "FollowUpOverdue": lambda d: (
        f"Follow-up {_v(d, 'follow_up_id')} overdue since {_v(d, 'due_at')[:10]}"
    ),
    "FollowUpCompleted": lambda d: (
        f"Follow-up {_v(d, 'follow_up_id')} done by {_v(d, 'employee_id')}"
        + ("" if d.get("on_time") else " late")
    ),
    "PurchaseRecorded": lambda d: f"Purchase {_v(d, 'order_id')}: {_money(d)}",
    "PurchaseReturned": lambda d: (
        f"Return {_v(d, 'return_id')} of order {_v(d, 'order_id')}: {_money(d)}"
    ),
    "ReferralRecorded": lambda d: (
        f"Referred customer {_v(d, 'referred_customer_id')} ({_v(d, 'channel', '—')})"
    ),
    "ComplaintRaised": lambda d: (
        f"Complaint {_v(d, 'complaint_id')} raised ({_v(d, 'severity')}, {_v(d, 'category')})"
    ),
    "ComplaintAcknowledged": lambda d: (
        f"Complaint {_v(d, 'complaint_id')} acknowledged by {_v(d, 'acknowledged_by')}"
    ),
    "ComplaintSlaWarning": lambda d: (
        f"Complaint {_v(d, 'complaint_id')}: {_v(d, 'clock')} deadline near"
    ),
    "ComplaintSlaBreached": lambda d: (
        f"Complaint {_v(d, 'complaint_id')}: {_v(d, 'clock')} deadline breached"
    ),
    "ComplaintEscalated": lambda d: (
        f"Complaint {_v(d, 'complaint_id')} escalated to level {_v(d, 'level')} ({_v(d, 'escalated_to')})"
    ),
    "ComplaintResolved": lambda d: (
        f"Complaint {_v(d, 'complaint_id')} resolved" + ("" if d.get("within_sla") else " late")
    ),
    "SurveyAnswered": lambda d: (
        f"Survey answered: CSAT {_v(d, 'csat', '—')}, NPS {_v(d, 'nps', '—')}"
    ),
    "PointsAwarded": lambda d: (
        f"+{_v(d, 'points')} points ({_v(d, 'reason')}), balance {_v(d, 'balance_after')}"
    ),
    "PointsRedeemed": lambda d: (
        f"−{_v(d, 'points')} points redeemed, balance {_v(d, 'balance_after')}"
    ),
    "PointsExpired": lambda d: (
        f"{_v(d, 'points')} points expired, balance {_v(d, 'balance_after')}"
    ),
    "TierChanged": lambda d: f"Tier {_v(d, 'previous_tier', '—')} → {_v(d, 'new_tier')}",
    "HealthScoreChanged": lambda d: (
        f"Health score {_v(d, 'previous_score', '—')} → {_v(d, 'score')}"
    ),
    "RiskDetected": lambda d: f"Risk detected: {_v(d, 'category')}",
    "OffboardingCaseOpened": lambda d: (
        f"Offboarding case {_v(d, 'case_id')} opened ({_v(d, 'category')})"
    ),
    "ExitAgreed": lambda d: (
        f"Exit agreed in case {_v(d, 'case_id')}, effective {_v(d, 'effective_date')[:10]}"
    ),
    "CustomerRetained": lambda d: f"Customer retained in case {_v(d, 'case_id')}",
    "LoyaltyAccountSettled": lambda d: (
        f"Loyalty account settled: {_v(d, 'balance_points')} points ({_v(d, 'settlement')})"
    ),
    "PersonalDataErased": lambda d: f"Personal data {_v(d, 'method')} by {_v(d, 'service')}",
}
ZH: dict[str, Summary] = {
    "CustomerRegistered": lambda d: f"登记客户 {_who(d)}，负责人 {_v(d, 'owner_id')}",
    "CustomerProfileUpdated": lambda d: (
        "资料更新：" + "、".join(sorted(k for k in d if k not in ("customer_id", "updated_by")))
    ),
    "CustomerClassified": lambda d: (
        f"客户分类 {_v(d, 'previous', '—')} → {_v(d, 'classification')}"
    ),
    "ContactLogged": lambda d: f"经 {_v(d, 'channel')} 联系（{_v(d, 'employee_id')}）",
    "AccountOwnerChanged": lambda d: (
        f"负责人 {_v(d, 'previous_owner_id', '—')} → {_v(d, 'new_owner_id')}"
    ),
    "FollowUpScheduled": lambda d: (
        f"回访 {_v(d, 'follow_up_id')} 应于 {_v(d, 'due_at')[:10]} 前完成（{_v(d, 'owner_id')}）"
    ),
    "FollowUpOverdue": lambda d: f"回访 {_v(d, 'follow_up_id')} 已逾期（{_v(d, 'due_at')[:10]}）",
    "FollowUpCompleted": lambda d: (
        f"回访 {_v(d, 'follow_up_id')} 已完成（{_v(d, 'employee_id')}）"
        + ("" if d.get("on_time") else "，逾期")
    ),
    "PurchaseRecorded": lambda d: f"购买 {_v(d, 'order_id')}：{_money(d)}",
    "PurchaseReturned": lambda d: f"退货 {_v(d, 'return_id')}：{_money(d)}",
    "ReferralRecorded": lambda d: (
        f"推荐新客户 {_v(d, 'referred_customer_id')}（{_v(d, 'channel', '—')}）"
    ),
    "ComplaintRaised": lambda d: f"投诉 {_v(d, 'complaint_id')} 已登记（{_v(d, 'severity')}）",
    "ComplaintAcknowledged": lambda d: f"投诉 {_v(d, 'complaint_id')} 已首次响应",
    "ComplaintSlaWarning": lambda d: f"投诉 {_v(d, 'complaint_id')} 即将超时（{_v(d, 'clock')}）",
    "ComplaintSlaBreached": lambda d: f"投诉 {_v(d, 'complaint_id')} 已超时（{_v(d, 'clock')}）",
    "ComplaintEscalated": lambda d: f"投诉 {_v(d, 'complaint_id')} 升级至第 {_v(d, 'level')} 级",
    "ComplaintResolved": lambda d: (
        f"投诉 {_v(d, 'complaint_id')} 已解决" + ("" if d.get("within_sla") else "（超时）")
    ),
    "SurveyAnswered": lambda d: f"问卷回复：满意度 {_v(d, 'csat', '—')}，NPS {_v(d, 'nps', '—')}",
    "PointsAwarded": lambda d: f"获得 {_v(d, 'points')} 积分，余额 {_v(d, 'balance_after')}",
    "PointsRedeemed": lambda d: f"兑换 {_v(d, 'points')} 积分，余额 {_v(d, 'balance_after')}",
    "PointsExpired": lambda d: f"{_v(d, 'points')} 积分过期，余额 {_v(d, 'balance_after')}",
    "TierChanged": lambda d: f"等级 {_v(d, 'previous_tier', '—')} → {_v(d, 'new_tier')}",
    "HealthScoreChanged": lambda d: f"健康分 {_v(d, 'previous_score', '—')} → {_v(d, 'score')}",
    "RiskDetected": lambda d: f"识别风险：{_v(d, 'category')}",
    "OffboardingCaseOpened": lambda d: f"解约案件 {_v(d, 'case_id')} 已开启",
    "ExitAgreed": lambda d: (
        f"案件 {_v(d, 'case_id')} 达成解约协议，生效 {_v(d, 'effective_date')[:10]}"
    ),
    "CustomerRetained": lambda d: f"案件 {_v(d, 'case_id')} 挽留成功",
    "LoyaltyAccountSettled": lambda d: f"积分账户结算：{_v(d, 'balance_points')} 积分",
    "PersonalDataErased": lambda d: f"{_v(d, 'service')} 已处置个人数据（{_v(d, 'method')}）",
}
GENERIC = {"en": "{name}", "zh": "事件：{name}"}


def _money(data: Mapping[str, Any]) -> str:
    amount = data.get("amount_minor")
    if not isinstance(amount, int):
        return "?"
    return f"{amount / 100:.2f} {_v(data, 'currency', '')}".strip()


def words(event_type: str) -> str:
    """``ComplaintSlaBreached`` → ``Complaint sla breached``."""
    spaced = re.sub(r"(?<!^)(?=[A-Z])", " ", event_type).lower()
    return spaced[:1].upper() + spaced[1:]


def generic(event_type: str, data: Mapping[str, Any], lang: Lang = "en") -> str:
    ids = [f"{name} {data[name]}" for name in _ID_FIELDS if data.get(name) is not None]
    line = GENERIC[lang].format(name=words(event_type))
    return f"{line} ({', '.join(ids)})" if ids else line


def summary(event_type: str, data: Mapping[str, Any], lang: Lang = "en") -> str:
    known = (ZH if lang == "zh" else EN).get(event_type)
    if known is None:
        return generic(event_type, data, lang)
    try:
        return known(data)
    except (TypeError, ValueError):  # a later version's payload: still one line
        return generic(event_type, data, lang)
