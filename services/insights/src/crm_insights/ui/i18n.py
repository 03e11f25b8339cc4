"""The UI's words in English and Simplified Chinese (the source documents are Chinese)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")
WORDS: dict[str, dict[Lang, str]] = {
    "title": {"en": "CRM insights", "zh": "CRM 客户洞察"},
    "sign_in": {"en": "Sign in", "zh": "登录"},
    "sign_out": {"en": "Sign out", "zh": "退出"},
    "api_key": {"en": "API key", "zh": "API 密钥"},
    "wrong_key": {"en": "Unknown API key.", "zh": "API 密钥无效。"},
    "customers": {"en": "Customers", "zh": "客户"},
    "search": {"en": "Search", "zh": "搜索"},
    "search_hint": {"en": "Customer id or name prefix", "zh": "客户编号或姓名开头"},
    "no_hits": {"en": "No customer found.", "zh": "未找到客户。"},
    "journey": {"en": "Journey", "zh": "客户旅程"},
    "chain": {"en": "Correlated events", "zh": "关联事件链"},
    "kpis": {"en": "KPI dashboard", "zh": "关键指标"},
    "queues": {"en": "Work queues", "zh": "工作队列"},
    "period": {"en": "Period", "zh": "周期"},
    "from": {"en": "From", "zh": "从"},
    "to": {"en": "To", "zh": "到"},
    "show": {"en": "Show", "zh": "显示"},
    "range": {"en": "Range", "zh": "区间合计"},
    "how": {"en": "How it is computed", "zh": "计算方法"},
    "day": {"en": "day", "zh": "日"},
    "week": {"en": "week", "zh": "周"},
    "month": {"en": "month", "zh": "月"},
    "time": {"en": "Time", "zh": "时间"},
    "events": {"en": "events", "zh": "条事件"},
    "class": {"en": "Class", "zh": "分类"},
    "lost": {"en": "lost", "zh": "已流失"},
    "record": {"en": "record", "zh": "记录"},
    "older": {"en": "Older events", "zh": "更早的事件"},
    "erased": {"en": "personal data erased", "zh": "个人数据已删除"},
    "language": {"en": "中文", "zh": "English"},
    "signed_in_as": {"en": "Signed in as", "zh": "当前角色"},
    "queues_intro": {
        "en": "Queues from what the services expose today.",
        "zh": "以下队列来自各服务目前提供的数据。",
    },
    "open_complaints": {"en": "Complaints near or past breach", "zh": "即将超时或已超时的投诉"},
    "open_cases": {"en": "Open offboarding cases", "zh": "进行中的解约案件"},
    "follow_ups": {"en": "Follow-ups, overdue first", "zh": "回访（逾期优先）"},
    "overdue": {"en": "overdue", "zh": "已逾期"},
    "scheduled": {"en": "due", "zh": "待回访"},
    "follow_up": {"en": "Follow-up", "zh": "回访"},
    "owner_filter": {"en": "Owner id (empty: everyone)", "zh": "负责人编号（留空：全部）"},
    "none": {"en": "Nothing waiting.", "zh": "暂无待办。"},
    "due": {"en": "Due", "zh": "截止"},
    "severity": {"en": "Severity", "zh": "严重程度"},
    "owner": {"en": "Owner", "zh": "负责人"},
    "breached": {"en": "breached", "zh": "已超时"},
    "warned": {"en": "near breach", "zh": "即将超时"},
    "case": {"en": "Case", "zh": "案件"},
    "stage": {"en": "Stage", "zh": "阶段"},
    "next_action": {"en": "Next action", "zh": "下一步"},
    "since": {"en": "Since", "zh": "自"},
}
ACTIONS: dict[str, dict[Lang, str]] = {
    "assess": {"en": "Assess and choose a strategy", "zh": "评估并确定策略"},
    "await_answer": {"en": "Await the answer to the offer", "zh": "等待客户答复挽留方案"},
    "next_round": {"en": "Hold the next negotiation round", "zh": "进行下一轮谈判"},
    "record_agreement": {"en": "Record the agreement", "zh": "记录解约协议"},
    "end_relationship": {"en": "End at the effective date", "zh": "到生效日终止关系"},
    "dispose_and_review": {"en": "Dispose of data, then review", "zh": "处置数据并复盘"},
}
SERVICE_NAMES: dict[str, dict[Lang, str]] = {
    "contacts": {"en": "Contacts", "zh": "客户资料"},
    "feedback": {"en": "Feedback", "zh": "投诉与反馈"},
    "loyalty": {"en": "Loyalty", "zh": "积分与忠诚度"},
    "offboarding": {"en": "Offboarding", "zh": "解约"},
    "inbound": {"en": "Other systems", "zh": "外部系统"},
}


def words(lang: Lang) -> dict[str, str]:
    return {key: text[lang] for key, text in WORDS.items()}


def service_name(service: str, lang: Lang) -> str:
    return SERVICE_NAMES.get(service, {}).get(lang, service)


def action(code: str, lang: Lang) -> str:
    return ACTIONS.get(code, {}).get(lang, code)
