"""Prometheus metrics, one registry per service app (tests build several apps per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.consumed = Counter(
            "crm_events_consumed_total",
            "Consumed records by outcome (applied, duplicate, dead_lettered).",
            ["topic", "outcome"],
            registry=self.registry,
        ).labels
        self.handle_seconds = Histogram(
            "crm_event_handle_seconds",
            "Time to apply one consumed event, retries included.",
            ["topic"],
            registry=self.registry,
        ).labels
        self.dead_lettered = Counter(
            "crm_events_dead_lettered_total",
            "Records sent to a DLQ, by original topic and reason kind.",
            ["topic", "kind"],
            registry=self.registry,
        ).labels
        self.retries = Counter(
            "crm_handler_retries_total",
            "Handler attempts that failed and were retried, by error kind.",
            ["kind"],
            registry=self.registry,
        ).labels
        self.outbox_published = Counter(
            "crm_outbox_published_total",
            "Derived events relayed from the outbox to Kafka.",
            ["topic"],
            registry=self.registry,
        ).labels
        self.timer_failures = Counter(
            "crm_timer_failures_total",
            "Due-date handlers that raised (the document stays due and is retried).",
            ["sweeper", "error"],
            registry=self.registry,
        ).labels
        self.mongo_commands = Counter(
            "crm_mongo_commands_total",
            "MongoDB commands (round trips) sent by this process, by command and collection.",
            ["command", "collection"],
            registry=self.registry,
        ).labels
        self.consumer_lag = Gauge(
            "crm_consumer_lag",
            "Records not yet applied and committed, per assigned partition (at scrape time).",
            ["group", "topic", "partition"],
            registry=self.registry,
        )
        self.topics_short = Gauge(
            "crm_topics_fewer_partitions",
            "Topics found at start-up with fewer partitions than configured.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "crm_service_ready", "1 when the service reports ready.", registry=self.registry
        )
        self.info = Gauge(
            "crm_service_info", "Static service labels.", ["service"], registry=self.registry
        )
        self.info.labels(**labels).set(1)
