"""The service's Prometheus metrics: one registry, every instrument, named in one place.

Labels hold only bounded values (route templates, command names the registry knows,
outcomes), never what a stranger typed, so `/metrics` reveals traffic and health but no
account, person or secret. Gauges about the outbox are read from the database when
scraped (`metrics_core.delivery.outbox.backlog`), so every replica reports the same truth
about the shared queue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from metrics_core.delivery.outbox import Backlog

_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
"""Seconds from an alert being owed to it landing: sub-second normally, minutes when a
platform is down, an hour when it stays down."""


@dataclass
class Telemetry:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "closeloop_http_requests",
            "HTTP requests served",
            ("method", "route", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "closeloop_http_request_seconds",
            "HTTP request latency",
            ("method", "route"),
            registry=r,
        )
        self.commands = Counter(
            "closeloop_commands",
            "Commands answered, by command and outcome (answer, problem, failure)",
            ("command", "outcome"),
            registry=r,
        )
        self.command_latency = Histogram(
            "closeloop_command_seconds", "Time to answer a command", ("command",), registry=r
        )
        self.outbox_pending = Gauge(
            "closeloop_outbox_pending", "Chat messages owed and not yet sent", registry=r
        )
        self.outbox_oldest = Gauge(
            "closeloop_outbox_oldest_age_seconds",
            "How long the oldest owed chat message has waited",
            registry=r,
        )
        self.delivery_lag = Histogram(
            "closeloop_alert_delivery_lag_seconds",
            "From a message being owed (a survey answer committed) to it landing in chat",
            ("kind",),
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.digest_runs = Counter(
            "closeloop_digest_runs",
            "Digest rounds by outcome (sent, taken by another replica, not due, gone, failed)",
            ("outcome",),
            registry=r,
        )
        self.leader = Gauge(
            "closeloop_scheduler_leader",
            "1 while this process runs the digest scheduler, else 0",
            registry=r,
        )

    def command_answered(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.command_latency.labels(command).observe(seconds)

    def delivered(self, kind: str, owed_at: dt.datetime, now: dt.datetime) -> None:
        self.delivery_lag.labels(kind).observe(max(0.0, (now - owed_at).total_seconds()))

    def exposition(self, backlog: Backlog | None, now: dt.datetime) -> bytes:
        """The Prometheus text; the outbox gauges from `backlog` when it could be read."""
        if backlog is not None:
            self.outbox_pending.set(backlog.pending)
            oldest = backlog.oldest
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            self.outbox_oldest.set(max(0.0, age))
        return generate_latest(self.registry)
