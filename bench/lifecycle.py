"""Benchmark: N customers' whole lifecycle through the four services, each its own process.

An external producer (plain aiokafka, not the services' code) publishes every customer's
facts as other company systems would — registration, two purchases, two contacts, a
complaint, a low survey, an overdue payment — as CloudEvents built from the committed
golden examples, keyed by customer id. The overdue payment makes loyalty detect a risk,
offboarding opens a case, and a "case desk" (a manager's client of offboarding's HTTP API,
the only way a case concludes) chooses terminate, holds a round and agrees the exit; the
exit makes loyalty settle the account and contacts mark the customer exiting. The clock
stops when every expected effect of every customer is stored (count queries in MongoDB).
See ``bench/README.md`` (section ``lifecycle.py``).

    uv run --frozen python bench/lifecycle.py --customers 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from crm_events.base import EventData
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_events.inbound import PaymentOverdue, PurchaseRecorded
from crm_events.offboarding import OffboardingCaseOpened

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
STATE_DIR = REPO / ".stack" / "bench-lifecycle"
LOG_DIR = STATE_DIR / "service-logs"
MONGO_VENV = REPO / ".stack" / "mongo-venv"  # shared with the dev and test stacks
KAFKA_PORT, MONGO_PORT = 39194, 38219
SERVICES = ("contacts", "feedback", "loyalty", "offboarding")
API_KEYS = {"bench-manager": "manager", "bench-system": "system"}
MANAGER = {"Authorization": "Bearer bench-manager"}
TARGET_EVENTS_PER_S = 1000  # issue 7
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[lifecycle] {message}", file=sys.stderr, flush=True)


# --- the lifecycle: what is published, and what must be stored ----------------------------
# (step, model, events per customer) in the order a customer lives them.
STEPS: tuple[tuple[str, type[EventData], int], ...] = (
    ("registration", CustomerRegistered, 1),
    ("purchase", PurchaseRecorded, 2),
    ("contact", ContactLogged, 2),
    ("complaint", ComplaintRaised, 1),
    ("survey", SurveyAnswered, 1),
    ("payment_overdue", PaymentOverdue, 1),
)
EVENTS_PER_CUSTOMER = sum(n for _, _, n in STEPS)
# Through offboarding's HTTP API per customer (no inbound contract concludes a case).
COMMANDS_PER_CUSTOMER = 3


@dataclass(frozen=True)
class Probe:
    """Where one event's primary effect shows: a document in ``database.collection`` whose
    ``field`` equals ``value`` (and that matches ``extra``)."""

    service: str
    collection: str
    field: str
    value: str
    extra: tuple[tuple[str, str], ...] = ()


@dataclass
class Planned:
    step: str
    topic: str
    key: bytes
    value: bytes
    probes: tuple[Probe, ...]
    published_at: float = 0.0
    stored_at: float = 0.0


def customer_ids(session: str, start: int, count: int) -> list[str]:
    return [f"cus-{session}-{i:06d}" for i in range(start, start + count)]


def _event(model: type[EventData], customer: str, now: datetime, **data: Any) -> bytes:
    """A golden example of ``model`` as another company system would publish it now: a new
    id, the customer as subject and key, the data re-validated against the contract."""
    golden = load_golden(model)
    payload = model.model_validate({**golden.data, "customer_id": customer, **data})
    event_id = str(uuid.uuid4())
    event = golden.model_copy(
        update={
            "id": event_id,
            "subject": customer,
            "time": now,
            "correlationid": event_id,
            "causationid": None,
            "data": payload.model_dump(mode="json", exclude_none=True),
        }
    )
    return event.to_bytes()


def lifecycle_events(customer: str, now: datetime) -> list[tuple[str, type[EventData], bytes]]:
    """One customer's facts. Deadlines lie in the future (no SLA breach during the run);
    the survey is low and the payment overdue, so loyalty raises one hard-signal risk."""
    n = customer.rsplit("-", 1)[1]
    ago = [now - timedelta(minutes=m) for m in range(10, 0, -1)]
    return [
        ("registration", CustomerRegistered, _event(CustomerRegistered, customer, ago[0])),
        *(
            (
                "purchase",
                PurchaseRecorded,
                _event(
                    PurchaseRecorded,
                    customer,
                    ago[i],
                    order_id=f"ord-{customer}-{i}",
                    amount_minor=10_000 * i,
                    currency="EUR",
                    purchased_at=ago[i].isoformat(),
                ),
            )
            for i in (1, 2)
        ),
        *(
            (
                "contact",
                ContactLogged,
                _event(ContactLogged, customer, ago[i], occurred_at=ago[i].isoformat()),
            )
            for i in (3, 4)
        ),
        (
            "complaint",
            ComplaintRaised,
            _event(
                ComplaintRaised,
                customer,
                ago[5],
                complaint_id=f"cmp-{customer}",
                severity="medium",
                raised_at=ago[5].isoformat(),
                first_response_due_at=(now + timedelta(days=1)).isoformat(),
                resolution_due_at=(now + timedelta(days=3)).isoformat(),
            ),
        ),
        (
            "survey",
            SurveyAnswered,
            _event(
                SurveyAnswered,
                customer,
                ago[6],
                survey_id=f"srv-{customer}",
                complaint_id=None,
                trigger="periodic",
                csat=1,
                nps=2,
                answered_at=ago[6].isoformat(),
            ),
        ),
        (
            "payment_overdue",
            PaymentOverdue,
            _event(PaymentOverdue, customer, ago[7], invoice_id=f"inv-{n}-{customer}"),
        ),
    ]


def probes_of(step: str, customer: str, value: bytes) -> tuple[Probe, ...]:
    """The primary effect of each fact (the one the latency is measured to)."""
    body = json.loads(value)
    data = body["data"]
    return {
        "registration": (
            Probe("contacts", "customers", "_id", customer),
            Probe("loyalty", "accounts", "_id", customer),
        ),
        "purchase": (
            Probe("loyalty", "ledger", "_id", f"earn:{body['id']}", (("state", "posted"),)),
        ),
        "contact": (Probe("contacts", "timeline", "_id", body["id"]),),
        "complaint": (Probe("feedback", "complaints", "_id", data.get("complaint_id", "")),),
        "survey": (Probe("feedback", "surveys", "_id", data.get("survey_id", "")),),
        # the overdue payment → RiskDetected (loyalty) → a case opened (offboarding)
        "payment_overdue": (Probe("offboarding", "cases", "customer_id", customer),),
    }[step]


def plan(customers: Sequence[str], prefix: str, order: str) -> list[Planned]:
    """Every customer's facts, ordered step by step across customers (``steps``: a
    backlog in time order) or customer by customer (``customer``: each whole lifecycle
    at once, so most facts reach loyalty and contacts before their registration)."""
    now = datetime.now(UTC)
    per_customer = [
        [
            Planned(step, prefix + model.topic(), c.encode(), value, probes_of(step, c, value))
            for step, model, value in lifecycle_events(c, now)
        ]
        for c in customers
    ]
    if order == "customer":
        return [p for lifecycle in per_customer for p in lifecycle]
    return [lifecycle[i] for i in range(EVENTS_PER_CUSTOMER) for lifecycle in per_customer]


def expected_counts(customers: int) -> dict[tuple[str, str, str], int]:
    """(service, collection, filter as JSON) → documents once every lifecycle ended."""
    n = customers
    return {
        ("contacts", "customers", '{"lifecycle": "exiting"}'): n,
        ("contacts", "timeline", '{"kind": "registered"}'): n,
        ("contacts", "timeline", '{"kind": "contact"}'): 2 * n,
        ("contacts", "timeline", '{"kind": "exit-agreed"}'): n,
        ("loyalty", "accounts", '{"status": "settled"}'): n,
        ("loyalty", "ledger", '{"kind": "earn", "state": "posted"}'): 2 * n,
        ("loyalty", "ledger", '{"kind": "settle"}'): n,
        ("feedback", "complaints", "{}"): n,
        ("feedback", "surveys", "{}"): n,
        ("offboarding", "cases", '{"state": "exit_agreed"}'): n,
    }


# The effects that come last (they need the exit): checked alone until they are complete.
LAST_EFFECTS = (
    ("loyalty", "accounts", '{"status": "settled"}'),
    ("contacts", "customers", '{"lifecycle": "exiting"}'),
)


# --- the services as processes --------------------------------------------------------------
@dataclass
class Service:
    name: str
    database: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_settings(
    name: str, *, kafka: str, mongo_uri: str, database: str, prefix: str, on_tansu: bool
) -> dict[str, str]:
    """Production defaults (poll and sweep intervals, batch size, concurrency, INFO logs),
    except what a fresh run needs: its servers, database, topic prefix and API keys. The
    group timeouts are Kafka's own on Apache Kafka; short ones only on Tansu."""
    settings = {
        "kafka_bootstrap_servers": kafka,
        "mongo_uri": mongo_uri,
        "mongo_database": database,
        "kafka_topic_prefix": prefix,
        "kafka_session_timeout_ms": "3000" if on_tansu else "10000",
        "kafka_idempotent_producer": "false" if on_tansu else "true",
        "api_keys": json.dumps(API_KEYS),
    }
    return {f"CRM_{name.upper()}_{k.upper()}": v for k, v in settings.items()}


