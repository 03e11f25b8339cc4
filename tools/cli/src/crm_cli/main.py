"""``crm``: the operator's command line over the platform's own interfaces — Kafka topics
(publish, DLQs, replays) and the services' HTTP APIs (journeys, KPIs, readiness, lag).

Human tables by default, ``--json`` for scripts. Exit codes: 0 done; 1 the platform
refused or is not ready (an HTTP error, a service not ready); 2 bad input (unknown type,
invalid payload, bad option); 3 a service or the broker could not be reached.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from crm_cli import operations
from crm_cli.settings import CliSettings
from crm_runtime import dlq_cli

app = typer.Typer(
    name="crm",
    help="Operate the CRM platform: publish events, read journeys and KPIs, inspect DLQs, "
    "check status, replay a service. Settings from CRM_CLI_* variables.",
    no_args_is_help=True,
    add_completion=False,
)
dlq = typer.Typer(help="Dead-letter topics: list records with reasons, replay them.")
app.add_typer(dlq, name="dlq")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
OK, REFUSED, BAD_INPUT, UNREACHABLE = 0, 1, 2, 3


def fail(code: int, message: str, as_json: bool = False) -> NoReturn:
    if as_json:
        print(json.dumps({"error": message, "exit_code": code}, ensure_ascii=False))
    else:
        err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def emit(as_json: bool, payload: Any, table: Table | str) -> None:
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, default=str, indent=2))
    else:
        out.print(table)


def call(settings: CliSettings, service: str, path: str, as_json: bool, **params: Any) -> Any:
    try:
        response = httpx.get(
            settings.url(service) + path,
            params={k: v for k, v in params.items() if v is not None},
            headers=settings.bearer(),
            timeout=settings.http_timeout_s,
        )
    except ValueError as exc:
        fail(BAD_INPUT, str(exc), as_json)
    except httpx.HTTPError as exc:
        fail(UNREACHABLE, f"{service} unreachable: {type(exc).__name__}", as_json)
    if response.status_code >= 400:
        detail = _detail(response)
        code = BAD_INPUT if response.status_code == 422 else REFUSED
        fail(code, f"{service} answered {response.status_code}: {detail}", as_json)
    return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]


# --- publish --------------------------------------------------------------------------------
@app.command()
def publish(
    event_type: Annotated[str, typer.Argument(metavar="TYPE", help="e.g. ComplaintRaised")],
    file: Annotated[Path, typer.Option("--file", "-f", help="JSON payload ('-' = stdin).")],
    source: Annotated[str, typer.Option(help="CloudEvents source.")] = "/crm/cli",
    event_id: Annotated[str | None, typer.Option("--id", help="Event id (retries).")] = None,
    as_json: AsJson = False,
) -> None:
    """Validate a payload against TYPE's contract, wrap it in a CloudEvent, publish it."""
    try:
        model = operations.model_for(event_type)
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        event = operations.build_event(model, json.loads(text), source=source, event_id=event_id)
    except (ValueError, OSError) as exc:
        fail(BAD_INPUT, str(exc), as_json)
    settings = CliSettings()
    try:
        topic = asyncio.run(operations.publish(settings, model, event))
    except Exception as exc:
        fail(UNREACHABLE, f"kafka: {type(exc).__name__}: {exc}", as_json)
    result = {"id": event.id, "type": event.type, "subject": event.subject, "topic": topic}
    emit(as_json, result, f"published {event.type} {event.id} for {event.subject} to {topic}")


# --- journey / kpis -------------------------------------------------------------------------------
@app.command()
def journey(
    customer: Annotated[str, typer.Argument(help="Customer id.")],
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    limit: int = 100,
    as_json: AsJson = False,
) -> None:
    """Every event about CUSTOMER, oldest first, one line each, with its lane and links."""
    found = call(CliSettings(), "insights", f"/customers/{customer}/journey", as_json,
                 lang=lang, limit=limit)  # fmt: skip
    table = Table(title=f"journey of {customer}", title_justify="left")
    for column in ("time", "lane", "summary", "type", "correlation"):
        table.add_column(column)
    for item in found["items"]:
        table.add_row(item["at"][:19], item["service"], item["summary"], item["type"],
                      item["correlation_id"][:12])  # fmt: skip
    emit(as_json, found, table)


