"""Prometheus metrics for whoever runs Porchlight (``PORCHLIGHT_METRICS_PORT``), in one registry per bot.

Labels are fixed vocabularies only: a command's name ("setup set", "checkin"), a component's family (the first two
fixed words of its custom id, "help:claim") or a job kind ("checkin.followup"). Never a member, server, channel or
message id, and never text anyone wrote.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from services.jobs import RunReport
from services.metric_labels import command_label

__all__ = ["Metrics", "command_label"]

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
LAG_BUCKETS = (0.1, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.interaction_seconds = Histogram(
            "porchlight_interaction_seconds",
            "Time to handle an interaction (slash command or component), by command",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.interactions_failed = Counter(
            "porchlight_interactions_failed",
            "Interactions that failed with an unexpected error",
            ["command"],
            registry=r,
        )
        self.jobs_due = Gauge("porchlight_jobs_due", "Scheduled jobs due now and not yet run", registry=r)
        self.job_lag = Histogram(
            "porchlight_job_lag_seconds",
            "How long after its due time a job started, by kind",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.job_failures = Counter(
            "porchlight_job_failures", "Job runs that failed (retried or given up), by kind", ["kind"], registry=r
        )
        self.dms_refused = Counter(
            "porchlight_dms_refused", "DMs Discord refused (the member's DMs are closed)", registry=r
        )
        self.gateway_latency = Gauge(
            "porchlight_gateway_latency_seconds", "Time between the last gateway heartbeat and its ack", registry=r
        )
        self.gateway_reconnects = Counter(
            "porchlight_gateway_reconnects",
            "Gateway connections after the first (resumed or re-identified)",
            registry=r,
        )
        self.database_bytes = Gauge("porchlight_database_bytes", "Database file size with its WAL", registry=r)

    def observe_job(self, kind: str, lag_seconds: float, report: RunReport) -> None:
        self.job_lag.labels(kind).observe(max(lag_seconds, 0.0))
        if report.failed or report.retried:
            self.job_failures.labels(kind).inc()

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        gauge.set_function(read)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
