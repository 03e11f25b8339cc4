"""`crm-stack`: run the local Kafka-protocol + MongoDB-protocol stand-ins on 127.0.0.1."""

from __future__ import annotations

import shlex
import signal
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from crm_stack import services
from crm_stack.config import (
    ENV_KAFKA_ENGINE,
    ENV_KAFKA_PORT,
    ENV_MONGO_ENGINE,
    ENV_MONGO_PORT,
    ENV_MONGO_VENV,
    ENV_STATE_DIR,
    StackError,
)
from crm_stack.stack import LocalStack
from crm_stack.supervisor import Supervisor

app = typer.Typer(
    name="crm-stack",
    help=(
        "Local development/CI stack on 127.0.0.1: Apache Kafka (resolved from Maven "
        "Central, run on the JVM; the Tansu stand-in where no Java exists) and a MongoDB-"
        "protocol stand-in: nx-27017 (SQLite) or mongo-java-server (H2, resolved with "
        "Maven); production runs MongoDB."
    ),
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar=ENV_STATE_DIR,
        help="PID files, logs, Mongo data and venv. Default: <repo root>/.stack",
        file_okay=False,
    ),
]
KafkaPort = Annotated[
    int | None,
    typer.Option("--kafka-port", envvar=ENV_KAFKA_PORT, min=1, max=65535, help="Default 19092."),
]
KafkaEngineOpt = Annotated[
    str | None,
    typer.Option(
        "--kafka-engine",
        envvar=ENV_KAFKA_ENGINE,
        help="apache (default where Java exists), tansu, or auto.",
    ),
]
MongoEngineOpt = Annotated[
    str | None,
    typer.Option(
        "--mongo-engine",
        envvar=ENV_MONGO_ENGINE,
        help="nx (nx-27017, default), java (mongo-java-server), or auto.",
    ),
]
MongoPort = Annotated[
    int | None,
    typer.Option("--mongo-port", envvar=ENV_MONGO_PORT, min=1, max=65535, help="Default 27117."),
]


def _stack(
    state_dir: Path | None,
    kafka_port: int | None,
    mongo_port: int | None,
    mongo_venv: Path | None = None,
    kafka_engine: str | None = None,
    mongo_engine: str | None = None,
) -> LocalStack:
    try:
        return LocalStack(
            state_dir,
            kafka_port,
            mongo_port,
            venv_dir=mongo_venv,
            kafka_engine=kafka_engine,
            mongo_engine=mongo_engine,
            progress=lambda msg: err.print(msg, markup=False),
        )
    except StackError as exc:
        _fail(exc)


def _fail(exc: StackError) -> NoReturn:
    err.print("crm-stack: error: ", style="bold red", end="")
    err.print(str(exc), markup=False)
    raise typer.Exit(1)


def _print_status(stack: LocalStack) -> bool:
    cfg = stack.config
    title = f"crm-stack ({cfg.state_dir}) — {cfg.kafka_label} + {cfg.mongo_label}"
    table = Table(title=title, title_justify="left")
    for column in ("component", "pid", "address", "state", "log"):
        table.add_column(column)
    components = stack.status()
    for comp in components:
        if comp.up:
            state = "[green]alive[/green]"
        elif comp.alive:
            state = "[yellow]alive, not listening[/yellow]"
        else:
            state = "[red]dead[/red]"
        address = f"{stack.config.host}:{comp.port}"
        log = comp.log_file.relative_to(stack.config.state_dir)
        table.add_row(comp.name, str(comp.pid or "-"), address, state, str(log))
    out.print(table)
    return all(c.up for c in components)


