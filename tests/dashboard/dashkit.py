"""Helpers for the dashboard browser tests (a module of its own: test modules must not import
``conftest``, whose name other test folders share)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from b9_common.service import Runtime
from b9_gateway.settings import Settings

API_KEY = "dashboard-test-key-0123456789"
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"


@dataclass
class Dash:
    url: str
    rt: Runtime
    pool: asyncpg.Pool
    media_root: Path
    settings: Settings


async def new_page(browser: Any, dash: Dash) -> tuple[Any, Any, list[str]]:
    """A fresh browser context (1440×900) and page; console errors collected (401s expected)."""
    ctx = await browser.new_context(viewport={"width": 1440, "height": 900}, base_url=dash.url)
    pg = await ctx.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    return ctx, pg, errors


async def log_in(pg: Any, key: str = API_KEY) -> None:
    await pg.get_by_label("API key").fill(key)
    await pg.get_by_label("API key").press("Enter")


async def images_loaded(pg: Any) -> None:
    """Wait until every <img> has loaded (page.evaluate runs over CDP: our CSP forbids eval)."""
    await pg.evaluate("() => Promise.all([...document.images].map((i) => i.decode().catch(() => null)))")


async def shot(pg: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await images_loaded(pg)
    await pg.screenshot(path=str(path), full_page=True)
    return path