def make_services(
    *, kafka: str, mongo_uri: str, session: str, prefix: str, on_tansu: bool
) -> dict[str, Service]:
    services = {}
    for name in SERVICES:
        port = free_port()
        database = f"bench_{session}_{name}"
        env = {
            **os.environ,
            **service_settings(
                name,
                kafka=kafka,
                mongo_uri=mongo_uri,
                database=database,
                prefix=prefix,
                on_tansu=on_tansu,
            ),
            f"CRM_{name.upper()}_HTTP_PORT": str(port),
            f"CRM_{name.upper()}_HTTP_HOST": "127.0.0.1",
        }
        log_path = LOG_DIR / f"{session}-{name}.log"
        services[name] = Service(name, database, port, env, log_path)
    return services


async def start_services(services: dict[str, Service], timeout: float = 120.0) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for service in services.values():
        with service.log_path.open("ab") as out:
            service.proc = subprocess.Popen(  # noqa: ASYNC220 - long-lived children
                [sys.executable, "-m", f"crm_{service.name}"],
                env=service.env,
                stdout=out,
                stderr=out,
            )
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        for service in services.values():
            while True:
                assert service.proc is not None
                if service.proc.poll() is not None:
                    raise RuntimeError(f"{service.name} exited; see {service.log_path}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(service.url + "/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service.name} not ready; see {service.log_path}")
                await asyncio.sleep(0.2)