@app.command()
def up(
    state_dir: StateDir = None,
    kafka_port: KafkaPort = None,
    mongo_port: MongoPort = None,
    mongo_venv: Annotated[
        Path | None,
        typer.Option(
            "--mongo-venv",
            envvar=ENV_MONGO_VENV,
            file_okay=False,
            help="Virtualenv for nx-27017 (created on first use). Default: <state dir>/mongo-venv",
        ),
    ] = None,
    kafka_engine: KafkaEngineOpt = None,
    mongo_engine: MongoEngineOpt = None,
) -> None:
    """Start both servers (idempotent: running ones are left alone)."""
    stack = _stack(state_dir, kafka_port, mongo_port, mongo_venv, kafka_engine, mongo_engine)
    begin = time.monotonic()
    try:
        endpoints = stack.up()
    except StackError as exc:
        _fail(exc)
    for name in endpoints.reused:
        out.print(f"{name}: already running, left as is")
    for name in endpoints.started:
        out.print(f"{name}: started")
    _print_status(stack)
    out.print(f"ready in {time.monotonic() - begin:.1f} s")
    out.print(f"  CRM_KAFKA_BOOTSTRAP_SERVERS={endpoints.kafka_bootstrap}", markup=False)
    out.print(f"  CRM_MONGO_URI={endpoints.mongo_uri}", markup=False)
    out.print('  (eval "$(crm-stack env)" exports them)', markup=False)


@app.command()
def down(
    state_dir: StateDir = None,
    kafka_port: KafkaPort = None,
    mongo_port: MongoPort = None,
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Also delete the Kafka and Mongo data.")
    ] = False,
) -> None:
    """Stop both servers (SIGTERM, SIGKILL after 5 s) and remove their PID files."""
    stack = _stack(state_dir, kafka_port, mongo_port)
    try:
        stopped = stack.down(wipe=wipe)
    except StackError as exc:
        _fail(exc)
    for name, pid in stopped.items():
        out.print(f"{name}: " + (f"stopped (pid {pid})" if pid else "was not running"))
    if wipe:
        wiped = [stack.config.kafka_data_dir, *stack.config.mongo_data_dirs.values()]
        out.print(f"data wiped: {', '.join(map(str, wiped))}")


@app.command()
def status(
    state_dir: StateDir = None, kafka_port: KafkaPort = None, mongo_port: MongoPort = None
) -> None:
    """Show each server's pid, address and state. Exit code 0 only if both are up, else 3."""
    if not _print_status(_stack(state_dir, kafka_port, mongo_port)):
        raise typer.Exit(3)


@app.command()
def env(
    state_dir: StateDir = None, kafka_port: KafkaPort = None, mongo_port: MongoPort = None
) -> None:
    """Print `export` lines for the services: eval "$(crm-stack env)"."""
    endpoints = _stack(state_dir, kafka_port, mongo_port).endpoints
    typer.echo(f"export CRM_KAFKA_BOOTSTRAP_SERVERS={shlex.quote(endpoints.kafka_bootstrap)}")
    typer.echo(f"export CRM_MONGO_URI={shlex.quote(endpoints.mongo_uri)}")


@app.command()
def run(
    state_dir: StateDir = None,
    kafka_port: KafkaPort = None,
    mongo_port: MongoPort = None,
    kafka_engine: KafkaEngineOpt = None,
    mongo_engine: MongoEngineOpt = None,
) -> None:
    """Start the stack and the four CRM services, restarting any that dies (with back-off);
    Ctrl-C stops the services gracefully."""
    stack = _stack(
        state_dir, kafka_port, mongo_port, kafka_engine=kafka_engine, mongo_engine=mongo_engine
    )
    try:
        endpoints = stack.up()
    except StackError as exc:
        _fail(exc)
    state = stack.config.state_dir
    out.print(f"kafka: {stack.config.kafka_label} at {endpoints.kafka_bootstrap}", markup=False)
    out.print(f"mongo: {stack.config.mongo_label} at {endpoints.mongo_uri}", markup=False)
    running = services.start_all(endpoints, state, stack.config.kafka_engine)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)  # also when started in the background
    try:
        failed = services.wait_ready(running)
        if failed:
            err.print(f"not ready: {', '.join(failed)} (see {state / 'logs'})", markup=False)
            raise typer.Exit(1)
        for service in running:
            line = f"{service.name:<12} {service.url}/docs   log: {service.log_file}"
            out.print(line, soft_wrap=True, markup=False)
        keys = state / "api-keys.json"
        out.print(f"API keys (Authorization: Bearer <key>): {keys}", soft_wrap=True, markup=False)
        out.print("all services ready; Ctrl-C to stop", markup=False)
        supervisor = Supervisor(running, lambda msg: err.print(msg, markup=False))
        while not stopping:
            supervisor.check()
            time.sleep(0.5)
    finally:
        services.stop_all(running)
        out.print("services stopped; the stack keeps running (scripts/stack down stops it)")
