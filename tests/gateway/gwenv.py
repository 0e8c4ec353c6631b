"""What the gateway tests share besides fixtures: the API key and the environment a test gets.

Test modules import these from here, not from ``conftest`` (which module is ``conftest`` depends
on which test directories a run was given).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from b9_common.service import Runtime
from b9_gateway.deps import Deps
from b9_gateway.settings import Settings

API_KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@dataclass
class Env:
    settings: Settings
    rt: Runtime
    deps: Deps
    pool: asyncpg.Pool
    client: httpx.AsyncClient
    anon: httpx.AsyncClient
    media_root: Path