def stop_services(services: dict[str, Service]) -> None:
    for service in services.values():
        if service.proc is not None and service.proc.poll() is None:
            service.proc.send_signal(signal.SIGTERM)
    for service in services.values():
        if service.proc is None:
            continue
        try:
            service.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.proc.kill()
            service.proc.wait(timeout=10)


# --- measurements from outside: CPU, metrics ------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (and its reaped children) from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15)
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    found = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            found[name] = cpu_seconds(pid)
    return found


def parse_metrics(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric in Prometheus text."""
    samples = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) :].rsplit(" ", 1)
            samples[labels] = float(value)
    return samples


async def scrape(services: dict[str, Service], name: str) -> dict[str, dict[str, float]]:
    async with httpx.AsyncClient(timeout=30) as client:
        found = {}
        for service in services.values():
            text = (await client.get(service.url + "/metrics")).text
            found[service.name] = parse_metrics(text, name)
        return found


def mongo_commands(samples: dict[str, float]) -> Counter[str]:
    """``command:collection`` → count, from crm_mongo_commands_total samples."""
    counts: Counter[str] = Counter()
    for labels, value in samples.items():
        parts = dict(p.split("=", 1) for p in labels.strip("{}").split(",") if "=" in p)
        key = parts.get("command", "").strip('"') + ":" + parts.get("collection", "").strip('"')
        counts[key] += int(value)
    return counts


def outcomes(samples: dict[str, float]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for labels, value in samples.items():
        for outcome in ("applied", "duplicate", "parked", "dead_lettered", "unparked_applied"):
            if f'outcome="{outcome}"' in labels:
                counts[outcome] += int(value)
    return counts


# --- the external side: producer, case desk, effect checks -----------------------------------
class CaseDesk:
    """A manager's client: for every case opened it chooses terminate, records a round and
    agrees the exit through offboarding's HTTP API (what concludes a case; ExitAgreed has
    no inbound contract). Each command carries an Idempotency-Key, so a retry is harmless."""

    def __init__(self, kafka: str, topic: str, url: str, concurrency: int = 8) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka,
            group_id=f"bench-desk-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=True,
        )
        self.http = httpx.AsyncClient(base_url=url, timeout=60, headers=MANAGER)
        self.limit = asyncio.Semaphore(concurrency)
        self.concluded: set[str] = set()
        self.expected = 0  # cases to conclude before all_concluded is set
        self.all_concluded = asyncio.Event()
        self.failures: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._runner = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for record in self.consumer:
            case = json.loads(record.value)["data"]
            task = asyncio.create_task(self.conclude(case["case_id"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def conclude(self, case_id: str) -> None:
        if case_id in self.concluded:
            return
        now = datetime.now(UTC)
        steps = (
            (
                "strategy",
                {
                    "strategy": "terminate",
                    "compensation_minor": 5_000,
                    "currency": "EUR",
                    "reason": "payment overdue, customer leaves",
                    "decided_by": "mgr-bench",
                },
            ),
            (
                "negotiation-rounds",
                {
                    "channel": "meeting",
                    "participants": ["mgr-bench"],
                    "outcome": "agreement_reached",
                },
            ),
            (
                "exit",
                {
                    "effective_date": (now + timedelta(days=30)).isoformat(),
                    "compensation_minor": 5_000,
                    "currency": "EUR",
                    "terms": "compensation paid, points settled",
                    "agreed_by": "mgr-bench",
                },
            ),
        )
        async with self.limit:
            for action, body in steps:
                headers = {"Idempotency-Key": f"bench-{action}-{case_id}"}
                try:
                    response = await self.http.post(
                        f"/cases/{case_id}/{action}", json=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    self.failures.append(f"{case_id} {action}: {type(exc).__name__}")
                    return
                if response.status_code not in (200, 201):
                    self.failures.append(f"{case_id} {action}: {response.status_code}")
                    return
        self.concluded.add(case_id)
        if len(self.concluded) >= self.expected:
            self.all_concluded.set()

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.consumer.stop()
        await self.http.aclose()


async def publish(
    producer: AIOKafkaProducer, events: Sequence[Planned], rate: float | None
) -> float:
    """Send every event (paced at ``rate`` events/s when given); returns when all are
    acknowledged. Each event keeps the moment it was handed to the producer."""
    futures = []
    start = time.perf_counter()
    for i, event in enumerate(events):
        if rate is not None:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        event.published_at = time.perf_counter()
        futures.append(await producer.send(event.topic, event.value, key=event.key))
    await asyncio.gather(*futures)
    return time.perf_counter()


class Effects:
    """Count queries against the services' databases (the bench's own client)."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], services: dict[str, Service]):
        self.client = client
        self.databases = {name: s.database for name, s in services.items()}

    async def count(self, service: str, collection: str, filter_json: str) -> int:
        db = self.client[self.databases[service]]
        return await db[collection].count_documents(json.loads(filter_json))

    async def missing(self, expected: dict[tuple[str, str, str], int]) -> dict[str, str]:
        found = {}
        for (service, collection, flt), n in expected.items():
            have = await self.count(service, collection, flt)
            if have != n:
                found[f"{service}.{collection} {flt}"] = f"{have} of {n}"
        return found

    async def wait_complete(
        self,
        expected: dict[tuple[str, str, str], int],
        timeout: float,
        *,
        ready: asyncio.Event | None = None,
        poll_s: float = 1.0,
    ) -> float:
        """Once ``ready`` is set (the case desk concluded every case: no MongoDB load before),
        poll the last effects, then all of them; returns the moment (perf_counter) the
        check that found everything completed. Raises with what is missing on timeout.

        Count queries with these filters are full scans on nx-27017 (~0.1 s each at 10k
        documents, in the server every service waits on), so they wait for the desk."""
        deadline = time.perf_counter() + timeout
        last: dict[str, str] = {"case desk": "not done"}
        if ready is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), timeout)
        while time.perf_counter() < deadline:
            last = {}
            for key in LAST_EFFECTS:
                have = await self.count(*key)
                if have < expected[key]:
                    last[" ".join(key)] = f"{have} of {expected[key]}"
            if not last:
                last = await self.missing(expected)
                if not last:
                    return time.perf_counter()
            await asyncio.sleep(poll_s)
        raise RuntimeError(f"effects missing after {timeout:.0f} s: {last}")

    async def watch_latency(self, events: Sequence[Planned], stop: asyncio.Event) -> None:
        """Until ``stop``: every 0.1 s look up the primary effects of published events
        not seen yet (one ``$in`` query per collection); the moment a query returns is an
        event's stored_at (latency resolution ≈ the poll period + one query)."""
        waiting = list(events)
        while waiting:
            pending = [e for e in waiting if e.published_at and not e.stored_at]
            groups: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], set[str]] = {}
            for e in pending:
                for p in e.probes:
                    groups.setdefault((p.service, p.collection, p.field, p.extra), set()).add(
                        p.value
                    )
            seen: set[tuple[str, str, str, str]] = set()
            for (service, collection, fld, extra), values in groups.items():
                query = {fld: {"$in": sorted(values)}, **dict(extra)}
                db = self.client[self.databases[service]]
                async for doc in db[collection].find(query, {fld: 1}):
                    seen.add((service, collection, fld, str(doc[fld])))
            now = time.perf_counter()
            for e in pending:
                if all((p.service, p.collection, p.field, p.value) in seen for p in e.probes):
                    e.stored_at = now
            waiting = [e for e in waiting if not e.stored_at]
            if stop.is_set() and not pending:
                return
            await asyncio.sleep(0.1)


