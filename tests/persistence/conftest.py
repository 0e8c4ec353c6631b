"""Persistence fixtures: the service running in-process against the test NATS + database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from b9_common.service import Runtime
from b9_persistence.settings import Settings
from phelpers import make_settings, running, wait_consumers


@pytest.fixture
async def service(nats_url: str, namespace: str, database_url: str,
                  rt: Runtime) -> AsyncIterator[Settings]:
    settings = make_settings(nats_url, namespace, database_url)
    async with running(settings):
        await wait_consumers(rt)
        yield settings
