"""Scrapers: status (control KV, heartbeats, today's attempts), start/stop and config."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from b9_common.events import control as contract
from b9_readmodel import attempts as rm_attempts
from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import Field

from b9_gateway.control import SCRAPERS, InvalidControl, heartbeats, is_scraper_beat, read_control, write_control
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON
from b9_gateway.openapi import doc
from b9_gateway.schemas import StrictJson
from b9_gateway.scraper_health import Failure, HealthStatus, add_health, failures

router = APIRouter(prefix="/scrapers", tags=["scrapers"])
ScraperPath = Annotated[str, Path(pattern=r"^(reddit|instagram)$")]


class Replica(msgspec.Struct):
    replica: str
    status: str
    age_seconds: float | None
    version: str | None
    detail: dict[str, Any]


class Today(msgspec.Struct):
    attempts: int
    successes: int
    success_rate: float | None
    calls: int
    cost_usd: float
    by_outcome: dict[str, int]
    by_reason: dict[str, int]  # failures today by reason code (+ "ok": successes)


class ScraperStatus(msgspec.Struct):
    scraper: str
    enabled: bool
    control: dict[str, Any]
    replicas: list[Replica]
    current_cycle: int | None
    last_attempt_at: str | None
    today: Today
    health: HealthStatus
    last_failures: list[Failure]


# The limits are the catalogue's (b9_common.events.control); the API takes whole numbers and
# asks for at least 10 s between cycles and a budget of at least 1 (shorter intervals and a
# zero Instagram budget are for tests and operators writing the KV value themselves).
class ConfigBody(StrictJson):
    interval_seconds: int | None = Field(default=None, ge=10, le=contract.MAX_INTERVAL)
    batch_size: int | None = Field(default=None, ge=1, le=contract.MAX_BATCH)
    by: str = Field(default="api", min_length=1, max_length=100)


class RedditConfig(ConfigBody):
    """The Reddit scraper's budget is per minute (Reddit's own unit)."""

    requests_per_minute: int | None = Field(default=None, ge=1, le=contract.MAX_PER_MINUTE)


class InstagramConfig(ConfigBody):
    """The Instagram scraper's budget is per hour (the provider's plan unit)."""

    requests_per_hour: int | None = Field(default=None, ge=1, le=contract.MAX_PER_HOUR)


async def _write(deps: Deps, scraper: str, patch: dict[str, Any], by: str = "api") -> None:
    """Write the control value; one the catalogue refuses is a 422 with its reason."""
    try:
        await write_control(deps.control, scraper, patch, by=by)
    except InvalidControl as exc:
        field = re.search(r"at `\$\.(\w+)`", str(exc))
        loc = ("body", field.group(1)) if field else ("body",)
        raise RequestValidationError([{"loc": loc, "msg": str(exc), "type": "value_error"}]) from None


async def status_of(deps: Deps, scraper: str, beats: list[dict[str, Any]]) -> dict[str, Any]:
    control, _ = await read_control(deps.control, scraper)
    async with deps.pool.acquire() as conn:
        daily = await rm_attempts.today(conn, scraper)
        last = await rm_attempts.last_attempt(conn, scraper)
    by_outcome = {r["outcome"]: int(r["attempts"]) for r in daily}
    attempts = sum(by_outcome.values())
    ok = by_outcome.get("success", 0)
    mine = [b for b in beats if is_scraper_beat(b, scraper)]
    replicas: list[dict[str, Any]] = [
        {
            "replica": str(b.get("replica", b["key"])),
            "status": str(b.get("status", "")),
            "age_seconds": b.get("age_seconds"),
            "version": b.get("version"),
            "detail": b.get("detail") or {},
        }
        for b in mine
    ]
    cycles: list[int] = [c for b in replicas if isinstance(c := (b["detail"] or {}).get("cycle"), int)]
    cycle = max(cycles) if cycles else (int(last["cycle"]) if last and last["cycle"] is not None else None)
    return await add_health(deps.pool, {
        "scraper": scraper,
        "enabled": bool(control.get("enabled")),
        "control": control,
        "replicas": replicas,
        "current_cycle": cycle,
        "last_attempt_at": last["fact_at"].isoformat() if last["fact_at"] else None,
        "today": {
            "attempts": attempts,
            "successes": ok,
            "success_rate": round(100.0 * ok / attempts, 2) if attempts else None,
            "calls": int(sum(r["calls"] for r in daily)),
            "cost_usd": round(sum(r["cost"] for r in daily), 6),
            "by_outcome": by_outcome,
        },
    })


@router.get("", responses=doc(ScraperStatus, many=True), summary="Every scraper's status")
async def list_scrapers(deps: Deps = Depends(get_deps)) -> JSON:
    beats = await heartbeats(deps.heartbeats)
    return JSON([await status_of(deps, s, beats) for s in SCRAPERS])


@router.get("/{scraper}", responses=doc(ScraperStatus), summary="One scraper's status")
async def get_scraper(scraper: ScraperPath, deps: Deps = Depends(get_deps)) -> JSON:
    return JSON(await status_of(deps, scraper, await heartbeats(deps.heartbeats)))


@router.get("/{scraper}/failures", responses=doc(Failure, many=True),
            summary="The scraper's latest attempts that did not succeed, newest first, with their reason")
async def get_failures(scraper: ScraperPath, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                       deps: Deps = Depends(get_deps)) -> JSON:
    async with deps.pool.acquire() as conn:
        return JSON(await failures(conn, scraper, limit))


@router.post("/{scraper}/start", responses=doc(ScraperStatus), summary="Enable (control KV)")
async def start(scraper: ScraperPath, deps: Deps = Depends(get_deps)) -> JSON:
    await _write(deps, scraper, {"enabled": True})
    return JSON(await status_of(deps, scraper, await heartbeats(deps.heartbeats)))


@router.post("/{scraper}/stop", responses=doc(ScraperStatus), summary="Disable (control KV)")
async def stop(scraper: ScraperPath, deps: Deps = Depends(get_deps)) -> JSON:
    await _write(deps, scraper, {"enabled": False})
    return JSON(await status_of(deps, scraper, await heartbeats(deps.heartbeats)))


# One operation per scraper: the body differs (the rate budget's unit), so each has its schema.
async def _configure(deps: Deps, scraper: str, body: ConfigBody) -> JSON:
    await _write(deps, scraper, body.model_dump(exclude={"by"}, exclude_none=True), by=body.by)
    return JSON(await status_of(deps, scraper, await heartbeats(deps.heartbeats)))


@router.put("/reddit/config", responses=doc(ScraperStatus), summary="Reddit: interval, batch size, requests/minute")
async def configure_reddit(body: RedditConfig, deps: Deps = Depends(get_deps)) -> JSON:
    return await _configure(deps, "reddit", body)


@router.put("/instagram/config", responses=doc(ScraperStatus), summary="Instagram: interval, batch size, requests/hour")
async def configure_instagram(body: InstagramConfig, deps: Deps = Depends(get_deps)) -> JSON:
    return await _configure(deps, "instagram", body)