# --- profiling (py-spy, optional) ------------------------------------------------------------
def start_py_spy(pids: dict[str, int], seconds: int, session: str) -> dict[str, Any]:
    """``py-spy record`` on each Python process for ``seconds`` (raw collapsed stacks)."""
    binary = shutil.which("py-spy") or str(Path.home() / ".local" / "bin" / "py-spy")
    if not Path(binary).exists():
        raise SystemExit("--py-spy needs py-spy on PATH (e.g. `uv tool install py-spy`)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, pid in pids.items():
        out = RESULTS_DIR / f"lifecycle-{session}-{name}.pyspy.txt"
        command = [binary, "record", "--pid", str(pid), "--duration", str(seconds)]
        command += ["--rate", "50", "--format", "raw", "--nonblocking", "--output", str(out)]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running[name] = (proc, out)
    return running


# Leaf frames where a thread waits rather than runs (py-spy samples every thread).
# nx-27017 serialises each database behind a lock: a thread blocked in ``_serialize``'s
# wrapper waits too.
IDLE_LEAVES = (
    "EpollSelector.select",
    "_worker ",
    "Condition.wait",
    "Thread.join",
    "_serialize.<locals>.wrapper",
)


def summarise_py_spy(running: dict[str, Any], seconds: int, top: int = 12) -> dict[str, Any]:
    """Per process: busy samples (not waiting in a selector or a pool queue) per second of
    wall clock at 50 Hz (1.0 = one thread busy all the time) and the hottest frames, by
    self time and by time under a frame, as shares of the busy samples."""
    summary: dict[str, Any] = {}
    for name, (proc, out) in running.items():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=seconds + 30)
        if not out.exists():
            summary[name] = {"error": "no profile written"}
            continue
        own: Counter[str] = Counter()
        under: Counter[str] = Counter()
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [
                f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")") for f in stack.split(";")
            ]
            if frames[-1].startswith(IDLE_LEAVES):
                continue
            own[frames[-1]] += int(count)
            for frame in set(frames):
                under[frame] += int(count)
        busy = sum(own.values())
        summary[name] = {
            "file": str(out.relative_to(REPO)),
            "busy_samples": busy,
            "busy_threads": round(busy / (seconds * 50), 3),
            "self": [(f, round(n / max(busy, 1), 3)) for f, n in own.most_common(top)],
            "inclusive": [(f, round(n / max(busy, 1), 3)) for f, n in under.most_common(top * 3)],
        }
    return summary


