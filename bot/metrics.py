"""Prometheus metrics exposed at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UPDATES = Counter("thidua_updates_total", "Incoming updates handled", ["channel", "kind"])
DUPLICATES = Counter("thidua_duplicate_updates_total", "Repeated updates ignored", ["channel"])
HANDLER_ERRORS = Counter(
    "thidua_handler_errors_total", "Updates whose handling failed", ["channel"]
)
REJECTED = Counter(
    "thidua_rejected_requests_total", "Webhook calls refused", ["channel", "reason"]
)
SENT = Counter("thidua_messages_sent_total", "Messages sent to a platform", ["channel", "status"])
LATENCY = Histogram(
    "thidua_dispatch_seconds",
    "Time from an update reaching the core to its replies being ready",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DELIVERED = Counter(
    "thidua_outbox_results_total", "Outbox sends by outcome", ["channel", "status"]
)