@app.command()
def kpis(
    period: Annotated[str, typer.Option(help="day, week or month.")] = "month",
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    as_json: AsJson = False,
) -> None:
    """KPI figures per period, and over the whole range, each with how it is computed."""
    found = call(CliSettings(), "insights", "/kpis", as_json, period=period,
                 lang=lang, **{"from": start, "to": end})  # fmt: skip
    table = Table(
        title=f"KPIs per {period}, {found['from']} to {found['to']}", title_justify="left"
    )
    table.add_column("KPI")
    for row in found["buckets"]:
        table.add_column(row["start"], justify="right")
    table.add_column("range", justify="right")
    for kpi in found["kpis"]:
        cells = [operations.shown(row["figures"][kpi["id"]]) for row in found["buckets"]]
        table.add_row(kpi["name"], *cells, operations.shown(found["total"][kpi["id"]]))
    emit(as_json, found, table)


# --- dlq (absorbs crm-dlq) ----------------------------------------------------------------
@dlq.command("list")
def dlq_list(topic: dlq_cli.Topic, limit: int = 50, as_json: AsJson = False) -> None:
    """Show dead-lettered records of TOPIC with their reasons (nothing is consumed)."""
    try:
        records = asyncio.run(dlq_cli.list_records(operations.dlq_settings(), topic, limit))
    except Exception as exc:
        fail(UNREACHABLE, f"kafka: {type(exc).__name__}", as_json)
    rows = [operations.dead_letter(record) for record in records]
    table = Table(title=f"{topic}.dlq: {len(rows)} record(s)", title_justify="left")
    for column in ("position", "key", "kind", "failed_at", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("position", "key", "kind", "failed_at", "reason")))
    emit(as_json, rows, table)


@dlq.command("replay")
def dlq_replay(
    topic: dlq_cli.Topic,
    limit: int = 1000,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, publish nothing.")] = False,
    as_json: AsJson = False,
) -> None:
    """Send dead-lettered records of TOPIC back to TOPIC (each record once)."""
    settings = operations.dlq_settings()
    try:
        count = asyncio.run(dlq_cli.replay_records(settings, topic, limit, dry_run=dry_run))
    except Exception as exc:
        fail(UNREACHABLE, f"kafka: {type(exc).__name__}", as_json)
    verb = "would replay" if dry_run else "replayed"
    emit(as_json, {"topic": topic, verb.replace(" ", "_"): count},
         f"{verb} {count} record(s) from {topic}.dlq to {topic}")  # fmt: skip


# --- status / replay ------------------------------------------------------------------------------
@app.command()
def status(as_json: AsJson = False) -> None:
    """Every service's readiness and consumer lag (per group and partition in --json)."""
    settings = CliSettings()
    found = asyncio.run(operations.status(settings))
    table = Table(title="services", title_justify="left")
    for column in ("service", "ready", "problems", "lag", "partitions"):
        table.add_column(column)
    for row in found:
        problems = ", ".join(f"{k}: {v}" for k, v in row["problems"].items()) or "—"
        table.add_row(row["service"], "yes" if row["ready"] else "[red]no[/red]", problems,
                      str(row["lag"]), str(len(row["partitions"])))  # fmt: skip
    emit(as_json, found, table)
    if not all(row["ready"] for row in found):
        raise typer.Exit(UNREACHABLE if any(row["unreachable"] for row in found) else REFUSED)


@app.command()
def replay(
    service: Annotated[
        str, typer.Argument(help="contacts, feedback, loyalty, offboarding, insights")
    ],
    into: Annotated[
        str | None, typer.Option(help="Rebuild into this database (default: the service's own).")
    ] = None,
    idle_s: Annotated[float, typer.Option(help="Stop after this long without a record.")] = 5.0,
    as_json: AsJson = False,
) -> None:
    """Rebuild SERVICE's read models from the earliest offset: its own consumer, in this
    process, under a fresh consumer group; ends with what changed and what was known."""
    try:
        summary = asyncio.run(
            operations.replay(service, into=into, idle_s=idle_s, show=not as_json)
        )
    except ValueError as exc:
        fail(BAD_INPUT, str(exc), as_json)
    except Exception as exc:
        fail(UNREACHABLE, f"{type(exc).__name__}: {exc}", as_json)
    table = Table(title=f"replay of {service} into {summary['database']}", title_justify="left")
    table.add_column("outcome")
    table.add_column("records", justify="right")
    for outcome, count in summary["outcomes"].items():
        table.add_row(outcome, str(count))
    emit(as_json, summary, table)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
