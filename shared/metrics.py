"""Prometheus metrics of one service, in a registry of its own (no process-global state).

The counters the architecture asks for: commands by outcome, events appended, outbox lag,
consumer lag, dead letters and transient failures, whether the store takes writes, and HTTP
requests by route template.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Create one per app; `render()` is what `GET /metrics` returns."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        Info("service", "The service these metrics describe.", registry=registry).info(
            {"service": service}
        )
        self.commands_total = Counter(
            "commands_total",
            "Commands handled, by outcome (accepted, refused, conflict, failed).",
            ["command", "outcome"],
            registry=registry,
        )
        self.events_appended_total = Counter(
            "events_appended_total", "Events appended to the store.", ["type"], registry=registry
        )
        self.outbox_lag_events = Gauge(
            "outbox_lag_events",
            "Committed events not yet confirmed in the stream.",
            registry=registry,
        )
        self.consumer_lag_events = Gauge(
            "consumer_lag_events",
            "Messages a consumer has still to process.",
            ["consumer"],
            registry=registry,
        )
        self.scheduled_due_events = Gauge(
            "scheduled_due_events",
            "What the scheduler finds due by the service's clock and has not yet done.",
            registry=registry,
        )
        self.leads = Gauge(
            "leads",
            "1 while this process leads a singleton task (outbox relay, scheduler) among the "
            "service's replicas; on SQLite, where there is one process, it is not set.",
            ["task"],
            registry=registry,
        )
        self.consumer_messages_total = Counter(
            "consumer_messages_total",
            "Messages this process's consumers handled, by outcome (applied, duplicate, gap, …).",
            ["consumer", "outcome"],
            registry=registry,
        )
        self.dead_letters_total = Counter(
            "dead_letters_total",
            "Messages moved to the dead-letter stream.",
            ["consumer"],
            registry=registry,
        )
        self.untrusted_events_total = Counter(
            "untrusted_events_total",
            "Events refused unapplied: unsigned, unknown key, bad signature, wrong service "
            "(an alert: someone other than the producer speaks on the bus).",
            ["consumer", "reason"],
            registry=registry,
        )
        self.quarantined_events_total = Counter(
            "quarantined_events_total",
            "Events dead-lettered unapplied: another event at a version already processed "
            "(version-conflict) or a gap that never filled (gap-unfilled).",
            ["consumer", "reason"],
            registry=registry,
        )
        self.transient_failures_total = Counter(
            "transient_failures_total",
            "Messages a consumer gave back to retry after a transient failure (store, network).",
            ["consumer"],
            registry=registry,
        )
        self.store_available = Gauge(
            "store_available",
            "1 while the service's store takes writes, 0 from a transient failure until it does.",
            registry=registry,
        )
        self.store_available.set(1)
        self.http_requests_total = Counter(
            "http_requests_total",
            "HTTP requests, by route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration, by route template.",
            ["method", "route"],
            registry=registry,
        )

    def alert(self, consumer: str, reason: str) -> None:
        """Count a message a consumer refused (`Consumer.on_alert`)."""
        if reason in ("version-conflict", "gap-unfilled"):
            self.quarantined_events_total.labels(consumer, reason).inc()
        else:
            self.untrusted_events_total.labels(consumer, reason).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition format (`CONTENT_TYPE`)."""
        data: bytes = generate_latest(self.registry)
        return data
