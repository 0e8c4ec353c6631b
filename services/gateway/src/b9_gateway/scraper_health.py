"""A scraper's health and its recent failures, from its replicas' heartbeats (KV ``heartbeats``)
and its recent ``scrape.attempted`` rows (``scrape_attempts``: outcome, reason, message).

health (first rule that applies):
- ``stopped``: disabled in the control KV, or enabled with no live replica;
- ``not_configured``: every live replica says so (e.g. the Instagram scraper without a key);
- ``failing``: ≥ ``FAILING_RATIO`` of the recent attempts failed;
- ``waiting_for_budget``: a replica waits for its request budget to refill;
- ``degraded``: ≥ ``DEGRADED_RATIO`` of the recent attempts failed, or some replicas are not
  configured;
- ``ok`` otherwise.
"Recent attempts" are the last ``WINDOW_ATTEMPTS`` attempts within ``WINDOW_SECONDS`` (at least
``MIN_ATTEMPTS``); an attempt failed when its outcome is in ``FAILED_OUTCOMES`` (a target that
does not exist, is private or banned is an answer, not a failure of the scraper) and its reason
is not ``interrupted`` (cut short by a disable: the scraper was stopped, the upstream is fine).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import asyncpg
import msgspec
from b9_readmodel import attempts

WINDOW_SECONDS = 15 * 60
WINDOW_ATTEMPTS = 20
MIN_ATTEMPTS = 1
FAILING_RATIO = 0.8
DEGRADED_RATIO = 0.2
LAST_FAILURES = 10  # in GET /scrapers; GET /scrapers/{scraper}/failures takes ?limit= up to 200
FAILED_OUTCOMES = ("failed", "rate_limited", "not_configured")
NOT_A_FAILURE = ("interrupted",)
WAITING_STATUSES = ("budget_exhausted", "waiting_for_budget")

Health = Literal["ok", "degraded", "failing", "not_configured", "stopped", "waiting_for_budget"]

class Failure(msgspec.Struct):
    at: str
    target_kind: str
    target: str
    outcome: str
    reason: str
    message: str | None
    http_status: int | None
    replica: str | None


class HealthStatus(msgspec.Struct):
    state: Health
    explanation: str
    recent_attempts: int
    recent_failures: int
    window_seconds: int


async def failures(conn: asyncpg.Connection, scraper: str, limit: int) -> list[dict[str, Any]]:
    out = []
    for r in await attempts.failures(conn, scraper, limit):
        row = dict(r)
        out.append({"at": row.pop("fact_at").isoformat(), **row})
    return out


def assess(enabled: bool, replicas: list[dict[str, Any]], recent: list[dict[str, Any]],
           updated_by: str | None = None) -> dict[str, Any]:
    """The health rules (module docstring) over plain values: unit-testable."""
    failed = [r for r in recent if r["outcome"] in FAILED_OUTCOMES and r["reason"] not in NOT_A_FAILURE]
    n, f = len(recent), len(failed)
    ratio = f / n if n >= MIN_ATTEMPTS and n else 0.0
    statuses = [str(r.get("status") or "running") for r in replicas]

    def out(state: Health, explanation: str) -> dict[str, Any]:
        return {"state": state, "explanation": explanation, "recent_attempts": n,
                "recent_failures": f, "window_seconds": WINDOW_SECONDS}

    if not enabled:
        return out("stopped", f"stopped in the control settings{f' by {updated_by}' if updated_by else ''}")
    if not replicas:
        return out("stopped", "enabled, but no replica is running (no heartbeat in the last 30 s)")
    unconfigured = statuses.count("not_configured")
    if unconfigured == len(statuses):
        return out("not_configured", "not configured: its API key is not set, so it sends nothing")
    if ratio >= FAILING_RATIO:
        return out("failing", f"{f} of the last {n} attempts failed: {_summary(failed)}")
    if any(s in WAITING_STATUSES for s in statuses):
        return out("waiting_for_budget", "the request budget is used up; waiting for it to refill")
    if ratio >= DEGRADED_RATIO:
        return out("degraded", f"{f} of the last {n} attempts failed: {_summary(failed)}")
    if unconfigured:
        return out("degraded", f"{unconfigured} of {len(statuses)} replicas are not configured")
    if not n:
        return out("ok", f"running; no attempt in the last {WINDOW_SECONDS // 60} min")
    return out("ok", f"{n - f} of the last {n} attempts got an answer")


def _summary(failed: list[dict[str, Any]]) -> str:
    reason, count = Counter(r["reason"] for r in failed).most_common(1)[0]
    latest = failed[0].get("message") or reason
    return f"{reason} ×{count} (latest: {latest})"[:300]


async def add_health(pool: asyncpg.Pool, status: dict[str, Any]) -> dict[str, Any]:
    """``status`` (GET /scrapers' shape) with ``health``, ``last_failures`` and
    ``today.by_reason`` (failures today by reason, plus ``ok`` = successes)."""
    scraper = status["scraper"]
    async with pool.acquire() as conn:
        recent = [dict(r) for r in await attempts.recent(conn, scraper, float(WINDOW_SECONDS), WINDOW_ATTEMPTS)]
        last = await failures(conn, scraper, LAST_FAILURES)
        by_reason = await attempts.failures_today_by_reason(conn, scraper)
    ok = int(status["today"].get("successes") or 0)
    status["today"]["by_reason"] = {**({"ok": ok} if ok else {}), **by_reason}
    status["health"] = assess(bool(status["enabled"]), status["replicas"], recent,
                              (status.get("control") or {}).get("updated_by"))
    status["last_failures"] = last
    return status