# --- the runs --------------------------------------------------------------------------------
@dataclass
class Options:
    customers: int = 1000
    order: str = "steps"
    latency_customers: int | None = None  # None: about 60 s of publishing at half the rate
    latency_rate: float | None = None  # None: half the measured rate
    py_spy: int = 0
    timeout_s: float | None = None
    keep_data: bool = False


@dataclass
class Phase:
    customers: int
    events: int
    commands: int
    seconds: float
    publish_seconds: float
    events_per_s: float
    cpu_ms_per_event: dict[str, float]
    cpu_share: dict[str, float]
    mongo_round_trips_per_event: dict[str, float]
    mongo_commands: dict[str, dict[str, int]]
    consumed: dict[str, dict[str, int]]
    loadavg_before: float
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    rate: float | None = None
    cpu_ms_per_event_total: float = 0.0
    # What the CPU alone would allow if these processes had the machine's CPUs to
    # themselves: nproc / (CPU seconds per event); nx-27017 is one Python process, so
    # it alone allows at most 1 / (its CPU seconds per event).
    cpu_ceiling_events_per_s: float = 0.0
    mongo_server_ceiling_events_per_s: float | None = None


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_table(events: Sequence[Planned]) -> dict[str, dict[str, float]]:
    """p50/p99/max publish → primary effect (ms), overall and per step."""
    by_step: dict[str, list[float]] = {"all": []}
    for e in events:
        if e.stored_at:
            ms = (e.stored_at - e.published_at) * 1000
            by_step["all"].append(ms)
            by_step.setdefault(e.step, []).append(ms)
    return {
        step: {
            "n": len(v),
            "p50": round(percentile(v, 0.50), 1),
            "p99": round(percentile(v, 0.99), 1),
            "max": round(max(v), 1),
            "mean": round(statistics.fmean(v), 1),
        }
        for step, v in by_step.items()
        if v
    }


