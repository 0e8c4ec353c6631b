"""Prometheus metrics shared by every service, and the HTTP endpoint that serves them."""

from __future__ import annotations

import logging
import socket

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

EVENTS_HANDLED = Counter(
    "b9_events_handled_total", "Events handled, by consumer, subject and outcome",
    ["consumer", "subject", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "b9_handler_seconds", "Handler latency per message or batch",
    ["consumer"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge("b9_consumer_lag", "Messages pending for the consumer", ["stream", "consumer"])
EVENTS_PUBLISHED = Counter("b9_events_published_total", "Events published", ["subject"])
UPSTREAM_CALLS = Counter("b9_upstream_calls_total", "Upstream HTTP calls", ["upstream", "status"])
UPSTREAM_BUDGET = Gauge("b9_upstream_budget_per_minute", "Configured upstream request budget (0 = none)",
                        ["upstream"])
SCRAPE_ATTEMPTS = Counter("b9_scrape_attempts_total", "Scrape attempts by scraper and outcome "
                          "(ok, not_found, private, banned, rate_limited, failed, ...)", ["scraper", "outcome"])


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve_metrics(port: int, host: str = "127.0.0.1") -> int | None:
    """Start the /metrics endpoint; 0 picks a free port, negative disables it."""
    if port < 0:
        return None
    chosen = port or free_port(host)
    start_http_server(chosen, addr=host)
    log.info("metrics endpoint up", extra={"url": f"http://{host}:{chosen}/metrics"})
    return chosen