class Platform:
    """The four services, the case desk, the producer and the effect checks of one run."""

    def __init__(
        self, kafka: str, mongo_uri: str, *, server_pids: dict[str, int], on_tansu: bool
    ) -> None:
        self.session = f"{datetime.now(UTC):%H%M%S}{uuid.uuid4().hex[:4]}"
        self.prefix = f"bench-{self.session}."
        self.kafka, self.mongo_uri, self.on_tansu = kafka, mongo_uri, on_tansu
        self.services = make_services(
            kafka=kafka,
            mongo_uri=mongo_uri,
            session=self.session,
            prefix=self.prefix,
            on_tansu=on_tansu,
        )
        self.server_pids = server_pids
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
        self.effects = Effects(self.client, self.services)
        self.desk = CaseDesk(
            kafka, self.prefix + OffboardingCaseOpened.topic(), self.services["offboarding"].url
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=kafka,
            acks="all",
            linger_ms=5,
            enable_idempotence=not on_tansu,
            max_batch_size=256 * 1024,
        )
        self.customers = 0
        self.profile: dict[str, Any] = {}

    async def __aenter__(self) -> Platform:
        log(f"session {self.session}: starting the four services (logs in {LOG_DIR})")
        try:
            await start_services(self.services)
            await self.desk.start()
            await self.producer.start()
        except BaseException:
            stop_services(self.services)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.producer.stop()
        with contextlib.suppress(Exception):
            await self.desk.stop()
        stop_services(self.services)

    async def drop(self) -> None:
        for service in self.services.values():
            with contextlib.suppress(Exception):
                await self.client.drop_database(service.database)
        await self.client.close()

    def pids(self) -> dict[str, int]:
        pids = {name: s.proc.pid for name, s in self.services.items() if s.proc is not None}
        return {**pids, **self.server_pids, "bench": os.getpid()}

    async def phase(
        self, customers: int, *, order: str, rate: float | None, timeout: float, py_spy: int = 0
    ) -> Phase:
        """Publish ``customers`` more lifecycles (at full speed, or paced at ``rate``) and
        wait until every effect of every customer so far is stored."""
        ids = customer_ids(self.session, self.customers, customers)
        events = plan(ids, self.prefix, order)
        self.customers += customers
        self.desk.expected = self.customers
        self.desk.all_concluded.clear()
        expected = expected_counts(self.customers)
        pids = self.pids()
        metrics_before = await scrape(self.services, "crm_mongo_commands_total")
        consumed_before = await scrape(self.services, "crm_events_consumed_total")
        load = os.getloadavg()[0]
        cpu_before = cpu_of(pids)
        stop = asyncio.Event()
        watcher = asyncio.create_task(self.effects.watch_latency(events, stop)) if rate else None
        t0 = time.perf_counter()
        profiles = start_py_spy(python_pids(pids), py_spy, self.session) if py_spy else {}
        published = await publish(self.producer, events, rate)
        try:
            done = await self.effects.wait_complete(
                expected, timeout, ready=self.desk.all_concluded
            )
        except RuntimeError as exc:
            failed = self.desk.failures[:5]
            raise RuntimeError(f"{exc}; case desk failures: {failed or 'none'}") from None
        cpu_after = cpu_of(pids)
        stop.set()
        if watcher is not None:
            await asyncio.wait_for(watcher, 60)
        metrics_after = await scrape(self.services, "crm_mongo_commands_total")
        consumed_after = await scrape(self.services, "crm_events_consumed_total")
        if self.desk.failures:
            raise RuntimeError(
                f"case desk: {len(self.desk.failures)} failed commands: {self.desk.failures[:5]}"
            )
        n = len(events)
        seconds = done - t0
        commands = {
            s: dict(
                (mongo_commands(metrics_after[s]) - mongo_commands(metrics_before[s])).most_common()
            )
            for s in self.services
        }
        phase = Phase(
            customers=customers,
            events=n,
            commands=customers * COMMANDS_PER_CUSTOMER,
            seconds=round(seconds, 3),
            publish_seconds=round(published - t0, 3),
            events_per_s=round(n / seconds, 1),
            cpu_ms_per_event={
                p: round((cpu_after[p] - cpu_before[p]) * 1000 / n, 3) for p in cpu_after
            },
            cpu_share={p: round((cpu_after[p] - cpu_before[p]) / seconds, 3) for p in cpu_after},
            mongo_round_trips_per_event={
                s: round(sum(c.values()) / n, 3) for s, c in commands.items()
            },
            mongo_commands=commands,
            consumed={
                s: dict(outcomes(consumed_after[s]) - outcomes(consumed_before[s]))
                for s in self.services
            },
            loadavg_before=load,
            rate=rate,
        )
        if rate:
            phase.latency_ms = latency_table(events)
        total = sum(phase.cpu_ms_per_event.values())
        phase.cpu_ms_per_event_total = round(total, 3)
        phase.cpu_ceiling_events_per_s = round(1000 * len(os.sched_getaffinity(0)) / total, 1)
        server = phase.cpu_ms_per_event.get("mongo-server")
        if server:
            phase.mongo_server_ceiling_events_per_s = round(1000 / server, 1)
        if profiles:
            self.profile = summarise_py_spy(profiles, py_spy)
        return phase

    async def dead_letters(self) -> dict[str, int]:
        consumed = await scrape(self.services, "crm_events_consumed_total")
        return {s: outcomes(v)["dead_lettered"] for s, v in consumed.items()}


def python_pids(pids: dict[str, int]) -> dict[str, int]:
    """The services and the MongoDB stand-in (nx-27017 is Python too), not the JVM."""
    return {name: pid for name, pid in pids.items() if name in (*SERVICES, "mongo-server")}


async def run_benchmark(
    options: Options,
    *,
    kafka: str,
    mongo_uri: str,
    server_pids: dict[str, int] | None = None,
    on_tansu: bool = False,
) -> dict[str, Any]:
    """Both phases against running servers; raises if any expected effect is missing or
    anything was dead-lettered. Returns the report's measurements."""
    n = options.customers
    timeout = options.timeout_s or max(600.0, n * EVENTS_PER_CUSTOMER / 5)
    platform_ = Platform(kafka, mongo_uri, server_pids=server_pids or {}, on_tansu=on_tansu)
    try:
        async with platform_ as crm:
            log(
                f"throughput: {n} customers, {n * EVENTS_PER_CUSTOMER} events, "
                f"order {options.order}"
            )
            throughput = await crm.phase(
                n, order=options.order, rate=None, timeout=timeout, py_spy=options.py_spy
            )
            log(f"throughput: {throughput.events_per_s:.0f} events/s ({throughput.seconds:.1f} s)")
            rate = options.latency_rate or throughput.events_per_s / 2
            sample = options.latency_customers
            if sample is None:
                sample = max(1, min(n, int(rate * 60 / EVENTS_PER_CUSTOMER)))
            latency = None
            if sample:
                log(f"latency: {sample} more customers paced at {rate:.0f} events/s")
                latency = await crm.phase(sample, order="steps", rate=rate, timeout=timeout)
                log(
                    f"latency: p50/p99 {latency.latency_ms['all']['p50']:.0f}/"
                    f"{latency.latency_ms['all']['p99']:.0f} ms"
                )
            dead = await crm.dead_letters()
            if any(dead.values()):
                raise RuntimeError(f"records were dead-lettered: {dead}")
            report: dict[str, Any] = {
                "session": crm.session,
                "throughput": asdict(throughput),
                "latency": asdict(latency) if latency else None,
                "dead_lettered": dead,
                "effects_checked": {
                    " ".join(k): v for k, v in expected_counts(crm.customers).items()
                },
            }
            if options.py_spy:
                report["profile"] = crm.profile
            return report
    finally:
        if not options.keep_data:
            await platform_.drop()
        else:
            await platform_.client.close()


# --- report ----------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {n: version(n) for n in ("aiokafka", "pymongo", "faststream", "pydantic")},
    }


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=120)
    t = report["throughput"]
    title = (
        f"lifecycle: {t['customers']} customers, {t['events']} external events "
        f"(+ {t['commands']} case-desk commands), order {report['params']['order']}"
    )
    table = Table(title=title)
    table.add_column("process")
    table.add_column("CPU ms/event", justify="right")
    table.add_column("CPU share", justify="right")
    table.add_column("Mongo round trips/event", justify="right")
    for proc in t["cpu_ms_per_event"]:
        trips = t["mongo_round_trips_per_event"].get(proc)
        table.add_row(
            proc,
            f"{t['cpu_ms_per_event'][proc]:.3f}",
            f"{t['cpu_share'][proc]:.0%}",
            "" if trips is None else f"{trips:.3f}",
        )
    verdict = "meets" if t["events_per_s"] >= TARGET_EVENTS_PER_S else "MISSES"
    table.add_row(
        "all", f"{t['cpu_ms_per_event_total']:.3f}", f"{sum(t['cpu_share'].values()):.0%}", ""
    )
    lines = [
        f"end to end: {t['events_per_s']:.0f} external events/s ({t['seconds']:.1f} s; "
        f"published in {t['publish_seconds']:.1f} s) — {verdict} the {TARGET_EVENTS_PER_S}/s "
        "target",
    ]
    lines.append(
        f"CPU alone would allow {t['cpu_ceiling_events_per_s']:.0f} events/s on "
        f"{report['machine']['nproc']} CPUs"
        + (
            f"; nx-27017 (one Python process) {t['mongo_server_ceiling_events_per_s']:.0f}/s"
            if t["mongo_server_ceiling_events_per_s"]
            else ""
        )
    )
    latency = report.get("latency")
    if latency:
        a = latency["latency_ms"]["all"]
        lines.append(
            f"latency at {latency['rate']:.0f} events/s ({latency['customers']} more customers): "
            f"p50 {a['p50']:.0f} ms, p99 {a['p99']:.0f} ms, max {a['max']:.0f} ms"
        )
        for step, v in latency["latency_ms"].items():
            if step != "all":
                lines.append(f"  {step:16} p50 {v['p50']:7.0f} ms  p99 {v['p99']:7.0f} ms")
    lines.append(f"load average at start {report['machine']['loadavg_at_start'][0]:.2f}")
    lines.append(f"$ {report['command']}")
    table.caption = "\n".join(lines)
    console.print(table)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000, help="lifecycles (N)")
    parser.add_argument(
        "--order",
        choices=("steps", "customer"),
        default="steps",
        help="steps: each step for every customer, then the next (a time-ordered backlog); "
        "customer: each whole lifecycle at once (facts before their registration → parking)",
    )
    parser.add_argument(
        "--latency-customers",
        type=int,
        help="customers of the paced phase (default: ~60 s of events at half the rate; 0: skip)",
    )
    parser.add_argument("--latency-rate", type=float, help="events/s of the paced phase")
    parser.add_argument(
        "--py-spy",
        type=int,
        default=0,
        metavar="SECONDS",
        help="profile the services and nx-27017 with py-spy for SECONDS",
    )
    parser.add_argument("--timeout", type=float, help="seconds to wait for the effects")
    parser.add_argument("--kafka", help="bootstrap servers (default: start a local stack)")
    parser.add_argument("--mongo", help="MongoDB URI (default: start a local stack)")
    parser.add_argument("--kafka-port", type=int, default=KAFKA_PORT)
    parser.add_argument("--mongo-port", type=int, default=MONGO_PORT)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep-stack", action="store_true")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be positive")
    return args


@contextlib.contextmanager
def servers(args: argparse.Namespace) -> Iterator[tuple[str, str, dict[str, int], bool, str]]:
    """The given servers, or a local stack of our own (stopped and wiped at the end)."""
    if args.kafka and args.mongo:
        yield args.kafka, args.mongo, {}, False, f"given: {args.kafka} + {args.mongo}"
        return
    from crm_stack.stack import LocalStack

    stack = LocalStack(
        STATE_DIR, args.kafka_port, args.mongo_port, venv_dir=MONGO_VENV, progress=log
    )
    if not any(c.up for c in stack.status()):
        stack.wipe()
    endpoints = stack.up()
    pids = {f"{c.name}-server": c.pid for c in stack.status() if c.pid is not None}
    label = f"local stack: {stack.config.kafka_label} + {stack.config.mongo_label}"
    try:
        yield (
            endpoints.kafka_bootstrap,
            endpoints.mongo_uri,
            pids,
            stack.config.kafka_engine == "tansu",
            label,
        )
    finally:
        if not args.keep_stack and endpoints.started:
            stack.down(wipe=True)
            log("local stack stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "uv run --frozen python " + shlex.join(sys.argv if argv is None else ["-", *argv])
    options = Options(
        customers=args.customers,
        order=args.order,
        latency_customers=args.latency_customers,
        latency_rate=args.latency_rate,
        py_spy=args.py_spy,
        timeout_s=args.timeout,
        keep_data=args.keep_data,
    )
    started_at = datetime.now(UTC)
    facts = machine()
    with servers(args) as (kafka, mongo_uri, pids, on_tansu, label):
        facts["servers"] = label
        with contextlib.redirect_stdout(sys.stderr):
            measured = asyncio.run(
                run_benchmark(
                    options, kafka=kafka, mongo_uri=mongo_uri, server_pids=pids, on_tansu=on_tansu
                )
            )
    report = {
        "benchmark": "lifecycle",
        "date": started_at.isoformat(timespec="seconds"),
        "command": command,
        "params": {
            "customers": args.customers,
            "order": args.order,
            "events_per_customer": EVENTS_PER_CUSTOMER,
            "commands_per_customer": COMMANDS_PER_CUSTOMER,
            "steps": [(s, m.__name__, k) for s, m, k in STEPS],
        },
        "machine": facts,
        **measured,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"lifecycle-{args.customers}-{started_at:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"results written to {out.relative_to(REPO)}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
